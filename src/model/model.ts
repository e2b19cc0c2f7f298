// A model's host-side state: its spec, its parameters and its weight masks (float32, by name).
import { Rng } from '../random.js';
import { type ModelSpec, inferShapes, paramShapes } from './graph.js';

export interface Model {
  spec: ModelSpec;
  /** `${node}.${weight|bias|gamma|beta|runningMean|runningVar}` */
  params: Map<string, Float32Array>;
  /** Weight masks by parameter name (1 keep, 0 pruned); absent means dense. */
  masks: Map<string, Float32Array>;
}

export interface ParamInfo { name: string; node: string; kind: string; shape: number[]; trainable: boolean; maskable: boolean }

/** Every parameter of the spec, in node order. */
export function paramList(spec: ModelSpec): ParamInfo[] {
  const shapes = inferShapes(spec);
  return spec.nodes.flatMap((n) => Object.entries(paramShapes(n, shapes)).map(([kind, shape]) => ({
    name: `${n.name}.${kind}`, node: n.name, kind, shape,
    trainable: kind !== 'runningMean' && kind !== 'runningVar',
    maskable: kind === 'weight',
  })));
}

/**
 * Fresh parameters: He-normal weights (std sqrt(2 / fan_in), He et al. 2015, for ReLU nets), zero
 * biases, batch norm with gamma 1, beta 0, running mean 0 and variance 1, PReLU slopes 0.25. The same
 * seed, the same model.
 */
export function initModel(spec: ModelSpec, seed = 0): Model {
  const rng = new Rng(seed);
  const params = new Map<string, Float32Array>();
  for (const p of paramList(spec)) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (p.kind === 'weight') {
      const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < size; i++) data[i] = rng.normal() * std;
    } else if (p.kind === 'gamma' || p.kind === 'runningVar') data.fill(1);
    else if (p.kind === 'slope') data.fill(0.25); // PyTorch's PReLU init
    params.set(p.name, data);
  }
  return { spec, params, masks: new Map() };
}

export function cloneModel(m: Model): Model {
  return {
    spec: structuredClone(m.spec),
    params: new Map([...m.params].map(([k, v]) => [k, v.slice()])),
    masks: new Map([...m.masks].map(([k, v]) => [k, v.slice()])),
  };
}

/**
 * A parameter as every computation sees it: 0 where its mask prunes it, whatever the host array holds.
 * Masks are applied here, once (the network uploads this view; its optimizer steps keep it so), and no
 * kernel takes a mask.
 */
export function maskedParam(m: Model, name: string): Float32Array {
  const data = m.params.get(name);
  if (!data) throw new Error(`model '${m.spec.name}': parameter '${name}' is missing`);
  const mask = m.masks.get(name);
  if (mask && mask.length !== data.length) throw new Error(`model '${m.spec.name}': the mask of '${name}' has ${mask.length} values, the parameter ${data.length}`);
  return mask ? data.map((v, i) => (mask[i] === 0 ? 0 : v)) : data;
}

export function parameterCount(m: Model, onlyKept = false): number {
  let n = 0;
  for (const p of paramList(m.spec)) {
    if (!p.trainable) continue;
    const mask = onlyKept ? m.masks.get(p.name) : undefined;
    n += mask ? mask.reduce((a, b) => a + (b !== 0 ? 1 : 0), 0) : m.params.get(p.name)!.length;
  }
  return n;
}

/** The first parameter holding NaN or an infinity, and where. */
export function firstNonFinite(params: Map<string, Float32Array>): { name: string; index: number; value: number } | undefined {
  for (const [name, data] of params) {
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return { name, index: i, value: data[i] };
  }
  return undefined;
}

/** Refuses a model with NaN or infinite weights, naming where it came from and the parameter. */
export function checkFinite(m: Model, source: string): Model {
  const bad = firstNonFinite(m.params);
  if (bad) throw new Error(`${source}: parameter '${bad.name}' holds ${bad.value} at index ${bad.index}; a model with NaN or infinite weights cannot be evaluated, pruned or fine-tuned`);
  return m;
}

