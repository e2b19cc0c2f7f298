// The gpu.js backend's runtime: kernels compiled from shaders/gpujs/*.js and cached, calls queued on
// threaded WebAssembly, tensors as float32 arrays (or their promises) with live and byte counts.
// GpujsBackend (backend.ts) adds the ops on top.
import type { MemoryStats, Tensor } from '../backend.js';
import { type Shape, sizeOf } from '../geometry.js';
import { type GpujsKernelName, gpujsKernelSources } from './kernel-sources.js';
import type { GpujsInstance, GpujsKernel, GpujsMode } from './modes.js';

/** Index arithmetic in the kernels is float32: exact for integers below 2^24. */
const MAX_ELEMENTS = 1 << 24;
/** Size signatures a WebAssembly kernel keeps compiled (see kernel()). */
const MODULE_CACHE_LIMIT = 4096;
/** A tensor's values, or their promise while threaded kernels compute them. */
export type Data = Float32Array | Promise<Float32Array>;

export class GpujsTensor implements Tensor {
  readonly size: number;
  /** Shared with reshaped views; in-place ops replace `data`. */
  constructor(readonly shape: Shape, readonly storage: { data: Data }) { this.size = sizeOf(shape); }
}

export const data = (t: Tensor) => (t as GpujsTensor).storage.data;
/** Stand-in for an optional input the kernel does not read. */
export const NONE = new Float32Array(1);

/** A shaders/gpujs file's top-level functions: the kernel first, then its helpers. */
function kernelFunctions(name: GpujsKernelName): { kernel: string; helpers: string[] } {
  const source: string = gpujsKernelSources[name];
  const [kernel, ...helpers] = source.split(/^(?=function )/m).slice(1).map((f) => f.replace(/\n(\/\/[^\n]*\n)+\s*$/, '\n').trim());
  return { kernel, helpers };
}

export class GpujsRuntime {
  protected kernels = new Map<GpujsKernelName, GpujsKernel>();
  protected live = new Set<GpujsTensor>();
  protected stats = { peakBytes: 0, bytesUploaded: 0, bytesRead: 0 };

  /** WebAssembly with a worker pool: kernels split across the cores (measured 1.9x on 2 cores for a conv). */
  readonly threaded: boolean;
  private queue: Promise<unknown> = Promise.resolve();

  protected constructor(private gpu: GpujsInstance, readonly mode: GpujsMode, threads?: boolean) {
    // Threads share one WebAssembly.Memory: a SharedArrayBuffer (in browsers, cross-origin isolation).
    this.threaded = mode === 'webasm' && typeof SharedArrayBuffer !== 'undefined' && threads !== false;
  }

  upload(values: ArrayLike<number>, shape: Shape): Tensor {
    const size = sizeOf(shape);
    if (values.length !== size) throw new Error(`upload: ${values.length} values for shape [${shape.join(', ')}]`);
    if (size > MAX_ELEMENTS) throw new Error(`gpujs: a tensor of ${size} elements exceeds this backend's limit of 2^24 (float32 index arithmetic)`);
    this.stats.bytesUploaded += size * 4;
    return this.wrap([...shape], Float32Array.from(values));
  }
  zeros(shape: Shape): Tensor { return this.upload(new Float32Array(sizeOf(shape)), shape); }
  async read(t: Tensor): Promise<Float32Array> {
    this.stats.bytesRead += t.size * 4;
    // Unthreaded kernels run synchronously: a read is where a page gets to repaint and handle input.
    await new Promise((resolve) => setTimeout(resolve, 0));
    return (await data(t)).slice();
  }
  reshape(t: Tensor, shape: Shape): Tensor {
    if (sizeOf(shape) !== t.size) throw new Error(`reshape: [${t.shape.join(', ')}] cannot become [${shape.join(', ')}]`);
    const view = new GpujsTensor([...shape], (t as GpujsTensor).storage);
    this.live.add(view);
    return view;
  }
  dispose(...ts: (Tensor | undefined)[]): void { for (const t of ts) if (t) this.live.delete(t as GpujsTensor); }
  flush(): void {}
  memory(): MemoryStats {
    const storages = new Map([...this.live].map((t) => [t.storage, t.size * 4]));
    const liveBytes = [...storages.values()].reduce((s, bytes) => s + bytes, 0);
    return { liveTensors: this.live.size, liveBuffers: storages.size, liveBytes, ...this.stats };
  }


  destroy(): void {
    for (const k of this.kernels.values()) k.destroy?.();
    this.kernels.clear();
    this.gpu.destroy?.();
  }

  protected kernel(name: GpujsKernelName): GpujsKernel {
    let k = this.kernels.get(name);
    if (!k) {
      const { kernel, helpers } = kernelFunctions(name);
      k = this.gpu.createKernel(kernel, {
        dynamicOutput: true, dynamicArguments: true, precision: 'single', tactic: 'precision',
        loopMaxIterations: MAX_ELEMENTS, output: [1], functions: helpers, asyncMode: this.threaded,
      });
      // gpu.js's WebAssembly kernels keep a module (and memory) per argument-size signature, 8 by
      // default; a network's layers have more, and with threads an evicted module's shared memory
      // stays pinned by the workers: measured 256 MiB lost per MobileNet training step. Keep them all.
      const wasm = (k as unknown as { kernel?: { moduleCacheLimit?: number } }).kernel;
      if (this.threaded && wasm && 'moduleCacheLimit' in wasm) wasm.moduleCacheLimit = MODULE_CACHE_LIMIT;
      this.kernels.set(name, k);
    }
    return k;
  }

  /**
   * One kernel call over `size` cells. On WebAssembly with threads the calls queue up and run one after
   * another, each split across the worker pool, and the result is a promise; elsewhere they run at once.
   */
  protected run(name: GpujsKernelName, size: number, ...args: (Data | number)[]): Data {
    const k = this.kernel(name);
    const exact = (out: Float32Array) => {
      // gpu.js may hand back a buffer it reuses, a shared one, or a larger texture read-back: keep an exact copy.
      const shared = typeof SharedArrayBuffer !== 'undefined' && out.buffer instanceof SharedArrayBuffer;
      return out.length === size && !shared ? out : out.slice(0, size);
    };
    if (!this.threaded) return exact(k.setOutput([size])(...(args as (Float32Array | number)[])) as Float32Array);
    const result = this.queue.then(async () => exact(await (k.setOutput([size])(...(await Promise.all(args))) as unknown as Promise<Float32Array>)));
    this.queue = result.catch(() => undefined);
    return result;
  }

  protected wrap(shape: Shape, values: Data): GpujsTensor {
    const t = new GpujsTensor(shape, { data: values });
    this.live.add(t);
    this.stats.peakBytes = Math.max(this.stats.peakBytes, this.memory().liveBytes);
    return t;
  }

  protected output(name: GpujsKernelName, shape: Shape, ...args: (Data | number)[]): GpujsTensor {
    return this.wrap(shape, this.run(name, sizeOf(shape), ...args));
  }
}
