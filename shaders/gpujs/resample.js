// gpu.js kernel: one pass of separable linear resampling (src/cpu/reference-resample.ts), one thread per
// output element of planes viewed as [planes, rows, inner]. Mode 0 (along rows): out[p, o, k] = sum over
// i < inRows of weights[o, i] * source[p, i, k]; mode 1 (along columns): out[q, o] = sum over i < inner of
// weights[o, i] * source[q, i], q = plane row.
function resample(source, weights, mode, inRows, outRows, inner) {
  const i = this.thread.x;
  let sum = 0;
  if (mode === 0) {
    const t = Math.floor((i + 0.5) / inner);
    const k = i - t * inner;
    const plane = Math.floor((t + 0.5) / outRows);
    const o = t - plane * outRows;
    for (let r = 0; r < inRows; r++) {
      sum += weights[o * inRows + r] * source[(plane * inRows + r) * inner + k];
    }
    return sum;
  }
  const q = Math.floor((i + 0.5) / outRows);
  const o2 = i - q * outRows;
  for (let c = 0; c < inner; c++) {
    sum += weights[o2 * inner + c] * source[q * inner + c];
  }
  return sum;
}
