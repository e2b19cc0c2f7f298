// The CPU reference: the plain, readable definition of every op, computed in float64.
// Every other backend is tested against these functions, and their gradients against finite differences.
import { type Activation, activationAlpha } from '../backend.js';
import {
  type Conv2dGeometry, type Conv2dOptions, type Shape,
  assertShape, channelScaleView, checkConvInputs, conv2dGeometry, linearGeometry, preluView, sizeOf, softmaxSettings,
} from '../geometry.js';

import { type NdArray, ndarray } from './ndarray.js';

export { type NdArray, ndarray } from './ndarray.js';

export { layerNorm, layerNormBackward } from './reference-layer-norm.js';
export { resample } from './reference-resample.js';
export { fakeQuantize, fakeQuantizeBackward } from './reference-quantize.js';
export { avgPool, avgPoolBackward, globalAvgPool, globalAvgPoolBackward, maxPool, maxPoolBackward } from './reference-pool.js';
export { channelStats, gatherChannels, magnitudeHistogram, thresholdMask } from './reference-pruning.js';

const isKept = (mask: NdArray | undefined, i: number) => !mask || mask.data[i] !== 0;

/** Visits every (output pixel, kernel tap) pair of a convolution whose input pixel lies inside the input. */
function forEachTap(
  g: Conv2dGeometry,
  visit: (n: number, group: number, m: number, oy: number, ox: number, ci: number, ky: number, kx: number, iy: number, ix: number) => void,
): void {
  const inPerGroup = g.inChannels / g.groups;
  const outPerGroup = g.outChannels / g.groups;
  for (let n = 0; n < g.batch; n++)
    for (let m = 0; m < g.outChannels; m++) {
      const group = Math.floor(m / outPerGroup);
      for (let oy = 0; oy < g.outH; oy++)
        for (let ox = 0; ox < g.outW; ox++)
          for (let c = 0; c < inPerGroup; c++)
            for (let ky = 0; ky < g.kernelH; ky++) {
              const iy = oy * g.strideH - g.padTop + ky * g.dilationH;
              if (iy < 0 || iy >= g.inH) continue;
              for (let kx = 0; kx < g.kernelW; kx++) {
                const ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
                if (ix < 0 || ix >= g.inW) continue;
                visit(n, group, m, oy, ox, group * inPerGroup + c, ky, kx, iy, ix);
              }
            }
    }
}

const inIndex = (g: Conv2dGeometry, n: number, c: number, y: number, x: number) => ((n * g.inChannels + c) * g.inH + y) * g.inW + x;
const outIndex = (g: Conv2dGeometry, n: number, m: number, y: number, x: number) => ((n * g.outChannels + m) * g.outH + y) * g.outW + x;
const wIndex = (g: Conv2dGeometry, m: number, c: number, ky: number, kx: number) =>
  ((m * (g.inChannels / g.groups) + (c % (g.inChannels / g.groups))) * g.kernelH + ky) * g.kernelW + kx;

export interface ConvInputs { bias?: NdArray; residual?: NdArray }

export function conv2d(x: NdArray, w: NdArray, o: Conv2dOptions & ConvInputs = {}): NdArray {
  const g = conv2dGeometry(x.shape, w.shape, o);
  checkConvInputs('conv2d', g, o);
  const y = ndarray([g.batch, g.outChannels, g.outH, g.outW]);
  forEachTap(g, (n, _group, m, oy, ox, c, ky, kx, iy, ix) => {
    y.data[outIndex(g, n, m, oy, ox)] += w.data[wIndex(g, m, c, ky, kx)] * x.data[inIndex(g, n, c, iy, ix)];
  });
  const plane = g.outH * g.outW;
  for (let i = 0; i < y.data.length; i++) {
    const m = Math.floor(i / plane) % g.outChannels;
    if (o.bias) y.data[i] += o.bias.data[m];
    if (o.residual) y.data[i] += o.residual.data[i];
    if (o.relu) y.data[i] = Math.max(0, y.data[i]);
  }
  return y;
}

export function conv2dBackwardInput(dy: NdArray, w: NdArray, inputShape: Shape, o: Conv2dOptions = {}): NdArray {
  const g = conv2dGeometry(inputShape, w.shape, o);
  assertShape('conv2dBackwardInput', 'dy', dy.shape, [g.batch, g.outChannels, g.outH, g.outW]);
  const dx = ndarray(inputShape);
  forEachTap(g, (n, _group, m, oy, ox, c, ky, kx, iy, ix) => {
    dx.data[inIndex(g, n, c, iy, ix)] += w.data[wIndex(g, m, c, ky, kx)] * dy.data[outIndex(g, n, m, oy, ox)];
  });
  return dx;
}

export function conv2dBackwardFilter(dy: NdArray, x: NdArray, filterShape: Shape, o: Conv2dOptions = {}): NdArray {
  const g = conv2dGeometry(x.shape, filterShape, o);
  assertShape('conv2dBackwardFilter', 'dy', dy.shape, [g.batch, g.outChannels, g.outH, g.outW]);
  const dw = ndarray(filterShape);
  forEachTap(g, (n, _group, m, oy, ox, c, ky, kx, iy, ix) => {
    dw.data[wIndex(g, m, c, ky, kx)] += dy.data[outIndex(g, n, m, oy, ox)] * x.data[inIndex(g, n, c, iy, ix)];
  });
  return dw;
}

/** y = x W^T + b, W of shape [out, in]. */
export function linear(x: NdArray, w: NdArray, o: { bias?: NdArray; relu?: boolean } = {}): NdArray {
  const g = linearGeometry(x.shape, w.shape);
  const y = conv2d(as4d(x), as4d(w), o);
  return { shape: [g.batch, g.outChannels], data: y.data };
}

export function linearBackwardInput(dy: NdArray, w: NdArray): NdArray {
  const dx = conv2dBackwardInput(as4d(dy), as4d(w), [dy.shape[0], w.shape[1], 1, 1]);
  return { shape: [dy.shape[0], w.shape[1]], data: dx.data };
}

export function linearBackwardWeight(dy: NdArray, x: NdArray): NdArray {
  const dw = conv2dBackwardFilter(as4d(dy), as4d(x), [dy.shape[1], x.shape[1], 1, 1]);
  return { shape: [dy.shape[1], x.shape[1]], data: dw.data };
}

const as4d = (a: NdArray): NdArray => ({ shape: [a.shape[0], a.shape[1], 1, 1], data: a.data });

/** Per-channel sum over batch and space (a bias gradient). Rank 2 [N, C] or rank 4 [N, C, H, W]. */
export function channelSum(x: NdArray): NdArray {
  const [n, c] = x.shape;
  const spatial = x.data.length / (n * c);
  const out = ndarray([c]);
  x.data.forEach((v, i) => { out.data[Math.floor(i / spatial) % c] += v; });
  return out;
}

export interface BatchNormStatistics { mean: NdArray; invStd: NdArray }

function channelStatistics(x: NdArray, epsilon: number): BatchNormStatistics & { unbiasedVar: NdArray } {
  const c = x.shape[1];
  const spatial = x.data.length / (x.shape[0] * c);
  const count = x.data.length / c;
  const channel = (i: number) => Math.floor(i / spatial) % c;
  const mean = channelSum(x);
  mean.data.forEach((v, k) => { mean.data[k] = v / count; });
  const squares = ndarray([c]);
  x.data.forEach((v, i) => { squares.data[channel(i)] += (v - mean.data[channel(i)]) ** 2; });
  return {
    mean,
    invStd: ndarray([c], squares.data.map((s) => 1 / Math.sqrt(s / count + epsilon))),
    unbiasedVar: ndarray([c], squares.data.map((s) => s / Math.max(count - 1, 1))),
  };
}

function normalize(x: NdArray, mean: NdArray, invStd: NdArray, gamma: NdArray, beta: NdArray): NdArray {
  const c = x.shape[1];
  const spatial = x.data.length / (x.shape[0] * c);
  return ndarray(x.shape, x.data.map((v, i) => {
    const k = Math.floor(i / spatial) % c;
    return (v - mean.data[k]) * invStd.data[k] * gamma.data[k] + beta.data[k];
  }));
}

/** Training-mode batch norm: normalises with batch statistics and updates the running ones in place. */
export function batchNormTraining(
  x: NdArray, gamma: NdArray, beta: NdArray, runningMean: NdArray, runningVar: NdArray,
  o: { epsilon: number; momentum: number },
): BatchNormStatistics & { y: NdArray } {
  const s = channelStatistics(x, o.epsilon);
  runningMean.data.forEach((v, k) => { runningMean.data[k] = (1 - o.momentum) * v + o.momentum * s.mean.data[k]; });
  runningVar.data.forEach((v, k) => { runningVar.data[k] = (1 - o.momentum) * v + o.momentum * s.unbiasedVar.data[k]; });
  return { y: normalize(x, s.mean, s.invStd, gamma, beta), mean: s.mean, invStd: s.invStd };
}

export function batchNormInference(
  x: NdArray, gamma: NdArray, beta: NdArray, runningMean: NdArray, runningVar: NdArray, o: { epsilon: number },
): NdArray {
  return normalize(x, runningMean, ndarray(runningVar.shape, runningVar.data.map((v) => 1 / Math.sqrt(v + o.epsilon))), gamma, beta);
}

export function batchNormBackward(dy: NdArray, x: NdArray, gamma: NdArray, mean: NdArray, invStd: NdArray): { dx: NdArray; dGamma: NdArray; dBeta: NdArray } {
  const c = x.shape[1];
  const spatial = x.data.length / (x.shape[0] * c);
  const count = x.data.length / c;
  const channel = (i: number) => Math.floor(i / spatial) % c;
  const xHat = (i: number) => (x.data[i] - mean.data[channel(i)]) * invStd.data[channel(i)];
  const dBeta = channelSum(dy);
  const dGamma = ndarray([c]);
  dy.data.forEach((v, i) => { dGamma.data[channel(i)] += v * xHat(i); });
  const dx = ndarray(x.shape, dy.data.map((v, i) => {
    const k = channel(i);
    return gamma.data[k] * invStd.data[k] * (v - dBeta.data[k] / count - xHat(i) * dGamma.data[k] / count);
  }));
  return { dx, dGamma, dBeta };
}


/**
 * erf to float64 accuracy: its Maclaurin series below |x| = 3 (terms peak near 3^19/9!, so about 1e-13
 * is lost to cancellation), and above it the continued fraction of erfc (Abramowitz & Stegun 7.1.14),
 * evaluated bottom-up over 60 levels (converged to 1e-16 for |x| >= 3).
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x, sum = x;
    for (let n = 1; n < 80 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let fraction = ax;
  for (let k = 60; k >= 1; k--) fraction = ax + (k / 2) / fraction;
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * fraction);
  return Math.sign(x) * (1 - erfc);
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
/** tanh-form GELU (Hendrycks & Gimpel 2016): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
const GELU_K = Math.sqrt(2 / Math.PI), GELU_C = 0.044715;

/** The activation of one value (alpha: see activationAlpha). */
export function activate(v: number, kind: Activation, alpha: number): number {
  switch (kind) {
    case 'relu': return Math.max(0, v);
    case 'relu6': return Math.min(6, Math.max(0, v));
    case 'leakyrelu': return v > 0 ? v : alpha * v;
    case 'sigmoid': return sigmoid(v);
    case 'hardsigmoid': return Math.min(1, Math.max(0, alpha * v + 0.5));
    case 'hardswish': return v * Math.min(1, Math.max(0, v / 6 + 0.5));
    case 'silu': return v * sigmoid(v);
    case 'gelu': return 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'gelu-tanh': return 0.5 * v * (1 + Math.tanh(GELU_K * (v + GELU_C * v ** 3)));
  }
}

/** d activation / dx at v. Flat pieces pass nothing (x > 0, and x < 6 for relu6); hardswish as PyTorch's. */
export function activationSlope(v: number, kind: Activation, alpha: number): number {
  switch (kind) {
    case 'relu': return v > 0 ? 1 : 0;
    case 'relu6': return v > 0 && v < 6 ? 1 : 0;
    case 'leakyrelu': return v > 0 ? 1 : alpha;
    case 'sigmoid': { const s = sigmoid(v); return s * (1 - s); }
    case 'hardsigmoid': { const h = alpha * v + 0.5; return h > 0 && h < 1 ? alpha : 0; }
    case 'hardswish': return v < -3 ? 0 : v <= 3 ? v / 3 + 0.5 : 1;
    case 'silu': { const s = sigmoid(v); return s * (1 + v * (1 - s)); }
    case 'gelu': return 0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);
    case 'gelu-tanh': {
      const t = Math.tanh(GELU_K * (v + GELU_C * v ** 3));
      return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * v * v);
    }
  }
}

export function activation(x: NdArray, kind: Activation, alpha?: number): NdArray {
  const a = activationAlpha(kind, alpha);
  return ndarray(x.shape, x.data.map((v) => activate(v, kind, a)));
}

export function activationBackward(dy: NdArray, x: NdArray, kind: Activation, alpha?: number): NdArray {
  const a = activationAlpha(kind, alpha);
  return ndarray(x.shape, dy.data.map((d, i) => d * activationSlope(x.data[i], kind, a)));
}

export function add(a: NdArray, b: NdArray): NdArray {
  assertShape('add', 'b', b.shape, a.shape);
  return ndarray(a.shape, a.data.map((v, i) => v + b.data[i]));
}

/** PReLU: x where x > 0, else slope[c] · x. */
export function prelu(x: NdArray, slope: NdArray): NdArray {
  const [, channels, inner] = preluView('prelu', x.shape, slope.shape);
  return ndarray(x.shape, x.data.map((v, i) => (v > 0 ? v : slope.data[Math.floor(i / inner) % channels] * v)));
}

export function preluBackward(dy: NdArray, x: NdArray, slope: NdArray): { dx: NdArray; dSlope: NdArray } {
  const [, channels, inner] = preluView('preluBackward', x.shape, slope.shape);
  assertShape('preluBackward', 'dy', dy.shape, x.shape);
  const dSlope = ndarray([channels]);
  const dx = ndarray(x.shape, dy.data.map((d, i) => {
    const c = Math.floor(i / inner) % channels;
    if (x.data[i] > 0) return d;
    dSlope.data[c] += d * x.data[i];
    return slope.data[c] * d;
  }));
  return { dx, dSlope };
}

/** x * s with s [N, C, 1, 1] broadcast over x's positions (squeeze-excitation). */
export function channelScale(x: NdArray, s: NdArray): NdArray {
  const [, , inner] = channelScaleView('channelScale', x.shape, s.shape);
  return ndarray(x.shape, x.data.map((v, i) => v * s.data[Math.floor(i / inner)]));
}

export function channelScaleBackward(dy: NdArray, x: NdArray, s: NdArray): { dx: NdArray; ds: NdArray } {
  const [, , inner] = channelScaleView('channelScaleBackward', x.shape, s.shape);
  assertShape('channelScaleBackward', 'dy', dy.shape, x.shape);
  const ds = ndarray(s.shape);
  dy.data.forEach((d, i) => { ds.data[Math.floor(i / inner)] += d * x.data[i]; });
  return { dx: channelScale(dy, s), ds };
}

/** Channel concatenation of NCHW (or NC) tensors. */
export function concat(xs: NdArray[]): NdArray {
  const [n, , ...rest] = xs[0].shape;
  xs.forEach((x, i) => assertShape('concat', `input ${i}`, [x.shape[0], ...x.shape.slice(2)], [n, ...rest]));
  const spatial = sizeOf(rest);
  const channels = xs.reduce((s, x) => s + x.shape[1], 0);
  const y = ndarray([n, channels, ...rest]);
  let offset = 0;
  for (const x of xs) {
    const c = x.shape[1];
    for (let b = 0; b < n; b++) y.data.set(x.data.subarray(b * c * spatial, (b + 1) * c * spatial), (b * channels + offset) * spatial);
    offset += c;
  }
  return y;
}

/** Channels [offset, offset + count) of an NCHW tensor: the backward of concat. */
export function sliceChannels(x: NdArray, offset: number, count: number): NdArray {
  const [n, channels, ...rest] = x.shape;
  if (offset < 0 || count < 1 || offset + count > channels) throw new Error(`sliceChannels: [${offset}, ${offset + count}) outside ${channels} channels`);
  const spatial = sizeOf(rest);
  const y = ndarray([n, count, ...rest]);
  for (let b = 0; b < n; b++) y.data.set(x.data.subarray((b * channels + offset) * spatial, (b * channels + offset + count) * spatial), b * count * spatial);
  return y;
}

export interface DistillationOptions { teacher?: NdArray; temperature?: number; alpha?: number; ignoreLabel?: number }

function logSoftmax(row: ArrayLike<number>, t: number): Float64Array {
  const z = Float64Array.from(row, (v) => v / t);
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
}

/**
 * Per-row loss (1 - alpha) * CE(label, softmax(z)) + alpha * T^2 * KL(softmax(t/T) || softmax(z/T)),
 * plain cross-entropy without a teacher; dLogits is the gradient of the mean loss over the rows. A row
 * is a sample of [N, K] logits or a pixel of [N, K, H, W] ones (geometry.softmaxSettings); a row labelled
 * `ignoreLabel` has no hard-label term and is never correct.
 */
export function softmaxCrossEntropy(logits: NdArray, labels: NdArray, o: DistillationOptions = {}): { loss: NdArray; dLogits: NdArray; correct: NdArray } {
  const { rows, classes: k, positions, ignore } = softmaxSettings(logits.shape, labels.shape, o);
  if (o.teacher) assertShape('softmaxCrossEntropy', 'teacher logits', o.teacher.shape, logits.shape);
  const t = o.temperature ?? 1;
  const alpha = o.teacher ? o.alpha ?? 0.5 : 0;
  const loss = ndarray(labels.shape);
  const dLogits = ndarray(logits.shape);
  const correct = ndarray(labels.shape);
  const at = (r: number, j: number) => (Math.floor(r / positions) * k + j) * positions + (r % positions);
  const rowOf = (v: ArrayLike<number>, r: number) => Float64Array.from({ length: k }, (_, j) => v[at(r, j)]);
  for (let r = 0; r < rows; r++) {
    const label = labels.data[r];
    const ignored = label === ignore;
    if (!ignored && (!Number.isInteger(label) || label < 0 || label >= k)) throw new Error(`softmaxCrossEntropy: label ${label} of ${positions > 1 ? 'pixel' : 'sample'} ${r} is not a class in [0, ${k})`);
    const row = rowOf(logits.data, r);
    correct.data[r] = !ignored && row.indexOf(Math.max(...row)) === label ? 1 : 0;
    const logP = logSoftmax(row, 1);
    const hard = ignored ? 0 : 1 - alpha;
    loss.data[r] = ignored ? 0 : -hard * logP[label];
    const g = Float64Array.from({ length: k }, (_, j) => hard * (Math.exp(logP[j]) - (j === label ? 1 : 0)));
    if (o.teacher) {
      const logPt = logSoftmax(row, t);
      const logQt = logSoftmax(rowOf(o.teacher.data, r), t);
      for (let j = 0; j < k; j++) {
        loss.data[r] += alpha * t * t * Math.exp(logQt[j]) * (logQt[j] - logPt[j]);
        g[j] += alpha * t * (Math.exp(logPt[j]) - Math.exp(logQt[j]));
      }
    }
    for (let j = 0; j < k; j++) dLogits.data[at(r, j)] = g[j] / rows;
  }
  return { loss, dLogits, correct };
}

/** Per sample of y [N, ...]: mean (y − target)² over its values; dy: the gradient of the batch mean of those, 2 (y − target) / y.size. */
export function squaredError(y: NdArray, target: NdArray): { loss: NdArray; dy: NdArray } {
  assertShape('squaredError', 'target', target.shape, y.shape);
  const n = y.shape[0];
  const per = y.data.length / n;
  const loss = ndarray([n]);
  const dy = ndarray(y.shape);
  for (let i = 0; i < y.data.length; i++) {
    const d = y.data[i] - target.data[i];
    loss.data[Math.floor(i / per)] += (d * d) / per;
    dy.data[i] = (2 * d) / y.data.length;
  }
  return { loss, dy };
}

export interface SgdOptions { learningRate: number; momentum?: number; weightDecay?: number; mask?: NdArray }

/** PyTorch's SGD (dampening 0), in place; pruned entries of weight and velocity are set to exactly 0. */
export function sgdStep(w: NdArray, grad: NdArray, velocity: NdArray, o: SgdOptions): void {
  for (let i = 0; i < w.data.length; i++) {
    const keep = isKept(o.mask, i);
    const v = (o.momentum ?? 0) * velocity.data[i] + ((keep ? grad.data[i] : 0) + (o.weightDecay ?? 0) * w.data[i]);
    velocity.data[i] = keep ? v : 0;
    w.data[i] = keep ? w.data[i] - o.learningRate * v : 0;
  }
}

export interface AdamOptions { learningRate: number; beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number; step: number; mask?: NdArray }

/** PyTorch's Adam with L2 weight decay, in place; `step` counts from 1. */
export function adamStep(w: NdArray, grad: NdArray, m: NdArray, v: NdArray, o: AdamOptions): void {
  const b1 = o.beta1 ?? 0.9, b2 = o.beta2 ?? 0.999, eps = o.epsilon ?? 1e-8;
  for (let i = 0; i < w.data.length; i++) {
    const keep = isKept(o.mask, i);
    const g = (keep ? grad.data[i] : 0) + (o.weightDecay ?? 0) * w.data[i];
    const mi = b1 * m.data[i] + (1 - b1) * g;
    const vi = b2 * v.data[i] + (1 - b2) * g * g;
    m.data[i] = keep ? mi : 0;
    v.data[i] = keep ? vi : 0;
    const update = (mi / (1 - b1 ** o.step)) / (Math.sqrt(vi / (1 - b2 ** o.step)) + eps);
    w.data[i] = keep ? w.data[i] - o.learningRate * update : 0;
  }
}
