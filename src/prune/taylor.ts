// Gradients for the Taylor criteria, accumulated over a few batches. Per (param, axis) index, the sum of
// |w * dL/dw| on the backend (taylor-abs); per group channel, (sum of w * dL/dw over every weight the
// channel owns)^2, summed over batches (taylor: Molchanov et al., "Importance Estimation for Neural
// Network Pruning", CVPR 2019, eq. 4-6: the first-order change of the loss when the whole group goes).
import type { Backend } from '../backend.js';
import { type Dataset, loadBatch } from '../data/dataset.js';
import { type Model, maskedParam, paramList } from '../model/model.js';
import { Network } from '../model/network.js';
import { type Supervision, stepLoss, supervisionOf, uploadTargets } from '../train/objective.js';
import type { Group } from './dependency.js';

export interface TaylorStatistics {
  /** Per `${param}:${axis}`: sum over batches and the index's weights of |w * dL/dw|. */
  perIndex: Map<string, Float64Array>;
  /** Per group id and channel: sum over batches of (sum over the channel's weights of w * dL/dw)^2. */
  perGroup: Map<number, Float64Array>;
}

/** Per index along `axis` of a tensor of `shape`: the sum of w * g (signed). */
function signedSums(w: Float32Array, g: Float32Array, shape: number[], axis: number): Float64Array {
  const extent = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(extent);
  for (let i = 0; i < w.length; i++) out[Math.floor(i / inner) % extent] += w[i] * g[i];
  return out;
}

export async function accumulateTaylor(be: Backend, model: Model, groups: Group[], data: Dataset, o: { batches: number; batchSize: number }): Promise<TaylorStatistics> {
  const net = new Network(be, model);
  const shapes = new Map(paramList(model.spec).map((p) => [p.name, p.shape]));
  const targets = new Map<string, { param: string; axis: 0 | 1 }>();
  for (const g of groups) for (const s of g.slices) if (s.param.endsWith('.weight')) targets.set(`${s.param}:${s.axis}`, s);
  const perIndex = new Map<string, Float64Array>();
  const perGroup = new Map(groups.map((g) => [g.id, new Float64Array(g.channels)]));
  // The weights as the network sees them (masked), once: they do not change between batches.
  const weights = new Map([...new Set([...targets.values()].map((s) => s.param))].map((param) => [param, maskedParam(model, param)]));
  const [c, h, w] = data.shape;
  // The loss whose change the criterion estimates needs targets: labels or masks, never the model's own outputs (no gradient there).
  let supervision: Supervision;
  try {
    supervision = supervisionOf(model.spec, net.shapes, data, false);
  } catch (e) {
    net.dispose();
    throw new Error(`the Taylor criteria need labels or masks: ${(e as Error).message}`);
  }
  for (let b = 0; b < o.batches; b++) {
    const indices = Array.from({ length: o.batchSize }, (_, i) => (b * o.batchSize + i) % data.count);
    const batch = await loadBatch(data, indices);
    const x = be.upload(batch.images, [batch.size, c, h, w]);
    const labels = uploadTargets(be, supervision, batch, data.maskShape).tensor;
    const f = net.forward(x, true);
    const { loss, seeds, correct } = stepLoss(be, model.spec, net.shapes, supervision, f, undefined, labels);
    const grads = net.backward(f, seeds);
    const signed = new Map<string, Float64Array>();
    const gradients = new Map<string, Float32Array>(); // each parameter's gradient read once, whichever axes use it
    for (const [key, s] of targets) {
      const stats = be.channelStats(net.params.get(s.param)!, s.axis, 'taylor', grads.get(s.param)!);
      const values = await be.read(stats);
      const total = perIndex.get(key) ?? new Float64Array(values.length);
      values.forEach((v, i) => { total[i] += v; });
      perIndex.set(key, total);
      be.dispose(stats);
      if (!gradients.has(s.param)) gradients.set(s.param, await be.read(grads.get(s.param)!));
      signed.set(key, signedSums(weights.get(s.param)!, gradients.get(s.param)!, shapes.get(s.param)!, s.axis));
    }
    for (const g of groups) {
      const acc = perGroup.get(g.id)!;
      const sums = new Float64Array(g.channels);
      for (const s of g.slices) {
        const per = signed.get(`${s.param}:${s.axis}`);
        if (per) s.indices.forEach((idx, ch) => { for (const i of idx) sums[ch] += per[i]; });
      }
      sums.forEach((v, ch) => { acc[ch] += v * v; });
    }
    be.dispose(x, labels, loss, correct, ...seeds.values(), ...grads.values());
    net.release(f);
  }
  net.dispose();
  return { perIndex, perGroup };
}
