// The CPU reference's backward ops against central finite differences of its forward ops, in float64.
// Together with ops.test.ts (WebGPU backward == CPU backward) this checks the GPU gradients.
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS } from '../src/backend.js';
import * as ref from '../src/cpu/reference.js';
import type { NdArray } from '../src/cpu/reference.js';
import type { Conv2dOptions, PoolOptions } from '../src/geometry.js';
import { Rng } from '../src/random.js';

const EPS = 1e-6;

function random(rng: Rng, shape: number[], lo = -1, hi = 1): NdArray {
  return ref.ndarray(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(lo, hi)));
}

/** d/dx of sum(f(x) * r), by central differences. */
function numericGradient(f: (x: NdArray) => NdArray, x: NdArray, r: NdArray): Float64Array {
  const g = new Float64Array(x.data.length);
  const loss = () => f(x).data.reduce((s, v, i) => s + v * r.data[i], 0);
  for (let i = 0; i < x.data.length; i++) {
    const saved = x.data[i];
    x.data[i] = saved + EPS;
    const up = loss();
    x.data[i] = saved - EPS;
    const down = loss();
    x.data[i] = saved;
    g[i] = (up - down) / (2 * EPS);
  }
  return g;
}

function expectClose(analytic: Float64Array, numeric: Float64Array, label: string) {
  const scale = Math.max(1, ...numeric.map(Math.abs));
  let worst = 0;
  analytic.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - numeric[i]) / scale); });
  expect(worst, label).toBeLessThan(1e-6);
}

const convCases: [string, number[], number[], Conv2dOptions][] = [
  ['plain 3x3 pad 1', [2, 3, 5, 6], [4, 3, 3, 3], { padding: 1 }],
  ['strided, asymmetric padding', [1, 2, 7, 6], [3, 2, 3, 2], { stride: [2, 3], padding: [1, 0, 2, 1] }],
  ['dilated', [1, 2, 8, 8], [2, 2, 3, 3], { dilation: 2, padding: 2 }],
  ['grouped', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, padding: 1 }],
  ['depthwise', [1, 3, 6, 5], [3, 1, 3, 3], { groups: 3, stride: 2, padding: 1 }],
  ['1x1', [2, 5, 4, 3], [3, 5, 1, 1], {}],
];

describe('gradients of the CPU reference equal finite differences (float64)', () => {
  const rng = new Rng(7);
  for (const [label, xs, ws, o] of convCases) {
    it(`conv2d ${label}: input, filter and bias`, () => {
      const x = random(rng, xs), w = random(rng, ws), b = random(rng, [ws[0]]);
      const y = ref.conv2d(x, w, { ...o, bias: b });
      const r = random(rng, y.shape);
      expectClose(ref.conv2dBackwardInput(r, w, xs, o).data, numericGradient((v) => ref.conv2d(v, w, { ...o, bias: b }), x, r), 'dx');
      const dw = ref.conv2dBackwardFilter(r, x, ws, o);
      expectClose(dw.data, numericGradient((v) => ref.conv2d(x, v, { ...o, bias: b }), w, r), 'dw');
      expectClose(ref.channelSum(r).data, numericGradient((v) => ref.conv2d(x, w, { ...o, bias: v }), b, r), 'db');
    });
  }

  it('linear: input, weight and bias', () => {
    const x = random(rng, [4, 7]), w = random(rng, [5, 7]), b = random(rng, [5]);
    const r = random(rng, [4, 5]);
    expectClose(ref.linearBackwardInput(r, w).data, numericGradient((v) => ref.linear(v, w, { bias: b }), x, r), 'dx');
    expectClose(ref.linearBackwardWeight(r, x).data, numericGradient((v) => ref.linear(x, v, { bias: b }), w, r), 'dw');
    expectClose(ref.channelSum(r).data, numericGradient((v) => ref.linear(x, w, { bias: v }), b, r), 'db');
  });

  it('batch norm (training statistics): input, gamma and beta', () => {
    const x = random(rng, [3, 4, 3, 2], -2, 2), gamma = random(rng, [4], 0.5, 1.5), beta = random(rng, [4]);
    const forward = (xv: NdArray, g: NdArray, bv: NdArray) =>
      ref.batchNormTraining(xv, g, bv, ref.ndarray([4]), ref.ndarray([4]), { epsilon: 1e-5, momentum: 0.1 });
    const { y, mean, invStd } = forward(x, gamma, beta);
    const r = random(rng, y.shape);
    const back = ref.batchNormBackward(r, x, gamma, mean, invStd);
    expectClose(back.dx.data, numericGradient((v) => forward(v, gamma, beta).y, x, r), 'dx');
    expectClose(back.dGamma.data, numericGradient((v) => forward(x, v, beta).y, gamma, r), 'dGamma');
    expectClose(back.dBeta.data, numericGradient((v) => forward(x, gamma, v).y, beta, r), 'dBeta');
  });

  for (const masked of [false, true]) {
    it(`layer norm over channels${masked ? ' with a channel mask' : ''}: input, gamma and beta`, () => {
      const x = random(rng, [2, 5, 3, 2], -2, 2), gamma = random(rng, [5], 0.5, 1.5), beta = random(rng, [5]);
      const mask = masked ? ref.ndarray([5], [1, 0, 1, 1, 0]) : undefined;
      const forward = (xv: NdArray, g: NdArray, bv: NdArray) => ref.layerNorm(xv, g, bv, { epsilon: 1e-6, mask });
      const { y, mean, invStd } = forward(x, gamma, beta);
      const r = random(rng, y.shape);
      const back = ref.layerNormBackward(r, x, gamma, mean, invStd, { mask });
      expectClose(back.dx.data, numericGradient((v) => forward(v, gamma, beta).y, x, r), 'dx');
      expectClose(back.dGamma.data, numericGradient((v) => forward(x, v, beta).y, gamma, r), 'dGamma');
      expectClose(back.dBeta.data, numericGradient((v) => forward(x, gamma, v).y, beta, r), 'dBeta');
    });
  }

  it('resampling (resize): the transposed matrices give the input gradient', () => {
    const x = random(rng, [2, 3, 4, 5]), rows = random(rng, [6, 4]), cols = random(rng, [3, 5]);
    const r = random(rng, [2, 3, 6, 3]);
    const t = (m: NdArray) => ref.ndarray([m.shape[1], m.shape[0]], Array.from({ length: m.data.length }, (_, i) => m.data[(i % m.shape[0]) * m.shape[1] + Math.floor(i / m.shape[0])]));
    expectClose(ref.resample(r, t(rows), t(cols)).data, numericGradient((v) => ref.resample(v, rows, cols), x, r), 'dx');
  });

  it('layer norm with a channel mask equals layer norm over the kept channels alone', () => {
    const x = random(rng, [2, 4, 3, 3]), gamma = random(rng, [4], 0.5, 1.5), beta = random(rng, [4]);
    const keep = [0, 2, 3];
    const pick = (a: NdArray) => ref.gatherChannels(a, a.shape.length === 1 ? 0 : 1, Float64Array.from(keep));
    const masked = ref.layerNorm(x, gamma, beta, { epsilon: 1e-6, mask: ref.ndarray([4], [1, 0, 1, 1]) });
    const alone = ref.layerNorm(pick(x), pick(gamma), pick(beta), { epsilon: 1e-6 });
    expectClose(pick(masked.y).data, alone.y.data, 'kept channels');
    expect(Array.from(masked.y.data).filter((_, i) => Math.floor(i / 9) % 4 === 1).every((v) => v === 0)).toBe(true);
  });

  for (const kind of ACTIVATIONS) {
    it(`${kind}`, () => {
      const x = random(rng, [2, 3, 4, 4], -6, 9);
      const r = random(rng, x.shape);
      expectClose(ref.activationBackward(r, x, kind, 0.2).data, numericGradient((v) => ref.activation(v, kind, 0.2), x, r), 'dx');
    });
  }

  const poolCases: [string, PoolOptions][] = [
    ['2x2 stride 2', { kernel: 2 }],
    ['3x3 stride 2 pad 1, overlapping', { kernel: 3, stride: 2, padding: 1 }],
    ['asymmetric, dilated, excluding padding', { kernel: [2, 3], stride: [1, 2], padding: [1, 1, 0, 2], dilation: 2, countIncludePad: false }],
  ];
  for (const [label, o] of poolCases) {
    it(`max and average pooling ${label}`, () => {
      const x = random(rng, [2, 2, 7, 8]);
      const { y, argmax } = ref.maxPool(x, o);
      const r = random(rng, y.shape);
      expectClose(ref.maxPoolBackward(r, argmax, x.shape, o).data, numericGradient((v) => ref.maxPool(v, o).y, x, r), 'max dx');
      expectClose(ref.avgPoolBackward(r, x.shape, o).data, numericGradient((v) => ref.avgPool(v, o), x, r), 'avg dx');
    });
  }

  it('erf (for GELU) to float64 accuracy: published values and the derivative 2/sqrt(pi) exp(-x^2)', () => {
    // Abramowitz & Stegun table 7.1 (and any high-precision tabulation).
    const table: [number, number][] = [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [3, 0.9999779095030014], [4, 0.9999999845827421]];
    for (const [x, v] of table) {
      expect(Math.abs(ref.erf(x) - v), `erf(${x})`).toBeLessThan(2e-15);
      expect(ref.erf(-x)).toBe(-ref.erf(x));
    }
    for (const x of [-3.5, -1.3, 0.2, 2.9, 3.1]) {
      const numeric = (ref.erf(x + 1e-6) - ref.erf(x - 1e-6)) / 2e-6;
      expect(Math.abs(numeric - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x)), `erf'(${x})`).toBeLessThan(1e-8);
    }
  });

  it('channel scale (squeeze-excitation): input and scale', () => {
    const x = random(rng, [2, 3, 4, 5]), sc = random(rng, [2, 3, 1, 1]);
    const r = random(rng, x.shape);
    const back = ref.channelScaleBackward(r, x, sc);
    expectClose(back.dx.data, numericGradient((v) => ref.channelScale(v, sc), x, r), 'dx');
    expectClose(back.ds.data, numericGradient((v) => ref.channelScale(x, v), sc, r), 'ds');
  });

  it('PReLU: input and per-channel slopes, on 4-D and 2-D inputs', () => {
    for (const shape of [[2, 3, 4, 5], [4, 6]]) {
      // Inputs kept away from 0, where PReLU has a kink that central differences would straddle.
      const x = random(rng, shape);
      x.data.forEach((v, i) => { x.data[i] = v + (v >= 0 ? 0.05 : -0.05); });
      const slope = random(rng, [shape[1]], -0.5, 1), r = random(rng, shape);
      const back = ref.preluBackward(r, x, slope);
      expectClose(back.dx.data, numericGradient((v) => ref.prelu(v, slope), x, r), 'dx');
      expectClose(back.dSlope.data, numericGradient((v) => ref.prelu(x, v), slope, r), 'dSlope');
    }
  });

  it('global average pooling', () => {
    const x = random(rng, [2, 3, 4, 5]);
    const r = random(rng, [2, 3, 1, 1]);
    expectClose(ref.globalAvgPoolBackward(r, x.shape).data, numericGradient((v) => ref.globalAvgPool(v), x, r), 'dx');
  });

  it('elementwise add and channel concat (backward: identity and slices)', () => {
    const a = random(rng, [2, 3, 2, 2]), b = random(rng, [2, 2, 2, 2]);
    const r = random(rng, [2, 5, 2, 2]);
    expectClose(ref.sliceChannels(r, 0, 3).data, numericGradient((v) => ref.concat([v, b]), a, r), 'd first');
    expectClose(ref.sliceChannels(r, 3, 2).data, numericGradient((v) => ref.concat([a, v]), b, r), 'd second');
    const r2 = random(rng, a.shape);
    const c = random(rng, a.shape);
    expectClose(r2.data, numericGradient((v) => ref.add(v, c), a, r2), 'd add');
  });

  for (const teacher of [false, true]) {
    it(`softmax cross-entropy${teacher ? ' with distillation (T=3, alpha=0.7)' : ''}`, () => {
      const logits = random(rng, [5, 6], -3, 3), t = random(rng, [5, 6], -3, 3);
      const labels = ref.ndarray([5], [0, 5, 2, 2, 4]);
      const o = teacher ? { teacher: t, temperature: 3, alpha: 0.7 } : {};
      const meanLoss = (v: NdArray) => ref.ndarray([1], [ref.softmaxCrossEntropy(v, labels, o).loss.data.reduce((s, x) => s + x, 0) / 5]);
      const { dLogits } = ref.softmaxCrossEntropy(logits, labels, o);
      expectClose(dLogits.data, numericGradient(meanLoss, logits, ref.ndarray([1], [1])), 'dLogits');
    });
    it(`per-pixel softmax cross-entropy with ignored pixels${teacher ? ' and distillation' : ''}`, () => {
      const logits = random(rng, [2, 4, 3, 2], -3, 3), t = random(rng, [2, 4, 3, 2], -3, 3);
      const labels = ref.ndarray([2, 3, 2], [0, 3, 255, 1, 2, 2, 255, 255, 1, 0, 3, 1]);
      const o = { ...(teacher ? { teacher: t, temperature: 2, alpha: 0.4 } : {}), ignoreLabel: 255 };
      const meanLoss = (v: NdArray) => ref.ndarray([1], [ref.softmaxCrossEntropy(v, labels, o).loss.data.reduce((s, x) => s + x, 0) / 12]);
      const r = ref.softmaxCrossEntropy(logits, labels, o);
      expectClose(r.dLogits.data, numericGradient(meanLoss, logits, ref.ndarray([1], [1])), 'dLogits');
      // An ignored pixel has no loss or gradient but its distillation term; the per-pixel loss is the same row's as a flat [N, K] one.
      if (!teacher) for (const p of [2, 6, 7]) expect(r.loss.data[p]).toBe(0);
      const pixel = (v: NdArray, n: number, q: number) => Array.from({ length: 4 }, (_, k) => v.data[(n * 4 + k) * 6 + q]);
      const flat = ref.softmaxCrossEntropy(ref.ndarray([1, 4], pixel(logits, 1, 3)), ref.ndarray([1], [labels.data[9]]), teacher ? { ...o, teacher: ref.ndarray([1, 4], pixel(t, 1, 3)) } : {});
      expect(r.loss.data[9]).toBeCloseTo(flat.loss.data[0], 12);
    });
  }

  it('squared error: per-sample mean, and the gradient of the batch mean', () => {
    const y = random(rng, [3, 2, 2, 2]), target = random(rng, [3, 2, 2, 2]);
    const meanLoss = (v: NdArray) => ref.ndarray([1], [ref.squaredError(v, target).loss.data.reduce((s, x) => s + x, 0) / 3]);
    const r = ref.squaredError(y, target);
    expectClose(r.dy.data, numericGradient(meanLoss, y, ref.ndarray([1], [1])), 'dy');
    expect(r.loss.data[1]).toBeCloseTo(y.data.slice(8, 16).reduce((s, v, i) => s + (v - target.data[8 + i]) ** 2, 0) / 8, 12);
  });

  it('distillation loss: alpha = 0 is plain cross-entropy, and the KL term vanishes when student equals teacher', () => {
    const logits = random(rng, [3, 4], -2, 2);
    const labels = ref.ndarray([3], [1, 0, 3]);
    const plain = ref.softmaxCrossEntropy(logits, labels);
    const alpha0 = ref.softmaxCrossEntropy(logits, labels, { teacher: random(rng, [3, 4]), temperature: 4, alpha: 0 });
    expect(Array.from(alpha0.loss.data)).toEqual(Array.from(plain.loss.data));
    const self = ref.softmaxCrossEntropy(logits, labels, { teacher: logits, temperature: 4, alpha: 1 });
    for (const v of self.loss.data) expect(Math.abs(v)).toBeLessThan(1e-12);
  });
});
