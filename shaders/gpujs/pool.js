// gpu.js kernel: one output of a pooling window over NCHW planes (plane = n * channels + c).
// mode 0: max value; 1: argmax (the first maximum's flat index in its input plane, -1 if the window is
// empty); 2: average, divided by the padded window size (countIncludePad > 0) or the taps inside.
function pool(x, mode, inH, inW, outH, outW, kH, kW, sH, sW, pT, pL, pB, pR, dH, dW, countIncludePad) {
  const i = this.thread.x;
  const t = Math.floor((i + 0.5) / outW);
  const ox = i - t * outW;
  const plane = Math.floor((t + 0.5) / outH);
  const oy = t - plane * outH;
  let best = -1;
  let bestValue = 0;
  let sum = 0;
  let inside = 0;
  let padded = 0;
  for (let ky = 0; ky < kH; ky++) {
    const iy = oy * sH - pT + ky * dH;
    for (let kx = 0; kx < kW; kx++) {
      const ix = ox * sW - pL + kx * dW;
      if (iy < inH + pB && ix < inW + pR) {
        padded += 1;
      }
      if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
        const v = x[(plane * inH + iy) * inW + ix];
        inside += 1;
        sum += v;
        if (best < 0 || v > bestValue) {
          best = iy * inW + ix;
          bestValue = v;
        }
      }
    }
  }
  if (mode === 0) {
    return bestValue;
  }
  if (mode === 1) {
    return best;
  }
  let divisor = Math.max(inside, 1);
  if (countIncludePad > 0) {
    divisor = padded;
  }
  return sum / divisor;
}
