// gpu.js kernel: one output element of a grouped, strided, dilated, padded convolution (NCHW), with
// optional bias and fused ReLU. The weights arrive already masked. Indices are decomposed with
// floor((i + 0.5) / n), exact for integers below 2^24 in float32 (the backend rejects larger tensors).
function conv2dForward(x, w, bias, hasBias, relu, inC, inH, inW, outC, outH, outW, kH, kW, sH, sW, pT, pL, dH, dW, inGroup, outGroup) {
  const i = this.thread.x;
  const t1 = Math.floor((i + 0.5) / outW);
  const ox = i - t1 * outW;
  const t2 = Math.floor((t1 + 0.5) / outH);
  const oy = t1 - t2 * outH;
  const n = Math.floor((t2 + 0.5) / outC);
  const m = t2 - n * outC;
  const g = Math.floor((m + 0.5) / outGroup);
  let sum = 0;
  for (let c = 0; c < inGroup; c++) {
    for (let ky = 0; ky < kH; ky++) {
      const iy = oy * sH - pT + ky * dH;
      if (iy >= 0 && iy < inH) {
        for (let kx = 0; kx < kW; kx++) {
          const ix = ox * sW - pL + kx * dW;
          if (ix >= 0 && ix < inW) {
            sum += w[((m * inGroup + c) * kH + ky) * kW + kx] * x[((n * inC + g * inGroup + c) * inH + iy) * inW + ix];
          }
        }
      }
    }
  }
  if (hasBias > 0) {
    sum += bias[m];
  }
  if (relu > 0) {
    sum = Math.max(sum, 0);
  }
  return sum;
}
