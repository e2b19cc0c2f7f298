// One quantization run (CLI `quantize`): the float model evaluated and simulated, post-training
// quantization (batch norm folded, input ranges calibrated, per-layer SQNR), optionally quantization-aware
// training (fake quantization in the training graph, optionally distilled from the float model;
// resumable), and the quantized model evaluated and simulated at its bit widths.
import type { ModelCost } from '../accel/cost.js';
import { modelWorkloads } from '../accel/model-workload.js';
import type { Backend } from '../backend.js';
import { type Model, parameterCount } from '../model/model.js';
import { CostModel } from '../plan/index.js';
import { type PtqOptions, quantizeModel } from '../quantize/ptq.js';
import type { QuantizeReport, QuantizedLayerRow } from '../report/quantize-report.js';
import { summarize } from '../report/report.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { type Progress, type TrainOptions, train } from '../train/trainer.js';
import { evaluateModel } from '../train/evaluate.js';
import type { RunInputs } from './prune-run.js';

export interface QuantizeRunOptions extends RunInputs {
  ptq: PtqOptions;
  /** Quantization-aware training after PTQ; absent: PTQ only. */
  qat?: TrainOptions;
  kd?: { temperature: number; alpha: number };
  onPhase?: (text: string) => void;
  onProgress?: (p: Progress) => void;
  shouldStop?: () => boolean;
  /** Continue the stopped quantization-aware training (its checkpoint holds the quantized model). */
  resume?: Checkpoint;
}

export interface QuantizeRunResult { model: Model; report: QuantizeReport; /** Set when QAT was stopped: pass it back as `resume`. */ interrupted?: Checkpoint }

const now = () => performance.now();

export async function runQuantize(be: Backend, o: QuantizeRunOptions): Promise<QuantizeRunResult> {
  const t0 = now();
  const float = o.model;
  const costs = new CostModel(o.accelerator, { metric: 'latency', mode: o.mode, schedule: o.scheduler });
  o.onPhase?.('evaluating the float model');
  const floatAccuracy = await evaluateModel(be, float, o.test, { shouldStop: o.shouldStop, reference: float });
  const floatCost = await costs.evaluate(modelWorkloads(float.spec));

  o.onPhase?.(`calibrating ${o.ptq.bits}-bit quantization on ${Math.min(o.ptq.calibrationImages ?? 512, o.train.count)} images (${o.ptq.calibrator ?? 'percentile'})`);
  const ptq = await quantizeModel(be, float, o.train, { ...o.ptq, shouldStop: o.shouldStop });
  const seconds: Record<string, number> = { calibrate: (now() - t0) / 1000 };
  const ptqAccuracy = await evaluateModel(be, ptq.model, o.test, { shouldStop: o.shouldStop, reference: float });

  let model = ptq.model;
  let interrupted: Checkpoint | undefined;
  if (o.qat) {
    const t1 = now();
    o.onPhase?.('quantization-aware training');
    const run = await train(be, o.resume?.model ?? ptq.model, o.train, { ...o.qat, distill: o.kd }, { teacher: o.kd ? float : undefined, onProgress: o.onProgress, shouldStop: o.shouldStop, resume: o.resume });
    model = run.model;
    if (run.stopped) interrupted = run.checkpoint;
    seconds.qat = (now() - t1) / 1000;
  }

  o.onPhase?.('evaluating the quantized model');
  const cost = await costs.evaluate(modelWorkloads(model.spec));
  const layerCost = (c: ModelCost, name: string) => c.layers.find((l) => l.name === name)!;
  // What binarizing each layer (weights and activations: XNOR-popcount on the array) would buy.
  const binary = await costs.evaluate(modelWorkloads(model.spec).map((w) => (w.vector ? w : { ...w, bits: { weights: 1, activations: 1 } })));
  const rows: QuantizedLayerRow[] = ptq.layers.map((l) => {
    const q = model.spec.quantization![l.layer];
    const [before, after, asBinary] = [layerCost(floatCost, l.layer), layerCost(cost, l.layer), layerCost(binary, l.layer)];
    return {
      binaryCycles: asBinary.cycles, binaryEnergy: asBinary.energy.total,
      layer: l.layer, weightBits: q.weightBits, perChannel: q.perChannel, input: q.input, sqnr: l.sqnr,
      cyclesBefore: before.cycles, cyclesAfter: after.cycles, energyBefore: before.energy.total, energyAfter: after.energy.total,
      dramBytesBefore: before.dramBytes, dramBytesAfter: after.dramBytes,
    };
  });
  const report: QuantizeReport = {
    tool: 'wgprune', kind: 'quantize', createdAt: new Date().toISOString(),
    model: { name: float.spec.name, source: o.modelSource },
    accelerator: { name: o.accelerator.name, rows: o.accelerator.rows, cols: o.accelerator.cols, dataflow: o.accelerator.dataflow, wordBits: o.accelerator.wordBytes * 8 },
    settings: {
      bits: o.ptq.bits, weights: o.ptq.weights ?? 'per-channel', activations: o.ptq.activations ?? 'asymmetric', calibrator: o.ptq.calibrator ?? 'percentile',
      ...((o.ptq.calibrator ?? 'percentile') === 'percentile' ? { percentile: o.ptq.percentile ?? 99.99 } : {}), calibrationImages: Math.min(o.ptq.calibrationImages ?? 512, o.train.count),
    },
    float: summarize(floatCost, parameterCount(float), floatAccuracy),
    ptq: summarize(cost, parameterCount(ptq.model), ptqAccuracy),
    ...(o.qat ? { qat: { ...summarize(cost, parameterCount(model), interrupted ? undefined : await evaluateModel(be, model, o.test, { reference: float })), training: { ...o.qat, distillation: o.kd ?? false } } } : {}),
    layers: rows,
    seconds: { ...seconds, total: (now() - t0) / 1000 },
  };
  return { model, report, ...(interrupted ? { interrupted } : {}) };
}
