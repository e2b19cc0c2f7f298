// Labels for images that came without any (a flat folder): the model's own top-1 class for each, so that
// fine-tuning can distil from it and every accuracy reads as top-1 agreement with it.
import type { Backend } from '../backend.js';
import { type Dataset, gatherBatch } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import { predict } from '../model/predict.js';

/** `model`'s top-1 class for every image of `d`. */
async function topClasses(be: Backend, model: Model, d: Dataset, batchSize: number): Promise<Uint8Array> {
  const classes = model.spec.classes;
  const labels = new Uint8Array(d.count);
  for (let start = 0; start < d.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, d.count - start) }, (_, i) => start + i);
    const out = await predict(be, model, gatherBatch(d, indices).images, indices.length);
    indices.forEach((_, r) => {
      let best = 0;
      for (let k = 1; k < classes; k++) if (out[r * classes + k] > out[r * classes + best]) best = k;
      labels[start + r] = best;
    });
  }
  return labels;
}

/**
 * The sets, each labelled with `model`'s top-1 predictions where it has no labels of its own. Sets that
 * share their images (a folder that is its own test set) are predicted once.
 */
export async function labelWithModel(be: Backend, model: Model, sets: Dataset[], batchSize = 256): Promise<Dataset[]> {
  const done = new Map<Float32Array, Uint8Array>();
  const out: Dataset[] = [];
  for (const d of sets) {
    if (!d.unlabelled) { out.push(d); continue; }
    if (!done.has(d.images)) done.set(d.images, await topClasses(be, model, d, batchSize));
    out.push({ ...d, labels: done.get(d.images)!, classes: model.spec.classes });
  }
  return out;
}
