// `wgprune decompose`: low-rank decomposition by kept energy, by VBMF or to an accelerator budget, fine-tuning
// (optionally distilled), and the decomposed model written as ONNX and a checkpoint with a report;
// Ctrl-C during fine-tuning saves the run in resume.safetensors.
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mode } from '../accel/cost.js';
import { DEFAULT_PRESET } from '../accel/presets.js';
import { exportOnnx } from '../onnx/export.js';
import { renderDecomposeHtml } from '../report/decompose-report.js';
import { scoreText } from '../report/report.js';
import { runDecompose } from '../run/decompose-run.js';
import { schedulerFor } from '../open-backend.js';
import { encodeCheckpoint } from '../train/checkpoint.js';
import { type Context, backend, budgetOption, dataUse, dataValues, kdOption, output, trainOptions } from './context.js';
import { UsageError, dataForModel, loadAccelerator, loadData } from './inputs.js';
import { num, oneOf, str } from './options.js';
import { writeOutputs } from './outputs.js';
import { resumableRun, saveStopped } from './resume.js';
import { distillationFor, labelWithModel } from '../train/pseudo-labels.js';

export async function decomposeCommand(c: Context): Promise<number | void> {
  const { outDir, resumeFile, values: v, resume } = await resumableRun(c, 'decompose');
  const method = oneOf(v, 'method', ['auto', 'svd', 'tucker2', 'cp'] as const, 'auto') as 'auto' | 'svd' | 'tucker2' | 'cp';
  const accel = loadAccelerator(str(v, 'accel'), DEFAULT_PRESET);
  const keepEnergy = num(v, 'keep-energy');
  const vbmf = v.vbmf === true;
  const budget = budgetOption(v, accel);
  if ([keepEnergy !== undefined, vbmf, budget !== undefined].filter(Boolean).length !== 1) throw new UsageError('decompose needs one of --keep-energy E, --vbmf or --budget METRIC=VALUE');
  if (keepEnergy !== undefined && !(keepEnergy > 0 && keepEnergy <= 1)) throw new UsageError(`--keep-energy must be in (0, 1], got ${keepEnergy}`);
  const fineTune = trainOptions(v, 1);
  const kdGiven = kdOption(v);
  const use = dataUse(c, v);
  const { train: loaded, test: loadedTest } = await loadData(dataValues(v), use);
  const { model, source } = await use.loadModel(loaded.shape as [number, number, number], loaded.classes);
  const [trainSet, testSet] = dataForModel(model, str(v, 'normalize'), loaded, loadedTest);
  const be = await backend(c);
  // Images without labels: the original model labels them or (a detector's, an embedding's) is matched directly.
  const [trainData, test] = await labelWithModel(be, model, [trainSet, testSet]);
  const kd = distillationFor(kdGiven, trainSet);
  const run = await runDecompose(be, {
    model, modelSource: source, train: trainData, test, accelerator: accel, mode: oneOf(v, 'mode', ['tiled', 'scalesim'] as const, 'tiled') as Mode, scheduler: schedulerFor(be),
    method, keepEnergy, vbmf, budget, fineTune, kd,
    onPhase: (t) => c.progress.phase(t), onProgress: (p) => c.progress.update(p, 'fine-tune'), shouldStop: () => c.stop.requested, resume,
  });
  c.progress.clear();
  mkdirSync(outDir, { recursive: true });
  run.report.backend = be.name;
  if (run.interrupted) return saveStopped(c, be, 'decompose', resumeFile, outDir, run.interrupted, v);
  const files = { onnx: join(outDir, 'decomposed.onnx'), checkpoint: join(outDir, 'decomposed.safetensors'), json: join(outDir, 'report.json'), html: join(outDir, 'report.html') };
  await writeOutputs(outDir, {
    'decomposed.onnx': exportOnnx(run.model),
    'decomposed.safetensors': encodeCheckpoint({ model: run.model, optimizer: new Map(), info: { report: files.json, decomposed: run.report.layers.filter((l) => l.ranks.length).map((l) => ({ layer: l.layer, method: l.method, ranks: l.ranks })) } }),
    'report.json': `${JSON.stringify(run.report, null, 2)}\n`,
    'report.html': renderDecomposeHtml(run.report),
  });
  if (resume) await rm(resumeFile, { force: true });
  be.destroy();
  const r = run.report;
  const line = (name: string, s: typeof r.dense) => `${name.padEnd(11)} ${scoreText(s)}  params ${s.params}  MACs ${s.macs}  cycles ${s.cycles}  energy ${s.energyUJ.toFixed(3)} uJ`;
  const split = r.layers.filter((l) => l.ranks.length);
  output(c, { files, report: r }, [
    line('original', r.dense), line('decomposed', r.decomposed),
    ...split.map((l) => `  ${l.layer}: ${l.method} ranks ${l.ranks.join('/')} of ${l.full.join('/')}, MACs ${(l.macsAfter / l.macsBefore).toFixed(3)}x, cycles ${(l.cyclesAfter / l.cyclesBefore).toFixed(3)}x`),
    ...(r.ranks.budget ? [`budget ${r.ranks.budget.text}: ${r.ranks.budget.met ? 'met' : 'NOT met'}; cycles ${(r.decomposed.cycles / r.dense.cycles).toFixed(3)}x, MACs ${(r.decomposed.macs / r.dense.macs).toFixed(3)}x`] : []),
    ...r.notes.map((n) => `note: ${n}`),
    `wrote ${files.onnx}, ${files.checkpoint}, ${files.json}, ${files.html} (${r.seconds.total.toFixed(0)} s)`,
  ].join('\n'));
}
