// Adaptive batch norm (Li et al., "EagleEye", ECCV 2020): a pruned model's batch-norm statistics were
// measured on the dense model's activations, so its loss before fine-tuning says little about what it
// can learn back; recomputing the running statistics on a few training batches (no weight changes) makes
// candidates comparable. Each batch enters the running averages with weight 1/(k + 1): their plain mean.
import type { Backend } from '../backend.js';
import { type Dataset, epochOrder, loadBatch } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import { Network } from '../model/network.js';

export async function adaptBatchNorm(be: Backend, model: Model, data: Dataset, o: { batches?: number; batchSize?: number; seed?: number } = {}): Promise<Model> {
  const norms = model.spec.nodes.filter((n) => n.op === 'batchnorm');
  if (!norms.length) return model;
  const spec = structuredClone(model.spec);
  const net = new Network(be, { ...model, spec });
  const [batches, size] = [o.batches ?? 16, Math.min(o.batchSize ?? 64, data.count)];
  const order = epochOrder(data.count, o.seed ?? 0, 0);
  const [c, h, w] = data.shape;
  for (let k = 0; k < batches && (k + 1) * size <= data.count; k++) {
    for (const n of spec.nodes) if (n.op === 'batchnorm') n.momentum = 1 / (k + 1);
    const x = be.upload((await loadBatch(data, order.subarray(k * size, (k + 1) * size))).images, [size, c, h, w]);
    net.release(net.forward(x, true));
    be.dispose(x);
  }
  const params = new Map(model.params);
  for (const n of norms) for (const kind of ['runningMean', 'runningVar']) params.set(`${n.name}.${kind}`, await be.read(net.params.get(`${n.name}.${kind}`)!));
  net.dispose();
  return { ...model, params };
}
