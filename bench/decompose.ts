// Low-rank decomposition against channel pruning at one budget: from the same dense model, channel
// pruning alone, pruning and decomposition planned together, Tucker-2 alone and CP alone (ranks planned
// on the accelerator), the same fine-tuning for each: accuracy at the simulated cost each reaches, and
// the MAC cut next to the cycle cut.
// Options (environment): DECOMPOSE_MODELS=vgg-small,mobilenet DECOMPOSE_DATA=mnist
// DECOMPOSE_BUDGETS=latency=0.7,energy=0.7 DECOMPOSE_PRESETS=systolic-16x16,systolic-32x32
// DECOMPOSE_DENSE (dense steps, 400) DECOMPOSE_STEPS (fine-tuning steps, 150) BENCH_BACKEND=auto|native|...
import { presets } from '../src/accel/presets.js';
import { subset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/sources.js';
import { initModel } from '../src/model/model.js';
import { zooModel } from '../src/model/zoo.js';
import { CostModel, parseBudget } from '../src/plan/budget.js';
import { pruneToBudget } from '../src/plan/prune-to-budget.js';
import { runDecompose } from '../src/run/decompose-run.js';
import { planPruneDecompose } from '../src/plan/prune-and-decompose.js';
import { type BackendChoice, backendLabel, openBackend, schedulerFor } from '../src/open-backend.js';
import { type TrainOptions, train } from '../src/train/trainer.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { table } from './util.js';

const env = (k: string, d: string) => process.env[k] ?? d;

export async function benchDecompose(): Promise<void> {
  const be = await openBackend({ backend: env('BENCH_BACKEND', 'auto') as BackendChoice });
  console.log(`backend: ${backendLabel(be)}`);
  const [denseSteps, steps] = [Number(env('DECOMPOSE_DENSE', '400')), Number(env('DECOMPOSE_STEPS', '150'))];
  const rows: string[][] = [];
  const pct = (v: number) => (100 * v).toFixed(2);
  const t0 = performance.now();
  for (const dataName of env('DECOMPOSE_DATA', 'mnist').split(',')) {
    const data = loadDataset(dataName, 'train');
    const test = subset(loadDataset(dataName, 'test'), 2000);
    for (const modelName of env('DECOMPOSE_MODELS', 'vgg-small,mobilenet').split(',')) {
      const options: TrainOptions = { epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1, logEvery: 50 };
      const dense = (await train(be, initModel(zooModel(modelName, [1, 28, 28], 10), 1), data, { ...options, maxSteps: denseSteps, schedule: { kind: 'cosine' } })).model;
      const denseAcc = (await evaluateModel(be, dense, test)).accuracy;
      const fineTune = { ...options, maxSteps: steps, schedule: { kind: 'cosine' as const } };
      for (const presetName of env('DECOMPOSE_PRESETS', 'systolic-16x16,systolic-32x32').split(',')) {
        const accel = presets[presetName];
        for (const budgetText of env('DECOMPOSE_BUDGETS', 'latency=0.7,energy=0.7').split(',')) {
          const budget = parseBudget(budgetText);
          const costs = new CostModel(accel, { metric: budget.metric, schedule: schedulerFor(be) });
          // Each row printed as it comes: a stopped run keeps what it measured.
          const record = (cells: string[]) => { rows.push(cells); console.log(cells.join('  ')); };
          const row = (method: string, acc: number, macs: number, cycles: number, energy: number) =>
            record([dataName, modelName, presetName, budgetText, pct(denseAcc), method, pct(acc), macs.toFixed(3), cycles.toFixed(3), energy.toFixed(3)]);
          const p = await pruneToBudget(be, dense, { criterion: 'l1', budget, accelerator: accel, costs, fineTune: { data, options: fineTune } });
          row('channel pruning (l1)', (await evaluateModel(be, p.compact, test)).accuracy, p.prunedCost.total.macs / p.denseCost.total.macs, p.prunedCost.total.cycles / p.denseCost.total.cycles, p.prunedCost.total.energy.total / p.denseCost.total.energy.total);
          const joint = await planPruneDecompose(be, dense, { budget, costs, importance: 'l1', data });
          const j = await pruneToBudget(be, joint.model, { criterion: 'l1', budget: { metric: budget.metric, value: joint.budget }, accelerator: accel, costs, fineTune: { data, options: fineTune } });
          row(`pruning + decomposition (${joint.ranks.size ? [...joint.ranks.keys()].join(', ') : 'no'} split)`, (await evaluateModel(be, j.compact, test)).accuracy, j.prunedCost.total.macs / p.denseCost.total.macs, j.prunedCost.total.cycles / p.denseCost.total.cycles, j.prunedCost.total.energy.total / p.denseCost.total.energy.total);
          for (const method of ['tucker2', 'cp'] as const) {
            try {
              const d = await runDecompose(be, { model: dense, modelSource: modelName, train: data, test, accelerator: accel, scheduler: schedulerFor(be), method: method === 'tucker2' ? 'auto' : 'cp', budget, fineTune });
              const r = d.report;
              row(`${method === 'tucker2' ? 'SVD + Tucker-2' : 'CP'} (${r.layers.filter((l) => l.ranks.length).length} layers split)`, r.decomposed.accuracy!, r.decomposed.macs / r.dense.macs, r.decomposed.cycles / r.dense.cycles, r.decomposed.energyUJ / r.dense.energyUJ);
            } catch (e) {
              record([dataName, modelName, presetName, budgetText, pct(denseAcc), method, `n/a: ${(e as Error).message.slice(0, 80)}`, '', '', '']);
            }
          }
        }
      }
      console.log(`${dataName} ${modelName} done (${((performance.now() - t0) / 1000).toFixed(0)} s); the rows so far:\n${table(['data', 'model', 'accelerator', 'budget', 'dense acc', 'method', 'accuracy', 'MACs', 'cycles', 'energy'], rows)}`);
    }
  }
  console.log(table(['data', 'model', 'accelerator', 'budget', 'dense acc', 'method', 'accuracy', 'MACs', 'cycles', 'energy'], rows));
  console.log(`\ndense ${denseSteps} steps; ${steps} fine-tuning steps for each method (Adam 1e-3, batch 64, cosine); MACs, cycles, energy as fractions of dense; test subset 2000 images; ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
  be.destroy();
}
