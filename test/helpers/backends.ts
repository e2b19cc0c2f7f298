// One WebGPU backend per test file (real device: SwiftShader in CI, never skipped) and the CPU reference.
import { afterAll } from 'vitest';
import type { Backend, Tensor } from '../../src/backend.js';
import { CpuBackend } from '../../src/cpu/backend.js';
import type { Model } from '../../src/model/model.js';
import { predict } from '../../src/model/predict.js';
import { Rng } from '../../src/random.js';
import { WebGpuBackend, type WebGpuBackendOptions } from '../../src/webgpu/backend.js';

const created: WebGpuBackend[] = [];
afterAll(() => { for (const b of created) b.destroy(); });

/** Fails (never skips) when no WebGPU adapter exists: CI has SwiftShader, so GPU tests must run. */
export async function webgpu(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const b = await WebGpuBackend.create(options);
  created.push(b);
  return b;
}

export const cpu = (): CpuBackend => new CpuBackend();

/** Largest |a - b| / (atol + rtol * |b|); at most 1 means within tolerance. */
export function toleranceRatio(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-4, atol = 1e-5): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const r = Math.abs(actual[i] - expected[i]) / (atol + rtol * Math.abs(expected[i]));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

/** Reads named outputs of two backends and reports each one's tolerance ratio. */
export async function compareOutputs(
  a: Backend, outA: Record<string, Tensor>, b: Backend, outB: Record<string, Tensor>, rtol = 1e-4, atol = 1e-5,
): Promise<Record<string, number>> {
  const ratios: Record<string, number> = {};
  for (const key of Object.keys(outB)) {
    ratios[key] = toleranceRatio(await a.read(outA[key]), await b.read(outB[key]), rtol, atol);
  }
  return ratios;
}

/** Logits of a model in inference mode on a batch of inputs; everything it allocates is released. */
export const inferenceLogits = (be: Backend, m: Model, x: Float32Array, batch: number): Promise<Float32Array> =>
  predict(be, m.spec.outputActivation ? { ...m, spec: { ...m.spec, outputActivation: undefined } } : m, x, batch);

/** A model whose batch norms have running statistics other than their initial ones. */
export function withStatistics(m: Model, seed: number): Model {
  const rng = new Rng(seed);
  const params = new Map(m.params);
  for (const [name, v] of m.params) {
    if (name.endsWith('.runningMean')) params.set(name, v.map(() => rng.uniform(-0.5, 0.5)));
    if (name.endsWith('.runningVar')) params.set(name, v.map(() => rng.uniform(0.5, 2)));
    if (name.endsWith('.gamma')) params.set(name, v.map(() => rng.uniform(0.5, 1.5)));
  }
  return { ...m, params };
}
