// Trains the embedded default model: LeNet-5 on MNIST with this project's own training code, fixed seed.
// Reproduce with: npx tsx scripts/train-default.ts   (writes models/lenet5-mnist.safetensors)
// Interrupted runs continue from models/lenet5-mnist.partial.safetensors.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { MNIST_NORMALIZATION } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { initModel } from '../src/model/model.js';
import { lenet5 } from '../src/model/zoo.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { train, type TrainOptions } from '../src/train/trainer.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { WebGpuBackend } from '../src/webgpu/backend.js';

const target = 'models/lenet5-mnist.safetensors';
const partial = 'models/lenet5-mnist.partial.safetensors';
export const DEFAULT_TRAINING: TrainOptions = {
  epochs: 4, batchSize: 64, optimizer: 'adam', learningRate: 1e-3,
  schedule: { kind: 'cosine' }, seed: 2026, logEvery: 100,
};

const be = await WebGpuBackend.create();
console.log(be.report.tried.at(-1));
const [trainSet, testSet] = [loadMnist('train'), loadMnist('test')];
const resume = existsSync(partial) ? await loadCheckpoint(partial) : undefined;
if (resume) console.log(`resuming at step ${resume.position?.step}`);
// The model records the normalisation its inputs get (loadMnist's default), so any data fed to it gets the same.
const model = initModel({ ...lenet5(), inputNormalization: MNIST_NORMALIZATION }, DEFAULT_TRAINING.seed);
const result = await train(be, model, trainSet, DEFAULT_TRAINING, {
  resume,
  checkpointEvery: 500,
  onCheckpoint: (c) => saveCheckpoint(partial, c),
  onProgress: (p) => console.log(`step ${p.step}/${p.totalSteps} epoch ${p.epoch} loss ${p.loss.toFixed(4)} acc ${(100 * p.accuracy).toFixed(2)}% lr ${p.learningRate.toFixed(4)} ${p.samplesPerSecond.toFixed(0)} samples/s`),
});
const test = await evaluateModel(be, result.model, testSet);
console.log(`test accuracy ${(100 * test.accuracy).toFixed(2)}%, loss ${test.loss.toFixed(4)}`);
await saveCheckpoint(target, {
  model: result.model, optimizer: new Map(),
  info: { dataset: 'mnist', testAccuracy: test.accuracy, testLoss: test.loss, training: DEFAULT_TRAINING, command: 'npx tsx scripts/train-default.ts' },
});
await rm(partial, { force: true });
console.log(`wrote ${target}`);
be.destroy();
