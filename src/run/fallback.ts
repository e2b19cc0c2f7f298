// Runs that survive losing their WebGPU device: the caller keeps its last resumable state (a checkpoint
// every few steps); when the device is lost mid-run, the run reopens on the native CPU backend (Node)
// or gpu.js (browsers, or where the native backend cannot load) and continues from there.
import { GpujsBackend, type GpujsBackendOptions } from '../gpujs/backend.js';
import { type ComputeBackend, backendLabel, openNative, schedulerFor } from '../open-backend.js';
import type { PruneResume } from '../prune/prune.js';
import { WebGpuBackend } from '../webgpu/backend.js';
import { type PruneRunOptions, type PruneRunResult, runPrune } from './prune-run.js';

export interface FallbackOptions {
  /** Receives the one-line notice when the run moves to another backend. */
  onNotice?: (line: string) => void;
  /** Fine-tuning steps between resumable states (default 25). */
  checkpointEvery?: number;
  gpujs?: GpujsBackendOptions;
}

/**
 * `attempt(be)`; if it fails because be's WebGPU device was lost, `attempt` again on the native backend or
 * gpu.js (it resumes from whatever state it kept). `resumesFrom` names that state for the notice.
 */
export async function withDeviceFallback<T>(
  be: ComputeBackend, attempt: (on: ComputeBackend) => Promise<T>, resumesFrom: () => string, f: FallbackOptions = {},
): Promise<{ value: T; backend: ComputeBackend; notice?: string }> {
  try {
    return { value: await attempt(be), backend: be };
  } catch (e) {
    if (!(be instanceof WebGpuBackend) || !be.lost) throw e;
    const next = await openNative().catch(() => GpujsBackend.create(f.gpujs));
    const notice = `the WebGPU device was lost (${be.lost.message || be.lost.reason}); resuming on ${backendLabel(next)} from ${resumesFrom()}`;
    f.onNotice?.(notice);
    return { value: await attempt(next), backend: next, notice };
  }
}

/** `runPrune` on `be` (its scheduler too); the backend that finished the run comes back with the result. */
export async function runPruneWithFallback(
  be: ComputeBackend, o: Omit<PruneRunOptions, 'scheduler'>, f: FallbackOptions = {},
): Promise<PruneRunResult & { backend: ComputeBackend }> {
  let latest = o.resume;
  const attempt = (on: ComputeBackend) => runPrune(on, {
    ...o, scheduler: schedulerFor(on), resume: latest, checkpointEvery: o.checkpointEvery ?? f.checkpointEvery ?? 25,
    onResumable: (r: PruneResume) => { latest = r; return o.onResumable?.(r); },
  });
  const from = () => (latest ? `pruning step ${latest.step + 1}, fine-tuning step ${latest.training.position?.step ?? 0}` : 'the start');
  const { value, backend, notice } = await withDeviceFallback(be, attempt, from, f);
  if (notice) value.report.notes.push(notice);
  value.report.backend = backendLabel(backend);
  return { ...value, backend };
}
