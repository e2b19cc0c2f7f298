// Low-rank decomposition: factorizations against their definitions (full ranks reproduce the layer;
// a truncated SVD's error is the discarded singular values' energy), decomposed networks on every
// backend and in onnxruntime, and the budget planner's break-even rule.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix, QrDecomposition, SVD } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { type ConvMethod, decompose, decomposableLayers, decomposedSpec, layerRanks, ranksForEnergy, ranksForVbmf } from '../src/decompose/decompose.js';
import { vbmfRank } from '../src/decompose/vbmf.js';
import { cpAls, rankForEnergy, truncatedSvd, tucker2 } from '../src/decompose/factorize.js';
import { planRanks } from '../src/plan/ranks.js';
import { evaluate } from '../src/accel/cost.js';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { preset } from '../src/accel/presets.js';
import { CostModel } from '../src/plan/budget.js';
import { importOnnx } from '../src/onnx/import.js';
import type { DecomposeReport } from '../src/report/decompose-report.js';
import { cli } from './helpers/cli.js';
import { GpujsBackend } from '../src/gpujs/backend.js';
import { GraphBuilder } from '../src/model/graph.js';
import { type Model, initModel, paramList } from '../src/model/model.js';
import { lenet5, resnet20, vggSmall } from '../src/model/zoo.js';
import { NativeBackend } from '../src/native/backend.js';
import { exportOnnx } from '../src/onnx/export.js';
import { Rng } from '../src/random.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { cpu, inferenceLogits, toleranceRatio, webgpu } from './helpers/backends.js';

const ort = createRequire(import.meta.url)('onnxruntime-node');

/** A random m×n matrix with singular values sigma (orthonormal factors from QR of Gaussian matrices). */
function withSpectrum(m: number, n: number, sigma: number[], rng: Rng): Float64Array {
  const q = (rows: number) => new QrDecomposition(new Matrix(Array.from({ length: rows }, () => Array.from({ length: sigma.length }, () => rng.normal())))).orthogonalMatrix;
  const [U, V] = [q(m), q(n)];
  const w = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let k = 0; k < sigma.length; k++) w[i * n + j] += U.get(i, k) * sigma[k] * V.get(j, k);
  return w;
}

/** A model whose non-weight parameters (biases, batch norms) are random too. */
function randomModel(spec: Model['spec'], seed: number): Model {
  const m = initModel(spec, seed);
  const rng = new Rng(seed + 1);
  for (const p of paramList(spec)) if (p.kind === 'bias' || p.kind === 'beta') m.params.set(p.name, Float32Array.from(m.params.get(p.name)!, () => rng.normal() * 0.1));
  return m;
}

describe('factorizations', () => {
  it('a truncated SVD keeps the leading singular values; its error is the discarded energy', () => {
    const rng = new Rng(1);
    const sigma = [5, 3, 2, 1, 0.5, 0.25];
    const w = withSpectrum(9, 7, sigma, rng);
    const total = sigma.reduce((s, v) => s + v * v, 0);
    for (const r of [1, 3, 6]) {
      const f = truncatedSvd(w, 9, 7, r);
      expect(f.sigma.slice(0, 6).map((v) => +v.toFixed(9))).toEqual(sigma);
      let err = 0;
      for (let i = 0; i < 9; i++) for (let j = 0; j < 7; j++) {
        let ab = 0;
        for (let k = 0; k < r; k++) ab += f.a[i * r + k] * f.b[k * 7 + j];
        err += (w[i * 7 + j] - ab) ** 2;
      }
      const discarded = sigma.slice(r).reduce((s, v) => s + v * v, 0);
      expect(err).toBeCloseTo(discarded, 9);
      expect(f.error).toBeCloseTo(discarded / total, 12);
    }
    expect(rankForEnergy(sigma, 0.9)).toBe(3); // 25 + 9 = 34 of 39.31 is 86%; + 4 is 97%
    expect(rankForEnergy(sigma, 0.86)).toBe(2);
    expect(rankForEnergy(sigma, 1)).toBe(6);
  });

  it('Tucker-2 at full ranks is exact; truncated, its error is the weight energy it leaves out', () => {
    const rng = new Rng(2);
    const [o, i, s] = [6, 5, 9];
    const w = Float64Array.from({ length: o * i * s }, () => rng.normal());
    expect(tucker2(w, o, i, s, o, i).error).toBeLessThan(1e-12);
    const t = tucker2(w, o, i, s, 3, 2);
    // Rebuild core ×₀ uOut ×₁ uIn and compare with the stated error.
    let err = 0, total = 0;
    for (let oo = 0; oo < o; oo++) for (let c = 0; c < i; c++) for (let p = 0; p < s; p++) {
      let v = 0;
      for (let a = 0; a < 3; a++) for (let b = 0; b < 2; b++) v += t.uOut[oo * 3 + a] * t.uIn[c * 2 + b] * t.core[(a * 2 + b) * s + p];
      err += (w[(oo * i + c) * s + p] - v) ** 2;
      total += w[(oo * i + c) * s + p] ** 2;
    }
    expect(t.error).toBeCloseTo(err / total, 9);
    // ALS improves on (or matches) the HOSVD start.
    expect(t.error).toBeLessThanOrEqual(tucker2(w, o, i, s, 3, 2, 0).error + 1e-12);
  });
});

describe('VBMF rank selection', () => {
  /** Signal of known rank (singular values 3x the noise's spectral edge and up) plus Gaussian noise of this deviation. */
  const noisy = (m: number, n: number, rank: number, noise: number, rng: Rng) => {
    const edge = noise * (Math.sqrt(m) + Math.sqrt(n)); // the largest singular value of m×n Gaussian noise, to first order
    const w = rank ? withSpectrum(m, n, Array.from({ length: rank }, (_, k) => 3 * edge * (1 + k / 2)), rng) : new Float64Array(m * n);
    return w.map((v) => v + noise * rng.normal());
  };
  const svdSigma = (w: Float64Array, m: number, n: number) => new SVD(new Matrix(Array.from({ length: m }, (_, i) => Array.from(w.subarray(i * n, (i + 1) * n)))), { autoTranspose: true }).diagonal;

  it('finds the rank of a low-rank signal in Gaussian noise and estimates the noise variance, with no threshold given', () => {
    const rng = new Rng(3);
    for (const [m, n, rank, noise] of [[40, 100, 5, 0.1], [576, 64, 12, 0.05], [100, 100, 10, 0.2], [30, 200, 0, 0.1]]) {
      const v = vbmfRank(svdSigma(noisy(m, n, rank, noise, rng), m, n), m, n);
      expect(v.rank, `${m}x${n}`).toBe(rank);
      expect(Math.abs(v.noiseVariance / noise ** 2 - 1), `${m}x${n}`).toBeLessThan(0.1);
    }
    expect(() => vbmfRank([1, 2], 3, 4)).toThrow(/3x4 matrix has 3 singular values, got 2/);
  });

  it('picks Tucker-2 ranks of a conv weight from its two unfoldings; a layer of random weights stays whole', () => {
    const rng = new Rng(5);
    const g = new GraphBuilder('tucker', [12, 6, 6], 4);
    const spec = g.build(g.linear(g.flatten(g.gap(g.conv('input', { out: 16, kernel: 3, padding: 1, name: 'conv' }))), 4, 'fc'));
    const model = initModel(spec, 1);
    // w[o, c, p] = Σ uOut[o, a] uIn[c, b] core[a, b, p] + noise: Tucker ranks 4 (output) and 3 (input).
    const [uOut, uIn] = [withSpectrum(16, 4, [1, 1, 1, 1], rng), withSpectrum(12, 3, [1, 1, 1], rng)];
    const core = Float64Array.from({ length: 4 * 3 * 9 }, () => rng.normal());
    const w = new Float32Array(16 * 12 * 9);
    for (let o = 0; o < 16; o++) for (let c = 0; c < 12; c++) for (let p = 0; p < 9; p++) {
      let v = 0;
      for (let a = 0; a < 4; a++) for (let b = 0; b < 3; b++) v += uOut[o * 4 + a] * uIn[c * 3 + b] * core[(a * 3 + b) * 9 + p];
      w[(o * 12 + c) * 9 + p] = v + 0.01 * rng.normal();
    }
    model.params.set('conv.weight', w);
    const { ranks, notes } = ranksForVbmf(model, decomposableLayers(spec).layers);
    expect(ranks.get('conv')).toEqual([3, 4]);
    expect(ranks.has('fc')).toBe(false); // initialised at random: noise only
    expect(notes).toEqual(['fc stays whole: VBMF finds no low-rank structure above the noise it estimates from the spectrum']);
  });
});

describe('CP decomposition', () => {
  /** Σ_r ∘ factors[m][:, r] as a flat tensor. */
  const compose = (factors: ArrayLike<number>[], dims: number[], rank: number) => {
    const size = dims.reduce((a, b) => a * b, 1);
    const out = new Float64Array(size);
    for (let flat = 0; flat < size; flat++) {
      let rest = flat;
      const idx = [...dims].reverse().map((d) => { const i = rest % d; rest = Math.floor(rest / d); return i; }).reverse();
      for (let r = 0; r < rank; r++) out[flat] += idx.reduce((p, i, m) => p * factors[m][i * rank + r], 1);
    }
    return out;
  };

  it('CP-ALS recovers a tensor of known CP rank, and its reported error is the error of the factors it returns', () => {
    const rng = new Rng(7);
    const dims = [6, 5, 3, 3];
    const truth = dims.map((d) => Float64Array.from({ length: d * 3 }, () => rng.normal()));
    const w = compose(truth, dims, 3);
    const exact = cpAls(w, dims, 3, { maxIterations: 500 });
    expect(exact.error).toBeLessThan(1e-6);
    const low = cpAls(w, dims, 2);
    const approx = compose(low.factors, dims, 2);
    const norm2 = w.reduce((s, v) => s + v * v, 0);
    expect(w.reduce((s, v, i) => s + (v - approx[i]) ** 2, 0) / norm2).toBeCloseTo(low.error, 9);
    expect(low.error).toBeGreaterThan(1e-3); // a rank-3 tensor is not rank 2
  });

  it("a CP-decomposed conv's output error matches the fit's weight error; the chain runs on every backend", async () => {
    const g = new GraphBuilder('one-conv', [8, 10, 10], 2);
    const spec = g.build(g.linear(g.flatten(g.gap(g.conv('input', { out: 12, kernel: 3, padding: 0, name: 'c' }))), 2, 'fc'));
    const model = randomModel(spec, 8);
    const { model: d, layers } = decompose(model, new Map([['c', [6]]]), { conv: 'cp' });
    expect(d.spec.nodes.map((n) => n.name)).toEqual(['input', 'c.in', 'c.v', 'c.h', 'c', 'gap1', 'flatten1', 'fc']);
    // Outputs of the conv alone (no bias): white-noise inputs give E‖ΔW∗x‖² / E‖W∗x‖² = ‖ΔW‖² / ‖W‖².
    const noise = new Rng(9);
    const x = Float32Array.from({ length: 16 * 8 * 100 }, () => noise.normal());
    const be = cpu();
    const up = (m: Model, name: string, shape: number[]) => be.upload(m.params.get(`${name}.weight`)!, shape);
    const input = be.upload(x, [16, 8, 10, 10]);
    const y = await be.read(be.conv2d(input, up(model, 'c', [12, 8, 3, 3])));
    const z1 = be.conv2d(input, up(d, 'c.in', [6, 8, 1, 1]));
    const z2 = be.conv2d(z1, up(d, 'c.v', [6, 1, 3, 1]), { groups: 6 });
    const z3 = be.conv2d(z2, up(d, 'c.h', [6, 1, 1, 3]), { groups: 6 });
    const yd = await be.read(be.conv2d(z3, up(d, 'c', [12, 6, 1, 1])));
    let err = 0, total = 0;
    y.forEach((v, i) => { err += (v - yd[i]) ** 2; total += v * v; });
    expect(err / total / layers[0].error).toBeGreaterThan(0.7);
    expect(err / total / layers[0].error).toBeLessThan(1.3);
    const want = await inferenceLogits(be, d, x.subarray(0, 4 * 800), 4);
    const native = await NativeBackend.create();
    for (const other of [await webgpu(), native]) expect(toleranceRatio(await inferenceLogits(other, d, x.subarray(0, 4 * 800), 4), want, 1e-4, 1e-4), other.name).toBeLessThanOrEqual(1);
    native.destroy();
  });
});

describe('decomposed networks', () => {
  const x = new Rng(3).uniformArray(4 * 3 * 16 * 16);

  it('at full ranks compute what the original does (1e-5), on vgg-small and resnet20 with biases and strides', async () => {
    for (const spec of [vggSmall([3, 16, 16]), resnet20([3, 16, 16])]) {
      const model = randomModel(spec, 4);
      const { layers } = decomposableLayers(spec);
      const full = new Map(layers.map((l) => [l.name, l.full]));
      const { model: d, layers: done } = decompose(model, full);
      expect(done.every((l) => l.error < 1e-10), spec.name).toBe(true);
      expect(d.spec.nodes.length).toBeGreaterThan(spec.nodes.length);
      const be = cpu();
      expect(toleranceRatio(await inferenceLogits(be, d, x, 4), await inferenceLogits(be, model, x, 4), 1e-5, 1e-5), spec.name).toBeLessThanOrEqual(1);
    }
  });

  it('truncated: the same outputs on every backend and in onnxruntime (exported ONNX)', async () => {
    const spec = vggSmall([3, 16, 16]);
    const model = randomModel(spec, 5);
    const { layers } = decomposableLayers(spec);
    const { model: d } = decompose(model, ranksForEnergy(model, layers, 0.6));
    expect(paramList(d.spec).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0)).toBeLessThan(paramList(spec).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0));
    const want = await inferenceLogits(cpu(), d, x, 4);
    const native = await NativeBackend.create();
    const gpujs = await GpujsBackend.create();
    for (const be of [await webgpu(), native, gpujs]) expect(toleranceRatio(await inferenceLogits(be, d, x, 4), want, 1e-4, 1e-4), be.name).toBeLessThanOrEqual(1);
    native.destroy();
    gpujs.destroy();
    const session = await ort.InferenceSession.create(exportOnnx(d));
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [4, 3, 16, 16]) });
    expect(toleranceRatio(out[session.outputNames[0]].data as Float32Array, want, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
  });

  it('leaves grouped convolutions whole and refuses ranks it cannot honour, naming the layer', () => {
    const g = new GraphBuilder('grouped', [4, 6, 6], 3);
    const spec = g.build(g.linear(g.flatten(g.gap(g.conv(g.conv('input', { out: 4, kernel: 3, padding: 1, groups: 4, name: 'dw' }), { out: 8, kernel: 1, name: 'pw' }))), 3, 'fc'));
    const { layers, skipped } = decomposableLayers(spec);
    expect(layers.map((l) => `${l.name} ${l.method} ${l.full}`)).toEqual(['pw svd 4', 'fc svd 3']);
    expect(skipped).toEqual(['dw: grouped or depthwise convolution, left whole']);
    expect(() => decomposedSpec(spec, new Map([['dw', [2, 2]]]))).toThrow(/'dw' cannot be decomposed/);
    expect(() => decomposedSpec(spec, new Map([['pw', [5]]]))).toThrow(/ranks \[5\] for 'pw' must be 1 integers in \[1, 4\]/);
    expect(() => decomposedSpec(spec, new Map([['nope', [1]]]))).toThrow(/no layer 'nope'/);
    expect(decomposedSpec(lenet5(), new Map([['conv2', [3, 8]]])).nodes.map((n) => n.name)).toContain('conv2.core');
  });

  it('Tucker-2 ranks out of balance are refused when given and raised when chosen; every chosen pair decomposes to finite weights', async () => {
    const dense = randomModel(vggSmall(), 5);
    // conv2's core would need rOut ≤ rIn·9 and rIn ≤ rOut·9.
    expect(() => decomposedSpec(dense.spec, new Map([['conv2', [1, 12]]]))).toThrow(/Tucker-2 ranks \[1,12\] for 'conv2' cannot be fitted: the output rank 12 exceeds the input rank times the kernel's 9 positions \(9\)/);
    expect(() => decomposedSpec(dense.spec, new Map([['conv2', [12, 1]]]))).toThrow(/input rank 12 exceeds/);
    expect(() => tucker2(new Float64Array(16 * 16 * 9).fill(1), 16, 16, 9, 12, 1)).toThrow(/cannot be fitted/);
    const { layers } = decomposableLayers(dense.spec);
    const conv2 = layers.find((l) => l.name === 'conv2')!;
    expect(layerRanks(conv2, [1, 12])).toEqual([2, 12]);
    expect(layerRanks(conv2, [12, 1])).toEqual([12, 2]);
    // An RGB-like first layer: few input channels, so energy picks a small input rank beside a large output rank.
    const g = new GraphBuilder('rgb', [3, 8, 8], 4);
    const rgb = randomModel(g.build(g.linear(g.flatten(g.gap(g.conv('input', { out: 32, kernel: 3, padding: 1, name: 'c1' }))), 4, 'fc')), 3);
    const rgbLayers = decomposableLayers(rgb.spec).layers;
    const cases: [Model, Map<string, number[]>][] = [[dense, ranksForEnergy(dense, layers, 0.5)], [dense, ranksForVbmf(dense, layers).ranks], [rgb, ranksForEnergy(rgb, rgbLayers, 0.3)], [rgb, ranksForEnergy(rgb, rgbLayers, 0.99)]];
    for (const [m, ranks] of cases) {
      for (const [name, [rIn, rOut]] of ranks) if (ranks.get(name)!.length === 2) expect(Math.max(rOut / rIn, rIn / rOut), name).toBeLessThanOrEqual(9);
      const { model } = decompose(m, ranks);
      for (const p of paramList(model.spec)) expect(model.params.get(p.name)!.length, p.name).toBe(p.shape.reduce((a, b) => a * b, 1));
      for (const [name, w] of model.params) expect(w.every(Number.isFinite), name).toBe(true);
    }
  });
});

describe('ranks to an accelerator budget', () => {
  it('meets the budget in the exported model, and splits only layers whose split costs less than the layer', async () => {
    const spec = vggSmall([1, 16, 16]);
    const model = randomModel(spec, 6);
    const accel = preset('systolic-16x16');
    const costs = new CostModel(accel, { metric: 'latency' });
    const { layers } = decomposableLayers(spec);
    const dense = await costs.cost(spec);
    const plan = await planRanks(model, layers, costs, 0.7 * dense, { arrayWidth: 16 });
    expect(plan.ranks.size).toBeGreaterThan(0);
    expect(plan.cost).toBeLessThanOrEqual(0.7 * dense);
    const { model: d } = decompose(model, plan.ranks);
    // The exported, re-imported model's simulation is the plan's cost.
    const reimported = importOnnx(exportOnnx(d));
    expect(await costs.cost(reimported.spec)).toBe(plan.cost);
    // Break-even: each split layer's parts cost less than the layer did.
    const [before, after] = [await evaluate(accel, modelWorkloads(spec)), await evaluate(accel, modelWorkloads(d.spec))];
    for (const name of plan.ranks.keys()) {
      const whole = before.layers.find((l) => l.name === name)!.cycles;
      const parts = after.layers.filter((l) => [name, `${name}.in`, `${name}.core`].includes(l.name)).reduce((s, l) => s + l.cycles, 0);
      expect(parts, name).toBeLessThan(whole);
    }
    await expect(planRanks(model, layers, costs, 0.01 * dense, { arrayWidth: 16 })).rejects.toThrow(/no split brings the cost to the budget \d+; the cheapest reachable is \d+ of \d+/);
  });

  it('the CLI decomposes to a budget and writes a report; Ctrl-C resumes; options it cannot honour exit 2 with the reason', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wgprune-decompose-'));
    const r = await cli(['decompose', '--model', 'default', '--budget', 'latency=0.8', '--max-steps', '4', '--train-limit', '512', '--test-limit', '200', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report: DecomposeReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.ranks.budget!.met).toBe(true);
    expect(report.decomposed.cycles).toBeLessThanOrEqual(0.8 * report.dense.cycles);
    expect(report.layers.some((l) => l.ranks.length > 0)).toBe(true);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/Singular values/);
    // Ctrl-C during fine-tuning saves the run; --resume continues it.
    const out2 = mkdtempSync(join(tmpdir(), 'wgprune-decompose-'));
    let sent = false;
    const first = await cli(['decompose', '--model', 'default', '--keep-energy', '0.9', '--epochs', '10', '--max-steps', '60', '--train-limit', '512', '--test-limit', '200', '--batch-size', '32', '--out', out2], {
      onStderr: (text, child) => { if (!sent && /fine-tune: step 10\//.test(text)) { sent = true; child.kill('SIGINT'); } },
    });
    expect(sent).toBe(true);
    expect(first.code, first.stderr).toBe(130);
    const second = await cli(['decompose', '--resume', '--out', out2]);
    expect(second.code, second.stderr).toBe(0);
    expect(Number(/fine-tune: step (\d+)\//.exec(second.stderr)![1])).toBeGreaterThan(10);
    expect(JSON.parse(readFileSync(join(out2, 'report.json'), 'utf8')).ranks.keepEnergy).toBe(0.9);
    // --vbmf: the ranks the library's VBMF gives on the shipped checkpoint's weights, in the report and its page.
    const out3 = mkdtempSync(join(tmpdir(), 'wgprune-decompose-'));
    const vb = await cli(['decompose', '--model', 'default', '--vbmf', '--max-steps', '0', '--test-limit', '100', '--out', out3]);
    expect(vb.code, vb.stderr).toBe(0);
    const vbReport: DecomposeReport = JSON.parse(readFileSync(join(out3, 'report.json'), 'utf8'));
    const shipped = (await loadCheckpoint('models/lenet5-mnist.safetensors')).model;
    const expected = ranksForVbmf(shipped, decomposableLayers(shipped.spec).layers).ranks;
    expect(vbReport.ranks.vbmf).toBe(true);
    expect(Object.fromEntries(vbReport.layers.filter((l) => l.ranks.length).map((l) => [l.layer, l.ranks]))).toEqual(Object.fromEntries(expected));
    expect(readFileSync(join(out3, 'report.html'), 'utf8')).toMatch(/empirical VBMF/);
    for (const [args, message] of [
      [['--method', 'lu', '--keep-energy', '0.9'], /--method/],
      [['--keep-energy', '0.9', '--budget', 'latency=0.5'], /needs one of --keep-energy E, --vbmf or --budget METRIC=VALUE/],
      [['--vbmf', '--keep-energy', '0.9'], /needs one of --keep-energy E, --vbmf or --budget METRIC=VALUE/],
      [['--keep-energy', '1.5'], /--keep-energy must be in \(0, 1\], got 1.5/],
    ] as const) {
      const bad = await cli(['decompose', '--model', 'default', ...args, '--out', out]);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
  }, 120_000);
});

describe('any ranks', () => {
  it('a decomposition at any rank pair either runs to finite weights of the right sizes or is refused by name (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), fc.constantFrom(1, 2, 3), fc.constantFrom<ConvMethod>('tucker2', 'cp'),
      fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 0, max: 100 }),
      (cin, cout, k, method, r0, r1, seed) => {
        const g = new GraphBuilder('any', [cin, 6, 6], 3);
        const spec = g.build(g.linear(g.flatten(g.gap(g.conv('input', { out: cout, kernel: k, padding: 1, name: 'c' }))), 3, 'fc'));
        const m = randomModel(spec, seed);
        const layer = decomposableLayers(spec, method).layers.find((l) => l.name === 'c')!;
        const ranks = new Map([['c', layer.full.length === 2 ? [r0, r1] : [r0]]]);
        let out;
        try {
          out = decompose(m, ranks, { conv: method });
        } catch (e) {
          expect((e as Error).message).toMatch(/^decompose: (Tucker-2 )?ranks \[[\d,]+\] for 'c' (must be|cannot be fitted)/);
          return;
        }
        for (const p of paramList(out.model.spec)) {
          const w = out.model.params.get(p.name)!;
          expect(w.length, p.name).toBe(p.shape.reduce((a, b) => a * b, 1));
          expect(w.every(Number.isFinite), p.name).toBe(true);
        }
      },
    ), { numRuns: 150, seed: 3 });
  });
});
