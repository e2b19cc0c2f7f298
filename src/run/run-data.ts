// Data as a model takes it, for every command and the browser page alike: each set normalised as the
// model's inputs were (the model then records it, so its checkpoints and exports carry it), per-pixel
// masks at the model's output size, checked against the model; sets without labels labelled by the
// dense model, and the notes that say so.
import type { Backend } from '../backend.js';
import { DataError, type Dataset, type Normalization, masksAt, renormalize } from '../data/dataset.js';
import { inferShapes, taskOf } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { labelWithModel, unlabelledNotes } from '../train/pseudo-labels.js';

/**
 * The sets normalised with `normalization` when given, else the model's own (from its checkpoint or ONNX
 * file), else the first set's; the model records it. `augment: 'default'` is dropped for a model matched
 * to the dense one's outputs (a detector, an embedding net).
 */
export function dataForModel(model: Model, normalization: Normalization | undefined, ...sets: Dataset[]): Dataset[] {
  const n = normalization ?? model.spec.inputNormalization ?? sets[0].normalization ?? { mean: 0, std: 1 };
  model.spec = { ...model.spec, inputNormalization: n };
  const shapes = inferShapes(model.spec);
  const outShape = shapes.get(model.spec.output)!;
  const matched = ['detect', 'embed'].includes(taskOf(model.spec, shapes));
  const out = sets.map((d) => {
    if (d.masks && outShape.length !== 3) throw new DataError(`--masks: model '${model.spec.name}' outputs [${outShape}], not per-pixel class maps [K, H, W]`);
    const data = masksAt(renormalize(d, n), [outShape[1], outShape[2]], model.spec.classes);
    return d.augment === 'default' && matched ? { ...data, augment: false } : data;
  });
  checkDataFits(model, ...out);
  return out;
}

/** One check of data against a model for every command: images present, of the model's input shape, labels among its classes. */
export function checkDataFits(model: Model, ...sets: Dataset[]): void {
  for (const d of sets) {
    if (d.count === 0) throw new DataError(`data '${d.name}': no images`);
    if (d.shape.join('x') !== model.spec.inputShape.join('x')) throw new DataError(`data '${d.name}': images are ${d.shape.join('x')}, model '${model.spec.name}' takes ${model.spec.inputShape.join('x')}`);
    let top = 0;
    for (const l of d.labels) if (l > top) top = l;
    if (top >= model.spec.classes) throw new DataError(`data '${d.name}': label ${top} is outside model '${model.spec.name}''s ${model.spec.classes} classes (0-${model.spec.classes - 1})`);
  }
}

/** An ONNX import whose convolutions lost their batch norms to PyTorch's export (none left): `--restore-bn auto` restores them for fine-tuning. */
export const foldedExport = (model: Model, source: string) => /\.onnx$/i.test(source) && !model.spec.nodes.some((n) => n.op === 'batchnorm');

export interface PruneData {
  train?: Dataset;
  test?: Dataset;
  /** What the run says of sets without labels. */
  notes: string[];
}

/**
 * A prune run's data from the sets a user gave (already fit to the model with dataForModel): sets without
 * labels labelled by the dense model (classifiers, segmenters), and the notes. Fine-tuning on a set
 * without labels distils from the dense model: distillationFor(kd, sets[0]).
 */
export async function pruneData(be: Backend, model: Model, sets: [Dataset, Dataset] | undefined): Promise<PruneData> {
  if (!sets) return { notes: [] };
  const [train, test] = await labelWithModel(be, model, sets);
  return { train, test, notes: unlabelledNotes(model, sets, sets[0]) };
}
