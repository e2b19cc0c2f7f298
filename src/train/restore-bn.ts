// Batch norms given back for fine-tuning. PyTorch's ONNX export in eval mode folds every batch norm into
// the convolution before it, so an imported model fine-tunes without normalisation: after pruning, the
// activations' scales drift and plain SGD or Adam recovers far less (issue 39: a ResNet-20 on
// Fashion-MNIST recovered to 83.65% where Torch-Pruning, fine-tuning the unfolded PyTorch model, reached
// 89.90%). Each convolution whose output goes into no normalisation (batch, group or layer norm) gets a
// batch norm, set to compute the identity on the training data's statistics (the mean μ and variance σ²
// of the convolution's output in the model as it is, measured on training batches; γ = √(σ²+ε), β = μ),
// so the model computes what it did, its other batch norms untouched; training then normalises with batch
// statistics as the original did. After fine-tuning the restored batch norms are folded back into their convolutions, so
// the exported model and the accelerator's cost are those of a plain network again.
import type { Backend } from '../backend.js';
import { type Dataset, epochOrder, loadBatch } from '../data/dataset.js';
import { consumersOf, foldBatchNorm } from '../model/fold.js';
import { BN_EPSILON, type ModelSpec, type Node, isOutput } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { Network } from '../model/network.js';

/** The name of the batch norm restored after convolution `conv`. */
export const restoredName = (conv: string) => `${conv}.restored-bn`;
const isRestored = (name: string) => name.endsWith('.restored-bn');

const NORMALIZATIONS = new Set(['batchnorm', 'groupnorm', 'layernorm']);

/** Convolutions whose output goes into no normalisation (the model's outputs and quantized layers excepted). */
export function convsWithoutBatchNorm(spec: ModelSpec): string[] {
  const consumers = consumersOf(spec);
  return spec.nodes.filter((n) => n.op === 'conv2d' && !isOutput(spec, n.name) && !spec.quantization?.[n.name] && !consumers.get(n.name)!.some((c) => NORMALIZATIONS.has(c.op))).map((n) => n.name);
}

/** Per convolution, the mean and (population) variance per channel of its output in `model` (inference mode) over a few batches of `data`. */
async function outputStatistics(be: Backend, model: Model, data: Dataset, convs: string[], o: { batches: number; batchSize: number }): Promise<Map<string, { mean: Float64Array; variance: Float64Array }>> {
  const net = new Network(be, model);
  const sums = new Map(convs.map((c) => [c, { s: new Float64Array(net.shapes.get(c)![0]), q: new Float64Array(net.shapes.get(c)![0]), n: 0 }]));
  const size = Math.min(o.batchSize, data.count);
  const order = epochOrder(data.count, 0, 0);
  const [c, h, w] = data.shape;
  for (let k = 0; k < o.batches && (k + 1) * size <= data.count; k++) {
    const x = be.upload((await loadBatch(data, order.subarray(k * size, (k + 1) * size))).images, [size, c, h, w]);
    const f = net.forward(x, false);
    for (const conv of convs) {
      const y = await be.read(f.outputs.get(conv)!);
      const acc = sums.get(conv)!;
      const [channels, plane] = [acc.s.length, y.length / size / acc.s.length];
      for (let i = 0; i < y.length; i++) {
        const ch = Math.floor(i / plane) % channels;
        acc.s[ch] += y[i];
        acc.q[ch] += y[i] * y[i];
      }
      acc.n += size * plane;
    }
    net.release(f);
    be.dispose(x);
  }
  net.dispose();
  return new Map([...sums].map(([conv, a]) => {
    const mean = a.s.map((v) => v / a.n);
    return [conv, { mean, variance: a.q.map((v, ch) => Math.max(v / a.n - mean[ch] * mean[ch], 0)) }];
  }));
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
  // The statistics the batch norms then normalise by, and the scale and shift that undo them.
  const statistics = await outputStatistics(be, model, data, convs, { batches: 8, batchSize: 64 });
  const params = new Map(model.params);
  for (const conv of convs) {
    const bn = restoredName(conv);
    const { mean, variance } = statistics.get(conv)!;
    params.set(`${bn}.gamma`, Float32Array.from(variance, (v) => Math.sqrt(v + BN_EPSILON)));
    params.set(`${bn}.beta`, Float32Array.from(mean));
    params.set(`${bn}.runningMean`, Float32Array.from(mean));
    params.set(`${bn}.runningVar`, Float32Array.from(variance));
  }
  return { ...model, spec: { ...model.spec, nodes }, params };
}

/** The model with the restored batch norms folded back into their convolutions (the others kept). */
export function foldRestored(model: Model): Model {
  return model.spec.nodes.some((n) => isRestored(n.name)) ? foldBatchNorm(model, isRestored) : model;
}
