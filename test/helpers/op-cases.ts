// Seeded random op cases, run on two backends (WebGPU and the CPU reference) and compared.
import { expect } from 'vitest';
import type { Backend, Tensor } from '../../src/backend.js';
import { sizeOf, type Shape } from '../../src/geometry.js';
import { Rng } from '../../src/random.js';
import { toleranceRatio } from './backends.js';

export interface OpCase {
  label: string;
  /** Named inputs: shape and values. */
  inputs: Record<string, { shape: Shape; data: Float32Array }>;
  /** Runs the op; returns the outputs to compare (in-place ops return their updated inputs). */
  run(be: Backend, t: Record<string, Tensor>): Record<string, Tensor>;
  rtol?: number;
  atol?: number;
}

export function randomInput(rng: Rng, shape: Shape, lo = -1, hi = 1) {
  return { shape, data: rng.uniformArray(sizeOf(shape), lo, hi) };
}

export function binaryMask(rng: Rng, shape: Shape, keep = 0.6) {
  return { shape, data: Float32Array.from({ length: sizeOf(shape) }, () => (rng.bool(keep) ? 1 : 0)) };
}

async function execute(be: Backend, c: OpCase): Promise<Record<string, Float32Array>> {
  const tensors: Record<string, Tensor> = {};
  for (const [name, input] of Object.entries(c.inputs)) tensors[name] = be.upload(input.data, input.shape);
  const outputs = c.run(be, tensors);
  const values: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(outputs)) values[name] = await be.read(t);
  be.dispose(...new Set([...Object.values(tensors), ...Object.values(outputs)]));
  return values;
}

/** Runs `count` seeded cases on both backends and expects every output within tolerance. */
export async function expectBackendsAgree(actual: Backend, reference: Backend, make: (rng: Rng, i: number) => OpCase, count = 20, seed = 1) {
  for (let i = 0; i < count; i++) {
    const c = make(new Rng(seed * 1000 + i), i);
    const [got, want] = [await execute(actual, c), await execute(reference, c)];
    for (const name of Object.keys(want)) {
      const ratio = toleranceRatio(got[name], want[name], c.rtol ?? 1e-4, c.atol ?? 1e-5);
      expect(ratio, `case ${i} (${c.label}), output ${name}`).toBeLessThanOrEqual(1);
    }
  }
}
