// The backends end to end: a whole prune + distilled fine-tune of the shipped LeNet-5 gives the same kept
// channels, masks and cycles on gpu.js and on the native backend as on WebGPU, and accuracy within a
// point; where the native backend cannot load (as in browsers), a device lost mid-run moves the run to
// gpu.js from its last checkpoint.
import { afterAll, describe, expect, it } from 'vitest';
import { GpujsBackend } from '../src/gpujs/backend.js';
import { type ComputeBackend, NATIVE_DISABLE_ENV, openBackend, schedulerFor } from '../src/open-backend.js';
import { runPruneWithFallback } from '../src/run/fallback.js';
import { runPrune } from '../src/run/prune-run.js';
import { WebGpuBackend } from '../src/webgpu/backend.js';
import { expectSameRun, lenetBudgetRunOptions } from './helpers/lenet-budget-run.js';

const opened: ComputeBackend[] = [];
afterAll(() => { for (const be of opened) be.destroy(); });

describe('prune + fine-tune on gpu.js and on the native backend equals WebGPU', async () => {
  const options = await lenetBudgetRunOptions();
  const runOn = async (backend: 'webgpu' | 'gpujs' | 'native') => {
    const be = await openBackend({ backend });
    opened.push(be);
    return runPrune(be, { ...options, scheduler: schedulerFor(be) });
  };
  const onWebgpu = await runOn('webgpu');

  it('LeNet-5 to half the latency, distilled, on gpu.js: same kept channels, masks and cycles; accuracy within a point', async () => {
    expectSameRun(await runOn('gpujs'), onWebgpu);
  }, 300_000);

  it('the same on the native backend', async () => {
    expectSameRun(await runOn('native'), onWebgpu);
  }, 300_000);

  it('a WebGPU device lost mid-run without the native backend: the run resumes on gpu.js from the last checkpoint and finishes', async () => {
    const be = await WebGpuBackend.create();
    opened.push(be);
    const notices: string[] = [];
    const steps: number[] = [];
    process.env[NATIVE_DISABLE_ENV] = 'off';
    const run = await runPruneWithFallback(be, {
      ...options,
      onProgress: (p) => { steps.push(p.step); if (p.step === 30 && !be.lost) be.acquired.device.destroy(); },
    }, { checkpointEvery: 20, onNotice: (l) => notices.push(l) }).finally(() => { delete process.env[NATIVE_DISABLE_ENV]; });
    expect(run.backend).toBeInstanceOf(GpujsBackend);
    expect(notices).toEqual([expect.stringMatching(/^the WebGPU device was lost \(.*\); resuming on gpu\.js \((webasm|cpu|headlessgl)\) from pruning step 1, fine-tuning step 20$/)]);
    expect(steps.slice(steps.indexOf(30) + 1, steps.indexOf(30) + 2)).toEqual([30]); // after step 30 on WebGPU, gpu.js redoes 21..30
    expect([...run.result.kept]).toEqual([...onWebgpu.result.kept]);
    expect(run.report.notes).toContain(notices[0]);
    expect(Math.abs(run.report.pruned.accuracy! - onWebgpu.report.pruned.accuracy!)).toBeLessThanOrEqual(0.01);
  }, 300_000);
});
