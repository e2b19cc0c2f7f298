// Training throughput (samples/s) of a batch-64 step of the zoo's CNNs on MNIST-sized inputs: our native,
// gpu.js and WebGPU backends next to PyTorch CPU eager with the same architectures, batch and threads,
// in the same run. tfModel/tfThroughput (TensorFlow.js peers) serve the gpu.js bench.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type * as TF from '@tensorflow/tfjs';
import type { Backend } from '../src/backend.js';
import { initModel } from '../src/model/model.js';
import type { ModelSpec } from '../src/model/graph.js';
import type { NativeBackend } from '../src/native/backend.js';
import { type ComputeBackend, backendLabel, openBackend } from '../src/open-backend.js';
import { zooModel } from '../src/model/zoo.js';
import { Rng } from '../src/random.js';
import { train } from '../src/train/trainer.js';
import { table } from './util.js';

export const BATCH = 64;
const STEPS = 3; // vgg-small steps take seconds each on SwiftShader
const NATIVE_STEPS = 12; // native (and PyTorch) steps take milliseconds: the median of more of them is steadier

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
export async function oursThroughput(be: Backend, spec: ModelSpec, batch = BATCH): Promise<{ samplesPerSecond: number; peakBytes: number }> {
  const rng = new Rng(1);
  const size = spec.inputShape.reduce((a, b) => a * b);
  const steps = be.name === 'native' ? NATIVE_STEPS : STEPS;
  const count = batch * (steps + 1);
  const data = { name: 'random', shape: spec.inputShape, classes: 10, count, images: rng.uniformArray(count * size), labels: Uint8Array.from({ length: count }, () => rng.int(0, 9)) };
  const options = { epochs: 1, batchSize: batch, optimizer: 'sgd' as const, learningRate: 1e-3, momentum: 0.9, seed: 1, logEvery: 1 }; // a rate every model trains at (an imported ResNet-18 without batch norm diverges at 0.01)
  // Warm-up: WebGPU's and gpu.js's pipelines. The native backend's first step is warm-up enough (it is left out below).
  if (be.name !== 'native') await train(be, initModel(spec, 1), data, { ...options, maxSteps: 1 });
  const r = await train(be, initModel(spec, 1), data, { ...options, maxSteps: steps + 1, logEvery: 1 });
  // The median steady step (the first allocates the pool): robust to the machine's noise, which moves
  // single steps by tens of percent; PyTorch's side takes its median step too.
  const rates = r.history.slice(1).map((p) => p.samplesPerSecond).sort((a, b) => a - b);
  return { samplesPerSecond: rates[Math.floor(rates.length / 2)], peakBytes: be.memory().peakBytes };
}

/** PyTorch CPU eager on the same architectures, batch and threads (bench/python/torch_training.py), or why not. */
function torchThroughput(models: string[], threads: number, shape: readonly number[]): Record<string, number> | string {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const script = new URL('./python/torch_training.py', import.meta.url).pathname;
  const r = spawnSync(python, [script, '--threads', String(threads), '--batch', String(BATCH), '--steps', String(NATIVE_STEPS), '--input', shape.join('x'), ...models], { encoding: 'utf8' });
  if (r.status !== 0) {
    return /No module named 'torch'/.test(r.stderr ?? '') || r.error
      ? 'n/a: PyTorch not installed (apt-get install python3-torch)'
      : `n/a: ${(r.stderr ?? '').trim().split('\n').at(-1)}`;
  }
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

/** The native backends' rounds (TRAINING_ROUNDS): each round measures every native column and PyTorch back to back. */
const ROUNDS = Number(process.env.TRAINING_ROUNDS ?? 3);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

export async function benchTraining(): Promise<void> {
  // TRAINING_MODELS=vgg-small and TRAINING_BACKENDS=native,gpujs run a subset; native-onnxruntime is
  // the native backend with every kernel on onnxruntime (where the oneDNN addon is not built).
  const models = (process.env.TRAINING_MODELS ?? 'lenet5,vgg-small,resnet20,mobilenet').split(',');
  const backends = (process.env.TRAINING_BACKENDS ?? 'native,native-onnxruntime,gpujs,webgpu').split(',') as ('native' | 'native-onnxruntime' | 'gpujs' | 'webgpu')[];
  if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1)) throw new Error(`TRAINING_ROUNDS must be a positive integer, got '${process.env.TRAINING_ROUNDS}'`);
  const shape = [1, 28, 28] as const;
  const opened = new Map<string, ComputeBackend>();
  for (const b of backends) opened.set(b, await openBackend(b === 'native-onnxruntime' ? { backend: 'native', native: { kernels: 'onnxruntime' } } : { backend: b }));
  for (const [b, be] of opened) console.log(`${b}: ${backendLabel(be)}`);
  const native = opened.get('native') as NativeBackend | undefined;
  const threads = native?.threads ?? 2;
  // This machine's speed drifts by tens of percent over seconds: the native columns and PyTorch are
  // measured back to back, model by model, in several rounds, and each column shows its median round.
  const measured: Record<string, Record<string, number[]>> = {};
  let torchMissing: string | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of models) {
      const m = (measured[name] ??= {});
      for (const [b, be] of opened) {
        if (round > 0 && be.name !== 'native') continue; // gpu.js and WebGPU: one round (minutes each)
        const rate = (await oursThroughput(be, zooModel(name, [...shape], 10))).samplesPerSecond;
        (m[b] ??= []).push(rate);
        console.log(`round ${round + 1}: ${name} on ${b}: ${rate.toFixed(1)} samples/s`);
      }
      const torch = torchThroughput([name], threads, shape);
      if (typeof torch === 'string') torchMissing = torch;
      else {
        (m.torch ??= []).push(torch[name]);
        console.log(`round ${round + 1}: ${name} on PyTorch: ${torch[name].toFixed(1)} samples/s`);
      }
    }
  }
  if (torchMissing) console.log(`PyTorch: ${torchMissing}`);
  const cell = (v: number[] | undefined) => (v === undefined ? 'n/a' : median(v) >= 100 ? median(v).toFixed(0) : median(v).toFixed(1));
  const ratio = (a: number[] | undefined, b: number[] | undefined) => (a === undefined || b === undefined ? 'n/a' : (median(a) / median(b)).toFixed(2));
  const rows = models.map((name) => {
    const o = measured[name];
    return [name, ...backends.map((b) => cell(o[b])), cell(o.torch), ratio(o.native, o.torch), ratio(o.native, o.gpujs)];
  });
  console.log();
  console.log(`batch ${BATCH}, ${shape.join('x')} inputs, SGD with momentum, ${threads} threads for native and PyTorch; samples/s, the median of ${ROUNDS} rounds (gpu.js, WebGPU: one)`);
  console.log(table(['model', ...backends, `PyTorch ${threads} threads`, 'native / PyTorch', 'native / gpu.js'], rows));
  for (const be of opened.values()) be.destroy();
}
