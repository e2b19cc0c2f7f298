// Released float32 arrays kept by length for reuse as op outputs. A fresh array costs a page fault per
// 4 KiB on its first write: with every op allocating, those were close to a third of a MobileNet
// training step's CPU time on the native backend (docs/backends.md, native backend notes).
export class ArrayPool {
  private kept = new Map<number, Float32Array[]>();
  private keptBytes = 0;
  /** Per array handed out: when it last was (a counter). */
  private takenAt = new WeakMap<Float32Array, number>();
  private clock = 0;

  /** A kept array of `size` (its old values still in it), else a new one. */
  take(size: number): Float32Array {
    const values = this.kept.get(size)?.pop();
    if (values) this.keptBytes -= values.byteLength;
    const taken = values ?? new Float32Array(size);
    this.takenAt.set(taken, ++this.clock);
    return taken;
  }

  /**
   * Keeps `values` (no longer used by anyone) within `limitBytes`: a training step releases the same
   * shapes each step (resnet20 keeps about 40 activations of one size alive). Where they would not fit,
   * the kept arrays handed out longest ago go first, `values` too if it is one of them: those of a model
   * run before this one (which would otherwise fill the pool and leave every array of this one fresh: a
   * third slower), and a length's arrays beyond what is asked for of it now (two models sharing a length:
   * the surplus of the one with more of it kept another length of the other fresh at every pass, 16 MiB
   * of page faults doubling VGG-small's 15 ms evaluation after ResNet-20's).
   */
  give(values: Float32Array, limitBytes: number): void {
    const age = (a: Float32Array) => this.takenAt.get(a) ?? 0;
    while (this.keptBytes + values.byteLength > limitBytes) {
      let oldest: Float32Array[] | undefined;
      let at = 0;
      for (const list of this.kept.values()) {
        for (const [i, a] of list.entries()) if (!oldest || age(a) < age(oldest[at])) [oldest, at] = [list, i];
      }
      if (!oldest || age(oldest[at]) >= age(values)) return;
      this.keptBytes -= oldest[at].byteLength;
      oldest.splice(at, 1);
    }
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
