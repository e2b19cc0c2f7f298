// The CPU reference of the pruning ops: gather-compaction, per-channel statistics (importance criteria,
// quantizer ranges) and the radix selection of a magnitude threshold.
import { type ChannelStat, magnitudeBits } from '../backend.js';
import { axisView, channelStatsView } from '../geometry.js';
import { type NdArray, ndarray } from './ndarray.js';

/** Keeps channels `indices` along `axis` (gather-compaction). */
export function gatherChannels(x: NdArray, axis: number, indices: ArrayLike<number>): NdArray {
  const [outer, channels, inner] = axisView('gatherChannels', x.shape, axis);
  Array.from(indices).forEach((c) => { if (!Number.isInteger(c) || c < 0 || c >= channels) throw new Error(`gatherChannels: index ${c} outside ${channels} channels`); });
  const shape = [...x.shape];
  shape[axis] = indices.length;
  const y = ndarray(shape);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < indices.length; k++)
      y.data.set(x.data.subarray((o * channels + indices[k]) * inner, (o * channels + indices[k] + 1) * inner), (o * indices.length + k) * inner);
  return y;
}

/** Per index along `axis`: sum |x| (l1), sum x^2 (l2sq), sum |x * other| (taylor: weight x gradient) or max |x| (absmax). */
export function channelStats(x: NdArray, axis: number, kind: ChannelStat, other?: NdArray): NdArray {
  const [, channels, inner] = channelStatsView(x.shape, axis, kind, other);
  const out = ndarray([channels]);
  x.data.forEach((v, i) => {
    const c = Math.floor(i / inner) % channels;
    if (kind === 'absmax') out.data[c] = Math.max(out.data[c], Math.abs(v));
    else out.data[c] += kind === 'l1' ? Math.abs(v) : kind === 'l2sq' ? v * v : Math.abs(v * other!.data[i]);
  });
  return out;
}

/** Radix-selection histogram (see Backend.magnitudeHistogram). */
export function magnitudeHistogram(xs: NdArray[], shift: number, prefix: number): Uint32Array {
  const hist = new Uint32Array(256);
  for (const x of xs) {
    x.data.forEach((v) => {
      const bits = magnitudeBits(v);
      if (shift === 24 || bits >>> (shift + 8) === prefix) hist[(bits >>> shift) & 255]++;
    });
  }
  return hist;
}

export function thresholdMask(x: NdArray, thresholdBits: number): NdArray {
  return ndarray(x.shape, x.data.map((v) => (magnitudeBits(v) > thresholdBits ? 1 : 0)));
}
