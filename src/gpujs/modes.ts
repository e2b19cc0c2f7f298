// gpu.js's modes: which this machine supports, which runs our kernels and how fast (wgprune doctor), and
// when a GL mode should give way to WebAssembly. The types of the few gpu.js members the backend uses.
import type { Backend } from '../backend.js';
import { PROBE_CONV, probeConvMs } from '../probe.js';

/** What probing needs of a gpu.js backend, and how to make one (the backend passes its own create: no import loop). */
type ModeBackend = Backend & { readonly mode: GpujsMode; destroy(): void };
export type CreateGpujs = (o: { mode: GpujsMode; module: GpujsModule }) => Promise<ModeBackend>;

/** gpu.js modes the backend runs on, fastest first where more than one works. */
export type GpujsMode = 'webgl2' | 'webgl' | 'headlessgl' | 'webasm' | 'cpu';
export const GPUJS_MODES: GpujsMode[] = ['webgl2', 'webgl', 'headlessgl', 'webasm', 'cpu'];

// gpu.js's own types are loose; the few members used here.
export interface GpujsKernel {
  (...args: unknown[]): Float32Array | Float32Array[];
  setOutput(output: number[]): GpujsKernel;
  kernel?: { constructor: { mode?: string }; fallbackReason?: string | null };
  constructor: { mode?: string };
  destroy?(): void;
}
export interface GpujsInstance {
  createKernel(source: string, settings: Record<string, unknown>): GpujsKernel;
  destroy?(): void;
  mode?: string;
}
export interface GpujsModule {
  GPU: (new (settings: { mode?: string }) => GpujsInstance) & {
    isWebGLSupported?: boolean; isWebGL2Supported?: boolean; isHeadlessGLSupported?: boolean; isWebAssemblySupported?: boolean;
  };
}

/** Loads gpu.js: in browsers its bundle, in Node its CommonJS entry. */
export async function loadGpujs(): Promise<GpujsModule> {
  const m = (await import('gpu.js')) as unknown as GpujsModule & { default?: GpujsModule };
  return m.GPU ? m : m.default!;
}

/** The modes of `GPUJS_MODES` that gpu.js reports as supported here, in that order. */
export function supportedGpujsModes(m: GpujsModule): GpujsMode[] {
  const flags: Record<GpujsMode, boolean | undefined> = {
    webgl2: m.GPU.isWebGL2Supported, webgl: m.GPU.isWebGLSupported, headlessgl: m.GPU.isHeadlessGLSupported,
    webasm: m.GPU.isWebAssemblySupported, cpu: true,
  };
  return GPUJS_MODES.filter((mode) => flags[mode]);
}

const GL_MODES: GpujsMode[] = ['webgl2', 'webgl', 'headlessgl'];
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|lavapipe|softpipe|software/i;

/** The renderer behind a GL kernel's context (unmasked where the browser allows), or ''. */
function rendererOf(kernel: GpujsKernel): string {
  const gl = (kernel.kernel as { context?: WebGLRenderingContext } | undefined)?.context;
  if (!gl?.getParameter) return '';
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
}

/**
 * Why a GL mode should give way to WebAssembly, or undefined. GL on a GPU beats WebAssembly; GL on a
 * software rasterizer is far slower than WebAssembly's SIMD on the same CPU (the demo's LeNet-5 prune in
 * headless Chromium on SwiftShader: 60 fine-tuning steps in 32 s on WebAssembly, 4 in 44 s on WebGL2;
 * headless GL on llvmpipe: 70 ms vs 19 ms for the probe conv). Browsers name the renderer; headless GL
 * says only 'ANGLE', so there the two are timed.
 */
export async function slowerThanWebasm(be: ModeBackend, ran: GpujsKernel, m: GpujsModule, create: CreateGpujs): Promise<string | undefined> {
  if (!GL_MODES.includes(be.mode)) return undefined;
  const renderer = rendererOf(ran);
  if (SOFTWARE_RENDERER.test(renderer)) return `a software rasterizer (${renderer}), slower than webasm`;
  if (be.mode !== 'headlessgl') return undefined;
  const wasm = await create({ mode: 'webasm', module: m });
  const [glMs, wasmMs] = [await probeConvMs(be), await probeConvMs(wasm)];
  wasm.destroy();
  return wasmMs < glMs ? `slower than webasm (${glMs.toFixed(1)} vs ${wasmMs.toFixed(1)} ms for a probe conv)` : undefined;
}

export interface GpujsModeProbe { mode: GpujsMode; works: boolean; detail: string; convMs?: number }

/**
 * Every gpu.js mode on this machine: whether it runs our kernels, and how long a small convolution
 * takes there (after compilation), each mode forced. */
export async function probeModes(create: CreateGpujs, m?: GpujsModule): Promise<GpujsModeProbe[]> {
  const module = m ?? (await loadGpujs());
  const supported = supportedGpujsModes(module);
  const probes: GpujsModeProbe[] = [];
  for (const mode of GPUJS_MODES) {
    if (!supported.includes(mode)) {
      probes.push({ mode, works: false, detail: mode === 'headlessgl' ? "no headless GL (the optional 'gl' package is not built)" : 'not supported here' });
      continue;
    }
    try {
      const be = await create({ mode, module });
      const convMs = await probeConvMs(be);
      be.destroy();
      probes.push({ mode, works: true, detail: `works; ${PROBE_CONV} in ${convMs.toFixed(1)} ms`, convMs });
    } catch (e) {
      probes.push({ mode, works: false, detail: (e as Error).message });
    }
  }
  return probes;
}
