// gpu.js kernel: one element of the weight gradient of a convolution.
// The output pixels whose tap lies inside the input are computed as ranges, so the inner loop has no branch.
function conv2dBackwardFilter(dy, x, batch, inC, inH, inW, outC, outH, outW, kH, kW, sH, sW, pT, pL, dH, dW, inGroup, outGroup) {
  const i = this.thread.x;
  const t1 = Math.floor((i + 0.5) / kW);
  const kx = i - t1 * kW;
  const t2 = Math.floor((t1 + 0.5) / kH);
  const ky = t1 - t2 * kH;
  const m = Math.floor((t2 + 0.5) / inGroup);
  const c = t2 - m * inGroup;
  const g = Math.floor((m + 0.5) / outGroup);
  // oy in [oyFrom, oyTo): 0 <= oy * sH + yShift < inH; likewise ox.
  const yShift = ky * dH - pT;
  const xShift = kx * dW - pL;
  const oyFrom = Math.max(0, Math.floor((sH - 1 - yShift) / sH));
  const oyTo = Math.min(outH, Math.floor((inH - 1 - yShift) / sH) + 1);
  const oxFrom = Math.max(0, Math.floor((sW - 1 - xShift) / sW));
  const oxTo = Math.min(outW, Math.floor((inW - 1 - xShift) / sW) + 1);
  let sum = 0;
  for (let n = 0; n < batch; n++) {
    const dyPlane = (n * outC + m) * outH * outW;
    const xPlane = (n * inC + g * inGroup + c) * inH * inW + yShift * inW + xShift;
    for (let oy = oyFrom; oy < oyTo; oy++) {
      const dyRow = dyPlane + oy * outW;
      const xRow = xPlane + oy * sH * inW;
      for (let ox = oxFrom; ox < oxTo; ox++) {
        sum += dy[dyRow + ox] * x[xRow + ox * sW];
      }
    }
  }
  return sum;
}
