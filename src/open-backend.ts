// Picks the compute backend: WebGPU when an adapter answers, else gpu.js (`auto`), or the one asked for.
// Also gives each backend's tile scheduler, so callers never branch on the backend's kind.
import type { AcceleratorConfig } from './accel/config.js';
import { gpuScheduler } from './accel/tile-scheduler-gpu.js';
import { gpujsScheduler } from './accel/tile-scheduler-gpujs.js';
import type { Objective, Scheduled, TileProblem } from './accel/tiled.js';
import { GpujsBackend, type GpujsBackendOptions } from './gpujs/backend.js';
import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu/backend.js';

export const BACKEND_CHOICES = ['auto', 'webgpu', 'gpujs'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type ComputeBackend = WebGpuBackend | GpujsBackend;

export interface OpenBackendOptions {
  backend?: BackendChoice;
  webgpu?: WebGpuBackendOptions;
  gpujs?: GpujsBackendOptions;
  /** Receives the one-line notice when `auto` falls back to gpu.js. */
  onNotice?: (line: string) => void;
}

/** Why WebGPU was not used, in one line. */
function fallbackNotice(reason: string, be: GpujsBackend): string {
  return `WebGPU unavailable (${reason}); running on gpu.js (${be.mode}) instead, slower`;
}

export async function openBackend(o: OpenBackendOptions = {}): Promise<ComputeBackend> {
  const choice = o.backend ?? 'auto';
  if (!BACKEND_CHOICES.includes(choice)) throw new Error(`backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${choice}'`);
  if (choice === 'gpujs') return GpujsBackend.create(o.gpujs);
  try {
    return await WebGpuBackend.create(o.webgpu);
  } catch (e) {
    if (choice === 'webgpu') throw e;
    const be = await GpujsBackend.create(o.gpujs);
    o.onNotice?.(fallbackNotice((e as Error).message, be));
    return be;
  }
}

export type TileScheduler = (c: AcceleratorConfig, problems: TileProblem[], objective: Objective) => Promise<Scheduled[]> | Scheduled[];

/** The tile scheduler that runs on `be`. */
export function schedulerFor(be: ComputeBackend): TileScheduler {
  return be instanceof WebGpuBackend ? gpuScheduler(be.ctx) : gpujsScheduler(be);
}
