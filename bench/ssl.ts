// Structured sparsity learning against importance criteria at one latency budget: from the same dense
// model, (a) L1 + fine-tune, (b) Taylor + fine-tune, (c) sparse training (group lasso, growing λ) +
// prune by group norm + fine-tune, with the same total training steps after the dense model (for (c),
// SSL_SPARSE of them are sparse training). Accuracy right after pruning (before fine-tuning) and after,
// at the simulated latency each reaches (all within the budget).
// Options (environment): SSL_MODELS=vgg-small,resnet20 SSL_DATA=mnist,fashion-mnist SSL_BUDGET=0.5
// SSL_DENSE (dense steps, 400) SSL_STEPS (steps after it, 160) SSL_SPARSE (of which sparse, 80)
// SSL_LAMBDA (16: proximal steps shrink a structure by lr·λ; λ doubles every 10 steps until the budget's
// uniform share of channels, those with the smallest norms and the only ones penalised, is near zero) BENCH_BACKEND=auto|native|webgpu|gpujs.
import { presets } from '../src/accel/presets.js';
import { subset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/sources.js';
import { initModel } from '../src/model/model.js';
import { zooModel } from '../src/model/zoo.js';
import { CostModel, absoluteBudget, parseBudget } from '../src/plan/budget.js';
import { channelGroups } from '../src/prune/dependency.js';
import { pruneToBudget, uniformRatioForBudget } from '../src/plan/prune-to-budget.js';
import { NEAR_ZERO, sparseTrain } from '../src/prune/regularize.js';
import { type BackendChoice, backendLabel, openBackend, schedulerFor } from '../src/open-backend.js';
import { type TrainOptions, train } from '../src/train/trainer.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { table } from './util.js';

const env = (k: string, d: string) => process.env[k] ?? d;

export async function benchSsl(): Promise<void> {
  const be = await openBackend({ backend: env('BENCH_BACKEND', 'auto') as BackendChoice });
  console.log(`backend: ${backendLabel(be)}`);
  const models = env('SSL_MODELS', 'vgg-small,resnet20').split(',');
  const datasets = env('SSL_DATA', 'mnist,fashion-mnist').split(',');
  const fraction = Number(env('SSL_BUDGET', '0.5'));
  const [denseSteps, steps, sparseSteps] = ['SSL_DENSE', 'SSL_STEPS', 'SSL_SPARSE'].map((k, i) => Number(env(k, ['400', '160', '80'][i])));
  const lambda = Number(env('SSL_LAMBDA', '16'));
  const accel = presets['systolic-16x16'];
  const budget = parseBudget(`latency=${fraction}`);
  const rows: string[][] = [];
  const pct = (v: number) => (100 * v).toFixed(2);
  const t0 = performance.now();
  for (const dataName of datasets) {
    const data = loadDataset(dataName, 'train');
    const test = subset(loadDataset(dataName, 'test'), 2000);
    for (const modelName of models) {
      const options: TrainOptions = { epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1, logEvery: 50 };
      const dense = (await train(be, initModel(zooModel(modelName, [1, 28, 28], 10), 1), data, { ...options, maxSteps: denseSteps, schedule: { kind: 'cosine' } })).model;
      const denseAcc = (await evaluateModel(be, dense, test)).accuracy;
      const costs = new CostModel(accel, { metric: 'latency', schedule: schedulerFor(be) });
      const prune = async (start: typeof dense, criterion: string, tuneSteps: number) => {
        const o = { criterion, budget, accelerator: accel, costs, taylorData: data, seed: 1 };
        const before = await pruneToBudget(be, start, o);
        const after = tuneSteps ? await pruneToBudget(be, start, { ...o, fineTune: { data, options: { ...options, maxSteps: tuneSteps, schedule: { kind: 'cosine' } } } }) : before;
        return { before: (await evaluateModel(be, before.compact, test)).accuracy, after: (await evaluateModel(be, after.compact, test)).accuracy, latency: after.cost / after.denseValue };
      };
      const l1 = await prune(dense, 'l1', steps);
      const taylor = await prune(dense, 'taylor', steps);
      // Growing regularisation on the share of channels the budget removes (its uniform ratio), as `prune --lambda-grow` does.
      const target = await uniformRatioForBudget(dense.spec, costs, await absoluteBudget(budget, dense.spec, costs));
      const s = await sparseTrain(be, dense, channelGroups(dense.spec), data, { ...options, maxSteps: sparseSteps, schedule: { kind: 'cosine' } }, { kind: 'group-lasso', lambda, grow: { every: 10, factor: 2, target } });
      const sparseAcc = (await evaluateModel(be, s.model, test)).accuracy;
      const ssl = await prune(s.model, 'group-norm', steps - sparseSteps);
      const zeroShare = s.after.filter((v) => v <= NEAR_ZERO * s.penalty.reference!).length / s.after.length;
      for (const [method, r] of [['L1 + fine-tune', l1], ['Taylor + fine-tune', taylor], [`sparse training (λ ${lambda} -> ${s.lambda.toPrecision(2)}, ${pct(zeroShare)}% near zero, ${pct(sparseAcc)}%) + group norm + fine-tune`, ssl]] as const) {
        rows.push([dataName, modelName, pct(denseAcc), method, r.latency.toFixed(3), pct(r.before), pct(r.after)]);
      }
      console.log(`${dataName} ${modelName} done (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  console.log(table(['data', 'model', 'dense acc', 'method', 'latency (of dense)', 'acc. right after pruning', 'acc. after fine-tuning'], rows));
  console.log(`\n${accel.name}, budget latency=${fraction}; dense ${denseSteps} steps; ${steps} steps after it for every method (${sparseSteps} of them sparse training for the last); Adam 1e-3, batch 64; test subset 2000 images; ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
  be.destroy();
}
