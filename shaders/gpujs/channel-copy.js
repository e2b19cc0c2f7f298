// gpu.js kernel: channel gather over tensors viewed as [outer, channels, inner]. Output channel k comes
// from channel indices[k] of a (mode 0: gather-compaction), from a's channel offset + k (mode 1: slice),
// or from a when k < aChannels, else from b's channel k - aChannels (mode 2: concat of two).
function channelCopy(a, b, indices, mode, aChannels, bChannels, offset, count, inner) {
  const i = this.thread.x;
  const t = Math.floor((i + 0.5) / inner);
  const s = i - t * inner;
  const o = Math.floor((t + 0.5) / count);
  const k = t - o * count;
  if (mode === 0) {
    return a[(o * aChannels + indices[k]) * inner + s];
  }
  if (mode === 1) {
    return a[(o * aChannels + offset + k) * inner + s];
  }
  if (k < aChannels) {
    return a[(o * aChannels + k) * inner + s];
  }
  return b[(o * bChannels + k - aChannels) * inner + s];
}
