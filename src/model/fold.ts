// Inference-time batch-norm folding: a batch norm whose input is a convolution or linear layer that
// feeds nothing else becomes part of that layer's weights and bias,
//   w' = w * s,  b' = (b - mean) * s + beta,  s = gamma / sqrt(var + eps)   (per output channel),
// so inference runs one kernel where it ran two. Pruned weights stay exactly zero. And the fusions an
// inference network makes on top (inferenceFusions): ReLUs and residual adds into the layers before them.
import { BN_EPSILON, type ModelSpec, type Node, inputsOf, isOutput } from './graph.js';
import type { Model } from './model.js';

/** Consumers of every node's output. */
export function consumersOf(spec: ModelSpec): Map<string, Node[]> {
  const out = new Map<string, Node[]>(spec.nodes.map((n) => [n.name, []]));
  for (const n of spec.nodes) for (const i of inputsOf(n)) out.get(i)?.push(n);
  return out;
}

/** The model with every foldable batch norm (of those `only` names) folded (the same model when none is). */
export function foldBatchNorm(model: Model, only: (batchNorm: string) => boolean = () => true): Model {
  const { spec } = model;
  const consumers = consumersOf(spec);
  const byName = new Map(spec.nodes.map((n) => [n.name, n]));
  const folded = new Map<string, string>(); // batch-norm name -> the layer it folds into
  const bnOf = new Map<string, Extract<Node, { op: 'batchnorm' }>>(); // and back
  for (const n of spec.nodes) {
    if (n.op !== 'batchnorm' || isOutput(spec, n.name) || !only(n.name)) continue;
    const layer = byName.get(n.input);
    // A quantized layer keeps its batch norm: folding would change the weights its quantizer sees.
    if ((layer?.op === 'conv2d' || layer?.op === 'linear') && consumers.get(layer.name)!.length === 1 && !isOutput(spec, layer.name) && !spec.quantization?.[layer.name]) {
      folded.set(n.name, layer.name);
      bnOf.set(layer.name, n);
    }
  }
  if (folded.size === 0) return model;

  const params = new Map(model.params);
  const rename = (name: string) => folded.get(name) ?? name;
  const nodes: Node[] = [];
  for (const n of spec.nodes) {
    if (folded.has(n.name)) continue;
    const bn = bnOf.get(n.name);
    if (bn && (n.op === 'conv2d' || n.op === 'linear')) {
      const get = (kind: string) => model.params.get(`${bn.name}.${kind}`)!;
      const [gamma, beta, mean, variance] = [get('gamma'), get('beta'), get('runningMean'), get('runningVar')];
      const w = model.params.get(`${n.name}.weight`)!;
      const b = model.params.get(`${n.name}.bias`);
      const channels = gamma.length;
      const perChannel = w.length / channels;
      const scale = Float64Array.from(gamma, (g, c) => g / Math.sqrt(variance[c] + (bn.epsilon ?? BN_EPSILON)));
      params.set(`${n.name}.weight`, Float32Array.from(w, (v, i) => v * scale[Math.floor(i / perChannel)]));
      params.set(`${n.name}.bias`, Float32Array.from(scale, (s, c) => ((b?.[c] ?? 0) - mean[c]) * s + beta[c]));
      for (const kind of ['gamma', 'beta', 'runningMean', 'runningVar']) params.delete(`${bn.name}.${kind}`);
      nodes.push({ ...renameInputs(n, rename), bias: true } as Node); // its input may be a folded batch norm too (conv-BN-conv-BN)
      continue;
    }
    nodes.push(renameInputs(n, rename));
  }
  return { ...model, spec: { ...spec, nodes }, params }; // an output is never folded away
}

function renameInputs(n: Node, rename: (name: string) => string): Node {
  if ('inputs' in n) return { ...n, inputs: n.inputs.map(rename) } as Node;
  if ('input' in n) return { ...n, input: rename(n.input) } as Node;
  return n;
}

/** What an inference network computes inside other layers (inferenceFusions). */
export interface InferenceFusions {
  /** ReLUs computed by the conv, linear, two-input add or convolution-with-residual before them (their only consumer). */
  fusedRelus: Set<string>;
  /** The layers that apply a ReLU to their output. */
  reluLayers: Set<string>;
  /** Per convolution, the other operand of the two-input add that is its only consumer, added in its store. */
  residuals: Map<string, string>;
  /** Those adds, each with the convolution that computes it. */
  fusedAdds: Map<string, string>;
}

/**
 * The fusions of `spec`'s inference: each ReLU into the conv, linear or two-input add before it (its
 * only consumer, not a graph output), and each two-input add into the convolution that is its later
 * operand (computed after the other, the add its only consumer, no ReLU of its own), which then also
 * applies the add's ReLU: one kernel where there were up to three.
 */
export function inferenceFusions(spec: ModelSpec): InferenceFusions {
  const f: InferenceFusions = { fusedRelus: new Set(), reluLayers: new Set(), residuals: new Map(), fusedAdds: new Map() };
  const consumers = consumersOf(spec);
  for (const n of spec.nodes) {
    const next = consumers.get(n.name)!;
    const fusable = n.op === 'conv2d' || n.op === 'linear' || (n.op === 'add' && n.inputs.length === 2);
    if (fusable && next.length === 1 && next[0].op === 'relu' && !isOutput(spec, n.name)) {
      f.fusedRelus.add(next[0].name);
      f.reluLayers.add(n.name);
    }
  }
  const order = new Map(spec.nodes.map((n, i) => [n.name, i]));
  const byName = new Map(spec.nodes.map((n) => [n.name, n]));
  for (const add of spec.nodes) {
    if (add.op !== 'add' || add.inputs.length !== 2) continue;
    const [conv, other] = [...add.inputs].sort((a, b) => order.get(b)! - order.get(a)!);
    if (conv === other || byName.get(conv)?.op !== 'conv2d' || consumers.get(conv)!.length !== 1 || isOutput(spec, conv) || f.reluLayers.has(conv)) continue;
    f.residuals.set(conv, other);
    f.fusedAdds.set(add.name, conv);
    if (f.reluLayers.has(add.name)) f.reluLayers.add(conv);
  }
  return f;
}
