// The gpu.js fallback end to end: a whole prune + distilled fine-tune of the shipped LeNet-5 gives the
// same masks on gpu.js as on WebGPU and a comparable accuracy; `auto` falls back, with the notice, when
// WebGPU has no adapter.
import { afterAll, describe, expect, it } from 'vitest';
import { preset } from '../src/accel/presets.js';
import { loadModel } from '../src/cli/inputs.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { GpujsBackend } from '../src/gpujs/backend.js';
import { type ComputeBackend, openBackend, schedulerFor } from '../src/open-backend.js';
import { parseBudget } from '../src/prune/budget.js';
import { runPrune } from '../src/run/prune-run.js';
import { WebGpuBackend } from '../src/webgpu/backend.js';
import { DISABLE_ENV } from '../src/webgpu/device.js';

const opened: ComputeBackend[] = [];
afterAll(() => { for (const be of opened) be.destroy(); });

describe('backend selection', () => {
  it('auto uses WebGPU when an adapter answers, and gpujs is used when asked for', async () => {
    const notices: string[] = [];
    const [auto, forced] = [await openBackend({ onNotice: (l) => notices.push(l) }), await openBackend({ backend: 'gpujs' })];
    opened.push(auto, forced);
    expect(auto).toBeInstanceOf(WebGpuBackend);
    expect(forced).toBeInstanceOf(GpujsBackend);
    expect(notices).toEqual([]);
  });

  it('without a WebGPU adapter, auto falls back to gpu.js with a one-line notice; webgpu fails naming why', async () => {
    process.env[DISABLE_ENV] = 'off';
    try {
      const notices: string[] = [];
      const be = await openBackend({ backend: 'auto', onNotice: (l) => notices.push(l) });
      opened.push(be);
      expect(be).toBeInstanceOf(GpujsBackend);
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatch(/^WebGPU unavailable \(no WebGPU adapter: WebGPU turned off .*\); running on gpu\.js \(webasm\)/);
      expect(notices[0]).not.toContain('\n');
      await expect(openBackend({ backend: 'webgpu' })).rejects.toThrow(/no WebGPU adapter/);
    } finally {
      delete process.env[DISABLE_ENV];
    }
  });
});

describe('prune + fine-tune on gpu.js equals WebGPU', () => {
  it('LeNet-5 to half the latency, distilled: same masks, comparable accuracy', async () => {
    const train = subset(loadMnist('train'), 256);
    const test = subset(loadMnist('test'), 500);
    const runs = [];
    for (const backend of ['webgpu', 'gpujs'] as const) {
      const be = await openBackend({ backend });
      opened.push(be);
      const { model, source } = await loadModel('default', [1, 28, 28], 10, 1);
      runs.push(await runPrune(be, {
        model, modelSource: source, train, test, accelerator: preset('systolic-16x16'), scheduler: schedulerFor(be),
        criterion: 'l1', granularity: 'channel', budget: parseBudget('latency=0.5'), seed: 1,
        fineTune: { epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 1e-3, seed: 1, logEvery: 10, maxSteps: 40 },
        kd: { temperature: 4, alpha: 0.7 },
      }));
    }
    const [onWebgpu, onGpujs] = runs;
    expect([...onGpujs.result.kept]).toEqual([...onWebgpu.result.kept]);
    expect([...onGpujs.result.masked.masks.keys()]).toEqual([...onWebgpu.result.masked.masks.keys()]);
    for (const [name, mask] of onWebgpu.result.masked.masks) expect(onGpujs.result.masked.masks.get(name), name).toEqual(mask);
    expect(onGpujs.report.pruned.cycles).toBe(onWebgpu.report.pruned.cycles);
    expect(onGpujs.report.pruned.cycles).toBeLessThanOrEqual(0.5 * onGpujs.report.dense.cycles);
    expect(onGpujs.report.dense.accuracy).toBeCloseTo(onWebgpu.report.dense.accuracy!, 3);
    expect(Math.abs(onGpujs.report.pruned.accuracy! - onWebgpu.report.pruned.accuracy!)).toBeLessThanOrEqual(0.01);
    expect(onGpujs.report.pruned.accuracy).toBeGreaterThan(0.85);
  }, 300_000);
});
