// What a training step minimises, by the model's task (graph.taskOf) and what its data holds:
// - labels, a classifier's class per sample: softmax cross-entropy, optionally distilled (Hinton et al.);
// - masks, a segmenter's class per pixel (MASK_IGNORE pixels skipped): the same, per pixel, the mean
//   taken over all the batch's pixels;
// - a teacher only (detector heads, embeddings, or any model on images without labels): every output
//   matched to the dense teacher's, KL at the temperature for a classifier's or segmenter's logits, the
//   mean squared error for maps and embeddings (summed over a detector's heads, equally weighted).
// With distillation `features`, the outputs of those nodes (featureBoundaries: where channel groups meet)
// are matched to the teacher's too, by mean squared error, each weighted as an output (FitNets' hints,
// Romero et al. 2015, without the regressor: the fine-tuned model is the pruned one with masks, of the
// dense shapes); they add to the gradient, not to the reported loss.
import type { Backend, Tensor } from '../backend.js';
import type { Batch, Dataset } from '../data/dataset.js';
import { type ModelSpec, type Shapes, isOutput, outputNames, taskOf } from '../model/graph.js';
import type { ForwardState } from '../model/network.js';
import type { Inference } from './inference.js';

/** A mask's "void" label (PASCAL VOC's, PyTorch's usual ignore_index for it): no loss, never scored. */
export const MASK_IGNORE = 255;

export type Supervision = 'labels' | 'masks' | 'teacher';

/** Knowledge distillation's settings: KL temperature, the soft term's weight, and intermediate nodes to match. */
export interface Distillation { temperature: number; alpha: number; features?: string[] }

/** Where channel groups meet: residual adds and concats that are not outputs (the maps feature distillation matches). */
export const featureBoundaries = (spec: ModelSpec): string[] => spec.nodes.filter((n) => (n.op === 'add' || n.op === 'concat') && !isOutput(spec, n.name)).map((n) => n.name);

/** Adds, per node of `features`, the squared error's gradient of the student's map against the teacher's to `seeds`. */
function matchFeatures(be: Backend, features: string[], student: ForwardState, teacher: Inference, seeds: Map<string, Tensor>): void {
  for (const name of features) {
    const [y, t] = [student.outputs.get(name), teacher.outputs.get(name)];
    if (!y || !t) throw new Error(`feature distillation: node '${name}' is not in both the model and the teacher`);
    const e = be.squaredError(y, t);
    const prior = seeds.get(name);
    seeds.set(name, prior ? be.add(prior, e.dy) : e.dy);
    be.dispose(e.loss, ...(prior ? [prior, e.dy] : []));
  }
}

/** How `data` supervises a model of `spec`; the reason named where it cannot. */
export function supervisionOf(spec: ModelSpec, shapes: Shapes, data: Dataset, hasTeacher: boolean): Supervision {
  const task = taskOf(spec, shapes);
  const out = shapes.get(spec.output)!;
  if (data.masks) {
    if (task !== 'segment') throw new Error(`data set '${data.name}' has per-pixel masks, model '${spec.name}' does not segment (its task is ${task})`);
    if (data.maskShape!.join() !== out.slice(1).join()) throw new Error(`data set '${data.name}' has ${data.maskShape!.join('x')} masks, model '${spec.name}' outputs ${out.slice(1).join('x')} maps: they must be the same size`);
    return 'masks';
  }
  if (task === 'classify' && !data.unlabelled) {
    if (data.classes > spec.classes) throw new Error(`data set '${data.name}' has ${data.classes} classes, model '${spec.name}' outputs ${spec.classes}`);
    return 'labels';
  }
  // Anything else (a segmenter's class labels per image say nothing per pixel) learns from the teacher.
  if (!hasTeacher) {
    const has = data.unlabelled ? 'has no labels' : task === 'segment' ? 'has class labels, not per-pixel masks' : `has class labels, and a model that ${task === 'embed' ? 'embeds' : 'detects'} does not train on them here`;
    throw new Error(`data set '${data.name}' ${has}: model '${spec.name}' (${task}) trains on it by distillation from a teacher (the dense model) only`);
  }
  return 'teacher';
}

/** One step's loss: per row (sample or pixel) for the running mean, the outputs' gradients, and hits where there are labels. */
export interface StepLoss {
  loss: Tensor;
  /** Gradient of the mean loss per output node. */
  seeds: Map<string, Tensor>;
  /** 1 per row whose top class is its label (labels and masks only). */
  correct?: Tensor;
  /** Rows in `loss`. */
  rows: number;
}

/** A batch's targets on the device (per-sample labels or per-pixel masks, as `s` needs; none for a teacher) and how many rows can be correct. */
export function uploadTargets(be: Backend, s: Supervision, batch: Batch, maskShape?: [number, number]): { tensor?: Tensor; scored: number } {
  if (s === 'labels') return { tensor: be.upload(batch.labels, [batch.size]), scored: batch.size };
  if (s === 'masks') return { tensor: be.upload(batch.masks!, [batch.size, ...maskShape!]), scored: scoredPixels(batch.masks!) };
  return { scored: 0 };
}

export function stepLoss(be: Backend, spec: ModelSpec, shapes: Shapes, s: Supervision, student: ForwardState, teacher: Inference | undefined,
  targets: Tensor | undefined, distill?: Distillation): StepLoss {
  const r = outputLoss(be, spec, shapes, s, student, teacher, targets, distill);
  if (teacher && distill?.features?.length) matchFeatures(be, distill.features, student, teacher, r.seeds);
  return r;
}

function outputLoss(be: Backend, spec: ModelSpec, shapes: Shapes, s: Supervision, student: ForwardState, teacher: Inference | undefined,
  targets: Tensor | undefined, distill?: Distillation): StepLoss {
  if (s !== 'teacher') {
    const kd = teacher && distill ? { teacher: teacher.logits, temperature: distill.temperature, alpha: distill.alpha } : {};
    const r = be.softmaxCrossEntropy(student.logits, targets!, { ...kd, ...(s === 'masks' ? { ignoreLabel: MASK_IGNORE } : {}) });
    return { loss: r.loss, seeds: new Map([[spec.output, r.dLogits]]), correct: r.correct, rows: r.loss.size };
  }
  const task = taskOf(spec, shapes);
  if (task === 'classify' || task === 'segment') {
    // Logits: KL at the temperature alone (alpha 1: no hard labels); the labels given are never read.
    const labels = be.zeros(student.logits.shape.filter((_, i) => i !== 1));
    const r = be.softmaxCrossEntropy(student.logits, labels, { teacher: teacher!.logits, temperature: distill?.temperature ?? 4, alpha: 1 });
    be.dispose(labels, r.correct);
    return { loss: r.loss, seeds: new Map([[spec.output, r.dLogits]]), rows: r.loss.size };
  }
  const seeds = new Map<string, Tensor>();
  let loss: Tensor | undefined;
  for (const name of outputNames(spec)) {
    const r = be.squaredError(student.outputs.get(name)!, teacher!.outputs.get(name)!);
    seeds.set(name, r.dy);
    if (!loss) loss = r.loss;
    else { const sum = be.add(loss, r.loss); be.dispose(loss, r.loss); loss = sum; }
  }
  return { loss: loss!, seeds, rows: loss!.size };
}

/** Pixels of a batch's masks that are scored (not MASK_IGNORE). */
function scoredPixels(masks: Float32Array): number {
  let n = 0;
  for (const v of masks) if (v !== MASK_IGNORE) n++;
  return n;
}

/** acc + sum(perSample), on the device; disposes acc. */
export function accumulateSum(be: Backend, acc: Tensor, perSample: Tensor): Tensor {
  const column = be.reshape(perSample, [perSample.size, 1]);
  const total = be.channelSum(column);
  const next = be.add(acc, total);
  be.dispose(column, total, acc);
  return next;
}
