// Fake quantization by hand-computed cases on the CPU reference (the shared op suites check every backend
// against it): grid points come back exactly, ties round to even, values past the grid clip, and the
// straight-through gradient passes only inside the grid. Calibrators on samples with known answers.
import { describe, expect, it } from 'vitest';
import { roundHalfEven } from '../src/geometry.js';
import { AbsHistogram, entropyThreshold, grid, mseThreshold, percentileThreshold, qparams, sqnr } from '../src/quantize/calibrate.js';
import { Rng } from '../src/random.js';
import { quantizeWeights } from '../src/quantize/weights.js';
import { NativeBackend } from '../src/native/backend.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { evaluateModel } from '../src/train/trainer.js';
import { cpu } from './helpers/backends.js';

describe('fake quantization', () => {
  it('rounds half to even', () => {
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4999, 2.5001].map(roundHalfEven).map((v) => v + 0)).toEqual([-2, -2, 0, 0, 2, 2, 2, 3]);
  });

  it('int8 per channel and uint4 per tensor: exact grid points, ties to even, clipping; the clipped straight-through gradient', async () => {
    const be = cpu();
    // Two channels along axis 0: scales 0.5 and 0.25, symmetric int8 (zero point 0).
    const x = be.upload([1, 1.25, -0.75, 100, 0.5, 0.375, -64, -40], [2, 4]);
    const o = { qmin: -128, qmax: 127, axis: 0 };
    const [s, z] = [be.upload([0.5, 0.25], [2]), be.upload([0, 0], [2])];
    // 1.25 / 0.5 = 2.5 -> 2; -0.75 / 0.5 = -1.5 -> -2; 100 / 0.5 = 200 -> 127; 0.375 / 0.25 = 1.5 -> 2; -64 / 0.25 = -256 -> -128.
    expect(Array.from(await be.read(be.fakeQuantize(x, s, z, o)))).toEqual([1, 1, -1, 63.5, 0.5, 0.5, -32, -32]);
    const dy = be.upload([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
    expect(Array.from(await be.read(be.fakeQuantizeBackward(dy, x, s, z, o)))).toEqual([1, 2, 3, 0, 5, 6, 0, 0]);
    // Asymmetric uint4 per tensor: scale 0.1, zero point 3 -> the grid is [-0.3, 1.2].
    const u = { qmin: 0, qmax: 15 };
    const y = await be.read(be.fakeQuantize(be.upload([-1, -0.3, 0.04, 1.2, 5], [5]), be.upload([0.1], [1]), be.upload([3], [1]), u));
    expect(Array.from(y).map((v) => +v.toFixed(6))).toEqual([-0.3, -0.3, 0, 1.2, 1.2]);
    expect(() => be.fakeQuantize(x, s, z, { qmin: 5, qmax: 5, axis: 0 })).toThrow(/grid \[5, 5\] must be integers with qmin < qmax/);
    expect(() => be.fakeQuantize(x, be.upload([1, 1, 1], [3]), z, o)).toThrow(/scale/);
  });
});

describe('calibration', () => {
  it('grids and scale/zero point: symmetric and asymmetric', () => {
    expect(grid(8, true)).toEqual({ qmin: -128, qmax: 127 });
    expect(grid(4, false)).toEqual({ qmin: 0, qmax: 15 });
    expect(() => grid(1, true)).toThrow(/bits must be an integer in \[2, 16\], got 1/);
    expect(qparams(-1, 2, 8, true)).toEqual({ scale: 2 / 127, zeroPoint: 0 });
    expect(qparams(-1, 2, 8, false)).toEqual({ scale: 3 / 255, zeroPoint: 85 });
    expect(qparams(0.5, 2, 8, false).zeroPoint).toBe(0); // the range widens to include 0
  });

  it('min/max and percentile of a known sample', () => {
    const h = new AbsHistogram();
    h.add(Float64Array.from({ length: 1000 }, (_, i) => (i % 2 ? -1 : 1) * (i + 1)));
    expect([h.lo, h.hi]).toEqual([-1000, 999]);
    expect(Math.abs(percentileThreshold(h, 99) - 990)).toBeLessThanOrEqual(1000 / 2048 + 1e-9);
    expect(percentileThreshold(h, 100)).toBe(1000);
  });

  it('the histogram keeps its counts when a larger value stretches the range', () => {
    const h = new AbsHistogram(8);
    h.add([0.1, 0.3, 0.9]);
    h.add([3.5]);
    expect(h.max).toBe(3.6);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('entropy clips a heavy tail and keeps a uniform range; least-MSE clipping of a Gaussian sits near the known optimum', () => {
    const rng = new Rng(3);
    const heavy = new AbsHistogram();
    // Laplace-like body with a few huge outliers.
    heavy.add(Float64Array.from({ length: 50_000 }, () => Math.log(rng.uniform(1e-9, 1)) * (rng.bool() ? 1 : -1)));
    heavy.add([200, -180, 150]);
    const t = entropyThreshold(heavy);
    expect(t).toBeLessThan(0.25 * heavy.max);
    expect(t).toBeGreaterThan(5);
    const flat = new AbsHistogram();
    flat.add(Float64Array.from({ length: 50_000 }, () => rng.uniform(-1, 1)));
    expect(entropyThreshold(flat)).toBeGreaterThan(0.9 * flat.max);
    const gauss = new AbsHistogram();
    gauss.add(Float64Array.from({ length: 100_000 }, () => rng.normal()));
    // Uniform 4-bit quantizer of N(0, 1): optimal step ≈ 0.335 (Max, 1960), so ≈ 2.3 at 7 steps; 8 bits clip much later.
    const t4 = mseThreshold(gauss, 4);
    expect(t4).toBeGreaterThan(1.8);
    expect(t4).toBeLessThan(3.0);
    expect(mseThreshold(gauss, 8)).toBeGreaterThan(t4);
  });

  it('SQNR in dB', () => {
    expect(sqnr([1, -1, 1, -1], [1.1, -0.9, 1.1, -0.9])).toBeCloseTo(20, 9);
    expect(sqnr([1, 2], [1, 2])).toBe(Infinity);
  });
});

describe('weight quantization', () => {
  it('int8 per channel keeps the shipped LeNet-5 within half a point, with a better SQNR per layer than per tensor; 2 bits do not', async () => {
    const be = await NativeBackend.create();
    try {
      const { model } = await loadCheckpoint(new URL('../models/lenet5-mnist.safetensors', import.meta.url).pathname);
      const test = subset(loadMnist('test'), 1000);
      const base = (await evaluateModel(be, model, test)).accuracy;
      const int8 = await quantizeWeights(be, model, { bits: 8 });
      expect(Math.abs((await evaluateModel(be, int8.model, test)).accuracy - base)).toBeLessThanOrEqual(0.005);
      const tensor = await quantizeWeights(be, model, { bits: 8, perChannel: false });
      int8.layers.forEach((l, i) => expect(l.sqnr, l.param).toBeGreaterThanOrEqual(tensor.layers[i].sqnr));
      expect(Math.min(...int8.layers.map((l) => l.sqnr))).toBeGreaterThan(35); // about 6 dB per bit
      const int2 = await quantizeWeights(be, model, { bits: 2 });
      expect((await evaluateModel(be, int2.model, test)).accuracy).toBeLessThan(base - 0.02);
    } finally {
      be.destroy();
    }
  }, 120_000);
});
