// Released float32 arrays kept by length for reuse as op outputs. A fresh array costs a page fault per
// 4 KiB on its first write: with every op allocating, those were close to a third of a MobileNet
// training step's CPU time on the native backend (docs/backends.md, native backend notes).
export class ArrayPool {
  private kept = new Map<number, Float32Array[]>();
  private keptBytes = 0;

  /** A kept array of `size` (its old values still in it), else a new one. */
  take(size: number): Float32Array {
    const values = this.kept.get(size)?.pop();
    if (!values) return new Float32Array(size);
    this.keptBytes -= values.byteLength;
    return values;
  }

  /**
   * Keeps `values` (no longer used by anyone) while the kept arrays stay within `limitBytes`: a training
   * step releases the same shapes each step (resnet20 keeps about 40 activations of one size alive).
   */
  give(values: Float32Array, limitBytes: number): void {
    if (this.keptBytes + values.byteLength > limitBytes) return;
    const list = this.kept.get(values.length) ?? [];
    list.push(values);
    this.kept.set(values.length, list);
    this.keptBytes += values.byteLength;
  }

  clear(): void {
    this.kept.clear();
    this.keptBytes = 0;
  }
}
