// Training throughput (samples/s) at batch 64: our WebGPU training step next to TensorFlow.js with its
// webgpu backend (same adapter) and its cpu backend, same architectures, in the same run; peak GPU bytes.
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs';
import type { Backend } from '../src/backend.js';
import { initModel } from '../src/model/model.js';
import type { ModelSpec } from '../src/model/graph.js';
import { lenet5, vggSmall } from '../src/model/zoo.js';
import { Rng } from '../src/random.js';
import { train } from '../src/train/trainer.js';
import { WebGpuBackend } from '../src/webgpu/backend.js';
import { table } from './util.js';

const require = createRequire(import.meta.url);
export const BATCH = 64;
const STEPS = 3; // vgg-small steps take seconds each on SwiftShader

export function tfModel(tf: typeof TF, name: string): TF.LayersModel {
  const m = tf.sequential();
  if (name === 'lenet5') {
    m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 120, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 84, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 10 }));
  } else {
    [32, 32, 64, 64, 128].forEach((filters, i) => {
      m.add(tf.layers.conv2d({ ...(i === 0 ? { inputShape: [32, 32, 3] } : {}), filters, kernelSize: 3, padding: 'same', useBias: false }));
      m.add(tf.layers.batchNormalization());
      m.add(tf.layers.reLU());
      if (i === 1 || i === 3) m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    });
    m.add(tf.layers.globalAveragePooling2d({}));
    m.add(tf.layers.dense({ units: 10 }));
  }
  m.compile({ optimizer: tf.train.momentum(0.01, 0.9), loss: (y: TF.Tensor, p: TF.Tensor) => tf.losses.softmaxCrossEntropy(y, p) });
  return m;
}

export async function tfThroughput(tf: typeof TF, name: string, shape: number[]): Promise<number> {
  const model = tfModel(tf, name);
  const [c, h, w] = shape;
  const x = tf.randomNormal([BATCH, h, w, c]);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as TF.Tensor1D, 10);
  await model.trainOnBatch(x, y); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await model.trainOnBatch(x, y);
  const ms = performance.now() - t0;
  tf.dispose([x, y]);
  model.dispose();
  return (STEPS * BATCH * 1000) / ms;
}

/** Our training throughput on any backend: steady steps after a warm-up run, random data. */
export async function oursThroughput(be: Backend, spec: ModelSpec): Promise<{ samplesPerSecond: number; peakBytes: number }> {
  const rng = new Rng(1);
  const size = spec.inputShape.reduce((a, b) => a * b);
  const count = BATCH * (STEPS + 1);
  const data = { name: 'random', shape: spec.inputShape, classes: 10, count, images: rng.uniformArray(count * size), labels: Uint8Array.from({ length: count }, () => rng.int(0, 9)) };
  const options = { epochs: 1, batchSize: BATCH, optimizer: 'sgd' as const, learningRate: 0.01, momentum: 0.9, seed: 1, logEvery: 1 };
  await train(be, initModel(spec, 1), data, { ...options, maxSteps: 1 }); // warm-up: pipelines
  const r = await train(be, initModel(spec, 1), data, { ...options, maxSteps: STEPS + 1, logEvery: 1 });
  const steady = r.history.slice(1); // the first step allocates the pool
  const ms = steady.reduce((s, p) => s + (BATCH * 1000) / p.samplesPerSecond, 0);
  return { samplesPerSecond: (steady.length * BATCH * 1000) / ms, peakBytes: be.memory().peakBytes };
}

export async function benchTraining(): Promise<void> {
  const ours = await WebGpuBackend.create();
  const name = 'webgpu';
  const dawn = await import(/* @vite-ignore */ name);
  Object.assign(globalThis, dawn.globals);
  (globalThis as { navigator?: unknown }).navigator = { gpu: dawn.create(['enable-dawn-features=disable_robustness']) };
  const tf = require('@tensorflow/tfjs') as typeof TF;
  require('@tensorflow/tfjs-backend-webgpu');
  console.log(`adapter: ${ours.report.tried.at(-1)}`);
  const rows: string[][] = [];
  // TRAINING_MODELS=vgg-small runs one row only.
  const only = process.env.TRAINING_MODELS?.split(',');
  for (const spec of [lenet5(), vggSmall()].filter((s) => !only || only.includes(s.name))) {
    const mine = await oursThroughput(ours, spec);
    await tf.setBackend('webgpu');
    const tfGpu = await tfThroughput(tf, spec.name, spec.inputShape);
    await tf.setBackend('cpu');
    const tfCpu = await tfThroughput(tf, spec.name, spec.inputShape);
    rows.push([spec.name, mine.samplesPerSecond.toFixed(0), tfGpu.toFixed(0), tfCpu.toFixed(0), (mine.samplesPerSecond / tfGpu).toFixed(2), (mine.samplesPerSecond / tfCpu).toFixed(2), (mine.peakBytes / 2 ** 20).toFixed(1)]);
    console.log(rows.at(-1)!.join('  '));
  }
  console.log();
  console.log(table(['model (batch 64)', 'ours samples/s', 'tfjs-webgpu', 'tfjs-cpu', 'ours / tfjs-webgpu', 'ours / tfjs-cpu', 'our peak GPU MiB'], rows));
  ours.destroy();
}
