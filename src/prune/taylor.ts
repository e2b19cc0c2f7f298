// Accumulates |w * dL/dw| per channel index over a few batches, for the taylor criterion. The
// products and per-channel sums run on the backend; only the per-channel totals come back.
import type { Backend } from '../backend.js';
import { type Dataset, gatherBatch } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import { Network } from '../model/network.js';
import type { Group } from './dependency.js';

export async function accumulateTaylor(be: Backend, model: Model, groups: Group[], data: Dataset, o: { batches: number; batchSize: number }): Promise<Map<string, Float64Array>> {
  const net = new Network(be, model);
  const targets = new Map<string, { param: string; axis: 0 | 1 }>();
  for (const g of groups) for (const s of g.slices) if (s.param.endsWith('.weight')) targets.set(`${s.param}:${s.axis}`, s);
  const totals = new Map<string, Float64Array>();
  const [c, h, w] = data.shape;
  for (let b = 0; b < o.batches; b++) {
    const indices = Array.from({ length: o.batchSize }, (_, i) => (b * o.batchSize + i) % data.count);
    const batch = gatherBatch(data, indices);
    const x = be.upload(batch.images, [batch.size, c, h, w]);
    const labels = be.upload(batch.labels, [batch.size]);
    const f = net.forward(x, true);
    const { loss, dLogits, correct } = be.softmaxCrossEntropy(f.logits, labels);
    const grads = net.backward(f, dLogits);
    for (const [key, s] of targets) {
      const stats = be.channelStats(net.params.get(s.param)!, s.axis, 'taylor', grads.get(s.param)!);
      const values = await be.read(stats);
      const total = totals.get(key) ?? new Float64Array(values.length);
      values.forEach((v, i) => { total[i] += v; });
      totals.set(key, total);
      be.dispose(stats);
    }
    be.dispose(x, labels, loss, dLogits, correct, ...grads.values());
    net.release(f);
  }
  net.dispose();
  return totals;
}
