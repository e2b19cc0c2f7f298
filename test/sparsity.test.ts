import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initModel, paramList } from '../src/model/model.js';
import { applyChannelMasks } from '../src/prune/compact.js';
import { channelGroups } from '../src/prune/dependency.js';
import { lenet5, vggSmall } from '../src/model/zoo.js';
import { agpSparsity, iterativeRatios, nmMasks, unstructuredMasks } from '../src/prune/sparsity.js';
import { selectMagnitude, unstructuredMasksOnDevice } from '../src/prune/threshold.js';
import { Rng } from '../src/random.js';
import { cpu, webgpu } from './helpers/backends.js';

describe('unstructured and N:M masks, schedules', () => {
  const model = initModel(lenet5(), 4);

  it('layer-wise unstructured pruning removes exactly that fraction of each layer, smallest first', () => {
    const m = unstructuredMasks(model, 0.6);
    for (const l of ['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight']) {
      const mask = m.masks.get(l)!;
      const w = model.params.get(l)!;
      expect(mask.reduce((a, b) => a + (b ? 0 : 1), 0)).toBe(Math.floor(w.length * 0.6));
      const maxPruned = Math.max(...Array.from(w).filter((_, i) => !mask[i]).map(Math.abs));
      const minKept = Math.min(...Array.from(w).filter((_, i) => mask[i]).map(Math.abs));
      expect(maxPruned).toBeLessThanOrEqual(minKept);
    }
    expect(m.masks.has('fc3.weight')).toBe(false);
  });

  it('a global threshold prunes the fraction of all weights together and keeps earlier pruning', () => {
    const first = unstructuredMasks(model, 0.3, { global: true });
    const all = ['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight'];
    const total = all.reduce((s, l) => s + model.params.get(l)!.length, 0);
    const pruned = (m: typeof first) => all.reduce((s, l) => s + m.masks.get(l)!.reduce((a, b) => a + (b ? 0 : 1), 0), 0);
    expect(pruned(first)).toBe(Math.floor(total * 0.3));
    const second = unstructuredMasks({ ...first, params: new Map([...first.params].map(([k, v]) => [k, v.map((x) => -x)])) }, 0.5, { global: true });
    for (const l of all) first.masks.get(l)!.forEach((v, i) => { if (!v) expect(second.masks.get(l)![i]).toBe(0); });
  });

  for (const [n, m] of [[2, 4], [1, 4], [4, 8]]) {
    it(`${n}:${m} masks keep exactly ${n} of every ${m} along input channels`, () => {
      const vgg = initModel(vggSmall([3, 8, 8]), 2);
      const masked = nmMasks(vgg, n, m, { layers: ['conv2.weight', 'conv3.weight'] });
      const mask = masked.masks.get('conv3.weight')!; // [64, 32, 3, 3]
      for (let o = 0; o < 64; o++) for (let t = 0; t < 9; t++) for (let c0 = 0; c0 < 32; c0 += m) {
        let kept = 0;
        for (let j = 0; j < m; j++) kept += mask[(o * 32 + c0 + j) * 9 + t];
        expect(kept).toBe(n);
      }
    });
  }

  it('N:M rejects layers whose input channels are not a multiple of M, by name', () => {
    expect(() => nmMasks(model, 2, 4, { layers: ['conv2.weight'] })).toThrow(/input channels of 'conv2\.weight' \(6\) to be a multiple of 4/);
  });

  it('AGP follows the cubic formula of Zhu & Gupta (2017); iterative steps are even', () => {
    const o = { initial: 0, final: 0.8, start: 100, steps: 10, every: 50 };
    expect(agpSparsity(0, o)).toBe(0);
    expect(agpSparsity(100 + 250, o)).toBeCloseTo(0.8 + (0 - 0.8) * 0.5 ** 3, 12);
    expect(agpSparsity(2000, o)).toBeCloseTo(0.8, 12);
    iterativeRatios(0.6, 3).forEach((r, i) => expect(r).toBeCloseTo([0.2, 0.4, 0.6][i], 12));
  });

  it('threshold selection on the GPU gives exactly the reference masks (ties, prior masks, global and per layer)', async () => {
    const gpu = await webgpu();
    const rng = new Rng(9);
    for (let trial = 0; trial < 8; trial++) {
      const m = initModel(lenet5(), trial);
      // Quantise some layers so that magnitudes tie, and give some a prior mask.
      const params = new Map([...m.params].map(([k, v]) => [k, trial % 4 < 2 && k.startsWith('fc') ? v.map((x) => Math.round(x * 20) / 20) : v]));
      const masks = new Map(trial % 3 === 0 ? [['conv2.weight', Float32Array.from({ length: m.params.get('conv2.weight')!.length }, () => (rng.uniform() < 0.2 ? 0 : 1))]] : []);
      const model = { ...m, params, masks };
      const sparsity = [0.1, 0.35, 0.5, 0.8, 0.95][trial % 5];
      const global = trial % 2 === 0;
      const expected = unstructuredMasks(model, sparsity, { global });
      for (const be of [gpu, cpu()]) {
        const actual = await unstructuredMasksOnDevice(be, model, sparsity, { global });
        for (const [name, mask] of expected.masks) expect(Array.from(actual.masks.get(name)!), `${be.name} trial ${trial} ${name}`).toEqual(Array.from(mask));
      }
    }
    // The selection itself: the k-th smallest magnitude, with counts below and equal.
    const x = gpu.upload([3, -1, 2, 2, -2, 0.5, 7, 2], [8]);
    const s = await selectMagnitude(gpu, [x], 4);
    expect(new Float32Array(new Uint32Array([s.bits]).buffer)[0]).toBe(2);
    expect([s.below, s.equal]).toEqual([2, 4]);
    gpu.dispose(x);
  });
});

describe('pruning steps in any order', () => {
  it('a weight pruned once stays pruned through any later step: unstructured (host and GPU), N:M, channels (property)', async () => {
    const gpu = await webgpu();
    const step = fc.oneof(
      fc.record({ kind: fc.constant('unstructured' as const), sparsity: fc.double({ min: 0, max: 0.9, noNaN: true }), global: fc.boolean(), device: fc.boolean() }),
      fc.record({ kind: fc.constant('nm' as const), nm: fc.constantFrom([1, 4], [2, 4], [3, 4], [1, 2]) }),
      fc.record({ kind: fc.constant('channels' as const), keep: fc.double({ min: 0.2, max: 1, noNaN: true }) }),
    );
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 4 }), fc.integer({ min: 0, max: 100 }), async (steps, seed) => {
      const rng = new Rng(seed);
      let m = initModel(vggSmall(), seed);
      const layers = ['conv2.weight', 'conv3.weight', 'conv4.weight']; // input channels multiples of 4
      const groups = channelGroups(m.spec);
      for (const s of steps) {
        const before = new Map([...m.masks].map(([k, v]) => [k, v.slice()]));
        if (s.kind === 'unstructured') m = s.device ? await unstructuredMasksOnDevice(gpu, m, s.sparsity, { global: s.global, layers }) : unstructuredMasks(m, s.sparsity, { global: s.global, layers });
        else if (s.kind === 'nm') m = nmMasks(m, s.nm[0], s.nm[1], { layers });
        else {
          const kept = new Map(groups.filter((g) => g.prunable).map((g) => [g.id, rng.shuffle(Array.from({ length: g.channels }, (_, i) => i)).slice(0, Math.max(1, Math.round(s.keep * g.channels))).sort((a, b) => a - b)]));
          m = applyChannelMasks(m, groups, kept);
        }
        for (const [name, prior] of before) {
          const now = m.masks.get(name)!;
          const revived = prior.reduce((n, v, i) => n + (v === 0 && now[i] !== 0 ? 1 : 0), 0);
          expect(revived, `${s.kind} revived weights of ${name}`).toBe(0);
        }
        if (s.kind === 'nm') {
          // N:M: at most N of every M along input channels survive.
          for (const name of layers) {
            const [out, cin, kh, kw] = paramList(m.spec).find((p) => p.name === name)!.shape;
            const mask = m.masks.get(name)!;
            for (let o = 0; o < out; o++) for (let t = 0; t < kh * kw; t++) for (let c0 = 0; c0 < cin; c0 += s.nm[1]) {
              let alive = 0;
              for (let j = 0; j < s.nm[1]; j++) alive += mask[(o * cin + c0 + j) * kh * kw + t];
              expect(alive).toBeLessThanOrEqual(s.nm[0]);
            }
          }
        }
      }
    }), { numRuns: 25, seed: 11 });
  });
});
