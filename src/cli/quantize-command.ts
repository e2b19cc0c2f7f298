// `wgprune quantize`: post-training quantization (batch norm folded, ranges calibrated on training images),
// optionally quantization-aware training (distilled with --kd), and the quantized model written as QDQ
// ONNX and a checkpoint with a report; Ctrl-C during QAT saves the run in resume.safetensors.
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mode } from '../accel/cost.js';
import { DEFAULT_PRESET } from '../accel/presets.js';
import { exportOnnx } from '../onnx/export.js';
import { schedulerFor } from '../open-backend.js';
import { CALIBRATORS, type Calibrator } from '../quantize/ptq.js';
import { inputRange, renderQuantizeHtml } from '../report/quantize-report.js';
import { scoreText } from '../report/report.js';
import { runQuantize } from '../run/quantize-run.js';
import { encodeCheckpoint } from '../train/checkpoint.js';
import { type Context, backend, dataUse, dataValues, kdOption, output, trainOptions } from './context.js';
import { UsageError, dataForModel, loadAccelerator, loadData } from './inputs.js';
import { int, num, oneOf, str } from './options.js';
import { writeOutputs } from './outputs.js';
import { resumableRun, saveStopped } from './resume.js';
import { distillationFor, labelWithModel } from '../train/pseudo-labels.js';

/**
 * QAT's Adam learning rate when --lr names none: a tenth of training's, as fine-tuning a converged model
 * wants; training's own for one-bit layers, whose weights must move far enough to flip sign (measured on
 * LeNet-5 w1a8, 312 steps: 93.9% at 1e-4, 97.0% at 1e-3).
 */
const QAT_ADAM_LR = 1e-4;
const BINARY_QAT_ADAM_LR = 1e-3;

export async function quantizeCommand(c: Context): Promise<number | void> {
  const { outDir, resumeFile, values: v, resume } = await resumableRun(c, 'quantize');
  const bitsOption = (name: string, fallback: number) => {
    const b = int(v, name, fallback)!;
    if (!(b >= 1 && b <= 16)) throw new UsageError(`--${name} must be an integer from 1 (binary) to 16, got ${b}`);
    return b;
  };
  const bits = bitsOption('bits', 8);
  const activationBits = bitsOption('activation-bits', bits === 1 ? 8 : bits);
  const edgeBits = bitsOption('edge-bits', bits === 1 ? 8 : bits);
  const calibrator = oneOf(v, 'calibrate', CALIBRATORS, 'percentile') as Calibrator;
  const percentile = num(v, 'percentile');
  if (percentile !== undefined && calibrator !== 'percentile') throw new UsageError(`--percentile applies to --calibrate percentile, not ${calibrator}`);
  if (percentile !== undefined && !(percentile > 0 && percentile <= 100)) throw new UsageError(`--percentile must be in (0, 100], got ${percentile}`);
  const calibrationImages = int(v, 'calibration-images', 512)!;
  if (!(calibrationImages >= 1)) throw new UsageError(`--calibration-images must be a positive integer, got ${calibrationImages}`);
  const weights = oneOf(v, 'weights', ['per-channel', 'per-tensor'] as const, 'per-channel') as 'per-channel' | 'per-tensor';
  if (activationBits === 1 && v.activations !== undefined) throw new UsageError('--activations does not apply to one-bit activations: they are ±mean|x| for signed inputs and {0, t} after a ReLU, by the data');
  const activations = oneOf(v, 'activations', ['asymmetric', 'symmetric'] as const, 'asymmetric') as 'asymmetric' | 'symmetric';
  const qat = v.qat ? trainOptions(v, 1) : undefined;
  if (qat && v.lr === undefined && qat.optimizer === 'adam') qat.learningRate = bits === 1 || activationBits === 1 ? BINARY_QAT_ADAM_LR : QAT_ADAM_LR;
  const qatOnly = ['kd', 'resume', 'epochs', 'lr', 'optimizer', 'batch-size', 'max-steps', 'max-seconds', 'temperature', 'alpha'].filter((k) => v[k] !== undefined);
  if (!qat && qatOnly.length) throw new UsageError(`${qatOnly.map((k) => `--${k}`).join(', ')} ${qatOnly.length > 1 ? 'apply' : 'applies'} to quantization-aware training: add --qat`);
  const kdGiven = kdOption(v);
  const accel = loadAccelerator(str(v, 'accel'), DEFAULT_PRESET);
  const use = dataUse(c, v);
  const { train: loaded, test: loadedTest } = await loadData(dataValues(v), use);
  const { model, source } = await use.loadModel(loaded.shape as [number, number, number], loaded.classes);
  if (model.spec.quantization) throw new UsageError(`${source}: the model is quantized already; quantize its float original`);
  const [trainSet, testSet] = dataForModel(model, str(v, 'normalize'), loaded, loadedTest);
  const be = await backend(c);
  // Images without labels: the original model labels them or (a detector's, an embedding's) is matched directly.
  const [trainData, test] = await labelWithModel(be, model, [trainSet, testSet]);
  const kd = distillationFor(kdGiven, trainSet);
  const run = await runQuantize(be, {
    model, modelSource: source, train: trainData, test, accelerator: accel, mode: oneOf(v, 'mode', ['tiled', 'scalesim'] as const, 'tiled') as Mode, scheduler: schedulerFor(be),
    ptq: { bits, activationBits, edgeBits, calibrator, percentile, calibrationImages, weights, activations, seed: int(v, 'seed', 1)! }, qat, kd,
    onPhase: (t) => c.progress.phase(t), onProgress: (p) => c.progress.update(p, 'QAT'), shouldStop: () => c.stop.requested, resume,
  });
  c.progress.clear();
  mkdirSync(outDir, { recursive: true });
  run.report.backend = be.name;
  if (run.interrupted) return saveStopped(c, be, 'quantize', resumeFile, outDir, run.interrupted, v);
  const r = run.report;
  const files = { onnx: join(outDir, 'quantized.onnx'), checkpoint: join(outDir, 'quantized.safetensors'), json: join(outDir, 'report.json'), html: join(outDir, 'report.html') };
  const notes: string[] = [];
  let onnx: Uint8Array | undefined;
  try {
    onnx = exportOnnx(run.model);
  } catch (e) {
    notes.push(`no ONNX written: ${(e as Error).message}`);
  }
  await writeOutputs(outDir, {
    ...(onnx ? { 'quantized.onnx': onnx } : {}),
    'quantized.safetensors': encodeCheckpoint({ model: run.model, optimizer: new Map(), info: { report: files.json } }),
    'report.json': `${JSON.stringify(r, null, 2)}\n`,
    'report.html': renderQuantizeHtml(r),
  });
  if (resume) await rm(resumeFile, { force: true });
  be.destroy();
  const label = `w${bits}a${activationBits}`;
  const line = (name: string, s: typeof r.float) => `${name.padEnd(10)} ${scoreText(s)}  cycles ${s.cycles}  energy ${s.energyUJ.toFixed(3)} uJ (MACs ${s.energySplitUJ.mac.toFixed(3)}, SRAM ${s.energySplitUJ.sram.toFixed(3)}, DRAM ${s.energySplitUJ.dram.toFixed(3)})  DRAM ${s.dramBytes} bytes`;
  output(c, { files: { ...files, ...(onnx ? {} : { onnx: undefined }) }, report: r, notes }, [
    line('float', r.float), line(`PTQ ${label}`, r.ptq), ...(r.qat ? [line(`QAT ${label}`, r.qat)] : []),
    ...r.layers.map((l) => `  ${l.layer}: w${l.weightBits}${l.perChannel ? '/ch' : ''} a${l.input?.bits ?? 'float'} [${l.input ? inputRange(l.input).map((x) => x.toPrecision(3)).join(', ') : 'float'}]  SQNR ${l.sqnr.toFixed(1)} dB  energy ${(l.energyAfter / l.energyBefore).toFixed(3)}x`),
    ...notes.map((n) => `note: ${n}`),
    `wrote ${onnx ? `${files.onnx}, ` : ''}${files.checkpoint}, ${files.json}, ${files.html} (${r.seconds.total.toFixed(0)} s)`,
  ].join('\n'));
}
