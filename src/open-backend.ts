// Picks the compute backend. `auto`: a hardware WebGPU adapter first; in Node without one, the native
// CPU backend (onnxruntime's and oneDNN's kernels: about 100x WebGPU on SwiftShader for convolutions), then WebGPU
// on a software adapter, then gpu.js; in browsers WebGPU, else gpu.js. Any backend can be asked for by
// name. Also gives each backend's tile scheduler, so callers never branch on the backend's kind.
import type { AcceleratorConfig } from './accel/config.js';
import { gpuScheduler } from './schedulers/webgpu.js';
import { type Objective, type Scheduled, type TileProblem, scheduleOnCpu } from './accel/tiled.js';
import { GpujsBackend, type GpujsBackendOptions } from './gpujs/backend.js';
import type { NativeBackend, NativeBackendOptions } from './native/backend.js';
import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu/backend.js';
import { describe } from './webgpu/device.js';

export const BACKEND_CHOICES = ['auto', 'webgpu', 'gpujs', 'native'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type ComputeBackend = WebGpuBackend | GpujsBackend | NativeBackend;

/** Set to `off` to act as a machine where the native backend cannot load (what `auto` falls back from). */
export const NATIVE_DISABLE_ENV = 'WGPRUNE_NATIVE';

export interface OpenBackendOptions {
  backend?: BackendChoice;
  webgpu?: WebGpuBackendOptions;
  gpujs?: GpujsBackendOptions;
  native?: NativeBackendOptions;
  /** Receives the one-line notice when `auto` takes something other than a hardware GPU. */
  onNotice?: (line: string) => void;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** The native backend, loaded only in Node (its module needs onnxruntime-node; bundlers leave it alone). */
export async function openNative(o: NativeBackendOptions = {}): Promise<NativeBackend> {
  if (!isNode) throw new Error('native backend unavailable: it runs in Node only');
  if (process.env[NATIVE_DISABLE_ENV] === 'off') throw new Error(`native backend turned off (${NATIVE_DISABLE_ENV}=off)`);
  const path = './native/backend.js'; // in a variable so browser bundlers do not follow it
  const { NativeBackend: Native } = (await import(/* @vite-ignore */ path)) as typeof import('./native/backend.js');
  return Native.create(o);
}

export async function openBackend(o: OpenBackendOptions = {}): Promise<ComputeBackend> {
  const choice = o.backend ?? 'auto';
  if (!BACKEND_CHOICES.includes(choice)) throw new Error(`backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${choice}'`);
  if (choice === 'gpujs') return GpujsBackend.create(o.gpujs);
  if (choice === 'native') return openNative(o.native);
  if (choice === 'webgpu') {
    const be = await WebGpuBackend.create(o.webgpu);
    // Which driver, and why: a software adapter is a correctness device, not a fast one.
    if (be.report.software) o.onNotice?.(`${be.report.tried.filter((t) => !t.startsWith('using ')).join('; ')}; running on WebGPU on a software adapter (${describe(be.report)})`);
    return be;
  }
  const why: string[] = [];
  if (isNode) {
    try {
      return await WebGpuBackend.create({ ...o.webgpu, hardwareOnly: true });
    } catch (e) {
      why.push(`no hardware GPU (${(e as { tried?: string[] }).tried?.at(-1) ?? (e as Error).message})`);
    }
    try {
      const be = await openNative(o.native);
      o.onNotice?.(`${why[0]}; running on the native CPU backend (${be.label})`);
      return be;
    } catch (e) {
      why.push((e as Error).message);
    }
  }
  try {
    const be = await WebGpuBackend.create(o.webgpu);
    if (why.length) o.onNotice?.(`${why.join('; ')}; running on WebGPU on a ${be.report.software ? 'software' : 'hardware'} adapter`);
    return be;
  } catch (e) {
    const be = await GpujsBackend.create(o.gpujs);
    o.onNotice?.(`WebGPU unavailable (${(e as Error).message})${why.length > 1 ? `; ${why[1]}` : ''}; running on gpu.js (${be.mode}) instead, slower`);
    return be;
  }
}

/** The backend in a few words: its kind and what it runs on. */
export function backendLabel(be: ComputeBackend): string {
  if (be instanceof WebGpuBackend) return `webgpu (${be.report.software ? 'software adapter' : 'GPU'}: ${describe(be.report)})`;
  if (be instanceof GpujsBackend) return `gpu.js (${be.mode})`;
  return `native (${be.label})`;
}

export type TileScheduler = (c: AcceleratorConfig, problems: TileProblem[], objective: Objective) => Promise<Scheduled[]> | Scheduled[];

/**
 * The tile scheduler for `be`: the WGSL one on a hardware GPU, else the CPU reference (src/accel/tiled.ts,
 * the definition), which is faster on a CPU (npm run bench -- planning, lenet5: 0.3 s on the CPU, 3.8 s
 * on SwiftShader). Both choose the same tilings. gpu.js had a third scheduler until it measured 14-30x
 * slower than the CPU one (resnet20 7.2 s against 0.5 s, ResNet-18 at 64x64 53.9 s against 3.3 s).
 */
export function schedulerFor(be: ComputeBackend): TileScheduler {
  if (be instanceof WebGpuBackend && !be.report.software) return gpuScheduler(be.ctx);
  return (c, problems, objective) => problems.map((q) => scheduleOnCpu(c, q, objective));
}
