// Quantization results: from one dense model per (model, data set), post-training quantization at 8
// bits per channel and per tensor and at 4 bits, quantization-aware training at 4 bits, and binarized
// weights (and weights + activations) trained with QAT; accuracy next to the simulated energy on
// systolic-16x16 (tilings scheduled for energy). `quantize-cost`: int8 against float on each preset.
// Options (environment): QUANT_MODELS=lenet5,vgg-small,resnet20,mobilenet QUANT_DATA=mnist,fashion-mnist
// QUANT_BINARY=lenet5,vgg-small (models that get the binarized rows) QUANT_DENSE (dense steps, 400)
// QUANT_STEPS (QAT steps, 150) BENCH_BACKEND=auto|native|...
import { evaluate } from '../src/accel/cost.js';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { foldBatchNorm } from '../src/model/fold.js';
import { presets } from '../src/accel/presets.js';
import { subset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/sources.js';
import { type Model, initModel } from '../src/model/model.js';
import { zooModel } from '../src/model/zoo.js';
import { type BackendChoice, backendLabel, openBackend, schedulerFor } from '../src/open-backend.js';
import { CostModel } from '../src/plan/budget.js';
import { type PtqOptions, quantizeModel } from '../src/quantize/ptq.js';
import { type TrainOptions, train } from '../src/train/trainer.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { table } from './util.js';

const env = (k: string, d: string) => process.env[k] ?? d;

export async function benchQuantize(): Promise<void> {
  const be = await openBackend({ backend: env('BENCH_BACKEND', 'auto') as BackendChoice });
  console.log(`backend: ${backendLabel(be)}`);
  const [denseSteps, steps] = [Number(env('QUANT_DENSE', '400')), Number(env('QUANT_STEPS', '150'))];
  const binaryModels = env('QUANT_BINARY', 'lenet5,vgg-small').split(',');
  const accuracyRows: string[][] = [];
  const pct = (v: number) => (100 * v).toFixed(2);
  const t0 = performance.now();
  const base = presets['systolic-16x16'];
  const costs = new CostModel(base, { metric: 'energy', schedule: schedulerFor(be) });
  const energy = async (m: Model) => (await costs.evaluate(modelWorkloads(m.spec))).total.energy.total;
  for (const dataName of env('QUANT_DATA', 'mnist,fashion-mnist').split(',')) {
    const data = loadDataset(dataName, 'train');
    const test = subset(loadDataset(dataName, 'test'), 2000);
    for (const modelName of env('QUANT_MODELS', 'lenet5,vgg-small,resnet20,mobilenet').split(',')) {
      const options: TrainOptions = { epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1, logEvery: 50 };
      const dense = (await train(be, initModel(zooModel(modelName, [1, 28, 28], 10), 1), data, { ...options, maxSteps: denseSteps, schedule: { kind: 'cosine' } })).model;
      const floatAcc = (await evaluateModel(be, dense, test)).accuracy;
      const floatEnergy = await energy(dense);
      const row = async (method: string, m: Model) => {
        const acc = (await evaluateModel(be, m, test)).accuracy;
        accuracyRows.push([dataName, modelName, method, pct(acc), (100 * (acc - floatAcc)).toFixed(2), ((await energy(m)) / floatEnergy).toFixed(3)]);
      };
      accuracyRows.push([dataName, modelName, 'float32', pct(floatAcc), '0.00', '1.000']);
      const ptq = (o: Omit<PtqOptions, 'calibrationImages'>) => quantizeModel(be, dense, data, { calibrationImages: 512, ...o });
      const int8 = await ptq({ bits: 8 });
      await row('PTQ int8 per channel', int8.model);
      await row('PTQ int8 per tensor', (await ptq({ bits: 8, weights: 'per-tensor' })).model);
      const int4 = await ptq({ bits: 4, calibrator: 'mse' });
      await row('PTQ int4 per channel (mse)', int4.model);
      const qat = (m: Model, lr: number) => train(be, m, data, { ...options, learningRate: lr, maxSteps: steps, schedule: { kind: 'cosine' } });
      await row(`QAT int4 (${steps} steps)`, (await qat(int4.model, 1e-4)).model);
      if (binaryModels.includes(modelName)) {
        for (const activationBits of [8, 1]) {
          const binary = await ptq({ bits: 1, activationBits });
          await row(`QAT binary weights${activationBits === 1 ? ' + activations' : ', int8 activations'} (${steps} steps; edges int8)`, (await qat(binary.model, 1e-3)).model);
        }
      }
      console.log(`${dataName} ${modelName} done (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  console.log(table(['data', 'model', 'model variant', 'accuracy', 'Δ points', 'energy (systolic-16x16, x float)'], accuracyRows));
  console.log(`\ndense ${denseSteps} steps (Adam 1e-3, batch 64, cosine); PTQ calibrates on 512 training images (percentile 99.99 unless named); QAT ${steps} steps at Adam 1e-4 (binary 1e-3); test subset 2000 images.\n`);
  console.log(`${((performance.now() - t0) / 1000).toFixed(0)} s.`);
  be.destroy();
}

/**
 * int8 against float on each preset (tiled mode), each model's tilings scheduled for latency and for
 * energy: the cost depends on the widths, not on the weights, so the zoo's specs (batch norm folded,
 * every conv and linear layer at 8 bits) stand for the trained models. Seconds.
 */
export async function benchQuantizeCost(): Promise<void> {
  const rows: string[][] = [];
  for (const modelName of env('QUANT_MODELS', 'lenet5,vgg-small,resnet20,mobilenet').split(',')) {
    const float = foldBatchNorm(initModel(zooModel(modelName, [1, 28, 28], 10), 1)).spec;
    const layers = float.nodes.filter((n) => n.op === 'conv2d' || n.op === 'linear');
    const int8 = { ...float, quantization: Object.fromEntries(layers.map((n) => [n.name, { weightBits: 8, perChannel: true, input: { bits: 8, symmetric: false, scale: 1, zeroPoint: 0 } }])) };
    for (const [name, accel] of Object.entries(presets)) {
      for (const objective of ['latency', 'energy'] as const) {
        const [f, q] = [await evaluate(accel, modelWorkloads(float), { objective }), await evaluate(accel, modelWorkloads(int8), { objective })];
        rows.push([modelName, name, `${accel.wordBytes * 8}`, objective, (q.total.cycles / f.total.cycles).toFixed(3), (q.total.energy.total / f.total.energy.total).toFixed(3), (q.total.dramBytes / f.total.dramBytes).toFixed(3), (f.total.energy.dram / f.total.energy.total).toFixed(2)]);
      }
    }
  }
  console.log(table(['model', 'accelerator', 'word bits', 'scheduled for', 'int8 cycles (x float)', 'int8 energy (x float)', 'int8 DRAM bytes (x float)', 'float: DRAM share of energy'], rows));
}
