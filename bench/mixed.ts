// Mixed precision plus pruning at one energy budget, against pruning alone in float32 and uniform int8
// plus pruning: from the same dense model, the same fine-tuning for each (quantization-aware where the
// model is quantized); accuracy at the simulated energy each reaches, as a share of the float model's.
// Options (environment): MIXED_MODELS=lenet5,vgg-small,mobilenet MIXED_DATA=mnist,fashion-mnist
// MIXED_BUDGETS=energy=0.2 MIXED_PRESET=systolic-16x16 MIXED_BITS=4,8 MIXED_DENSE (dense steps, 400)
// MIXED_STEPS (fine-tuning steps, 150) MIXED_FOLDED=1 (also float pruning of the batch-norm-folded model)
// BENCH_BACKEND=auto|native|...
import { presets } from '../src/accel/presets.js';
import { subset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/sources.js';
import { type Model, initModel } from '../src/model/model.js';
import { zooModel } from '../src/model/zoo.js';
import { foldBatchNorm } from '../src/model/fold.js';
import { type BackendChoice, backendLabel, openBackend, schedulerFor } from '../src/open-backend.js';
import { CostModel, parseBudget } from '../src/plan/budget.js';
import { planMixedPrecision } from '../src/plan/mixed-precision.js';
import { pruneToBudget } from '../src/plan/prune-to-budget.js';
import { quantizeModel } from '../src/quantize/ptq.js';
import { type TrainOptions, train } from '../src/train/trainer.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { table } from './util.js';

const env = (k: string, d: string) => process.env[k] ?? d;

export async function benchMixed(): Promise<void> {
  const be = await openBackend({ backend: env('BENCH_BACKEND', 'auto') as BackendChoice });
  console.log(`backend: ${backendLabel(be)}`);
  const [denseSteps, steps] = [Number(env('MIXED_DENSE', '400')), Number(env('MIXED_STEPS', '150'))];
  const accel = presets[env('MIXED_PRESET', 'systolic-16x16')];
  const bits = env('MIXED_BITS', '4,8').split(',').map(Number);
  const rows: string[][] = [];
  const pct = (v: number) => (100 * v).toFixed(2);
  const t0 = performance.now();
  for (const dataName of env('MIXED_DATA', 'mnist,fashion-mnist').split(',')) {
    const data = loadDataset(dataName, 'train');
    const test = subset(loadDataset(dataName, 'test'), 2000);
    for (const modelName of env('MIXED_MODELS', 'lenet5,vgg-small,mobilenet').split(',')) {
      const options: TrainOptions = { epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1, logEvery: 50 };
      const dense = (await train(be, initModel(zooModel(modelName, [1, 28, 28], 10), 1), data, { ...options, maxSteps: denseSteps, schedule: { kind: 'cosine' } })).model;
      const floatAcc = (await evaluateModel(be, dense, test)).accuracy;
      for (const budgetText of env('MIXED_BUDGETS', 'energy=0.2').split(',')) {
        const budget = parseBudget(budgetText);
        const costs = new CostModel(accel, { metric: budget.metric, schedule: schedulerFor(be) });
        const floatCost = await costs.cost(dense.spec);
        const absolute = { metric: budget.metric, value: ('fraction' in budget ? budget.fraction : 1) * floatCost };
        const fineTune = { data, options: { ...options, maxSteps: steps, schedule: { kind: 'cosine' as const } } };
        const row = async (method: string, start: Model, note = '') => {
          try {
            const p = await pruneToBudget(be, start, { criterion: 'l1', budget: absolute, accelerator: accel, costs, fineTune });
            rows.push([dataName, modelName, budgetText, pct(floatAcc), method, pct((await evaluateModel(be, p.compact, test)).accuracy), (p.cost / floatCost).toFixed(3), note]);
          } catch (e) {
            rows.push([dataName, modelName, budgetText, pct(floatAcc), method, 'n/a', '', (e as Error).message.slice(0, 80)]);
          }
        };
        await row('pruning, float32', dense);
        if (env('MIXED_FOLDED', '') === '1') await row('pruning, float32, batch norm folded first', foldBatchNorm(dense));
        await row('uniform int8 + pruning', (await quantizeModel(be, dense, data, { bits: 8, foldBatchNorm: false })).model);
        const plan = await planMixedPrecision(be, dense, { bits, budget, costs, importance: 'l1', data });
        await row(`mixed {${bits.join(', ')}} + pruning`, plan.model, Object.entries(plan.bits).map(([l, b]) => `${l}:${b}`).join(' '));
      }
      console.log(`${dataName} ${modelName} done (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  console.log(table(['data', 'model', 'budget', 'float acc', 'method', 'accuracy', 'energy (x float)', 'bits'], rows));
  console.log(`\n${accel.name}; dense ${denseSteps} steps (Adam 1e-3, batch 64, cosine); each method ${steps} fine-tuning steps (Adam 1e-3, cosine; quantization-aware for the quantized models) after pruning to the same absolute budget; l1 importance; test subset 2000 images; ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
  be.destroy();
}
