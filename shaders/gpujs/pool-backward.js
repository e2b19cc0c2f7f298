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
            const y0 = oy * sH - pT;
            const x0 = ox * sW - pL;
            let divisor = Math.max(windowTaps(y0, kH, dH, inH, pB, 0) * windowTaps(x0, kW, dW, inW, pR, 0), 1);
            if (countIncludePad > 0) {
              divisor = windowTaps(y0, kH, dH, inH, pB, 1) * windowTaps(x0, kW, dW, inW, pR, 1);
            }
            sum += dy[o] / divisor;
          }
        }
      }
    }
  }
  return sum;
}

// Taps of a window along one axis, from `start` every `dilation`, that lie inside the input
// (padded > 0: inside the input or its trailing padding, as countIncludePad counts them).
function windowTaps(start, kernel, dilation, size, padAfter, padded) {
  let taps = 0;
  for (let t = 0; t < kernel; t++) {
    const at = start + t * dilation;
    if (padded > 0) {
      if (at < size + padAfter) {
        taps += 1;
      }
    } else if (at >= 0 && at < size) {
      taps += 1;
    }
  }
  return taps;
}
