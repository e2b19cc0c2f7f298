// gpu.js kernel: one element of the input gradient of a convolution (the weights arrive masked).
// Input pixel iy meets output row oy = (iy + pT - ky * dH) / sH when that divides exactly.
function conv2dBackwardInput(dy, w, inC, inH, inW, outC, outH, outW, kH, kW, sH, sW, pT, pL, dH, dW, inGroup, outGroup) {
  const i = this.thread.x;
  const t1 = Math.floor((i + 0.5) / inW);
  const ix = i - t1 * inW;
  const t2 = Math.floor((t1 + 0.5) / inH);
  const iy = t1 - t2 * inH;
  const n = Math.floor((t2 + 0.5) / inC);
  const ci = t2 - n * inC;
  const g = Math.floor((ci + 0.5) / inGroup);
  const c = ci - g * inGroup;
  let sum = 0;
  for (let j = 0; j < outGroup; j++) {
    const m = g * outGroup + j;
    for (let ky = 0; ky < kH; ky++) {
      const ty = iy + pT - ky * dH;
      const oy = Math.floor((ty + 0.5) / sH);
      if (ty >= 0 && oy * sH === ty && oy < outH) {
        for (let kx = 0; kx < kW; kx++) {
          const tx = ix + pL - kx * dW;
          const ox = Math.floor((tx + 0.5) / sW);
          if (tx >= 0 && ox * sW === tx && ox < outW) {
            sum += w[((m * inGroup + c) * kH + ky) * kW + kx] * dy[((n * outC + m) * outH + oy) * outW + ox];
          }
        }
      }
    }
  }
  return sum;
}
