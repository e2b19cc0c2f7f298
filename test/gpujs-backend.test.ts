// The gpu.js fallback backend (WebAssembly in Node here) against the CPU reference: the same seeded
// cases as the WebGPU kernels, and the magnitude-selection ops of unstructured pruning.
import { afterAll, describe, expect, it } from 'vitest';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { GpujsBackend } from '../src/gpujs/backend.js';
import { initModel } from '../src/model/model.js';
import { mobilenet } from '../src/model/zoo.js';
import { train } from '../src/train/trainer.js';
import { expectMagnitudeSelectionAgrees, expectNamedShapeErrors } from './helpers/backend-checks.js';
import { cpu } from './helpers/backends.js';
import { expectBackendsAgree } from './helpers/op-cases.js';
import { OP_SUITES, convCase } from './helpers/op-suites.js';

describe('gpu.js backend matches the CPU reference', async () => {
  const be = await GpujsBackend.create();
  const reference = cpu();
  afterAll(() => be.destroy());

  it('runs on WebAssembly in Node (the fastest gpu.js mode without a GL context)', () => {
    expect(be.mode).toBe('webasm');
  });
  it('conv2d forward and backward (strided, dilated, 1x1, depthwise, grouped)', () => expectBackendsAgree(be, reference, convCase, 24));
  for (const suite of OP_SUITES) it(suite.title, () => expectBackendsAgree(be, reference, suite.make));

  it('magnitude histogram (exact counts) and threshold masks', () => expectMagnitudeSelectionAgrees(be, reference));
  it('rejects inputs with the op and shapes named', () => expectNamedShapeErrors(be));
});

describe('gpu.js threaded training keeps its memory', () => {
  it('MobileNet steps on threaded WebAssembly: resident memory stays flat (gpu.js pins evicted modules otherwise)', async () => {
    const be = await GpujsBackend.create();
    expect(be.threaded).toBe(true);
    const data = subset(loadMnist('train'), 1024);
    const options = { epochs: 1, batchSize: 32, optimizer: 'adam' as const, learningRate: 1e-3, seed: 1, logEvery: 2 };
    const rss: number[] = [];
    await train(be, initModel(mobilenet([1, 28, 28]), 1), data, { ...options, maxSteps: 16 }, { onProgress: () => { rss.push(process.memoryUsage().rss); } });
    be.destroy();
    // Steps 4..16 after warm-up: the leak this guards against was ~128 MiB per step at batch 32.
    expect((rss.at(-1)! - rss[1]) / 2 ** 20).toBeLessThan(200);
  }, 120_000);
});
