// The native backend's ops that stay JavaScript loops over typed arrays (sums in float64): channel
// copies and gathers (memcpy), pruning statistics, the loss, the optimizers (small tensors, or rare).
// Each follows the CPU reference's definition (src/cpu/reference.ts) in the same order of operations.

import type { ChannelStat } from '../backend.js';
import { roundHalfEven } from '../geometry.js';

/** [outer, channels, inner] of an NCHW (or NC) tensor around its channel axis. */
export type ChannelView = readonly [number, number, number];

/** Copies `count` channel slabs from `x` [outer, xChannels, inner] starting at `from` into `y` at `to`. */
export function copyChannels(x: Float32Array, xChannels: number, from: number, y: Float32Array, yChannels: number, to: number, count: number, outer: number, inner: number): void {
  for (let o = 0; o < outer; o++) y.set(x.subarray((o * xChannels + from) * inner, (o * xChannels + from + count) * inner), (o * yChannels + to) * inner);
}

/** Inputs [N, C_i, ...] (the same N and trailing dims) joined along the channels into `y` of `channels`. */
export function concatChannels(xs: { values: Float32Array; channels: number }[], y: Float32Array, channels: number, outer: number, inner: number): Float32Array {
  let at = 0;
  for (const x of xs) {
    copyChannels(x.values, x.channels, 0, y, channels, at, x.channels, outer, inner);
    at += x.channels;
  }
  return y;
}

export function gatherChannels(x: Float32Array, [outer, channels, inner]: ChannelView, indices: Float32Array): Float32Array {
  for (const c of indices) if (!Number.isInteger(c) || c < 0 || c >= channels) throw new Error(`gatherChannels: index ${c} outside ${channels} channels`);
  const y = new Float32Array(outer * indices.length * inner);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < indices.length; k++) y.set(x.subarray((o * channels + indices[k]) * inner, (o * channels + indices[k] + 1) * inner), (o * indices.length + k) * inner);
  return y;
}

/** Per channel: the statistic `kind`, or (`sum`, for NativeBackend.channelSum's small tensors) the plain sum; in double, then rounded. */
export function channelStats(x: Float32Array, [outer, channels, inner]: ChannelView, kind: ChannelStat | 'sum', other?: Float32Array): Float32Array {
  const out = new Float64Array(channels);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++) {
      let s = 0;
      const base = (o * channels + c) * inner;
      if (kind === 'sum') for (let i = base; i < base + inner; i++) s += x[i];
      else if (kind === 'l1') for (let i = base; i < base + inner; i++) s += Math.abs(x[i]);
      else if (kind === 'l2sq') for (let i = base; i < base + inner; i++) s += x[i] * x[i];
      else if (kind === 'absmax') for (let i = base; i < base + inner; i++) s = Math.max(s, Math.abs(x[i]));
      else for (let i = base; i < base + inner; i++) s += Math.abs(x[i] * other![i]);
      out[c] = kind === 'absmax' ? Math.max(out[c], s) : out[c] + s;
    }
  return Float32Array.from(out);
}

/** The radix histogram of Backend.magnitudeHistogram over one tensor, added into `hist`. */
export function addMagnitudeHistogram(hist: Uint32Array, x: Float32Array, shift: number, prefix: number): void {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i] & 0x7fffffff;
    if (shift === 24 || b >>> (shift + 8) === prefix) hist[(b >>> shift) & 255]++;
  }
}

export function thresholdMask(x: Float32Array, thresholdBits: number): Float32Array {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = (bits[i] & 0x7fffffff) > thresholdBits ? 1 : 0;
  return y;
}

/** log softmax(row / t) into `out` (float64). */
function logSoftmax(row: Float32Array, t: number, out: Float64Array): void {
  let m = -Infinity;
  for (let j = 0; j < row.length; j++) m = Math.max(m, row[j] / t);
  let s = 0;
  for (let j = 0; j < row.length; j++) s += Math.exp(row[j] / t - m);
  const lse = m + Math.log(s);
  for (let j = 0; j < row.length; j++) out[j] = row[j] / t - lse;
}

/** See reference.softmaxCrossEntropy: per-row loss, gradient of the mean loss, top-1 hits; rows of `positions`-strided logits. */
export function softmaxCrossEntropy(logits: Float32Array, labels: Float32Array, s: { rows: number; classes: number; positions: number; ignore: number },
  teacher: Float32Array | undefined, t: number, alpha: number) {
  const { rows, classes, positions, ignore } = s;
  const loss = new Float32Array(rows), dLogits = new Float32Array(rows * classes), correct = new Float32Array(rows);
  const logP = new Float64Array(classes), logPt = new Float64Array(classes), logQt = new Float64Array(classes);
  const row = new Float32Array(classes), teacherRow = new Float32Array(classes), grad = new Float64Array(classes);
  for (let r = 0; r < rows; r++) {
    const label = labels[r];
    const ignored = label === ignore;
    if (!ignored && (!Number.isInteger(label) || label < 0 || label >= classes)) throw new Error(`softmaxCrossEntropy: label ${label} of ${positions > 1 ? 'pixel' : 'sample'} ${r} is not a class in [0, ${classes})`);
    const base = Math.floor(r / positions) * classes * positions + (r % positions);
    for (let j = 0; j < classes; j++) row[j] = logits[base + j * positions];
    let top = 0;
    for (let j = 1; j < classes; j++) if (row[j] > row[top]) top = j;
    correct[r] = !ignored && top === label ? 1 : 0;
    logSoftmax(row, 1, logP);
    const hard = ignored ? 0 : 1 - alpha;
    let l = ignored ? 0 : -hard * logP[label];
    for (let j = 0; j < classes; j++) grad[j] = hard * (Math.exp(logP[j]) - (j === label ? 1 : 0));
    if (teacher) {
      for (let j = 0; j < classes; j++) teacherRow[j] = teacher[base + j * positions];
      logSoftmax(row, t, logPt);
      logSoftmax(teacherRow, t, logQt);
      for (let j = 0; j < classes; j++) {
        l += alpha * t * t * Math.exp(logQt[j]) * (logQt[j] - logPt[j]);
        grad[j] += alpha * t * (Math.exp(logPt[j]) - Math.exp(logQt[j]));
      }
    }
    loss[r] = l;
    for (let j = 0; j < classes; j++) dLogits[base + j * positions] = grad[j] / rows;
  }
  return { loss, dLogits, correct };
}

/** See reference.squaredError: per-sample mean squared error and the gradient of the batch mean. */
export function squaredError(y: Float32Array, target: Float32Array, n: number) {
  const per = y.length / n;
  const loss = new Float32Array(n), dy = new Float32Array(y.length);
  for (let b = 0; b < n; b++) {
    let sum = 0;
    for (let i = b * per; i < (b + 1) * per; i++) {
      const d = y[i] - target[i];
      sum += d * d;
      dy[i] = (2 * d) / y.length;
    }
    loss[b] = sum / per;
  }
  return { loss, dy };
}

/** PyTorch's SGD (dampening 0) in place; pruned entries of weight and velocity become exactly 0. */
export function sgdStep(w: Float32Array, grad: Float32Array, velocity: Float32Array, mask: Float32Array | undefined, lr: number, momentum: number, weightDecay: number): void {
  for (let i = 0; i < w.length; i++) {
    if (mask && mask[i] === 0) { w[i] = 0; velocity[i] = 0; continue; }
    const v = momentum * velocity[i] + (grad[i] + weightDecay * w[i]);
    velocity[i] = v;
    w[i] -= lr * v;
  }
}

/** PyTorch's Adam with L2 weight decay in place; `step` counts from 1. */
export interface AdamSettings { lr: number; beta1: number; beta2: number; epsilon: number; weightDecay: number; step: number }
export function adamStep(w: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, mask: Float32Array | undefined, o: AdamSettings): void {
  const c1 = 1 - o.beta1 ** o.step, c2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < w.length; i++) {
    if (mask && mask[i] === 0) { w[i] = 0; m[i] = 0; v[i] = 0; continue; }
    const g = grad[i] + o.weightDecay * w[i];
    const mi = o.beta1 * m[i] + (1 - o.beta1) * g;
    const vi = o.beta2 * v[i] + (1 - o.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    w[i] -= o.lr * ((mi / c1) / (Math.sqrt(vi / c2) + o.epsilon));
  }
}

/** Fake quantization (dy absent) or its straight-through gradient, float32 (src/cpu/reference-quantize.ts). */
export function fakeQuantize(x: Float32Array, scale: Float32Array, zeroPoint: Float32Array, [, channels, inner]: ChannelView, o: { qmin: number; qmax: number; binary?: boolean }, dy?: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const [s, z] = [scale[c], zeroPoint[c]];
    if (o.binary) {
      y[i] = dy ? (Math.abs(x[i]) <= s ? dy[i] : 0) : x[i] >= 0 ? s : -s;
      continue;
    }
    const q = roundHalfEven(Math.fround(x[i] / s)) + z;
    y[i] = dy ? (q >= o.qmin && q <= o.qmax ? dy[i] : 0) : (Math.min(Math.max(q, o.qmin), o.qmax) - z) * s;
  }
  return y;
}

/** PReLU over [outer, channels, inner]: x where x > 0, else slope[c] · x. */
export function prelu(x: Float32Array, slope: Float32Array, inner: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] > 0 ? x[i] : slope[Math.floor(i / inner) % slope.length] * x[i];
  return y;
}

/** PReLU's gradients: dx, and dSlope[c] = the sum of dy · min(x, 0) (float64 sums). */
export function preluBackward(dy: Float32Array, x: Float32Array, slope: Float32Array, inner: number): { dx: Float32Array; dSlope: Float32Array } {
  const dx = new Float32Array(x.length);
  const sums = new Float64Array(slope.length);
  for (let i = 0; i < x.length; i++) {
    if (x[i] > 0) { dx[i] = dy[i]; continue; }
    const c = Math.floor(i / inner) % slope.length;
    dx[i] = slope[c] * dy[i];
    sums[c] += dy[i] * x[i];
  }
  return { dx, dSlope: Float32Array.from(sums) };
}
