// Batch norms given back for fine-tuning. PyTorch's ONNX export in eval mode folds every batch norm into
// the convolution before it, so an imported model fine-tunes without normalisation: after pruning, the
// activations' scales drift and plain SGD or Adam recovers far less (issue 39: a ResNet-20 on
// Fashion-MNIST recovered to 83.65% where Torch-Pruning, fine-tuning the unfolded PyTorch model, reached
// 89.90%). Each convolution whose output goes into no batch norm gets one, set to compute the identity on
// the training data's statistics (running mean μ and variance σ² measured on training batches; γ = √(σ²+ε),
// β = μ), so the model computes what it did; training then normalises with batch statistics as the
// original did. After fine-tuning the restored batch norms are folded back into their convolutions, so
// the exported model and the accelerator's cost are those of a plain network again.
import type { Backend } from '../backend.js';
import type { Dataset } from '../data/dataset.js';
import { consumersOf, foldBatchNorm } from '../model/fold.js';
import { BN_EPSILON, type ModelSpec, type Node, isOutput } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { adaptBatchNorm } from './adapt-bn.js';

/** The name of the batch norm restored after convolution `conv`. */
export const restoredName = (conv: string) => `${conv}.restored-bn`;
const isRestored = (name: string) => name.endsWith('.restored-bn');

/** Convolutions whose output goes into no batch norm (the model's output and quantized layers excepted). */
export function convsWithoutBatchNorm(spec: ModelSpec): string[] {
  const consumers = consumersOf(spec);
  return spec.nodes.filter((n) => n.op === 'conv2d' && !isOutput(spec, n.name) && !spec.quantization?.[n.name] && !consumers.get(n.name)!.some((c) => c.op === 'batchnorm')).map((n) => n.name);
}

/** The model with a batch norm after each of `convs`, computing the identity on `data`'s statistics. */
export async function restoreBatchNorms(be: Backend, model: Model, data: Dataset, convs = convsWithoutBatchNorm(model.spec)): Promise<Model> {
  if (!convs.length) return model;
  const set = new Set(convs);
  const rename = (name: string) => (set.has(name) ? restoredName(name) : name);
  const nodes: Node[] = [];
  for (const n of model.spec.nodes) {
    nodes.push('inputs' in n ? ({ ...n, inputs: n.inputs.map(rename) } as Node) : 'input' in n ? ({ ...n, input: rename(n.input) } as Node) : n);
    if (set.has(n.name)) nodes.push({ op: 'batchnorm', name: restoredName(n.name), input: n.name });
  }
  const params = new Map(model.params);
  const channels = new Map(model.spec.nodes.flatMap((n) => (n.op === 'conv2d' ? [[n.name, n.outChannels] as const] : [])));
  for (const conv of convs) {
    const c = channels.get(conv)!;
    const bn = restoredName(conv);
    params.set(`${bn}.gamma`, new Float32Array(c).fill(1));
    params.set(`${bn}.beta`, new Float32Array(c));
    params.set(`${bn}.runningMean`, new Float32Array(c));
    params.set(`${bn}.runningVar`, new Float32Array(c).fill(1));
  }
  // The statistics the batch norms then normalise by, and the scale and shift that undo them.
  const measured = await adaptBatchNorm(be, { ...model, spec: { ...model.spec, nodes }, params }, data, { batches: 8, batchSize: 64 });
  for (const conv of convs) {
    const bn = restoredName(conv);
    const variance = measured.params.get(`${bn}.runningVar`)!;
    measured.params.set(`${bn}.gamma`, Float32Array.from(variance, (v) => Math.sqrt(v + BN_EPSILON)));
    measured.params.set(`${bn}.beta`, measured.params.get(`${bn}.runningMean`)!.slice());
  }
  return measured;
}

/** The model with the restored batch norms folded back into their convolutions (the others kept). */
export function foldRestored(model: Model): Model {
  return model.spec.nodes.some((n) => isRestored(n.name)) ? foldBatchNorm(model, isRestored) : model;
}
