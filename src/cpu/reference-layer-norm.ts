// The CPU reference of layer normalisation over channels (ConvNeXt's LayerNorm2d, channels-first):
// at each position of each sample, statistics over the channels. With a channel mask (a pruned
// model's), the statistics cover the kept channels only and masked channels output 0, so the masked
// model computes what the compacted one does.
import { assertShape, layerNormView } from '../geometry.js';
import { type NdArray, ndarray } from './ndarray.js';

export interface LayerNormStatistics { mean: NdArray; invStd: NdArray }

/** Visits each (sample, position) with the flat index of its channel c. */
function positions(shape: number[], visit: (p: number, at: (c: number) => number) => void): void {
  const [n, c] = shape;
  const s = shape.length === 4 ? shape[2] * shape[3] : 1;
  for (let b = 0; b < n; b++) for (let q = 0; q < s; q++) visit(b * s + q, (ch) => (b * c + ch) * s + q);
}

const kept = (mask: NdArray | undefined, c: number) => (mask ? (mask.data[c] !== 0 ? 1 : 0) : 1);

/** y = mask * (gamma * (x - mean) * invStd + beta); mean and invStd [N, H*W] over the kept channels. */
export function layerNorm(x: NdArray, gamma: NdArray, beta: NdArray, o: { epsilon: number; mask?: NdArray }): LayerNormStatistics & { y: NdArray } {
  const [n, c, s] = layerNormView('layerNorm', x.shape, { gamma, beta, mask: o.mask });
  const mean = ndarray([n, s]), invStd = ndarray([n, s]), y = ndarray(x.shape);
  let count = 0;
  for (let ch = 0; ch < c; ch++) count += kept(o.mask, ch);
  count = Math.max(count, 1);
  positions(x.shape, (p, at) => {
    let sum = 0;
    for (let ch = 0; ch < c; ch++) sum += kept(o.mask, ch) * x.data[at(ch)];
    const mu = sum / count;
    let squares = 0;
    for (let ch = 0; ch < c; ch++) squares += kept(o.mask, ch) * (x.data[at(ch)] - mu) ** 2;
    const is = 1 / Math.sqrt(squares / count + o.epsilon);
    mean.data[p] = mu;
    invStd.data[p] = is;
    for (let ch = 0; ch < c; ch++) y.data[at(ch)] = kept(o.mask, ch) * (gamma.data[ch] * (x.data[at(ch)] - mu) * is + beta.data[ch]);
  });
  return { y, mean, invStd };
}

/**
 * With g = mask * gamma * dy and xHat = (x - mean) * invStd over the kept channels (count of them, K):
 * dx = mask * invStd * (g - sum(g) / K - xHat * sum(g * xHat) / K); dGamma = sum over N and positions
 * of mask * dy * xHat; dBeta of mask * dy.
 */
export function layerNormBackward(dy: NdArray, x: NdArray, gamma: NdArray, mean: NdArray, invStd: NdArray, o: { mask?: NdArray } = {}): { dx: NdArray; dGamma: NdArray; dBeta: NdArray } {
  const [, c] = layerNormView('layerNormBackward', x.shape, { gamma, mask: o.mask }, { mean, invStd });
  assertShape('layerNormBackward', 'dy', dy.shape, x.shape);
  const dx = ndarray(x.shape), dGamma = ndarray([c]), dBeta = ndarray([c]);
  let count = 0;
  for (let ch = 0; ch < c; ch++) count += kept(o.mask, ch);
  count = Math.max(count, 1);
  positions(x.shape, (p, at) => {
    const xHat = (ch: number) => (x.data[at(ch)] - mean.data[p]) * invStd.data[p];
    const g = (ch: number) => kept(o.mask, ch) * gamma.data[ch] * dy.data[at(ch)];
    let sumG = 0, sumGx = 0;
    for (let ch = 0; ch < c; ch++) { sumG += g(ch); sumGx += g(ch) * xHat(ch); }
    for (let ch = 0; ch < c; ch++) {
      const m = kept(o.mask, ch);
      dx.data[at(ch)] = m * invStd.data[p] * (g(ch) - sumG / count - xHat(ch) * sumGx / count);
      dGamma.data[ch] += m * dy.data[at(ch)] * xHat(ch);
      dBeta.data[ch] += m * dy.data[at(ch)];
    }
  });
  return { dx, dGamma, dBeta };
}
