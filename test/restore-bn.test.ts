// Batch norms given back to a model whose export folded them (train/restore-bn.ts): inserted, they compute
// the identity on the training data (the model's outputs do not move); folded back, the plain model
// computes what the fine-tuned one with batch norms did; a pruning run with them exports a plain model.
import { describe, expect, it } from 'vitest';
import { preset } from '../src/accel/presets.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { foldBatchNorm } from '../src/model/fold.js';
import { initModel } from '../src/model/model.js';
import { resnet20, vggSmall } from '../src/model/zoo.js';
import { NativeBackend } from '../src/native/backend.js';
import { Rng } from '../src/random.js';
import { runPrune } from '../src/run/prune-run.js';
import { convsWithoutBatchNorm, foldRestored, restoreBatchNorms } from '../src/train/restore-bn.js';
import { train } from '../src/train/trainer.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { inferenceLogits, toleranceRatio } from './helpers/backends.js';

/** A model with batch norms of random statistics, folded as PyTorch's export folds them. */
function folded(spec: ReturnType<typeof vggSmall>, seed: number) {
  const m = initModel(spec, seed);
  const rng = new Rng(seed);
  for (const [name, v] of m.params) {
    if (name.endsWith('.runningVar') || name.endsWith('.gamma')) v.forEach((_, i) => { v[i] = rng.uniform(0.5, 2); });
    if (name.endsWith('.runningMean') || name.endsWith('.beta')) v.forEach((_, i) => { v[i] = rng.uniform(-0.5, 0.5); });
  }
  return foldBatchNorm(m);
}

describe('batch norms restored for fine-tuning', () => {
  it('compute the identity when inserted, and fold back to a plain model computing what the tuned one does', async () => {
    const be = await NativeBackend.create();
    try {
      const data = subset(loadMnist('train'), 512);
      const x = subset(loadMnist('test'), 16).images;
      for (const spec of [vggSmall([1, 28, 28]), resnet20([1, 28, 28])]) {
        const plain = folded(spec, 3);
        const convs = convsWithoutBatchNorm(plain.spec);
        expect(convs.length).toBe(plain.spec.nodes.filter((n) => n.op === 'conv2d').length);
        const restored = await restoreBatchNorms(be, plain, data);
        expect(restored.spec.nodes.filter((n) => n.op === 'batchnorm')).toHaveLength(convs.length);
        expect(convsWithoutBatchNorm(restored.spec)).toEqual([]);
        expect(toleranceRatio(await inferenceLogits(be, restored, x, 16), await inferenceLogits(be, plain, x, 16), 1e-3, 1e-4), spec.name).toBeLessThanOrEqual(1);
        // Trained a few steps (batch statistics, moving γ and β), then folded: the plain model computes what the tuned one does.
        const tuned = (await train(be, restored, data, { epochs: 1, batchSize: 64, optimizer: 'sgd', learningRate: 0.01, momentum: 0.9, seed: 1, maxSteps: 4 })).model;
        const back = foldRestored(tuned);
        expect(back.spec.nodes.map((n) => n.name)).toEqual(plain.spec.nodes.map((n) => n.name));
        expect(toleranceRatio(await inferenceLogits(be, back, x, 16), await inferenceLogits(be, tuned, x, 16), 1e-3, 1e-4), spec.name).toBeLessThanOrEqual(1);
      }
    } finally {
      be.destroy();
    }
  }, 120_000);

  it('a pruning run with them exports a plain pruned model whose accuracy is the one reported', async () => {
    const be = await NativeBackend.create();
    try {
      const [trainSet, test] = [subset(loadMnist('train'), 1024), subset(loadMnist('test'), 300)];
      const run = await runPrune(be, {
        model: folded(vggSmall([1, 28, 28]), 4), modelSource: 'folded', train: trainSet, test, accelerator: preset('systolic-16x16'), criterion: 'l1', granularity: 'channel', ratio: 0.5, seed: 1,
        fineTune: { epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1, maxSteps: 8 }, restoreBatchNorm: true,
      });
      expect(run.pruned.spec.nodes.some((n) => n.op === 'batchnorm')).toBe(false);
      expect(run.report.notes[0]).toMatch(/batch norms restored after 5 convolutions without one for fine-tuning/);
      expect((await evaluateModel(be, run.pruned, test)).accuracy).toBeCloseTo(run.report.pruned.accuracy!, 6);
      expect(run.report.pruned.params).toBeLessThan(0.5 * run.report.dense.params);
    } finally {
      be.destroy();
    }
  }, 120_000);
});
