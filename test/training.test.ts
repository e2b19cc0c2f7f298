// The training loop on the real device: learning on a small MNIST subset, determinism, exact resume
// from a checkpoint, distillation, and the checkpoint file format.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { initModel } from '../src/model/model.js';
import { lenet5 } from '../src/model/zoo.js';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { learningRateAt } from '../src/train/schedule.js';
import { type TrainOptions, train } from '../src/train/trainer.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { openNative } from '../src/open-backend.js';
import { webgpu } from './helpers/backends.js';

const trainSet = subset(loadMnist('train'), 2048);
const testSet = subset(loadMnist('test'), 500);
const options: TrainOptions = { epochs: 1, batchSize: 32, optimizer: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4, schedule: { kind: 'cosine' }, seed: 7, logEvery: 1 };

describe('training loop', async () => {
  const gpu = await webgpu();

  it('200 steps on 2048 MNIST images lower the loss and reach 90% test accuracy', async () => {
    const baseline = gpu.memory().liveBuffers;
    const r = await train(gpu, initModel(lenet5(), 1), trainSet, { ...options, optimizer: 'adam', learningRate: 2e-3, epochs: 4, maxSteps: 200, logEvery: 25 });
    expect(r.history.at(-1)!.step).toBe(200);
    expect(r.history.at(-1)!.loss).toBeLessThan(r.history[0].loss * 0.5);
    const test = await evaluateModel(gpu, r.model, testSet);
    expect(test.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(gpu.memory().liveBuffers).toBe(baseline);
  });

  it('the same seed gives the same weights twice', async () => {
    const run = () => train(gpu, initModel(lenet5(), 3), trainSet, { ...options, maxSteps: 15 });
    const [a, b] = [await run(), await run()];
    for (const [k, v] of a.model.params) expect(Array.from(b.model.params.get(k)!), k).toEqual(Array.from(v));
  });

  it('a run stopped and resumed from its checkpoint file follows the uninterrupted loss trajectory exactly', async () => {
    const o = { ...options, optimizer: 'adam' as const, learningRate: 2e-3, maxSteps: 24 };
    const whole = await train(gpu, initModel(lenet5(), 5), trainSet, o);
    let steps = 0;
    const dir = mkdtempSync(join(tmpdir(), 'wgprune-'));
    const file = join(dir, 'run.safetensors');
    const first = await train(gpu, initModel(lenet5(), 5), trainSet, o, { shouldStop: () => ++steps === 10, onCheckpoint: (c) => saveCheckpoint(file, c) });
    expect(first.stopped).toBe(true);
    const resumed = await train(gpu, initModel(lenet5(), 99), trainSet, o, { resume: await loadCheckpoint(file) });
    const losses = [...first.history, ...resumed.history].map((p) => p.loss);
    expect(losses).toEqual(whole.history.map((p) => p.loss));
    for (const [k, v] of whole.model.params) expect(Array.from(resumed.model.params.get(k)!), k).toEqual(Array.from(v));
    expect(readdirSync(dir)).toEqual(['run.safetensors']); // atomic writes leave no temporary files
  });

  it('distills from a teacher: on soft targets alone the student follows a teacher that disagrees with the labels (native backend: the loop, not a kernel, is under test)', async () => {
    const be = await openNative();
    // The teacher learns shifted labels (y + 1 mod 10); a student trained on the true labels' data with
    // alpha = 1 (soft targets only) must learn the teacher's shift, which ignoring the teacher cannot.
    const shift = (d: typeof trainSet) => ({ ...d, labels: d.labels.map((y) => (y + 1) % 10) });
    const teacher = (await train(be, initModel(lenet5(), 8), shift(trainSet), { ...options, optimizer: 'adam', learningRate: 2e-3, maxSteps: 60, logEvery: 60 })).model;
    const student = await train(be, initModel(lenet5(), 9), trainSet, { ...options, optimizer: 'adam', learningRate: 2e-3, maxSteps: 60, logEvery: 60, distill: { temperature: 2, alpha: 1 } }, { teacher });
    const test = subset(loadMnist('test'), 500);
    const [onShifted, onTrue] = [await evaluateModel(be, student.model, shift(test)), await evaluateModel(be, student.model, test)];
    expect(onShifted.accuracy).toBeGreaterThan(0.5);
    expect(onTrue.accuracy).toBeLessThan(0.2);
  });
});

describe('checkpoints', () => {
  const model = initModel(lenet5(), 2);
  model.masks.set('conv1.weight', new Float32Array(150).fill(1));
  const c: Checkpoint = { model, optimizer: new Map([['conv1.weight.velocity', new Float32Array(150).fill(0.5)]]), position: { step: 3, epoch: 0, batchInEpoch: 3, options } };

  it('round-trip through the safetensors format, with the architecture in the metadata', () => {
    const back = decodeCheckpoint(encodeCheckpoint(c));
    expect(back.model.spec).toEqual(model.spec);
    for (const [k, v] of model.params) expect(Array.from(back.model.params.get(k)!)).toEqual(Array.from(v));
    expect(Array.from(back.model.masks.get('conv1.weight')!)).toEqual(Array.from(model.masks.get('conv1.weight')!));
    expect(back.optimizer.get('conv1.weight.velocity')![0]).toBe(0.5);
    expect(back.position).toEqual(c.position);
  });

  it('is readable by a plain safetensors parser (header length, JSON header, F32 data)', () => {
    const bytes = encodeCheckpoint(c);
    const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
    const entry = header['param/conv1.weight'];
    expect(entry.dtype).toBe('F32');
    expect(entry.shape).toEqual([6, 1, 5, 5]);
    const data = new Float32Array(bytes.slice(8 + length + entry.data_offsets[0], 8 + length + entry.data_offsets[1]).buffer);
    expect(Array.from(data)).toEqual(Array.from(model.params.get('conv1.weight')!));
  });

  it('truncated or foreign files give an error that names the file', async () => {
    const bytes = encodeCheckpoint(c);
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 100), 'cut.safetensors')).toThrow(/cut\.safetensors: tensor '.*' has offsets .* \(truncated\?\)/);
    expect(() => decodeCheckpoint(bytes.subarray(0, 5), 'tiny.safetensors')).toThrow(/tiny\.safetensors: not a safetensors file/);
    const dir = mkdtempSync(join(tmpdir(), 'wgprune-'));
    writeFileSync(join(dir, 'x.safetensors'), bytes.subarray(0, 40));
    await expect(loadCheckpoint(join(dir, 'x.safetensors'))).rejects.toThrow(/x\.safetensors: /);
    await expect(loadCheckpoint(join(dir, 'missing.safetensors'))).rejects.toThrow(/missing\.safetensors: no such file/);
    expect(readFileSync(join(dir, 'x.safetensors')).length).toBe(40);
  });
});

describe('learning-rate schedules', () => {
  it('step and cosine follow their formulas', () => {
    expect(learningRateAt({ kind: 'step', everyEpochs: 2, gamma: 0.1 }, 0.1, 399, 100, 1000)).toBeCloseTo(0.01, 12);
    expect(learningRateAt({ kind: 'step', everyEpochs: 2, gamma: 0.1 }, 0.1, 400, 100, 1000)).toBeCloseTo(0.001, 12);
    expect(learningRateAt({ kind: 'cosine' }, 0.1, 0, 100, 1000)).toBe(0.1);
    expect(learningRateAt({ kind: 'cosine' }, 0.1, 500, 100, 1000)).toBeCloseTo(0.05, 12);
    expect(learningRateAt({ kind: 'cosine', minLr: 0.01 }, 0.1, 1000, 100, 1000)).toBeCloseTo(0.01, 12);
  });
});

describe('the shipped default checkpoint', async () => {
  const gpu = await webgpu();
  it('is LeNet-5 trained on MNIST by scripts/train-default.ts, with its test accuracy recorded and reproduced', async () => {
    const c = await loadCheckpoint(new URL('../models/lenet5-mnist.safetensors', import.meta.url).pathname);
    expect(c.model.spec.name).toBe('lenet5');
    expect(c.info?.testAccuracy).toBeGreaterThanOrEqual(0.985);
    expect(c.info?.command).toBe('npx tsx scripts/train-default.ts');
    const r = await evaluateModel(gpu, c.model, subset(loadMnist('test'), 2000));
    expect(r.accuracy).toBeGreaterThanOrEqual(0.98);
  });
});
