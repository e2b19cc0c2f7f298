// gpu.js kernel: per-channel sums of a tensor viewed as [outer, channels, inner], one output per channel.
// mode 0: scale * sum(a); 1: sum((a - center)^2); 2: sum(a * (b - center)); 3: sum |a|; 4: sum a^2;
// 5: sum |a * b|; 6: sum a * b; 7: max |a|; 8: sum a * min(b, 0) (PReLU's slope gradient).
function channelReduce(a, b, center, mode, outer, channels, inner, scale) {
  const c = this.thread.x;
  let m = 0;
  if (mode === 1 || mode === 2) {
    m = center[c];
  }
  let sum = 0;
  for (let o = 0; o < outer; o++) {
    for (let s = 0; s < inner; s++) {
      const i = (o * channels + c) * inner + s;
      const v = a[i];
      if (mode === 0) {
        sum += v;
      } else if (mode === 1) {
        sum += (v - m) * (v - m);
      } else if (mode === 2) {
        sum += v * (b[i] - m);
      } else if (mode === 3) {
        sum += Math.abs(v);
      } else if (mode === 4) {
        sum += v * v;
      } else if (mode === 5) {
        sum += Math.abs(v * b[i]);
      } else if (mode === 6) {
        sum += v * b[i];
      } else if (mode === 8) {
        sum += v * Math.min(b[i], 0);
      } else {
        sum = Math.max(sum, Math.abs(v));
      }
    }
  }
  if (mode === 0) {
    sum = sum * scale;
  }
  return sum;
}
