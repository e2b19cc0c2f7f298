// The whole-run equivalence check between backends: the shipped LeNet-5 pruned to half its latency with
// 40 distilled fine-tuning steps on 256 MNIST images, evaluated on 500.
import { expect } from 'vitest';
import { preset } from '../../src/accel/presets.js';
import { loadModel } from '../../src/cli/inputs.js';
import { subset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/sources.js';
import { parseBudget } from '../../src/plan/budget.js';
import type { PruneRunOptions, PruneRunResult } from '../../src/run/prune-run.js';

export async function lenetBudgetRunOptions(): Promise<Omit<PruneRunOptions, 'scheduler'>> {
  const { model, source } = await loadModel('default', [1, 28, 28], 10, 1);
  return {
    model, modelSource: source, train: subset(loadMnist('train'), 256), test: subset(loadMnist('test'), 500), accelerator: preset('systolic-16x16'),
    criterion: 'l1', granularity: 'channel', budget: parseBudget('latency=0.5'), seed: 1,
    fineTune: { epochs: 5, batchSize: 32, optimizer: 'adam', learningRate: 1e-3, seed: 1, logEvery: 10, maxSteps: 40 },
    kd: { temperature: 4, alpha: 0.7 },
  };
}

/** Same kept channels, masks and cycles; dense accuracy equal to 3 decimals, pruned within a point. */
export function expectSameRun(got: PruneRunResult, want: PruneRunResult): void {
  expect([...got.result.kept]).toEqual([...want.result.kept]);
  expect([...got.result.masked.masks.keys()]).toEqual([...want.result.masked.masks.keys()]);
  for (const [name, mask] of want.result.masked.masks) expect(got.result.masked.masks.get(name), name).toEqual(mask);
  expect(got.report.pruned.cycles).toBe(want.report.pruned.cycles);
  expect(got.report.pruned.cycles).toBeLessThanOrEqual(0.5 * got.report.dense.cycles);
  expect(got.report.dense.accuracy).toBeCloseTo(want.report.dense.accuracy!, 3);
  expect(Math.abs(got.report.pruned.accuracy! - want.report.pruned.accuracy!)).toBeLessThanOrEqual(0.01);
  expect(got.report.pruned.accuracy).toBeGreaterThan(0.85);
}
