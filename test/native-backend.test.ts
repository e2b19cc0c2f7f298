// The native CPU backend (onnxruntime's kernels, our oneDNN addon, float32 loops) against the CPU
// reference: the same seeded cases as the WebGPU and gpu.js kernels, on the addon's kernels and on
// onnxruntime's both, its own gradients against finite differences of its own forward ops, masked weights
// that contribute nothing and stay 0, and no tensor or session growth over training steps.
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../src/backend.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { type Conv2dOptions, conv2dGeometry } from '../src/geometry.js';
import { initModel } from '../src/model/model.js';
import { mobilenet, resnet20 } from '../src/model/zoo.js';
import { NativeBackend } from '../src/native/backend.js';
import { ArrayPool } from '../src/native/array-pool.js';
import { ONEDNN_ADDON, loadOnednn } from '../src/native/onednn.js';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Rng } from '../src/random.js';
import { train } from '../src/train/trainer.js';
import { expectMagnitudeSelectionAgrees, expectNamedShapeErrors } from './helpers/backend-checks.js';
import { cpu, toleranceRatio } from './helpers/backends.js';
import { expectBackendsAgree, randomInput } from './helpers/op-cases.js';
import { OP_SUITES, convCase } from './helpers/op-suites.js';

describe('native backend matches the CPU reference', async () => {
  const be = await NativeBackend.create();
  const reference = cpu();
  afterAll(() => be.destroy());

  it('magnitude histogram (exact counts) and threshold masks', () => expectMagnitudeSelectionAgrees(be, reference));
  it('rejects inputs with the op and shapes named, and a bad thread count', async () => {
    expectNamedShapeErrors(be);
    await expect(NativeBackend.create({ threads: 0 })).rejects.toThrow(/native backend: threads must be a positive integer, got 0/);
    await expect(NativeBackend.create({ kernels: 'mkl' as 'auto' })).rejects.toThrow(/kernels must be auto, onednn or onnxruntime, got 'mkl'/);
  });
});

// CI builds the oneDNN addon (.ci/run installs libdnnl-dev): its kernels are tested, never skipped.
const KERNELS = ['onednn', 'onnxruntime'] as const;

describe.each(KERNELS)('native backend with %s kernels matches the CPU reference', async (kernels) => {
  const be = await NativeBackend.create({ kernels });
  const reference = cpu();
  afterAll(() => be.destroy());

  it('conv2d forward and backward (strided, dilated, 1x1, depthwise, grouped)', async () => {
    expect(be.onednn).toMatch(kernels === 'onednn' ? /^oneDNN \d/ : /^not used/);
    await expectBackendsAgree(be, reference, convCase, 36);
  });
  for (const suite of OP_SUITES) it(suite.title, () => expectBackendsAgree(be, reference, suite.make));
  // oneDNN ran every case itself rather than handing some to onnxruntime.
  it('oneDNN refused no shape', () => expect(be.onednnRefusals).toEqual([]));
});

// A convolution or linear layer is linear in its input and its weight, so central differences are exact
// up to rounding whatever the step: a large step keeps float32 rounding small next to the difference.
const STEP = 0.5;

/** d/dv of sum(forward(v) * r) by central differences, for each entry of `values` (float32, on the backend). */
async function numericGradient(be: NativeBackend, values: Float32Array, shape: number[], forward: (v: Tensor) => Tensor, r: Float32Array): Promise<Float32Array> {
  const weightedSum = async (delta: number, i: number) => {
    const v = values.slice();
    v[i] += delta;
    const t = be.upload(v, shape);
    const y = forward(t);
    const out = await be.read(y);
    be.dispose(t, y);
    return out.reduce((s, o, k) => s + o * r[k], 0);
  };
  const g = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) g[i] = ((await weightedSum(STEP, i)) - (await weightedSum(-STEP, i))) / (2 * STEP);
  return g;
}

describe.each(KERNELS)('native backend gradients (%s kernels) equal finite differences of its own forward ops', async (kernels) => {
  const be = await NativeBackend.create({ kernels });
  afterAll(() => be.destroy());
  const cases: [string, number[], number[], Conv2dOptions][] = [
    ['strided, asymmetric padding', [2, 2, 7, 6], [3, 2, 3, 2], { stride: [2, 3], padding: [1, 0, 2, 1] }],
    ['dilated', [1, 2, 8, 8], [2, 2, 3, 3], { dilation: 2, padding: 2 }],
    ['grouped', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, padding: 1 }],
    ['depthwise, stride 2', [2, 3, 6, 5], [3, 1, 3, 3], { groups: 3, stride: 2, padding: 1 }],
    ['large spatial (per-sample GEMMs)', [2, 3, 18, 18], [4, 3, 3, 3], { padding: 1 }],
  ];
  for (const [label, xs, ws, o] of cases) {
    it(`conv2d ${label}: input and filter gradients`, async () => {
      const rng = new Rng(11);
      const x = randomInput(rng, xs), w = randomInput(rng, ws);
      const tx = be.upload(x.data, xs), tw = be.upload(w.data, ws);
      const y = be.conv2d(tx, tw, o);
      const r = randomInput(rng, y.shape);
      const tr = be.upload(r.data, y.shape);
      const dx = await be.read(be.conv2dBackwardInput(tr, tw, xs, o));
      const dw = await be.read(be.conv2dBackwardFilter(tr, tx, ws, o));
      const numericX = await numericGradient(be, x.data, xs, (t) => be.conv2d(t, tw, o), r.data);
      const numericW = await numericGradient(be, w.data, ws, (t) => be.conv2d(tx, t, o), r.data);
      expect(toleranceRatio(dx, numericX, 1e-3, 1e-3)).toBeLessThanOrEqual(1);
      expect(toleranceRatio(dw, numericW, 1e-3, 1e-3)).toBeLessThanOrEqual(1);
    });
  }

  it('linear: input and weight gradients', async () => {
    const rng = new Rng(12);
    const [n, fin, fout] = [5, 7, 4];
    const x = randomInput(rng, [n, fin]), w = randomInput(rng, [fout, fin]), r = randomInput(rng, [n, fout]);
    const tx = be.upload(x.data, [n, fin]), tw = be.upload(w.data, [fout, fin]), tr = be.upload(r.data, [n, fout]);
    const dx = await be.read(be.linearBackwardInput(tr, tw));
    const dw = await be.read(be.linearBackwardWeight(tr, tx));
    const numericX = await numericGradient(be, x.data, [n, fin], (t) => be.linear(t, tw), r.data);
    const numericW = await numericGradient(be, w.data, [fout, fin], (t) => be.linear(tx, t), r.data);
    expect(toleranceRatio(dx, numericX, 1e-3, 1e-3)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(dw, numericW, 1e-3, 1e-3)).toBeLessThanOrEqual(1);
  });
});

describe('native backend training', () => {
  it('pruned weights stay exactly 0; tensors and sessions do not grow across steps (resnet20, mobilenet)', async () => {
    const be = await NativeBackend.create();
    const data = subset(loadMnist('train'), 256);
    for (const spec of [resnet20([1, 28, 28]), mobilenet([1, 28, 28])]) {
      const model = initModel(spec, 3);
      const rng = new Rng(5);
      for (const [name, w] of model.params) if (name.endsWith('.weight')) model.masks.set(name, Float32Array.from(w, () => (rng.bool(0.7) ? 1 : 0)));
      const seen: { tensors: number; sessions: number }[] = [];
      const options = { epochs: 1, batchSize: 32, optimizer: 'sgd' as const, learningRate: 0.05, momentum: 0.9, seed: 1, logEvery: 1 };
      const r = await train(be, model, data, { ...options, maxSteps: 6 }, {
        onProgress: () => { seen.push({ tensors: be.memory().liveTensors, sessions: be.sessionCount }); },
      });
      expect(seen.length).toBeGreaterThanOrEqual(5);
      expect(new Set(seen.slice(1).map((s) => s.tensors)).size, 'live tensors after each step').toBe(1);
      expect(new Set(seen.slice(1).map((s) => s.sessions)).size, 'sessions after each step').toBe(1);
      const trained = r.checkpoint.model;
      for (const [name, mask] of model.masks) {
        const w = trained.params.get(name)!;
        expect(w.every((v, i) => mask[i] !== 0 || v === 0), name).toBe(true);
      }
      expect(be.memory().liveTensors, 'everything released after training').toBe(0);
    }
    be.destroy();
  });

  it("reads into released arrays that become the caller's: ops after a read never write into what it returned", async () => {
    const be = await NativeBackend.create();
    const values = new Rng(2).uniformArray(4096);
    const t = be.upload(values, [4, 1024]);
    for (let i = 0; i < 3; i++) be.dispose(be.activation(t, 'relu')); // the pool now keeps arrays of this length
    const copy = await be.read(t);
    expect(copy).toEqual(values);
    copy.fill(7);
    expect(await be.read(t), 'writing the copy leaves the tensor').toEqual(values);
    const later = Array.from({ length: 4 }, () => be.activation(t, 'relu')); // take every kept array of the length
    expect(copy.every((v) => v === 7), 'the copy is nobody else\'s').toBe(true);
    be.dispose(t, ...later);
    be.destroy();
  });
});

describe('the direct convolution of the oneDNN addon (few channels, stride 1: vectors over output pixels)', () => {
  it('forward and input gradient match the CPU reference, and run on it exactly where its rule says on a CPU with AVX-512', async () => {
    const { addon } = loadOnednn();
    expect(addon, 'the oneDNN addon is built').toBeDefined();
    const avx512 = /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    const be = await NativeBackend.create({ kernels: 'onednn' });
    const reference = cpu();
    const rng = new Rng(5);
    // x, w, options, whether the forward and the input gradient take it: one group, no dilation, stride 1
    // (any for an unpadded 1x1 forward), at least 64 positions of its output grid, (input gradient) padding
    // at most kernel - 1, and a channel count not a multiple of 16 or whole vectors of 16 positions on an
    // input image under 256 KiB. Both of its grids: the image's own (output as wide as the input) and a
    // zero-padded copy's.
    const cases: [number[], number[], Conv2dOptions, boolean, boolean][] = [
      [[3, 8, 16, 16], [8, 8, 3, 3], { padding: 1 }, true, true],
      [[2, 3, 32, 20], [5, 3, 3, 3], { padding: 1 }, true, true],
      [[2, 13, 18, 17], [13, 13, 5, 5], { padding: 2 }, true, true],
      [[2, 6, 16, 16], [24, 6, 1, 1], {}, true, true],
      [[1, 4, 21, 19], [7, 4, 3, 2], { padding: [2, 0, 1, 1] }, true, true],
      [[5, 9, 40, 9], [11, 9, 3, 3], { padding: 1 }, true, true],
      [[2, 8, 16, 16], [16, 8, 3, 3], { padding: 1 }, true, true], // 8 input channels: oneDNN would pad them to 16
      [[2, 16, 16, 16], [32, 16, 3, 3], { padding: 1 }, true, true], // whole vectors: 16x16
      [[2, 16, 14, 14], [32, 16, 3, 3], { padding: 1 }, false, false], // multiples of 16 on 14x14 (196 positions): oneDNN
      [[1, 16, 32, 32], [32, 16, 3, 3], { padding: 1 }, true, true], // 32x32 and at most 32 channels
      [[1, 32, 32, 32], [64, 32, 3, 3], { padding: 1 }, true, false], // its input gradient reads 64 channels of 32x32 (256 KiB): oneDNN
      [[1, 64, 16, 16], [64, 64, 3, 3], { padding: 1 }, true, true], // more than 32 channels
      [[1, 64, 32, 32], [64, 64, 3, 3], { padding: 1 }, false, false], // a 256 KiB image: oneDNN
      [[2, 5, 20, 20], [6, 5, 3, 3], {}, true, true], // unpadded: narrower output, the padded copy's grid (the input gradient's too)
      [[2, 8, 32, 32], [16, 8, 1, 1], { stride: 2 }, true, false], // a strided 1x1: subsampled as it is copied (forward only)
      [[1, 6, 33, 35], [10, 6, 1, 1], { stride: [2, 2] }, true, false],
      [[2, 5, 17, 19], [7, 5, 1, 1], { stride: [2, 3], padding: 1 }, true, false], // padded, uneven strides
      [[2, 8, 32, 32], [8, 8, 3, 3], { padding: 1, stride: 2 }, false, false],
      [[2, 8, 32, 32], [8, 8, 3, 3], { padding: 2, dilation: 2 }, false, false],
      [[2, 8, 32, 32], [8, 4, 3, 3], { padding: 1, groups: 2 }, false, false],
      [[2, 8, 8, 8], [8, 8, 3, 3], { padding: 1 }, true, true], // 64 positions
      [[2, 8, 8, 8], [8, 8, 3, 3], {}, false, true], // unpadded: 6 x 8 positions forward (too few), the input gradient 8 x 8
      [[2, 8, 7, 7], [8, 8, 3, 3], { padding: 1 }, false, false], // 49 positions: too few to vectorise
    ];
    for (const [xs, ws, o, forward, input] of cases) {
      const g = conv2dGeometry(xs, ws, o);
      const ys = [g.batch, g.outChannels, g.outH, g.outW];
      for (const [bias, relu, residual] of [[false, false, false], [true, true, false], [true, true, true], [false, false, true]]) {
        const [x, w, b, dy, r] = [xs, ws, [ws[0]], ys, ys].map((shape) => randomInput(rng, shape).data);
        const label = `${xs} * ${ws} ${JSON.stringify(o)}${bias ? ' bias relu' : ''}${residual ? ' residual' : ''}`;
        let before = addon!.directConvCalls();
        const y = be.conv2d(be.upload(x, xs), be.upload(w, ws), { ...o, bias: bias ? be.upload(b, [ws[0]]) : undefined, residual: residual ? be.upload(r, ys) : undefined, relu });
        expect(addon!.directConvCalls() - before, `${label}: forward`).toBe(forward && avx512 ? 1 : 0);
        const expected = reference.conv2d(reference.upload(x, xs), reference.upload(w, ws), {
          ...o, bias: bias ? reference.upload(b, [ws[0]]) : undefined, residual: residual ? reference.upload(r, ys) : undefined, relu,
        });
        expect(toleranceRatio(await be.read(y), await reference.read(expected)), `${label}: forward`).toBeLessThanOrEqual(1);
        before = addon!.directConvCalls();
        const dx = be.conv2dBackwardInput(be.upload(dy, ys), be.upload(w, ws), xs, o);
        expect(addon!.directConvCalls() - before, `${label}: input gradient`).toBe(input && avx512 ? 1 : 0);
        const dxExpected = reference.conv2dBackwardInput(reference.upload(dy, ys), reference.upload(w, ws), xs, o);
        expect(toleranceRatio(await be.read(dx), await reference.read(dxExpected)), `${label}: input gradient`).toBeLessThanOrEqual(1);
      }
    }
    be.destroy();
  });
});

describe('oneDNN caches', () => {
  const { addon } = loadOnednn();

  it('stay within their byte budget while many shapes come and go, and destroy() frees them', async () => {
    expect(addon, 'the oneDNN addon is built').toBeDefined();
    const limit = 2 << 20;
    addon!.setCacheLimit(limit);
    try {
      const be = await NativeBackend.create({ kernels: 'onednn' });
      const reference = cpu();
      const rng = new Rng(3);
      let most = 0;
      for (let c = 1; c <= 40; c++) {
        const x = rng.uniformArray(2 * c * 81), w = rng.uniformArray((c + 1) * c * 9);
        const y = be.conv2d(be.upload(x, [2, c, 9, 9]), be.upload(w, [c + 1, c, 3, 3]), { padding: 1 });
        const expected = reference.conv2d(reference.upload(x, [2, c, 9, 9]), reference.upload(w, [c + 1, c, 3, 3]), { padding: 1 });
        expect(toleranceRatio(await be.read(y), await reference.read(expected))).toBeLessThanOrEqual(1);
        most = Math.max(most, addon!.cacheStats().bytes);
      }
      expect(most).toBeLessThanOrEqual(limit);
      expect(addon!.cacheStats().entries).toBeLessThan(40);
      be.destroy();
      expect(addon!.cacheStats()).toEqual({ entries: 0, bytes: 0 });
    } finally {
      addon!.setCacheLimit(256 << 20);
    }
  });

  it('key each float exactly: leaky ReLUs with slopes 1e-7 and 1e-8 each compute their own', async () => {
    const be = await NativeBackend.create({ kernels: 'onednn' });
    const reference = cpu();
    const x = Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 1 : -1) * (i + 1));
    for (const alpha of [1e-7, 1e-8, 1e-7]) {
      const run = (b: typeof be | typeof reference) => b.activation(b.upload(x, [64]), 'leakyrelu', alpha);
      expect(toleranceRatio(await be.read(run(be)), await reference.read(run(reference)), 1e-6, 1e-6), `slope ${alpha}`).toBeLessThanOrEqual(1);
    }
    be.destroy();
  });

  it('two worker threads running convolutions at once get their own stream and caches: every result as computed alone', async () => {
    const run = (channels: number[]) => new Promise<{ mismatches: number; checksum: number[]; stats: { entries: number } }>((resolve, reject) => {
      const worker = new Worker(new URL('./helpers/onednn-worker.mjs', import.meta.url), { workerData: { addon: ONEDNN_ADDON, channels, rounds: 30 } });
      worker.once('message', (m) => { resolve(m); void worker.terminate(); });
      worker.once('error', reject);
    });
    const [alone] = [await run([3, 5, 8])];
    const [a, b] = await Promise.all([run([3, 5, 8]), run([4, 6, 9])]);
    expect(a.mismatches + b.mismatches).toBe(0);
    expect(a.checksum).toEqual(alone.checksum);
    expect(a.stats.entries).toBe(3); // its own three primitives: none of the other thread's
  });
});

describe('array pool', () => {
  it('keeps the lengths asked for lately: a model trained after another reuses its own arrays', () => {
    const pool = new ArrayPool();
    const limit = 4 * 100 * 4; // four arrays of 100
    const old = Array.from({ length: 4 }, () => pool.take(100));
    for (const a of old) pool.give(a, limit);
    const fresh = pool.take(50); // a new model's length: asked for after the old ones
    pool.give(fresh, limit);
    expect(pool.take(50)).toBe(fresh); // kept although the pool was full of older lengths
    const back = Array.from({ length: 4 }, () => pool.take(100));
    expect(back).not.toContain(old[0]); // the array of the older length handed out first went to make room
  });

  it('does not drop a length asked for lately for one asked for longer ago', () => {
    const pool = new ArrayPool();
    const stale = pool.take(100);
    const recent = pool.take(100 + 1);
    pool.give(recent, 404);
    pool.give(stale, 404); // no room: the 101s were asked for later, they stay
    expect(pool.take(101)).toBe(recent);
    expect(pool.take(100)).not.toBe(stale);
  });

  it("drops a shared length's arrays beyond what is asked for of it before another length asked for at each pass", () => {
    const pool = new ArrayPool();
    const limit = 6 * 100 * 4;
    const first = Array.from({ length: 5 }, () => pool.take(100)); // one model: five arrays of 100 at once
    for (const a of first) pool.give(a, limit);
    let kept: Float32Array | undefined;
    for (let pass = 0; pass < 3; pass++) { // another: one of 200, then one of 100, at each pass
      const [b, a] = [pool.take(200), pool.take(100)];
      if (kept) expect(b, `pass ${pass}: the array of 200 kept`).toBe(kept);
      pool.give(a, limit);
      pool.give(b, limit);
      kept = b;
    }
  });
});
