// gpu.js kernel: one element of the input gradient of a convolution.
// Input pixel iy meets output row oy = (iy + pT - ky * dH) / sH when that divides exactly; with stride 1
// the taps that meet an output pixel are computed as ranges, so the inner loop has no branch.
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
  const ty0 = iy + pT;
  const tx0 = ix + pL;
  let sum = 0;
  if (sH === 1 && sW === 1) {
    // ky in [kyFrom, kyTo): 0 <= ty0 - ky * dH < outH; likewise kx.
    const kyFrom = Math.max(0, Math.floor((ty0 - outH + dH) / dH));
    const kyTo = Math.min(kH, Math.floor(ty0 / dH) + 1);
    const kxFrom = Math.max(0, Math.floor((tx0 - outW + dW) / dW));
    const kxTo = Math.min(kW, Math.floor(tx0 / dW) + 1);
    for (let j = 0; j < outGroup; j++) {
      const m = g * outGroup + j;
      const dyPlane = (n * outC + m) * outH * outW + ty0 * outW + tx0;
      const wFilter = (m * inGroup + c) * kH * kW;
      for (let ky = kyFrom; ky < kyTo; ky++) {
        const dyRow = dyPlane - ky * dH * outW;
        const wRow = wFilter + ky * kW;
        for (let kx = kxFrom; kx < kxTo; kx++) {
          sum += w[wRow + kx] * dy[dyRow - kx * dW];
        }
      }
    }
    return sum;
  }
  for (let j2 = 0; j2 < outGroup; j2++) {
    const m2 = g * outGroup + j2;
    for (let ky2 = 0; ky2 < kH; ky2++) {
      const ty = ty0 - ky2 * dH;
      const oy = Math.floor((ty + 0.5) / sH);
      if (ty >= 0 && oy * sH === ty && oy < outH) {
        for (let kx2 = 0; kx2 < kW; kx2++) {
          const tx = tx0 - kx2 * dW;
          const ox = Math.floor((tx + 0.5) / sW);
          if (tx >= 0 && ox * sW === tx && ox < outW) {
            sum += w[((m2 * inGroup + c) * kH + ky2) * kW + kx2] * dy[((n * outC + m2) * outH + oy) * outW + ox];
          }
        }
      }
    }
  }
  return sum;
}
