// gpu.js kernel: one element of the weight gradient of a convolution; pruned weights get +0.
function conv2dBackwardFilter(dy, x, mask, hasMask, batch, inC, inH, inW, outC, outH, outW, kH, kW, sH, sW, pT, pL, dH, dW, inGroup, outGroup) {
  const i = this.thread.x;
  let keep = 1;
  if (hasMask > 0) {
    if (mask[i] === 0) {
      keep = 0;
    }
  }
  const t1 = Math.floor((i + 0.5) / kW);
  const kx = i - t1 * kW;
  const t2 = Math.floor((t1 + 0.5) / kH);
  const ky = t1 - t2 * kH;
  const m = Math.floor((t2 + 0.5) / inGroup);
  const c = t2 - m * inGroup;
  const g = Math.floor((m + 0.5) / outGroup);
  let sum = 0;
  if (keep > 0) {
    for (let n = 0; n < batch; n++) {
      for (let oy = 0; oy < outH; oy++) {
        const iy = oy * sH - pT + ky * dH;
        if (iy >= 0 && iy < inH) {
          for (let ox = 0; ox < outW; ox++) {
            const ix = ox * sW - pL + kx * dW;
            if (ix >= 0 && ix < inW) {
              sum += dy[((n * outC + m) * outH + oy) * outW + ox] * x[((n * inC + g * inGroup + c) * inH + iy) * inW + ix];
            }
          }
        }
      }
    }
  }
  return sum;
}
