// gpu.js kernel: one output element of a grouped, strided, dilated, padded convolution (NCHW), with
// optional bias and fused ReLU. Indices are decomposed with
// floor((i + 0.5) / n), exact for integers below 2^24 in float32 (the backend rejects larger tensors).
// The taps inside the input are computed as ranges up front, so the inner loop has no branch.
function conv2dForward(x, w, bias, hasBias, relu, inC, inH, inW, outC, outH, outW, kH, kW, sH, sW, pT, pL, dH, dW, inGroup, outGroup) {
  const i = this.thread.x;
  const t1 = Math.floor((i + 0.5) / outW);
  const ox = i - t1 * outW;
  const t2 = Math.floor((t1 + 0.5) / outH);
  const oy = t1 - t2 * outH;
  const n = Math.floor((t2 + 0.5) / outC);
  const m = t2 - n * outC;
  const g = Math.floor((m + 0.5) / outGroup);
  const y0 = oy * sH - pT;
  const x0 = ox * sW - pL;
  // ky in [kyFrom, kyTo): 0 <= y0 + ky * dH < inH; likewise kx.
  const kyFrom = Math.max(0, Math.floor((dH - 1 - y0) / dH));
  const kyTo = Math.min(kH, Math.floor((inH - 1 - y0) / dH) + 1);
  const kxFrom = Math.max(0, Math.floor((dW - 1 - x0) / dW));
  const kxTo = Math.min(kW, Math.floor((inW - 1 - x0) / dW) + 1);
  const plane = inH * inW;
  let xPlane = (n * inC + g * inGroup) * plane + y0 * inW + x0;
  let wFilter = m * inGroup * kH * kW;
  let sum = 0;
  for (let c = 0; c < inGroup; c++) {
    for (let ky = kyFrom; ky < kyTo; ky++) {
      const xRow = xPlane + ky * dH * inW;
      const wRow = wFilter + ky * kW;
      for (let kx = kxFrom; kx < kxTo; kx++) {
        sum += w[wRow + kx] * x[xRow + kx * dW];
      }
    }
    xPlane += plane;
    wFilter += kH * kW;
  }
  if (hasBias > 0) {
    sum += bias[m];
  }
  if (relu > 0) {
    sum = Math.max(sum, 0);
  }
  return sum;
}
