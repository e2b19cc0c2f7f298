// Unstructured and N:M semi-structured weight masks, and the pruning schedules.
import { isOutput } from '../model/graph.js';
import { type Model, paramList } from '../model/model.js';

/** Magnitudes of the (already masked) weights of a parameter. */
function magnitudes(model: Model, param: string): Float32Array {
  const w = model.params.get(param)!;
  const mask = model.masks.get(param);
  return w.map((v, i) => (mask && mask[i] === 0 ? 0 : Math.abs(v)));
}

/** Prunable weights: conv and linear weights except the output layer's. */
export function prunableWeights(model: Model): string[] {
  return paramList(model.spec).filter((p) => p.maskable && !isOutput(model.spec, p.node)).map((p) => p.name);
}

/**
 * Unstructured magnitude pruning: zero the `sparsity` fraction of smallest weights, per layer or with
 * one global threshold. Existing masks are kept (pruned weights stay pruned).
 */
export function unstructuredMasks(model: Model, sparsity: number, o: { global?: boolean; layers?: string[] } = {}): Model {
  if (!(sparsity >= 0 && sparsity < 1)) throw new Error(`prune: sparsity must be in [0, 1), got ${sparsity}`);
  const layers = o.layers ?? prunableWeights(model);
  for (const l of layers) if (!model.params.has(l)) throw new Error(`prune: unknown weight '${l}'`);
  const masks = new Map(model.masks);
  // Rank (layer, index) pairs by magnitude, ties by position; prune exactly the requested count.
  const prune = (entries: { layer: string; index: number; value: number }[]) => {
    entries.sort((a, b) => a.value - b.value || a.layer.localeCompare(b.layer) || a.index - b.index);
    for (const e of entries.slice(0, Math.floor(entries.length * sparsity))) masks.get(e.layer)![e.index] = 0;
  };
  for (const l of layers) masks.set(l, new Float32Array(model.params.get(l)!.length).fill(1));
  const entries = (l: string) => Array.from(magnitudes(model, l), (value, index) => ({ layer: l, index, value }));
  if (o.global) prune(layers.flatMap(entries));
  else for (const l of layers) prune(entries(l));
  // Weights pruned before stay pruned.
  for (const l of layers) {
    const prior = model.masks.get(l);
    if (prior) masks.get(l)!.forEach((_, i, m) => { if (prior[i] === 0) m[i] = 0; });
  }
  return { ...model, masks };
}

/**
 * N:M semi-structured masks (NVIDIA's 2:4 convention): along the input-channel (reduction) axis, in each
 * run of M consecutive weights keep the N largest of those not pruned before (a run with fewer than N
 * left keeps those: pruned weights stay pruned). Conv weights [out, in, kh, kw] group input channels at
 * each (out, kh, kw); linear weights [out, in] group consecutive inputs.
 */
export function nmMasks(model: Model, n: number, m: number, o: { layers?: string[] } = {}): Model {
  if (!(Number.isInteger(n) && Number.isInteger(m) && n >= 1 && n < m)) throw new Error(`prune: N:M needs integers 1 <= N < M, got ${n}:${m}`);
  const masks = new Map(model.masks);
  const shapes = new Map(paramList(model.spec).map((p) => [p.name, p.shape]));
  for (const l of o.layers ?? prunableWeights(model)) {
    const shape = shapes.get(l);
    if (!shape) throw new Error(`prune: unknown weight '${l}'`);
    const [out, inChannels] = shape;
    const taps = shape.slice(2).reduce((a, b) => a * b, 1);
    if (inChannels % m) throw new Error(`prune: ${n}:${m} sparsity needs the input channels of '${l}' (${inChannels}) to be a multiple of ${m}`);
    const mag = magnitudes(model, l);
    const prior = model.masks.get(l);
    const alive = (i: number) => (prior && prior[i] === 0 ? 0 : 1);
    const mask = new Float32Array(mag.length);
    for (let o2 = 0; o2 < out; o2++)
      for (let t = 0; t < taps; t++)
        for (let c0 = 0; c0 < inChannels; c0 += m) {
          const idx = Array.from({ length: m }, (_, j) => (o2 * inChannels + c0 + j) * taps + t);
          idx.sort((a, b) => alive(b) - alive(a) || mag[b] - mag[a] || a - b).slice(0, n).forEach((i) => { mask[i] = alive(i); });
        }
    masks.set(l, mask);
  }
  return { ...model, masks };
}

/**
 * AGP, the gradual pruning schedule of Zhu & Gupta (2017): s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3
 * for t in [t0, t0 + n dt], held constant outside.
 */
export function agpSparsity(step: number, o: { initial: number; final: number; start: number; steps: number; every: number }): number {
  const span = o.steps * o.every;
  const progress = Math.min(Math.max((step - o.start) / span, 0), 1);
  return o.final + (o.initial - o.final) * (1 - progress) ** 3;
}

/** Target ratios of an iterative schedule: n equal steps up to the final ratio. */
export const iterativeRatios = (final: number, steps: number): number[] => Array.from({ length: steps }, (_, i) => (final * (i + 1)) / steps);
