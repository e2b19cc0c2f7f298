// Released float32 arrays kept by length for reuse as op outputs. A fresh array costs a page fault per
// 4 KiB on its first write: with every op allocating, those were close to a third of a MobileNet
// training step's CPU time on the native backend (docs/backends.md, native backend notes).
export class ArrayPool {
  private kept = new Map<number, Float32Array[]>();
  private keptBytes = 0;
  /** Per length, when an array of it was last asked for (a counter). */
  private lastTaken = new Map<number, number>();
  private clock = 0;

  /** A kept array of `size` (its old values still in it), else a new one. */
  take(size: number): Float32Array {
    this.lastTaken.set(size, ++this.clock);
    const values = this.kept.get(size)?.pop();
    if (!values) return new Float32Array(size);
    this.keptBytes -= values.byteLength;
    return values;
  }

  /**
   * Keeps `values` (no longer used by anyone) within `limitBytes`: a training step releases the same
   * shapes each step (resnet20 keeps about 40 activations of one size alive). Where they would not fit,
   * the arrays of the lengths asked for least recently go first (a model trained before this one, whose
   * arrays would otherwise fill the pool and leave every array of this one fresh: a third slower).
   */
  give(values: Float32Array, limitBytes: number): void {
    while (this.keptBytes + values.byteLength > limitBytes) {
      let stalest: number | undefined;
      for (const size of this.kept.keys()) {
        if (size !== values.length && (stalest === undefined || (this.lastTaken.get(size) ?? 0) < (this.lastTaken.get(stalest) ?? 0))) stalest = size;
      }
      if (stalest === undefined || (this.lastTaken.get(stalest) ?? 0) >= (this.lastTaken.get(values.length) ?? 0)) return;
      this.keptBytes -= this.kept.get(stalest)!.reduce((sum, v) => sum + v.byteLength, 0);
      this.kept.delete(stalest);
    }
    const list = this.kept.get(values.length) ?? [];
    list.push(values);
    this.kept.set(values.length, list);
    this.keptBytes += values.byteLength;
  }

  clear(): void {
    this.kept.clear();
    this.keptBytes = 0;
    this.lastTaken.clear();
  }
}
