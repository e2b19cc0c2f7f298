// Post-training quantization: batch norm folded into the layers, every conv and linear layer's input
// range calibrated on a sample of training images (min/max, a percentile of |x|, entropy or least MSE),
// weights symmetric per output channel (or per tensor), and each layer's error as the SQNR of its output
// against float32 on the calibration images.
import { checkStop } from '../interrupt.js';
import type { Backend } from '../backend.js';
import type { Dataset } from '../data/dataset.js';
import { loadBatch } from '../data/dataset.js';
import { foldBatchNorm } from '../model/fold.js';
import { inputsOf } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { Network } from '../model/network.js';
import type { ActivationQuant, Quantization } from '../model/quantization.js';
import { Rng } from '../random.js';
import { AbsHistogram, entropyThreshold, grid, mseThreshold, percentileThreshold, qparams } from './calibrate.js';

export const CALIBRATORS = ['minmax', 'percentile', 'entropy', 'mse'] as const;
export type Calibrator = (typeof CALIBRATORS)[number];

export interface PtqOptions {
  /** Bits of weights and (unless activationBits) activations: 2-16, or 1 for binary weights (XNOR-Net). */
  bits: number;
  /** Bits of activations when they differ from the weights' (default: `bits`, or 8 for binary weights); 1: ±scale for signed inputs, {0, scale} after a ReLU. */
  activationBits?: number;
  /** Bits of the first and last quantized layers, weights and activations (default: 8 for binary weights, else `bits`), as the binarization papers keep them. */
  edgeBits?: number;
  /** Weight scales per output channel (default) or one per tensor. */
  weights?: 'per-channel' | 'per-tensor';
  /** Activation grids: asymmetric (unsigned with a zero point, the default) or symmetric (TensorRT). */
  activations?: 'asymmetric' | 'symmetric';
  calibrator?: Calibrator;
  /** The percentile calibrator's percentile of |x| (default 99.99). */
  percentile?: number;
  /** Calibration images drawn from the data (default 512). */
  calibrationImages?: number;
  /** Layers to quantize (default every conv and linear layer). */
  layers?: string[];
  /**
   * Fold batch norm into the layers first (default: as deployment runs them). Keep it (false) when the
   * model will be pruned and fine-tuned: a pruned network re-normalises through its batch norms
   * (measured: vgg-small pruned to 0.2 of its energy and fine-tuned 150 steps, 91.6% with batch norm,
   * 54.3% folded), and per-channel weight scales commute with folding's positive per-channel scale.
   */
  foldBatchNorm?: boolean;
  seed?: number;
  /** Polled between calibration batches: true ends it with StopRequested. */
  shouldStop?: () => boolean;
}

export interface LayerError { layer: string; sqnr: number; input?: ActivationQuant }

export interface PtqResult { model: Model; layers: LayerError[] }

const BATCH = 128;

/** A seeded sample of `count` images of the data set, in batches. */
function calibrationBatches(data: Dataset, count: number, seed: number): number[][] {
  const order = new Rng(seed).shuffle(Array.from({ length: data.count }, (_, i) => i));
  const picked = order.slice(0, Math.min(count, data.count));
  return Array.from({ length: Math.ceil(picked.length / BATCH) }, (_, b) => picked.slice(b * BATCH, (b + 1) * BATCH));
}

/**
 * The input range a calibrator keeps from a histogram, as a quantizer of `bits`. The model's own input
 * (normalised pixels) keeps its whole range: it is known exactly, and a calibrator on |x| would clip an
 * image's foreground to the background's spike (entropy does, on MNIST). One bit: signed inputs become
 * ±mean |x| (XNOR-Net's scale); inputs after a ReLU become {0, t} with t of least squared error.
 */
function calibrated(h: AbsHistogram, o: Required<Pick<PtqOptions, 'bits' | 'calibrator' | 'percentile'>>, symmetric: boolean, modelInput: boolean): ActivationQuant {
  const unsigned = h.lo >= 0; // after a ReLU: all `bits` levels lie on one side of 0
  if (o.bits === 1) {
    if (!unsigned) return { bits: 1, symmetric: true, scale: Math.fround(h.count ? h.absSum / h.count || 1 : 1), zeroPoint: 0 };
    return { bits: 1, symmetric: false, scale: Math.fround(mseThreshold(h, 2) || 1), zeroPoint: 0 };
  }
  const threshold = o.calibrator === 'minmax' || modelInput ? h.max
    : o.calibrator === 'percentile' ? percentileThreshold(h, o.percentile)
      : o.calibrator === 'entropy' ? entropyThreshold(h, 2 ** (o.bits - (unsigned && !symmetric ? 0 : 1)))
        : mseThreshold(h, unsigned && !symmetric ? Math.min(o.bits + 1, 16) : o.bits);
  const [lo, hi] = [Math.max(h.lo, -threshold), Math.min(h.hi, threshold)];
  const p = qparams(lo, hi, o.bits, symmetric);
  return { bits: o.bits, symmetric, scale: Math.fround(p.scale), zeroPoint: p.zeroPoint };
}

/** Stops calibration between batches when asked, releasing its networks. */
async function checkStopReleasing(shouldStop: (() => boolean) | undefined, ...nets: Network[]): Promise<void> {
  try {
    await checkStop(shouldStop, 'calibration');
  } catch (e) {
    for (const n of nets) n.dispose();
    throw e;
  }
}

/** The batch norms folded and the chosen layers quantized with calibrated input ranges. */
export async function quantizeModel(be: Backend, model: Model, data: Dataset, o: PtqOptions): Promise<PtqResult> {
  const activationBits = o.activationBits ?? (o.bits === 1 ? 8 : o.bits);
  const edgeBits = o.edgeBits ?? (o.bits === 1 ? 8 : o.bits);
  for (const b of [o.bits, activationBits, edgeBits]) grid(b, true);
  const calibrator = o.calibrator ?? 'percentile';
  if (!CALIBRATORS.includes(calibrator)) throw new Error(`quantize: unknown calibrator '${calibrator}'; choose from ${CALIBRATORS.join(', ')}`);
  // Pruned weights become exact zeros (masks kept), so weight ranges cover only kept weights; the masked
  // optimizer steps of quantization-aware training keep them zero.
  const params = new Map(model.params);
  for (const [name, mask] of model.masks) params.set(name, model.params.get(name)!.map((w, i) => (mask[i] === 0 ? 0 : w)));
  const plain = { ...model, params, spec: { ...model.spec, quantization: undefined } };
  const folded = o.foldBatchNorm === false ? plain : foldBatchNorm(plain);
  const layers = folded.spec.nodes.filter((n) => n.op === 'conv2d' || n.op === 'linear');
  const chosen = o.layers ?? layers.map((n) => n.name);
  for (const name of chosen) if (!layers.some((n) => n.name === name)) throw new Error(`quantize: model '${model.spec.name}' has no conv or linear layer '${name}'`);
  const inputOf = new Map(layers.filter((n) => chosen.includes(n.name)).map((n) => [n.name, inputsOf(n)[0]]));

  // Pass 1: the float model's input histograms of every chosen layer.
  const batches = calibrationBatches(data, o.calibrationImages ?? 512, o.seed ?? 0);
  const histograms = new Map([...inputOf.keys()].map((name) => [name, new AbsHistogram()]));
  const [c, h, w] = data.shape;
  const float = new Network(be, folded);
  for (const indices of batches) {
    const x = be.upload((await loadBatch(data, indices)).images, [indices.length, c, h, w]);
    const f = float.forward(x, false);
    for (const [name, input] of inputOf) histograms.get(name)!.add(await be.read(f.outputs.get(input)!));
    float.release(f);
    be.dispose(x);
    await checkStopReleasing(o.shouldStop, float);
  }
  const quantization: Quantization = {};
  const names = [...inputOf.keys()];
  for (const name of names) {
    const edge = name === names[0] || name === names[names.length - 1];
    const [w, a] = edge ? [edgeBits, edgeBits] : [o.bits, activationBits];
    const settings = { bits: a, calibrator, percentile: o.percentile ?? 99.99 };
    quantization[name] = {
      weightBits: w, perChannel: o.weights !== 'per-tensor',
      input: calibrated(histograms.get(name)!, settings, a === 1 || o.activations === 'symmetric', folded.spec.nodes.find((n) => n.name === inputOf.get(name))?.op === 'input'),
    };
  }
  const quantized: Model = { ...folded, spec: { ...folded.spec, quantization } };

  // Pass 2: each quantized layer's output against float32 on the same images.
  const noise = new Map([...inputOf.keys()].map((name) => [name, { signal: 0, error: 0 }]));
  const fake = new Network(be, quantized);
  for (const indices of batches) {
    const x = be.upload((await loadBatch(data, indices)).images, [indices.length, c, h, w]);
    const [f, q] = [float.forward(x, false), fake.forward(x, false)];
    for (const name of inputOf.keys()) {
      const [a, b] = [await be.read(f.outputs.get(name)!), await be.read(q.outputs.get(name)!)];
      const s = noise.get(name)!;
      for (let i = 0; i < a.length; i++) { s.signal += a[i] * a[i]; s.error += (a[i] - b[i]) ** 2; }
    }
    float.release(f);
    fake.release(q);
    be.dispose(x);
    await checkStopReleasing(o.shouldStop, fake, float);
  }
  float.dispose();
  fake.dispose();
  return {
    model: quantized,
    layers: [...noise].map(([layer, s]) => ({ layer, sqnr: s.error === 0 ? Infinity : 10 * Math.log10(s.signal / s.error), input: quantization[layer].input })),
  };
}
