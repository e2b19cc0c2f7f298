// gpu.js kernel: fake quantization over x viewed as [outer, channels, inner] (src/cpu/reference-quantize.ts).
// q = roundHalfEven(x / s) + z; mode 0: y = (clamp(q, qmin, qmax) - z) * s; mode 1: dy where qmin <= q <= qmax.
// Math.round rounds halves up, so the tie to even is written out. binary 1: y = s * sign(x) (sign(0) = +1),
// gradient dy where |x| <= s.
function fakeQuantize(x, scale, zeroPoint, dy, mode, channels, inner, qmin, qmax, binary) {
  const i = this.thread.x;
  const t = Math.floor((i + 0.5) / inner);
  const c = t - Math.floor((t + 0.5) / channels) * channels;
  const s = scale[c];
  const z = zeroPoint[c];
  if (binary === 1) {
    if (mode === 0) {
      if (x[i] >= 0) {
        return s;
      }
      return -s;
    }
    if (Math.abs(x[i]) <= s) {
      return dy[i];
    }
    return 0;
  }
  const v = x[i] / s;
  const f = Math.floor(v);
  const d = v - f;
  let r = f;
  if (d > 0.5) {
    r = f + 1;
  } else if (d === 0.5) {
    if (f - Math.floor(f / 2) * 2 !== 0) {
      r = f + 1;
    }
  }
  const q = r + z;
  if (mode === 0) {
    return (Math.min(Math.max(q, qmin), qmax) - z) * s;
  }
  if (q >= qmin && q <= qmax) {
    return dy[i];
  }
  return 0;
}
