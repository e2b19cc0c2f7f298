// Structured pruning end to end on the real device: channel groups, masks, and gather-compaction.
// The compacted (physically smaller) model computes what the masked model computes.
import { describe, expect, it } from 'vitest';
import type { ModelSpec } from '../src/model/graph.js';
import { type Model, initModel, paramList, parameterCount } from '../src/model/model.js';
import { lenet5, mobilenet, resnet20, vggSmall } from '../src/model/zoo.js';
import { applyChannelMasks, compactModel, type KeptChannels } from '../src/prune/compact.js';
import { channelGroups } from '../src/prune/dependency.js';
import { Rng } from '../src/random.js';
import { inferenceLogits, toleranceRatio, webgpu } from './helpers/backends.js';
import { embeddingMini, groupNormMini, unetMini } from './helpers/specs.js';

function randomModel(spec: ModelSpec, seed: number): Model {
  const m = initModel(spec, seed);
  const rng = new Rng(seed);
  for (const p of paramList(spec)) {
    const d = m.params.get(p.name)!;
    if (p.kind === 'runningVar' || p.kind === 'gamma') d.forEach((_, i) => { d[i] = rng.uniform(0.5, 1.5); });
    else if (p.kind !== 'weight') d.forEach((_, i) => { d[i] = rng.uniform(-0.5, 0.5); });
  }
  return m;
}

function randomKept(spec: ModelSpec, ratio: number, rng: Rng): KeptChannels {
  const kept: KeptChannels = new Map();
  for (const g of channelGroups(spec)) {
    if (!g.prunable) continue;
    const keep = Math.max(1, Math.round(g.channels * (1 - ratio)));
    kept.set(g.id, rng.shuffle(Array.from({ length: g.channels }, (_, i) => i)).slice(0, keep).sort((a, b) => a - b));
  }
  return kept;
}


describe('compaction preserves outputs and removes the pruned parameters', async () => {
  const gpu = await webgpu();
  const models = [lenet5(), vggSmall([3, 16, 16]), resnet20([3, 16, 16]), mobilenet([3, 16, 16]), embeddingMini(), unetMini(), groupNormMini()];
  for (const spec of models) {
    for (const ratio of [0.3, 0.5, 0.7]) {
      it(`${spec.name}, channel ratio ${ratio}`, async () => {
        const rng = new Rng(Math.round(ratio * 10));
        const model = randomModel(spec, 3);
        const groups = channelGroups(spec);
        const kept = randomKept(spec, ratio, rng);
        const masked = applyChannelMasks(model, groups, kept);
        const compact = await compactModel(gpu, masked, groups, kept);
        const x = rng.uniformArray(2 * spec.inputShape.reduce((a, b) => a * b));
        const [a, b] = [await inferenceLogits(gpu, masked, x, 2), await inferenceLogits(gpu, compact, x, 2)];
        expect(toleranceRatio(b, a, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
        // Every kept weight survives and nothing else: the compacted count equals the masked model's kept
        // weights plus the biases and batch-norm entries of kept channels.
        let expected = 0;
        const sliced = new Map(groups.flatMap((g) => g.slices.filter((s) => s.axis === 0).map((s) => [s.param, kept.get(g.id)?.length ?? g.channels] as const)));
        for (const p of paramList(spec).filter((q) => q.trainable)) {
          const mask = masked.masks.get(p.name);
          // A weight no pruned group touches has no mask and stays whole (a group norm's producer, kept whole).
          const whole = p.shape.reduce((s, v) => s * v, 1);
          expected += mask ? mask.reduce((s, v) => s + (v ? 1 : 0), 0) : p.maskable ? whole : sliced.get(p.name) ?? whole;
        }
        expect(parameterCount(compact)).toBe(expected);
        expect(parameterCount(compact)).toBeLessThan(parameterCount(model));
      });
    }
  }

  it('rejects keeping no channel, bad indices and pruning the model output', async () => {
    const spec = lenet5();
    const groups = channelGroups(spec);
    const model = initModel(spec, 1);
    expect(() => applyChannelMasks(model, groups, new Map([[0, []]]))).toThrow(/group 0 \(conv1\) would keep no channel/);
    expect(() => applyChannelMasks(model, groups, new Map([[0, [3, 1]]]))).toThrow(/ascending indices below 6/);
    expect(() => applyChannelMasks(model, groups, new Map([[4, [0, 1]]]))).toThrow(/group 4 \(fc3\) is not prunable: it is a model output/);
  });
});
