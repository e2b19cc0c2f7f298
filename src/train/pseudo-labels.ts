// Labels for images that came without any (a flat folder): a classifier's own top-1 class for each, a
// segmenter's top class for each pixel, so that fine-tuning can distil from the model and every accuracy
// reads as agreement with it. Detectors and embedding nets have nothing to label with: their sets stay
// unlabelled, trained and scored against the dense model's outputs directly (objective.ts, evaluate.ts).
import type { Backend } from '../backend.js';
import { type Dataset, loadBatch } from '../data/dataset.js';
import { inferShapes, taskOf } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { predict } from '../model/predict.js';

/** `model`'s top class for every image of `d` (per pixel of its [K, H, W] output for a segmenter): count x positions. */
async function topClasses(be: Backend, model: Model, d: Dataset, positions: number, batchSize: number): Promise<Uint8Array> {
  const classes = model.spec.classes;
  const labels = new Uint8Array(d.count * positions);
  for (let start = 0; start < d.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, d.count - start) }, (_, i) => start + i);
    const out = await predict(be, model, (await loadBatch(d, indices)).images, indices.length);
    indices.forEach((_, r) => {
      for (let p = 0; p < positions; p++) {
        const base = r * classes * positions + p;
        let best = 0;
        for (let k = 1; k < classes; k++) if (out[base + k * positions] > out[base + best * positions]) best = k;
        labels[(start + r) * positions + p] = best;
      }
    });
  }
  return labels;
}

/** What identifies a set's images (its stream, for a folder): sets sharing them are labelled and noted once. */
const imagesOf = (d: Dataset): unknown => d.stream ?? d.images;

/**
 * The sets, each labelled with `model`'s top-1 predictions where it has no labels of its own (masks for a
 * segmenter); sets that share their images (a folder that is its own test set) are predicted once.
 */
export async function labelWithModel(be: Backend, model: Model, sets: Dataset[], batchSize = 256): Promise<Dataset[]> {
  // A classifier or a segmenter labels images, so that its sets need no teacher at each step; other models do not.
  const shapes = inferShapes(model.spec);
  const task = taskOf(model.spec, shapes);
  if (task !== 'classify' && task !== 'segment') return sets;
  const out = shapes.get(model.spec.output)!;
  const maskShape = task === 'segment' ? ([out[1], out[2]] as [number, number]) : undefined;
  const positions = maskShape ? maskShape[0] * maskShape[1] : 1;
  const done = new Map<unknown, Uint8Array>();
  const labelled: Dataset[] = [];
  for (const d of sets) {
    if (!d.unlabelled || d.masks) { labelled.push(d); continue; }
    if (!done.has(imagesOf(d))) done.set(imagesOf(d), await topClasses(be, model, d, positions, batchSize));
    const top = done.get(imagesOf(d))!;
    labelled.push(maskShape ? { ...d, masks: top, maskShape, unlabelled: undefined, classes: model.spec.classes } : { ...d, labels: top, unlabelled: undefined, classes: model.spec.classes });
  }
  return labelled;
}

/** Fine-tuning on images without labels distils from the dense model alone (its soft outputs, α = 1), unless the user said how. */
export const distillationFor = (kd: { temperature: number; alpha: number } | undefined, train: Dataset | undefined) => kd ?? (train?.unlabelled && !train.masks ? { temperature: 4, alpha: 1 } : undefined);

/** What a run says of each set without labels (once per set of images), by what the model could label. */
export function unlabelledNotes(model: Model, sets: Dataset[], train: Dataset | undefined): string[] {
  const task = taskOf(model.spec, inferShapes(model.spec));
  return sets.filter((d, i, all) => d.unlabelled && !d.masks && all.findIndex((e) => imagesOf(e) === imagesOf(d)) === i).map((d) => {
    const tuned = d === train ? ' and fine-tuning distilled from it alone' : '';
    if (task === 'classify') return `${d.name} has no labels: the dense model labelled it${tuned}; accuracies on it are top-1 agreement with the dense model`;
    if (task === 'segment') return `${d.name} has no masks: the dense model labelled each pixel${tuned}; mean IoU and pixel accuracy on it are agreement with the dense model's classes`;
    return `${d.name} has no labels${d === train ? ': fine-tuning matched every output to the dense model\'s (mean squared error)' : ''}; scores on it are the cosine similarity of the outputs to the dense model's, with the output SNR`;
  });
}
