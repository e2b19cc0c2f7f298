// A model's score on a data set, in inference mode (batch norm uses running statistics), by what the data
// holds (objective.ts): top-1 accuracy against labels; mean IoU and pixel accuracy against masks; and for
// images without either, agreement with a reference model (the dense one) over every output: top-1
// agreement (per pixel for maps) for a classifier's or segmenter's logits, else the mean cosine similarity
// of each sample's outputs and the output SNR, 10·log10(Σ t² / Σ (y − t)²) dB.
import type { Backend, Tensor } from '../backend.js';
import { type Dataset, loadBatchAhead } from '../data/dataset.js';
import { checkStop } from '../interrupt.js';
import { inferShapes, outputNames, taskOf } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { inferenceNetwork } from './inference.js';
import { MASK_IGNORE, accumulateSum, supervisionOf, uploadTargets } from './objective.js';

/** What `accuracy` measures. */
export type EvalMetric = 'top-1' | 'mean IoU' | 'top-1 agreement' | 'cosine similarity';

export interface EvalResult {
  /** Mean loss per row (sample or pixel): cross-entropy with labels or masks; against the reference, the squared error per sample (summed over the outputs). */
  loss: number;
  /** The task's score, higher is better, in [0, 1] (see `metric`). */
  accuracy: number;
  count: number;
  metric: EvalMetric;
  /** Masks: the share of scored pixels whose top class is their label. */
  pixelAccuracy?: number;
  /** Masks: the mean over classes present (in labels or predictions) of |pred ∩ label| / |pred ∪ label|. */
  meanIoU?: number;
  /** Against the reference: the output SNR in dB (absent where the outputs are identical), and the mean cosine similarity per sample. */
  snrDb?: number;
  cosine?: number;
}

export interface EvalOptions {
  batchSize?: number;
  /** Polled between batches: true ends the evaluation with StopRequested. */
  shouldStop?: () => boolean;
  /** What the outputs are compared with where the data has neither labels nor masks (the dense model). */
  reference?: Model;
}

/** Index of the largest of `count` values at v[base + k·stride] (the first on ties). */
function argmax(v: Float32Array, base: number, count: number, stride: number): number {
  let best = 0;
  for (let k = 1; k < count; k++) if (v[base + k * stride] > v[base + best * stride]) best = k;
  return best;
}

/** Per-pixel class counts of predictions against labels: classes x classes, row = label. */
class Confusion {
  readonly counts: Float64Array;
  constructor(readonly classes: number) { this.counts = new Float64Array(classes * classes); }
  /** Logits [N, K, P] against labels [N, P] (MASK_IGNORE skipped). */
  add(logits: Float32Array, labels: ArrayLike<number>, n: number, positions: number): void {
    const k = this.classes;
    for (let b = 0; b < n; b++) for (let p = 0; p < positions; p++) {
      const label = labels[b * positions + p];
      if (label === MASK_IGNORE) continue;
      this.counts[label * k + argmax(logits, b * k * positions + p, k, positions)]++;
    }
  }
  /** Mean IoU over the classes seen in labels or predictions, and pixel accuracy. */
  scores(): { meanIoU: number; pixelAccuracy: number } {
    const k = this.classes;
    let [iouSum, seen, hits, total] = [0, 0, 0, 0];
    for (let c = 0; c < k; c++) {
      let [row, col] = [0, 0];
      for (let j = 0; j < k; j++) { row += this.counts[c * k + j]; col += this.counts[j * k + c]; }
      const tp = this.counts[c * k + c];
      hits += tp;
      total += row;
      if (row + col > 0) { iouSum += tp / (row + col - tp); seen++; }
    }
    return { meanIoU: seen ? iouSum / seen : 0, pixelAccuracy: total ? hits / total : 0 };
  }
}

/** Agreement of a model's outputs with a reference's, accumulated over batches. */
class Agreement {
  private signal = 0;
  private noise = 0;
  private cosineSum = 0;
  /** Per sample, the sum over outputs of the mean squared error (objective.ts's loss against a teacher). */
  private lossSum = 0;
  private hits = 0;
  private rows = 0;
  constructor(private readonly logits: boolean, private readonly classes: number) {}
  add(ys: Float32Array[], ts: Float32Array[], n: number): void {
    if (this.logits) {
      const positions = ys[0].length / (n * this.classes);
      for (let b = 0; b < n; b++) for (let p = 0; p < positions; p++) {
        const base = b * this.classes * positions + p;
        if (argmax(ys[0], base, this.classes, positions) === argmax(ts[0], base, this.classes, positions)) this.hits++;
      }
      this.rows += n * positions;
    }
    for (let b = 0; b < n; b++) {
      let [dot, yy, tt] = [0, 0, 0];
      ys.forEach((y, o) => {
        const per = y.length / n;
        let squares = 0;
        for (let i = b * per; i < (b + 1) * per; i++) {
          const [a, t] = [y[i], ts[o][i]];
          dot += a * t; yy += a * a; tt += t * t;
          squares += (a - t) * (a - t);
        }
        this.noise += squares;
        this.lossSum += squares / per;
      });
      this.signal += tt;
      this.cosineSum += yy > 0 && tt > 0 ? dot / Math.sqrt(yy * tt) : yy === tt ? 1 : 0;
    }
  }
  scores(count: number): Omit<EvalResult, 'count'> {
    const [loss, cosine] = [this.lossSum / count, this.cosineSum / count];
    // No SNR where the outputs are identical (the reference itself): it would be infinite.
    const snr = this.noise > 0 ? { snrDb: 10 * Math.log10(this.signal / this.noise) } : {};
    return this.logits ? { loss, accuracy: this.hits / this.rows, metric: 'top-1 agreement', ...snr, cosine } : { loss, accuracy: cosine, metric: 'cosine similarity', ...snr, cosine };
  }
}

export async function evaluateModel(be: Backend, model: Model, data: Dataset, o: EvalOptions = {}): Promise<EvalResult> {
  const batchSize = o.batchSize ?? 256;
  const shapes = inferShapes(model.spec);
  const supervision = supervisionOf(model.spec, shapes, data, !!o.reference);
  const batches = Math.ceil(data.count / batchSize);
  const net = inferenceNetwork(be, model, { batches });
  const reference = supervision === 'teacher' ? inferenceNetwork(be, o.reference!, { batches }) : undefined;
  const task = taskOf(model.spec, shapes);
  const confusion = supervision === 'masks' ? new Confusion(model.spec.classes) : undefined;
  const agreement = reference ? new Agreement(task === 'classify' || task === 'segment', model.spec.classes) : undefined;
  const [c, h, w] = data.shape;
  let [lossSum, correctSum]: Tensor[] = [be.zeros([1]), be.zeros([1])];
  let rows = 0;
  try {
    const read = (start: number) => loadBatchAhead(data, Array.from({ length: Math.min(batchSize, data.count - start) }, (_, i) => start + i));
    let ahead = read(0);
    for (let start = 0; start < data.count; start += batchSize) {
      const batch = await ahead;
      if (start + batchSize < data.count) ahead = read(start + batchSize); // decoded while this batch computes
      const x = be.upload(batch.images, [batch.size, c, h, w]);
      const f = net.forward(x);
      if (reference) {
        // Both models' outputs are read back: agreement, SNR and the squared-error loss are taken on the host.
        const r = reference.forward(x);
        const names = outputNames(model.spec);
        const [ys, ts] = [await Promise.all(names.map((n) => be.read(f.outputs.get(n)!))), await Promise.all(names.map((n) => be.read(r.outputs.get(n)!)))];
        agreement!.add(ys, ts, batch.size);
        reference.release(r);
      } else {
        const targets = uploadTargets(be, supervision, batch, data.maskShape).tensor!;
        const { loss, dLogits, correct } = be.softmaxCrossEntropy(f.logits, targets, supervision === 'masks' ? { ignoreLabel: MASK_IGNORE } : {});
        if (confusion) confusion.add(await be.read(f.logits), batch.masks!, batch.size, loss.size / batch.size);
        lossSum = accumulateSum(be, lossSum, loss);
        correctSum = accumulateSum(be, correctSum, correct);
        rows += loss.size;
        be.dispose(targets, loss, dLogits, correct);
      }
      be.dispose(x);
      net.release(f);
      be.flush();
      if (o.shouldStop) await checkStop(o.shouldStop, 'evaluation');
    }
    if (agreement) return { count: data.count, ...agreement.scores(data.count) };
    const [loss, correct] = [(await be.read(lossSum))[0], (await be.read(correctSum))[0]];
    const result = { loss: loss / rows, count: data.count };
    if (confusion) {
      const s = confusion.scores();
      return { ...result, accuracy: s.meanIoU, metric: 'mean IoU', ...s };
    }
    return { ...result, accuracy: correct / rows, metric: 'top-1' };
  } finally {
    be.dispose(lossSum, correctSum);
    net.dispose();
    reference?.dispose();
  }
}
