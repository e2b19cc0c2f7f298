// A prune run that survives losing its WebGPU device: it keeps the last resumable state (a fine-tuning
// checkpoint every `checkpointEvery` steps) and, when the device is lost mid-run, reopens on gpu.js and
// continues from there.
import { GpujsBackend, type GpujsBackendOptions } from '../gpujs/backend.js';
import { type ComputeBackend, schedulerFor } from '../open-backend.js';
import type { PruneResume } from '../prune/prune.js';
import { WebGpuBackend } from '../webgpu/backend.js';
import { type PruneRunOptions, type PruneRunResult, runPrune } from './prune-run.js';

export interface FallbackOptions {
  /** Receives the one-line notice when the run moves to gpu.js. */
  onNotice?: (line: string) => void;
  /** Fine-tuning steps between resumable states (default 25). */
  checkpointEvery?: number;
  gpujs?: GpujsBackendOptions;
}

/** `runPrune` on `be` (its scheduler too); the backend that finished the run comes back with the result. */
export async function runPruneWithFallback(
  be: ComputeBackend, o: Omit<PruneRunOptions, 'scheduler'>, f: FallbackOptions = {},
): Promise<PruneRunResult & { backend: ComputeBackend }> {
  let latest = o.resume;
  const attempt = async (on: ComputeBackend) => ({
    ...(await runPrune(on, {
      ...o, scheduler: schedulerFor(on), resume: latest, checkpointEvery: o.checkpointEvery ?? f.checkpointEvery ?? 25,
      onResumable: (r: PruneResume) => { latest = r; o.onResumable?.(r); },
    })),
    backend: on,
  });
  try {
    return await attempt(be);
  } catch (e) {
    if (!(be instanceof WebGpuBackend) || !be.lost) throw e;
    const next = await GpujsBackend.create(f.gpujs);
    const from = latest ? `pruning step ${latest.step + 1}, fine-tuning step ${latest.training.position?.step ?? 0}` : 'the start';
    const notice = `the WebGPU device was lost (${be.lost.message || be.lost.reason}); resuming on gpu.js (${next.mode}) from ${from}`;
    f.onNotice?.(notice);
    const result = await attempt(next);
    result.report.notes.push(notice);
    return result;
  }
}
