// gpu.js kernel: one element of a pooling input gradient, gathered from the windows that contain it.
// mode 0: max pooling (dy of windows whose argmax is this pixel); 1: average pooling (dy / divisor).
function poolBackward(dy, argmax, mode, inH, inW, outH, outW, kH, kW, sH, sW, pT, pL, pB, pR, dH, dW, countIncludePad) {
  const i = this.thread.x;
  const t = Math.floor((i + 0.5) / inW);
  const ix = i - t * inW;
  const plane = Math.floor((t + 0.5) / inH);
  const iy = t - plane * inH;
  let sum = 0;
  for (let ky = 0; ky < kH; ky++) {
    const ty = iy + pT - ky * dH;
    const oy = Math.floor((ty + 0.5) / sH);
    if (ty >= 0 && oy * sH === ty && oy < outH) {
      for (let kx = 0; kx < kW; kx++) {
        const tx = ix + pL - kx * dW;
        const ox = Math.floor((tx + 0.5) / sW);
        if (tx >= 0 && ox * sW === tx && ox < outW) {
          const o = (plane * outH + oy) * outW + ox;
          if (mode === 0) {
            if (argmax[o] === iy * inW + ix) {
              sum += dy[o];
            }
          } else {
            let rowsInside = 0;
            let rowsPadded = 0;
            for (let wy = 0; wy < kH; wy++) {
              const y = oy * sH - pT + wy * dH;
              if (y >= 0 && y < inH) {
                rowsInside += 1;
              }
              if (y < inH + pB) {
                rowsPadded += 1;
              }
            }
            let colsInside = 0;
            let colsPadded = 0;
            for (let wx = 0; wx < kW; wx++) {
              const xx = ox * sW - pL + wx * dW;
              if (xx >= 0 && xx < inW) {
                colsInside += 1;
              }
              if (xx < inW + pR) {
                colsPadded += 1;
              }
            }
            let divisor = Math.max(rowsInside * colsInside, 1);
            if (countIncludePad > 0) {
              divisor = rowsPadded * colsPadded;
            }
            sum += dy[o] / divisor;
          }
        }
      }
    }
  }
  return sum;
}
