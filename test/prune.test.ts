// The channel-pruning pass on the real device: iterative pruning with fine-tuning between steps keeps
// pruned weights at exactly zero and ends in a compacted model that computes what the masked one does.
import { describe, expect, it } from 'vitest';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { initModel } from '../src/model/model.js';
import { lenet5 } from '../src/model/zoo.js';
import { pruneChannels, scheduleRatios } from '../src/prune/prune.js';
import { evaluateModel, train } from '../src/train/trainer.js';
import { webgpu } from './helpers/backends.js';

describe('channel pruning pass', async () => {
  const gpu = await webgpu();
  const data = subset(loadMnist('train'), 1024);
  const test = subset(loadMnist('test'), 500);

  it('iterative L1 pruning with fine-tuning: zeros stay zero, the report counts, compact equals masked', async () => {
    const fine = { epochs: 1, batchSize: 32, optimizer: 'adam' as const, learningRate: 1e-3, seed: 1, logEvery: 20, maxSteps: 20 };
    const dense = (await train(gpu, initModel(lenet5(), 1), data, { ...fine, maxSteps: 60 })).model;
    const steps: number[] = [];
    const r = await pruneChannels(gpu, dense, { criterion: 'l1', ratio: 0.5, schedule: { kind: 'iterative', steps: 2 }, fineTune: { data, options: fine }, onStep: (_, ratio) => steps.push(ratio) });
    expect(steps).toEqual([0.25, 0.5]);
    for (const [name, mask] of r.masked.masks) {
      const w = r.masked.params.get(name)!;
      mask.forEach((m, i) => { if (!m) expect(Object.is(w[i], 0), `${name}[${i}]`).toBe(true); });
    }
    expect(r.report.layers.find((l) => l.layer === 'conv2')).toMatchObject({ channelsBefore: 16, channelsAfter: 8 });
    expect(r.report.total.macsAfter).toBeLessThan(r.report.total.macsBefore * 0.5);
    const [a, b] = [await evaluateModel(gpu, r.masked, test), await evaluateModel(gpu, r.compact, test)];
    expect(b.accuracy).toBe(a.accuracy);
    expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-4);
  });

  it('schedules: one-shot, iterative, AGP (cubic, reaching the final ratio)', () => {
    expect(scheduleRatios({ kind: 'one-shot' }, 0.5)).toEqual([0.5]);
    const agp = scheduleRatios({ kind: 'agp', steps: 4 }, 0.8);
    expect(agp.at(-1)).toBeCloseTo(0.8, 12);
    expect(agp[0]).toBeCloseTo(0.8 * (1 - 0.75 ** 3), 12);
  });
});
