// The WebGPU runtime under the ops: a buffer pool with counters, tensors over pooled buffers,
// pipelines cached by shader + entry point + override constants, and dispatches recorded into one
// command encoder that is submitted only when results are read (or on flush()).
import type { MemoryStats, Tensor } from '../backend.js';
import { type Shape, sizeOf } from '../geometry.js';
import { type ShaderName, shaderSources } from '../shader-sources.js';

const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08 /* COPY_DST */;
const UNIFORM_USAGE = 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */;
const MAP_READ_USAGE = 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */;
/** Learning rates and step counts make new uniform blocks every step; the cache is cleared past this. */
const MAX_CACHED_UNIFORMS = 4096;

interface Storage { buffer: GPUBuffer; refs: number }

export class GpuTensor implements Tensor {
  readonly size: number;
  disposed = false;
  constructor(readonly shape: Shape, readonly storage: Storage) { this.size = sizeOf(shape); }
}

/** Pool size classes: 1/8 steps between powers of two, so reuse wastes at most 12.5%. */
function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 256);
  const step = 2 ** Math.max(Math.floor(Math.log2(b)) - 3, 8);
  return Math.ceil(b / step) * step;
}

export type Overrides = Record<string, number | boolean>;

export interface Dispatch {
  shader: ShaderName;
  entry: string;
  overrides?: Overrides;
  /** Uniform block, as 32-bit words (u32 unless listed in `floats`). */
  params: number[];
  floats?: readonly number[];
  /** Binding number -> tensor (or buffer) for binding 1 upward; binding 0 is the uniform block. */
  bindings: Record<number, Tensor | GPUBuffer>;
  workgroups: [number, number?, number?];
}

export class GpuContext {
  private free = new Map<number, GPUBuffer[]>();
  /** Released while recorded work may still read them: fine for kernel outputs, not for uploads. */
  private deferred = new Map<number, GPUBuffer[]>();
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, GPUComputePipeline>();
  private uniforms = new Map<string, GPUBuffer>();
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private failure: Error | undefined;
  private counters = { liveTensors: 0, liveBuffers: 0, liveBytes: 0, peakBytes: 0, bytesUploaded: 0, bytesRead: 0 };
  /** Bound where a kernel declares an input it will not read (read-only and writable slots may not share one). */
  readonly dummy: GPUBuffer;
  readonly dummyOut: GPUBuffer;
  dispatchCount = 0;

  constructor(readonly device: GPUDevice) {
    this.dummy = device.createBuffer({ size: 16, usage: STORAGE_USAGE });
    this.dummyOut = device.createBuffer({ size: 16, usage: STORAGE_USAGE });
    device.addEventListener('uncapturederror', (e) => {
      this.failure ??= new Error(`WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`);
    });
    void device.lost.then((info) => { this.failure ??= new Error(`WebGPU device lost (${info.reason}): ${info.message}`); });
  }

  memory(): MemoryStats { return { ...this.counters }; }

  private acquire(bytes: number, forUpload: boolean): GPUBuffer {
    const size = sizeClass(bytes);
    const reuse = this.free.get(size)?.pop() ?? (forUpload ? undefined : this.deferred.get(size)?.pop());
    const buffer = reuse ?? this.device.createBuffer({ size, usage: STORAGE_USAGE });
    this.counters.liveBuffers++;
    this.counters.liveBytes += size;
    this.counters.peakBytes = Math.max(this.counters.peakBytes, this.counters.liveBytes);
    return buffer;
  }

  private release(buffer: GPUBuffer): void {
    const lists = this.encoder ? this.deferred : this.free;
    const list = lists.get(buffer.size) ?? [];
    list.push(buffer);
    lists.set(buffer.size, list);
    this.counters.liveBuffers--;
    this.counters.liveBytes -= buffer.size;
  }

  /** A new tensor whose contents the next kernel writes. */
  empty(shape: Shape): GpuTensor {
    const t = new GpuTensor(shape, { buffer: this.acquire(sizeOf(shape) * 4, false), refs: 1 });
    this.counters.liveTensors++;
    return t;
  }

  upload(data: ArrayLike<number>, shape: Shape): GpuTensor {
    if (data.length !== sizeOf(shape)) throw new Error(`upload: ${data.length} values for shape [${shape.join(', ')}]`);
    const t = new GpuTensor(shape, { buffer: this.acquire(data.length * 4, true), refs: 1 });
    this.counters.liveTensors++;
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    this.device.queue.writeBuffer(t.storage.buffer, 0, values.buffer, values.byteOffset, values.byteLength);
    this.counters.bytesUploaded += values.byteLength;
    return t;
  }

  view(t: Tensor, shape: Shape): GpuTensor {
    const source = this.check(t, 'reshape');
    if (sizeOf(shape) !== source.size) throw new Error(`reshape: [${source.shape.join(', ')}] cannot become [${shape.join(', ')}]`);
    source.storage.refs++;
    this.counters.liveTensors++;
    return new GpuTensor(shape, source.storage);
  }

  dispose(t: Tensor): void {
    const g = t as GpuTensor;
    if (g.disposed) return;
    g.disposed = true;
    this.counters.liveTensors--;
    if (--g.storage.refs === 0) this.release(g.storage.buffer);
  }

  check(t: Tensor, op: string): GpuTensor {
    if (!(t instanceof GpuTensor)) throw new Error(`${op}: tensor does not belong to the WebGPU backend`);
    if (t.disposed) throw new Error(`${op}: tensor [${t.shape.join(', ')}] was used after dispose()`);
    return t;
  }

  private pipeline(shader: ShaderName, entry: string, overrides: Overrides = {}): GPUComputePipeline {
    const key = `${shader}:${entry}:${JSON.stringify(overrides)}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      let module = this.modules.get(shader);
      if (!module) {
        module = this.device.createShaderModule({ code: shaderSources[shader], label: shader });
        this.modules.set(shader, module);
      }
      const constants: Record<string, number> = {};
      for (const [k, v] of Object.entries(overrides)) constants[k] = Number(v);
      pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: entry, constants }, label: key });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** Uniform blocks are immutable and cached by content, so a repeated training step re-uploads none. */
  private uniform(words: number[], floats: readonly number[] = []): GPUBuffer {
    const data = new ArrayBuffer(Math.max(16, Math.ceil(words.length / 4) * 16));
    const u32 = new Uint32Array(data);
    const f32 = new Float32Array(data);
    words.forEach((w, i) => {
      if (floats.includes(i)) f32[i] = w;
      else if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new Error(`internal: parameter ${i} = ${w} is not a u32`);
      else u32[i] = w;
    });
    const key = Array.from(u32).join(',');
    let buffer = this.uniforms.get(key);
    if (!buffer) {
      buffer = this.device.createBuffer({ size: data.byteLength, usage: UNIFORM_USAGE });
      this.device.queue.writeBuffer(buffer, 0, data);
      this.uniforms.set(key, buffer);
    }
    return buffer;
  }

  run(d: Dispatch): void {
    if (this.failure) throw this.failure;
    const pipeline = this.pipeline(d.shader, d.entry, d.overrides);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniform(d.params, d.floats) } }];
    for (const [binding, value] of Object.entries(d.bindings)) {
      const buffer = value instanceof GpuTensor ? this.check(value, d.shader).storage.buffer : (value as GPUBuffer);
      entries.push({ binding: Number(binding), resource: { buffer } });
    }
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.encoder ??= this.device.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = d.workgroups;
    if (x > 0 && y > 0 && z > 0) this.pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
  }

  /** Workgroup counts for one invocation per element, folded into y when x would exceed the limit. */
  grid(elements: number, workgroupSize: number): [number, number] {
    const groups = Math.ceil(elements / workgroupSize);
    const maxX = this.device.limits.maxComputeWorkgroupsPerDimension;
    return groups <= maxX ? [groups, 1] : [maxX, Math.ceil(groups / maxX)];
  }

  flush(): void {
    if (this.failure) throw this.failure;
    if (!this.encoder) return;
    this.pass?.end();
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = undefined;
    this.pass = undefined;
    for (const [size, list] of this.deferred) {
      const free = this.free.get(size) ?? [];
      free.push(...list);
      this.free.set(size, free);
    }
    this.deferred.clear();
    if (this.uniforms.size > MAX_CACHED_UNIFORMS) {
      // Destroy waits for the submitted work that uses them (WebGPU defers it).
      for (const b of this.uniforms.values()) b.destroy();
      this.uniforms.clear();
    }
  }

  async read(t: Tensor): Promise<Float32Array> {
    const source = this.check(t, 'read');
    return new Float32Array(await this.readBuffer(source.storage.buffer, source.size * 4));
  }

  /** Copies the first `bytes` of a buffer back, after all recorded work. */
  async readBuffer(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const staging = this.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: MAP_READ_USAGE });
    this.encoder ??= this.device.createCommandEncoder();
    this.pass?.end();
    this.pass = undefined;
    this.encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
    this.flush();
    await staging.mapAsync(0x0001 /* GPUMapMode.READ */);
    if (this.failure) throw this.failure;
    const out = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    this.counters.bytesRead += bytes;
    return out;
  }

  /** Frees pooled buffers that no tensor holds (live tensors are untouched). */
  trim(): void {
    this.flush();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
  }

  destroy(): void {
    this.trim();
    for (const b of this.uniforms.values()) b.destroy();
    this.uniforms.clear();
    this.dummy.destroy();
    this.dummyOut.destroy();
  }
}
