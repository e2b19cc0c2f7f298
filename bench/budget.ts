// Accelerator-aware against uniform channel pruning at equal simulated latency: for each data set and
// model, budgets of 0.7, 0.5 and 0.3 of the dense latency on an os and a ws preset, both pruned from
// the same dense model with the same criterion and fine-tuned identically (distilled from the dense
// model). Prints a Markdown table and writes out/budget-table.json and out/pareto-*.svg.
// Options (environment): BUDGET_MODELS=lenet5,mobilenet BUDGET_DATA=mnist,fashion-mnist
// BUDGET_STEPS (fine-tune steps, default 150) BUDGET_DENSE_STEPS (dense training, default 600)
// BENCH_BACKEND=auto (default: a hardware GPU, else the native CPU backend) | webgpu | gpujs | native.
import { mkdirSync, writeFileSync } from 'node:fs';
import { presets } from '../src/accel/presets.js';
import { subset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/sources.js';
import { type Model, initModel } from '../src/model/model.js';
import { zooModel } from '../src/model/zoo.js';
import { parseBudget } from '../src/plan/budget.js';
import { type BudgetPruneOptions, pruneToBudget, pruneUniformToBudget } from '../src/plan/prune-to-budget.js';
import { lineChart } from '../src/report/svg.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { train } from '../src/train/trainer.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { type BackendChoice, backendLabel, openBackend, schedulerFor } from '../src/open-backend.js';
import { table } from './util.js';

const env = (k: string, d: string) => process.env[k] ?? d;

export async function benchBudget(): Promise<void> {
  const be = await openBackend({ backend: env('BENCH_BACKEND', 'auto') as BackendChoice });
  console.log(`backend: ${backendLabel(be)}`);
  const models = env('BUDGET_MODELS', 'lenet5').split(',');
  const datasets = env('BUDGET_DATA', 'mnist,fashion-mnist').split(',');
  const steps = Number(env('BUDGET_STEPS', '150'));
  const denseSteps = Number(env('BUDGET_DENSE_STEPS', '600'));
  const fractions = [0.7, 0.5, 0.3];
  const rows: string[][] = [];
  const results: object[] = [];
  mkdirSync('out', { recursive: true });
  for (const dataName of datasets) {
    const trainData = loadDataset(dataName, 'train');
    const test = subset(loadDataset(dataName, 'test'), 2000);
    for (const modelName of models) {
      const options = { epochs: 1, batchSize: 64, optimizer: 'adam' as const, learningRate: 1e-3, seed: 1, logEvery: 50 };
      const dense: Model = modelName === 'lenet5' && dataName === 'mnist'
        ? (await loadCheckpoint('models/lenet5-mnist.safetensors')).model
        : (await train(be, initModel(zooModel(modelName, [1, 28, 28], 10), 1), trainData, { ...options, maxSteps: denseSteps, schedule: { kind: 'cosine' } })).model;
      const denseAcc = (await evaluateModel(be, dense, test)).accuracy;
      for (const accel of [presets['systolic-16x16'], presets['systolic-32x32']]) {
        const points: { aware: [number, number][]; uniform: [number, number][] } = { aware: [], uniform: [] };
        for (const fraction of fractions) {
          const o: BudgetPruneOptions = {
            criterion: 'l1', budget: parseBudget(`latency=${fraction}`), accelerator: accel, schedule: schedulerFor(be), seed: 1,
            // A constant rate, as deploy/sweep.yaml's rows fine-tune (--lr-schedule constant): a sweep of that plan gives these numbers.
            fineTune: { data: trainData, options: { ...options, maxSteps: steps, schedule: { kind: 'constant' }, distill: { temperature: 4, alpha: 0.7 } }, teacher: dense },
          };
          const a = await pruneToBudget(be, dense, o);
          const u = await pruneUniformToBudget(be, dense, o);
          const [accA, accU] = [(await evaluateModel(be, a.compact, test)).accuracy, (await evaluateModel(be, u.compact, test)).accuracy];
          const row = {
            data: dataName, model: modelName, accelerator: `${accel.name} (${accel.dataflow})`, budget: fraction, denseAccuracy: denseAcc,
            aware: { accuracy: accA, latency: a.cost / a.denseValue, energy: a.prunedCost.total.energy.total / a.denseCost.total.energy.total },
            uniform: { accuracy: accU, latency: u.cost / u.denseValue, energy: u.prunedCost.total.energy.total / u.denseCost.total.energy.total, ratio: u.uniformRatio },
          };
          results.push(row);
          points.aware.push([row.aware.latency, 100 * accA]);
          points.uniform.push([row.uniform.latency, 100 * accU]);
          rows.push([dataName, modelName, row.accelerator, String(fraction), pct(denseAcc), pct(accA), row.aware.latency.toFixed(3), row.aware.energy.toFixed(3),
            pct(accU), row.uniform.latency.toFixed(3), row.uniform.energy.toFixed(3), (100 * (accA - accU)).toFixed(2)]);
          console.log(rows.at(-1)!.join('  '));
        }
        writeFileSync(`out/pareto-${dataName}-${modelName}-${accel.name}.svg`, lineChart({
          title: `${modelName} on ${dataName}, ${accel.name}`, xLabel: 'latency (fraction of dense)', yLabel: 'test accuracy (%)',
          series: [{ name: 'accelerator-aware', points: points.aware, marker: true }, { name: 'uniform', points: points.uniform, marker: true }],
        }));
      }
    }
  }
  writeFileSync('out/budget-table.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log();
  console.log(table(['data', 'model', 'accelerator', 'budget', 'dense acc', 'aware acc', 'aware latency', 'aware energy', 'uniform acc', 'uniform latency', 'uniform energy', 'aware - uniform (pts)'], rows));
  console.log(`\nfine-tuning: ${steps} steps (batch 64, Adam 1e-3 constant, distilled T=4, alpha=0.7) for both; test subset of 2000 images; latency and energy as fractions of dense.`);
  be.destroy();
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
