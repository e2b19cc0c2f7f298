// Importance criteria against direct CPU computations, and channel allocation rules.
import { describe, expect, it } from 'vitest';
import { gatherBatch, subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { GraphBuilder } from '../src/model/graph.js';
import { initModel, paramList } from '../src/model/model.js';
import { Network } from '../src/model/network.js';
import { lenet5, vggSmall } from '../src/model/zoo.js';
import { allocate } from '../src/prune/allocate.js';
import { criteria, criterion } from '../src/prune/criteria/index.js';
import { channelGroups } from '../src/prune/dependency.js';
import { pruneChannels } from '../src/prune/prune.js';
import { accumulateTaylor } from '../src/prune/taylor.js';
import { Rng } from '../src/random.js';
import { cpu, toleranceRatio, webgpu } from './helpers/backends.js';

describe('importance criteria', async () => {
  const gpu = await webgpu();
  const spec = lenet5();
  const model = initModel(spec, 11);
  const groups = channelGroups(spec);
  const conv1 = groups[0]; // conv1's 6 channels: conv1 filters and conv2's input slices
  const w1 = model.params.get('conv1.weight')!, w2 = model.params.get('conv2.weight')!;
  const ownWeights = (c: number) => [...w1.subarray(c * 25, c * 25 + 25), ...Array.from({ length: 16 }, (_, m) => [...w2.subarray((m * 6 + c) * 25, (m * 6 + c) * 25 + 25)]).flat()];

  it('l1 and l2 on the GPU equal the norms of every weight a channel owns across the group', async () => {
    const ctx = { be: gpu, model };
    const [l1, l2] = [await criteria.l1(conv1, ctx), await criteria.l2(conv1, ctx)];
    const want1 = Array.from({ length: 6 }, (_, c) => ownWeights(c).reduce((s, v) => s + Math.abs(v), 0));
    const want2 = Array.from({ length: 6 }, (_, c) => Math.sqrt(ownWeights(c).reduce((s, v) => s + v * v, 0)));
    expect(toleranceRatio(l1, want1, 1e-5)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(l2, want2, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('group-norm is the L2 norm of every slice a channel owns: weights, and its bias', async () => {
    const b1 = model.params.get('conv1.bias')!.map((_, c) => 0.1 * (c + 1));
    const m = { ...model, params: new Map(model.params).set('conv1.bias', b1) };
    const s = await criteria['group-norm'](conv1, { be: gpu, model: m });
    const want = Array.from({ length: 6 }, (_, c) => Math.sqrt(ownWeights(c).reduce((t, v) => t + v * v, 0) + b1[c] * b1[c]));
    expect(toleranceRatio(s, want, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('fpgm sums distances between filters of the layer', async () => {
    const s = await criteria.fpgm(conv1, { be: gpu, model });
    const filter = (c: number) => Array.from(w1.subarray(c * 25, c * 25 + 25));
    const want = Array.from({ length: 6 }, (_, a) => Array.from({ length: 6 }, (_, b) => Math.hypot(...filter(a).map((v, k) => v - filter(b)[k]))).reduce((x, y) => x + y, 0));
    expect(toleranceRatio(s, want, 1e-6)).toBeLessThanOrEqual(1);
  });

  it('bn-scale is |gamma|, and names the group that has no batch norm', async () => {
    const vgg = vggSmall([3, 8, 8]);
    const m = initModel(vgg, 1);
    m.params.get('bn1.gamma')!.set([0.5, -2, 1]);
    const s = await criteria['bn-scale'](channelGroups(vgg)[0], { be: gpu, model: m });
    expect(Array.from(s.subarray(0, 3))).toEqual([0.5, 2, 1]);
    await expect(criteria['bn-scale'](conv1, { be: gpu, model })).rejects.toThrow(/group 0 \(conv1\) has no batch norm/);
  });

  it('taylor and taylor-abs accumulate on the GPU what they do on the CPU reference', async () => {
    const data = subset(loadMnist('test'), 64);
    const [a, b] = [await accumulateTaylor(gpu, model, groups, data, { batches: 2, batchSize: 32 }), await accumulateTaylor(cpu(), model, groups, data, { batches: 2, batchSize: 32 })];
    for (const name of ['taylor', 'taylor-abs']) {
      const [sa, sb] = [await criteria[name](conv1, { be: gpu, model, taylor: a }), await criteria[name](conv1, { be: gpu, model, taylor: b })];
      expect(toleranceRatio(sa, sb, 1e-3, 1e-9), name).toBeLessThanOrEqual(1);
      expect(sa.every((v) => v > 0), name).toBe(true);
    }
  });

  it("taylor is Molchanov et al.'s group form: the square of the loss's slope when the channel's weights are scaled (finite differences)", async () => {
    const be = cpu();
    const data = subset(loadMnist('test'), 16);
    const stats = await accumulateTaylor(be, model, groups, data, { batches: 1, batchSize: 16 });
    const scores = await criteria.taylor(conv1, { be, model, taylor: stats });
    const magnitudes = await criteria['taylor-abs'](conv1, { be, model, taylor: stats });
    const batch = gatherBatch(data, Array.from({ length: 16 }, (_, i) => i));
    const lossWith = async (c: number, scale: number) => {
      const params = new Map([...model.params].map(([k, v]) => [k, v.slice()]));
      for (const s of conv1.slices.filter((x) => x.param.endsWith('.weight'))) {
        const shape = paramList(spec).find((p) => p.name === s.param)!.shape;
        const inner = shape.slice(s.axis + 1).reduce((x, y) => x * y, 1);
        const w = params.get(s.param)!;
        const mine = new Set(s.indices[c]);
        w.forEach((v, i) => { if (mine.has(Math.floor(i / inner) % shape[s.axis])) w[i] = v * scale; });
      }
      const net = new Network(be, { ...model, params });
      const x = be.upload(batch.images, [16, ...data.shape]);
      const f = net.forward(x, true);
      // Cross-entropy in float64 from the CPU reference's logits (a float32 read would round the loss).
      const z = (f.logits as unknown as { data: Float64Array }).data;
      let loss = 0;
      for (let n = 0; n < 16; n++) {
        const row = z.subarray(n * 10, n * 10 + 10);
        const top = Math.max(...row);
        loss += (top + Math.log(row.reduce((a, v) => a + Math.exp(v - top), 0)) - row[batch.labels[n]]) / 16;
      }
      net.release(f);
      net.dispose();
      return loss;
    };
    for (let c = 0; c < conv1.channels; c++) {
      // = sum of w * dL/dw over the channel's weights. Steps of 1e-4 (ReLU kinks bend larger ones); each
      // scaled weight rounds to float32 (6e-8), so the slope is off by at most 6e-4 of sum |w * dL/dw|.
      const slope = (await lossWith(c, 1 + 1e-4) - (await lossWith(c, 1 - 1e-4))) / 2e-4;
      expect(Math.abs(Math.sqrt(scores[c]) - Math.abs(slope)), `channel ${c}: ${scores[c]} vs ${slope}^2`).toBeLessThan(1e-3 * magnitudes[c] + 1e-6);
    }
  });

  it('random is seeded; unknown criteria are named', async () => {
    const [a, b] = [await criteria.random(conv1, { be: gpu, model, seed: 3 }), await criteria.random(conv1, { be: gpu, model, seed: 3 })];
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(() => criterion('l3')).toThrow(/unknown importance criterion 'l3'; choose from: l1, l2, bn-scale, taylor, taylor-abs, fpgm, group-norm, random/);
  });
});

/** Three conv + batch-norm layers of 8 channels each: three groups of 8. */
function threeGroups() {
  const g = new GraphBuilder('three-groups', [1, 6, 6], 3);
  let x = 'input';
  for (let i = 0; i < 3; i++) x = g.relu(g.bn(g.conv(x, { out: 8, kernel: 3, padding: 1 })));
  return g.build(g.linear(g.flatten(g.gap(x)), 3));
}

describe('allocation', () => {
  const groups = channelGroups(lenet5());
  const rng = new Rng(1);
  const scores = new Map(groups.map((g) => [g.id, Float64Array.from({ length: g.channels }, () => rng.uniform())]));

  it('uniform ratio keeps the highest-scoring channels of each group', () => {
    const { kept } = allocate(groups, scores, { ratio: 0.5 });
    expect(kept.get(0)!.length).toBe(3);
    expect(kept.get(2)!.length).toBe(60);
    expect(kept.has(4)).toBe(false); // the output layer is never pruned
    const s = scores.get(0)!;
    const best = [...s.keys()].sort((a, b) => s[b] - s[a]).slice(0, 3).sort((a, b) => a - b);
    expect(kept.get(0)).toEqual(best);
  });

  it('per-layer ratios, ignored layers, roundTo and never an empty group', () => {
    const a = allocate(groups, scores, { ratio: 0.5, ratios: { conv2: 0.99 }, ignore: ['fc1'], roundTo: 4 });
    expect(a.kept.get(1)!.length).toBe(4); // 16 * 0.01 -> 0 -> kept 1 -> rounded to 4
    expect(a.kept.has(2)).toBe(false);
    expect(a.kept.get(0)!.length).toBe(4); // 3 rounded up to 4
    const b = allocate(groups, scores, { ratio: 0.5, ratios: { conv1: 0.99 } });
    expect(b.kept.get(0)!.length).toBe(1);
    expect(b.notes.join()).toMatch(/group 0 \(conv1\): would lose every channel; keeps 1/);
  });

  it('global ranking removes the requested fraction of all prunable channels', () => {
    const { kept } = allocate(groups, scores, { ratio: 0.3, global: true });
    const total = groups.filter((g) => g.prunable).reduce((s, g) => s + g.channels, 0);
    const left = [...kept.values()].reduce((s, k) => s + k.length, 0);
    expect(left).toBe(total - Math.round(total * 0.3));
  });

  it('a later step ranks only the channels an earlier one kept; those pruned count towards the ratio', () => {
    const flat = channelGroups(threeGroups());
    const fresh = (seed: number) => { const r = new Rng(seed); return new Map(flat.map((g) => [g.id, Float64Array.from({ length: g.channels }, () => r.uniform(0.1, 10))])); };
    const first = allocate(flat, fresh(1), { ratio: 0.25, global: true }).kept;
    // New scores rank some pruned channels highest (their scores are not -inf any more).
    const second = allocate(flat, fresh(2), { ratio: 0.5, global: true, available: first }).kept;
    for (const [id, k] of second) expect(k.every((c) => first.get(id)!.includes(c)), `group ${id}`).toBe(true);
    expect([...second.values()].reduce((a, k) => a + k.length, 0)).toBe(12);
    const uniform = allocate(flat, fresh(3), { ratio: 0.5, available: first }).kept;
    for (const [id, k] of uniform) expect(k.length).toBe(Math.min(4, first.get(id)!.length));
  });

  it('global pruning over a schedule (bn-scale: pruned channels keep their scores) ends at the ratio, none returning', async () => {
    const model = initModel(threeGroups(), 2);
    const r = new Rng(7);
    for (const [name, v] of model.params) if (name.endsWith('.gamma')) v.forEach((_, i) => { v[i] = r.uniform(0.5, 1.5); });
    const pruned = await pruneChannels(cpu(), model, { criterion: 'bn-scale', ratio: 0.5, global: true, schedule: { kind: 'iterative', steps: 2 } });
    expect([...pruned.kept.values()].reduce((a, k) => a + k.length, 0)).toBe(12);
  });

  it('rejects bad ratios and unknown layers by name', () => {
    expect(() => allocate(groups, scores, { ratio: 1 })).toThrow(/ratio must be in \[0, 1\), got 1/);
    expect(() => allocate(groups, scores, { ratio: 0.5, ratios: { conv9: 0.5 } })).toThrow(/unknown layer 'conv9' in ratios/);
    expect(() => allocate(groups, scores, { ratio: 0.5, ignore: ['nope'] })).toThrow(/unknown layer 'nope' in ignored layers/);
    expect(() => allocate(groups, scores, { ratio: 0.5, ratios: { fc3: 0.5 } })).toThrow(/layer 'fc3' cannot be pruned: it is a model output/);
  });
});
