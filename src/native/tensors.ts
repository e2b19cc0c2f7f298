// The native backend's tensors: float32 arrays in host memory, the live ones counted (bytes, peak) and
// the released ones kept in an ArrayPool for the next op's output, within a slack above the peak.
import type { MemoryStats, Tensor } from '../backend.js';
import { type Shape, sizeOf } from '../geometry.js';
import { ArrayPool } from './array-pool.js';

export class NativeTensor implements Tensor {
  readonly size: number;
  /** Shared with reshaped views; optimizers update `data` in place. */
  constructor(readonly shape: Shape, readonly storage: { data: Float32Array }) { this.size = sizeOf(shape); }
}

export const data = (t: Tensor): Float32Array => (t as NativeTensor).storage.data;

/**
 * How far above the peak of live bytes live and kept arrays may reach together: a quarter of the peak,
 * at least POOL_SLACK_MIN_BYTES. At exactly the peak the pool turned away arrays mid-step that the next
 * step needed (gradients freed as each parameter steps, src/train/trainer.ts): resnet20 at batch 64
 * allocated 886 MB of fresh, page-faulting arrays in 25 steps (660 before the steps streamed; a backward
 * pass that also freed activations, 1,266 MB and 0.8x the speed); with a quarter's slack 156 MB, and
 * ResNet-18's peak resident memory at 64x64 stays below PyTorch's (scratch measurements,
 * docs/backends.md). A quarter of LeNet-5's 5.6 MB peak turned away its four largest arrays (2.1 MB) at
 * every step: a step (batch 64) took 9.4 ms against 5.8 with the 16 MiB floor (scratch).
 */
const POOL_SLACK = 0.25;
const POOL_SLACK_MIN_BYTES = 16 * 2 ** 20;

export class NativeTensors {
  private live = new Set<NativeTensor>();
  /** Live tensors per storage (reshaped views share one), so live bytes update in O(1) per op. */
  private views = new Map<NativeTensor['storage'], number>();
  private liveBytes = 0;
  private stats = { peakBytes: 0, bytesUploaded: 0, bytesRead: 0 };
  /** Arrays of released tensors, reused for the outputs oneDNN and the loops write (see POOL_SLACK). */
  private released = new ArrayPool();

  /** An array of `size` for an op's output: a released one where the pool has one (its old values in it). */
  take(size: number): Float32Array { return this.released.take(size); }

  private track(t: NativeTensor): NativeTensor {
    this.live.add(t);
    const count = this.views.get(t.storage) ?? 0;
    this.views.set(t.storage, count + 1);
    if (count === 0) {
      this.liveBytes += t.storage.data.byteLength;
      this.stats.peakBytes = Math.max(this.stats.peakBytes, this.liveBytes);
    }
    return t;
  }
  wrap(shape: Shape, values: Float32Array): NativeTensor { return this.track(new NativeTensor([...shape], { data: values })); }

  upload(values: ArrayLike<number>, shape: Shape): Tensor {
    const size = sizeOf(shape);
    if (values.length !== size) throw new Error(`upload: ${values.length} values for shape [${shape.join(', ')}]`);
    this.stats.bytesUploaded += size * 4;
    // A released array where the pool has one: a fresh one page-faults every 4 KiB (a LeNet-5 batch's
    // upload took 0.6 ms of a 6.5 ms training step).
    const copy = this.take(size);
    copy.set(values);
    return this.wrap(shape, copy);
  }
  zeros(shape: Shape): Tensor { return this.wrap(shape, this.take(sizeOf(shape)).fill(0)); }
  async read(t: Tensor): Promise<Float32Array> {
    this.stats.bytesRead += t.size * 4;
    // Ops run synchronously: a read is where the event loop gets to run signal handlers (Ctrl-C) and timers.
    await new Promise((resolve) => setImmediate(resolve));
    // Into a released array where the pool has one: the end of a training run reads every parameter and
    // optimizer state back, 77 MiB of fresh arrays above the run's peak for ResNet-18 (bench/speedup.ts).
    const copy = this.take(t.size);
    copy.set(data(t));
    return copy;
  }
  reshape(t: Tensor, shape: Shape): Tensor {
    if (sizeOf(shape) !== t.size) throw new Error(`reshape: [${t.shape.join(', ')}] cannot become [${shape.join(', ')}]`);
    return this.track(new NativeTensor([...shape], (t as NativeTensor).storage));
  }
  dispose(...ts: (Tensor | undefined)[]): void {
    for (const t of ts as (NativeTensor | undefined)[]) {
      if (!t || !this.live.delete(t)) continue;
      const count = this.views.get(t.storage)! - 1;
      if (count > 0) this.views.set(t.storage, count);
      else {
        this.views.delete(t.storage);
        this.liveBytes -= t.storage.data.byteLength;
        const slack = Math.max(POOL_SLACK * this.stats.peakBytes, POOL_SLACK_MIN_BYTES);
        this.released.give(t.storage.data, this.stats.peakBytes + slack - this.liveBytes);
      }
    }
  }
  memory(): MemoryStats {
    return { liveTensors: this.live.size, liveBuffers: this.views.size, liveBytes: this.liveBytes, ...this.stats };
  }
  /** Lets the kept arrays go. */
  clear(): void { this.released.clear(); }
}
