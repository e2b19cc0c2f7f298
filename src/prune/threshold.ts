// Unstructured pruning with the threshold selected on the device: radix selection over the float32
// bit patterns of the magnitudes (four histogram passes, shaders/magnitude-select.wgsl), then a
// threshold mask, so that no weight array is sorted on the host. Ties at the threshold (rare for
// trained weights) are settled on the host in (layer, index) order, which makes the result identical
// to unstructuredMasks, the CPU reference.
import { type Backend, type Tensor, magnitudeBits } from '../backend.js';
import { type Model, maskedParam, paramList } from '../model/model.js';
import { prunableWeights } from './sparsity.js';

export interface Selection {
  /** float32 bits of the k-th smallest magnitude. */
  bits: number;
  /** Entries strictly below it, and equal to it. */
  below: number;
  equal: number;
}

/** The k-th smallest (1-based) magnitude over all tensors (pruned weights are 0 in them). */
export async function selectMagnitude(be: Backend, xs: Tensor[], k: number): Promise<Selection> {
  let prefix = 0;
  let below = 0;
  let rank = k;
  let equal = 0;
  for (let shift = 24; shift >= 0; shift -= 8) {
    const hist = await be.magnitudeHistogram(xs, shift, prefix);
    let digit = 0;
    while (digit < 255 && rank > hist[digit]) {
      rank -= hist[digit];
      below += hist[digit];
      digit++;
    }
    prefix = ((prefix << 8) | digit) >>> 0;
    equal = hist[digit];
  }
  return { bits: prefix, below, equal };
}

/** unstructuredMasks on the device: the same masks, the selection done by the GPU. */
export async function unstructuredMasksOnDevice(be: Backend, model: Model, sparsity: number, o: { global?: boolean; layers?: string[] } = {}): Promise<Model> {
  if (!(sparsity >= 0 && sparsity < 1)) throw new Error(`prune: sparsity must be in [0, 1), got ${sparsity}`);
  const layers = o.layers ?? prunableWeights(model);
  for (const l of layers) if (!model.params.has(l)) throw new Error(`prune: unknown weight '${l}'`);
  const shapes = new Map(paramList(model.spec).map((p) => [p.name, p.shape]));
  const masks = new Map(model.masks);
  for (const scope of o.global ? [layers] : layers.map((l) => [l])) {
    const items = scope.map((l) => ({
      layer: l,
      x: be.upload(maskedParam(model, l), shapes.get(l)!),
    }));
    const total = items.reduce((s, i) => s + i.x.size, 0);
    const k = Math.floor(total * sparsity);
    const keepAbove = k === 0 ? undefined : await selectMagnitude(be, items.map((i) => i.x), k);
    for (const i of items) {
      const kept = keepAbove ? be.thresholdMask(i.x, keepAbove.bits) : undefined;
      masks.set(i.layer, kept ? await be.read(kept) : (model.masks.get(i.layer)?.slice() ?? new Float32Array(i.x.size).fill(1)));
      be.dispose(i.x, kept);
    }
    // Ties at the threshold: prune only the first `k - below` of them, in (layer, index) order.
    if (keepAbove && keepAbove.below + keepAbove.equal > k) {
      let prune = k - keepAbove.below;
      for (const l of [...scope].sort((a, b) => a.localeCompare(b))) {
        const w = model.params.get(l)!;
        const prior = model.masks.get(l);
        const m = masks.get(l)!;
        for (let j = 0; j < w.length; j++) {
          if (magnitudeBits(w[j], prior !== undefined && prior[j] === 0) !== keepAbove.bits) continue;
          if (prune > 0) prune--;
          else if (!prior || prior[j] !== 0) m[j] = 1;
        }
      }
    }
  }
  return { ...model, masks };
}
