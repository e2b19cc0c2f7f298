// `wgprune prune`: options to a run (combinations it cannot honour refused with exit 2), the run with
// device fallback, its outputs written together, and Ctrl-C in any phase saved in resume.safetensors.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mode } from '../accel/cost.js';
import { DEFAULT_PRESET } from '../accel/presets.js';
import type { ModelSpec } from '../model/graph.js';
import { exportOnnx } from '../onnx/export.js';
import { criteria } from '../prune/criteria/index.js';
import { zoo } from '../model/zoo.js';
import { type PruningHistory, keptFromHistory, pruningHistory } from '../prune/history.js';
import type { PruneResume, PruneSchedule } from '../prune/prune.js';
import { STRUCTURE_KINDS, type StructureKind, penaltyStructures } from '../prune/structures.js';
import { type RunReport, type SparsityReport, paretoChart, renderHtml, scoreText } from '../report/report.js';
import { runPruneWithFallback } from '../run/fallback.js';
import { CostModel, planPrecision, planSplits } from '../plan/index.js';
import { schedulerFor } from '../open-backend.js';
import type { Granularity, LaterResume, LaterState, PruneRunOptions, RunResume } from '../run/prune-run.js';
import { encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { foldedExport, pruneData } from '../run/run-data.js';
import { distillationFor } from '../train/pseudo-labels.js';
import type { Dataset } from '../data/dataset.js';
import { type Distillation, featureBoundaries } from '../train/objective.js';
import { channelGroups } from '../prune/dependency.js';
import { type Context, backend, budgetOption, dataUse, dataValues, kdOption, notice, output, trainOptions } from './context.js';
import { UsageError, dataForModel, loadAccelerator, loadData } from './inputs.js';
import { OptionError, type PruneChoices, checkPruneChoices, needsData } from '../run/prune-options.js';
import { RUN_OUTPUTS, checkOutputDir, writeOutputs } from './outputs.js';
import { resumedRun, savedOptions } from './resume.js';
import { ACCEL, ACCEL_HELP, DATA, DATA_HELP, MODEL, MODEL_HELP, type Options, TRAINING, TRAINING_HELP, type Values, int, num, oneOf, str } from './options.js';

/** prune's options and help (main.ts's command table; sweep rows take the same flags). */
export const PRUNE_OPTIONS: Options = {
  ...MODEL, ...DATA, ...ACCEL, ...TRAINING, criterion: { type: 'string' }, granularity: { type: 'string' }, ratio: { type: 'string' }, budget: { type: 'string' }, bits: { type: 'string' }, decompose: { type: 'boolean' }, 'decompose-method': { type: 'string' },
  nm: { type: 'string' }, schedule: { type: 'string' }, kd: { type: 'boolean' }, 'kd-features': { type: 'boolean' }, temperature: { type: 'string' }, alpha: { type: 'string' },
  'compare-uniform': { type: 'boolean' }, sweep: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, 'restore-bn': { type: 'string' },
  'sparse-train': { type: 'string' }, reg: { type: 'string' }, 'reg-mode': { type: 'string' }, lambda: { type: 'string' }, 'lambda-grow': { type: 'string' }, 'checkpoint-every': { type: 'string' }, 'round-to': { type: 'string' },
};

export const PRUNE_HELP: Record<string, string> = {
  ...MODEL_HELP, ...DATA_HELP, ...ACCEL_HELP, ...TRAINING_HELP,
  '--criterion C': `channel importance: ${Object.keys(criteria).join(', ')} (default l1; after --sparse-train group-norm, or bn-scale for slimming)`,
  '--granularity G': 'channel (default), unstructured or nm',
  '--ratio R': 'fraction of channels (or weights) to remove, in [0, 1)',
  '--round-to N': 'keep a multiple of N channels in each group (or all of them): the hardware\'s step, e.g. 16 for a CPU\'s 16-lane vectors or an array\'s columns',
  '--budget B': 'latency=0.5 (fraction of dense), latency=0.1ms, energy=3uJ, dram=200kB, macs=..., params=...',
  '--decompose': 'plan layer splits (SVD, Tucker-2 or CP) with the channels against the budget: each layer pruned, split or both (--decompose-method auto|svd|tucker2|cp)',
  '--bits W,W': 'mixed precision: plan each layer\'s width from these (e.g. 4,8) with the channels against the budget, then prune and fine-tune the quantized model (QAT)',
  '--nm N:M': 'N:M sparsity pattern (granularity nm), e.g. 2:4',
  '--schedule S': 'one-shot (default), iterative:N, agp:N (ratios); iterative:N shrinks a budget in N steps',
  '--kd': 'distil from the dense model while fine-tuning (--temperature 4, --alpha 0.7)',
  '--kd-features': 'while distilling (--kd, or on images without labels), also match the maps where channel groups meet (residual adds, concats) to the dense model\'s, by mean squared error',
  '--compare-uniform': 'also prune uniformly to the same budget, fine-tuned the same way',
  '--restore-bn M': 'auto (default: on for an ONNX model without batch norms, as an eval-mode export leaves it), on or off: give convolutions whose batch norm the export folded one back for fine-tuning (identity at first), folded back afterwards',
  '--sweep F,F,...': 'budget fractions to sweep (accelerator-aware and uniform): the Pareto front',
  '--sparse-train N': 'first N steps (or Nep epochs) of sparse training (structured sparsity learning) with the fine-tuning options',
  '--reg R': 'its penalty: group-lasso (default; channels of dependency groups), slimming (batch-norm scales), filter-shape (kernel positions), depth (residual blocks)',
  '--reg-mode M': 'proximal (default: after each optimizer step a structure shrinks by lr*λ in norm, stopping at exactly 0) or gradient (λ w/‖w_s‖ added to the gradient)',
  '--lambda X': 'the penalty weight λ (proximal: a structure shrinks by lr*λ in norm per step); constant unless --lambda-grow. Default: automatic — λ from the norms (the median structure to remove would empty within the phase), growing x2 every tenth of the phase until those structures are near zero',
  '--lambda-grow F:N': 'growing regularisation: penalise only the share of structures the pruning removes (smallest norms), λ times F every N steps until they are near zero',
  '--out DIR': 'where pruned.onnx, pruned.safetensors, report.json and report.html go (default out/)',
  '--resume': 'continue the run stopped with Ctrl-C in --out',
  '--checkpoint-every N': 'also save the run in --out/resume.safetensors every N fine-tuning steps, so that a killed run (a node lost, a pod evicted) continues with --resume',
};

/** The flags of the choices not spelt `--` and their key. */
const PRUNE_FLAGS: Partial<Record<keyof PruneChoices, string>> = { compareUniform: '--compare-uniform', sparse: '--sparse-train', roundTo: '--round-to' };

/** --kd-features: the distillation also matches the maps where channel groups meet; refused without distillation or such maps. */
function withFeatures(kd: Distillation | undefined, features: boolean, spec: ModelSpec): Distillation | undefined {
  if (!features) return kd;
  if (!kd) throw new UsageError('--kd-features matches intermediate maps while distilling: add --kd (images without labels distil by default)');
  const nodes = featureBoundaries(spec);
  if (!nodes.length) throw new UsageError(`--kd-features: model '${spec.name}' has no residual add or concat whose maps could be matched`);
  return { ...kd, features: nodes };
}

/** What a prune without data (--data none) cannot do is refused, naming the options (runPrune's check, in flags, then the data and fine-tuning flags). */
function refuseWithoutData(v: Values, criterion: string, restoreBn: string): void {
  const flags = { criterion: `--criterion ${criterion}`, sparse: '--sparse-train', kd: '--kd', restoreBatchNorm: '--restore-bn on' };
  const needData = [
    ...needsData({ criterion, sparse: v['sparse-train'], kd: v.kd, restoreBatchNorm: restoreBn === 'on' }, (k) => flags[k]),
    ...['images', 'labels', 'test-images', 'test-labels', 'train-limit', 'test-limit', 'normalize', 'input-size', 'strict', 'augment', 'masks', 'test-masks', 'temperature', 'alpha', 'kd-features',
      'epochs', 'lr', 'optimizer', 'batch-size', 'max-steps', 'max-seconds', 'bits', 'decompose'].filter((k) => v[k] !== undefined).map((k) => `--${k}`),
  ];
  if (needData.length) throw new UsageError(`--data none prunes without data (no fine-tuning, no evaluation); ${needData.join(', ')} ${needData.length > 1 ? 'need' : 'needs'} data`);
  const model = str(v, 'model');
  if (model !== undefined && zoo[model]) throw new UsageError(`--data none with --model ${model}: a zoo model is untrained; give a trained model file (.onnx, .safetensors) or data to train with`);
}

function parseSchedule(text: string | undefined): PruneSchedule | undefined {
  if (!text || text === 'one-shot') return text ? { kind: 'one-shot' } : undefined;
  const m = /^(iterative|agp):(\d+)$/.exec(text);
  if (!m || Number(m[2]) < 1) throw new UsageError(`--schedule must be one-shot, iterative:N or agp:N, got '${text}'`);
  return { kind: m[1] as 'iterative' | 'agp', steps: Number(m[2]) };
}


export async function pruneCommand(c: Context): Promise<number | void> {
  const outDir = str(c.values, 'out') ?? 'out';
  checkOutputDir('--out', outDir, RUN_OUTPUTS.prune);
  const resumeFile = join(outDir, 'resume.safetensors');
  let resume: RunResume | undefined;
  /** Stopped in the uniform baseline or the sweep: where, and the rows finished. */
  let laterAt: LaterState | undefined;
  let v = c.values;
  if (v.resume) {
    const r = await resumedRun<{ step: number; kept: [number, number[]][]; lambda?: number; sparsity?: SparsityReport; later?: { phase: string; done: LaterState['done'] } }>(resumeFile, v, 'prune', outDir);
    const { saved, info } = r;
    v = r.values;
    const readable = Number.isInteger(info.step) && Array.isArray(info.kept) && info.kept.every((e) => Array.isArray(e) && e.length === 2 && Number.isInteger(e[0]) && Array.isArray(e[1]) && e[1].every(Number.isInteger));
    if (!readable) throw new Error(`${resumeFile}: the stopped run's step and kept channels are not readable (was the file edited?); start a new run in another --out`);
    resume = { step: info.step, kept: new Map(info.kept), training: saved, lambda: info.lambda, sparsity: info.sparsity };
    if (info.later) {
      laterAt = { ...info.later, at: resume };
      resume = undefined;
    }
  }
  const granularity = oneOf(v, 'granularity', ['channel', 'unstructured', 'nm'] as const, 'channel') as Granularity;
  const sparse = sparseOptions(v);
  const criterion = str(v, 'criterion') ?? (sparse ? (sparse.run.kind === 'slimming' ? 'bn-scale' : 'group-norm') : 'l1');
  if (!criteria[criterion]) throw new UsageError(`--criterion '${criterion}': use one of ${Object.keys(criteria).join(', ')}`);
  const accel = loadAccelerator(str(v, 'accel'), DEFAULT_PRESET);
  const ratio = num(v, 'ratio');
  const budget = budgetOption(v, accel);
  let nm;
  if (v.nm !== undefined || granularity === 'nm') {
    const m = /^(\d+):(\d+)$/.exec(str(v, 'nm') ?? '2:4');
    if (!m || Number(m[1]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--nm must be N:M with 1 <= N < M, got '${str(v, 'nm')}'`);
    nm = { n: Number(m[1]), m: Number(m[2]) };
  }
  const schedule = parseSchedule(str(v, 'schedule'));
  const roundTo = num(v, 'round-to');
  const checkpointEvery = int(v, 'checkpoint-every');
  if (checkpointEvery === 0) throw new UsageError('--checkpoint-every must be a positive integer');
  const bits = str(v, 'bits')?.split(',').map((x) => {
    const b = Number(x);
    // The run ends in a QDQ ONNX file, whose integers are 8 bits at most (opset 13).
    if (!(Number.isInteger(b) && b >= 2 && b <= 8)) throw new UsageError(`--bits takes widths from 2 to 8 (the exported QDQ ONNX holds 8-bit integers at most), e.g. 4,8, got '${x}'`);
    return b;
  });
  const decomposeMethod = v.decompose ? oneOf(v, 'decompose-method', ['auto', 'svd', 'tucker2', 'cp'] as const, 'auto') as 'auto' | 'svd' | 'tucker2' | 'cp' : undefined;
  if (!v.decompose && v['decompose-method'] !== undefined) throw new UsageError('--decompose-method chooses the splits of --decompose: add --decompose');
  const sweep = str(v, 'sweep')?.split(',').map((x) => {
    const f = Number(x);
    if (!(f > 0 && f <= 1)) throw new UsageError(`--sweep takes fractions in (0, 1], got '${x}'`);
    return f;
  });
  // Combinations the run cannot honour are refused, not dropped: the same check runPrune makes, in flags.
  try {
    checkPruneChoices({ granularity, ratio, budget, nm, schedule, compareUniform: !!v['compare-uniform'], sweep, bits, decompose: decomposeMethod, sparse, roundTo }, (k) => PRUNE_FLAGS[k] ?? `--${k}`);
  } catch (e) {
    throw e instanceof OptionError ? new UsageError(e.message) : e;
  }
  const fineTune = trainOptions(v, 1);
  const kdGiven = kdOption(v);
  const restoreBn = oneOf(v, 'restore-bn', ['auto', 'on', 'off'] as const, 'auto');
  // --data none: a trained model pruned by a data-free criterion, without fine-tuning or evaluation.
  const noData = str(v, 'data') === 'none';
  if (noData) refuseWithoutData(v, criterion, restoreBn);
  const use = dataUse(c, v);
  const loaded = noData ? undefined : await loadData(dataValues(v), use);
  const { model, source } = await use.loadModel((loaded?.train.shape ?? [1, 28, 28]) as [number, number, number], loaded?.train.classes ?? 10);
  if (sparse) {
    // The penalty must fit the model (batch norms for slimming, residual blocks for depth) before any work.
    try {
      penaltyStructures(model.spec, channelGroups(model.spec), sparse.run.kind);
    } catch (e) {
      throw new UsageError(`--reg ${sparse.run.kind}: ${(e as Error).message.replace(/^sparse training( \([\w-]+\))?: /, '')}`);
    }
  }
  if (bits && model.spec.quantization) throw new UsageError(`${source}: the model is quantized already; --bits plans widths from a float model: give its float original`);
  const sets = loaded && dataForModel(model, str(v, 'normalize'), loaded.train, loaded.test);
  // auto: an imported ONNX model whose convolutions lost their batch norms to the export gets them back for fine-tuning.
  const restoreBatchNorm = !noData && (restoreBn === 'on' || (restoreBn === 'auto' && foldedExport(model, source)));
  const kd = withFeatures(distillationFor(kdGiven, sets?.[0]), v['kd-features'] === true, model.spec);
  const be = await backend(c);
  const data = await pruneData(be, model, sets as [Dataset, Dataset] | undefined);
  const { train: trainData, test } = data;
  // Sparse training given in epochs: steps of this data set and batch size (a run without data refuses it).
  if (sparse?.inEpochs) sparse.run.steps *= Math.max(1, Math.floor(trainData!.count / fineTune.batchSize));
  const mode = oneOf(v, 'mode', ['tiled', 'scalesim'] as const, 'tiled') as Mode;
  // Mixed precision or layer splits planned with the channels; the run then prunes that model (QAT where quantized) to the same budget.
  const planInputs = budget && { model, train: trainData!, test: test!, budget, costs: new CostModel(accel, { metric: budget.metric, mode, schedule: schedulerFor(be) }), criterion };
  const precision = bits && await planPrecision(be, { ...planInputs!, bits, onStep: (t: string) => c.progress.phase(`mixed precision: ${t}`) });
  const splits = decomposeMethod && await planSplits(be, { ...planInputs!, method: decomposeMethod, onStep: (t: string) => c.progress.phase(`pruning and decomposition: ${t}`) });
  const planned = precision || splits || undefined;
  // A run stopped after its pruned model continues from the pruned model and report it wrote then.
  const resumeLater: LaterResume | undefined = laterAt && { ...laterAt, ...(await writtenRun(outDir, (planned ? planned.model : model).spec)) };

  // --checkpoint-every: the run is saved as Ctrl-C saves it, every N fine-tuning steps (atomically; training waits for it).
  const onResumable = checkpointEvery
    ? (r: PruneResume) => saveCheckpoint(resumeFile, { ...r.training, info: { options: savedOptions(v), step: r.step, kept: [...r.kept] } })
    : undefined;
  const run = await runPruneWithFallback(be, {
    model: planned ? planned.model : model, modelSource: source, train: trainData, test, accelerator: accel, mode,
    criterion, granularity, ratio, roundTo, budget: planned ? planned.budget : budget, nm, schedule, sparse: sparse?.run,
    fineTune, kd, compareUniform: v['compare-uniform'] === true, sweep, seed: int(v, 'seed', 1)!, restoreBatchNorm,
    onPhase: (t) => c.progress.phase(t), onProgress: (p, phase) => c.progress.update(p, phase), onPlanProgress: (p) => c.progress.plan(p), shouldStop: () => c.stop.requested, resume, resumeLater,
    ...(checkpointEvery ? { checkpointEvery, onResumable } : {}),
  }, { onNotice: notice(c) });
  c.progress.clear();
  mkdirSync(outDir, { recursive: true });
  run.report.notes.unshift(...data.notes);
  if (precision) run.report.precision = precision.report;
  if (splits) run.report.splits = splits.report;
  const options = savedOptions(v);
  if (run.result.interrupted) {
    const i: RunResume = run.result.interrupted;
    await saveCheckpoint(resumeFile, { ...i.training, info: { options, step: i.step, kept: [...i.kept], ...(i.lambda !== undefined ? { lambda: i.lambda } : {}), ...(i.sparsity ? { sparsity: i.sparsity } : {}) } });
    output(c, { stopped: true, resume: resumeFile }, `stopped; the run is saved in ${resumeFile}. Continue with: wgprune prune --resume --out ${outDir}`);
    run.backend.destroy();
    return 130;
  }
  const files: Record<string, string> = { onnx: join(outDir, 'pruned.onnx'), checkpoint: join(outDir, 'pruned.safetensors'), json: join(outDir, 'report.json'), html: join(outDir, 'report.html') };
  const contents: Record<string, Uint8Array | string> = {
    'pruned.onnx': exportOnnx(run.pruned),
    'pruned.safetensors': encodeCheckpoint({
      model: run.pruned, optimizer: new Map(),
      info: {
        report: files.json,
        // Relative to the model channel pruning started from; where sparse training removed blocks or kernel positions first, the report lists them.
        ...(granularity === 'channel' ? { pruning: pruningHistory(run.start.spec, run.result.groups, run.result.kept) } : {}),
        ...(run.report.sparsity?.removed.length ? { removedBeforePruning: run.report.sparsity.removed } : {}),
      },
    }),
    'report.json': `${JSON.stringify(run.report, null, 2)}\n`,
    'report.html': renderHtml(run.report),
  };
  if (run.report.sweep) {
    // The Pareto front on its own too, for scripts and slides.
    Object.assign(files, { pareto: join(outDir, 'pareto.json'), paretoSvg: join(outDir, 'pareto.svg') });
    contents['pareto.json'] = `${JSON.stringify(run.report.sweep, null, 2)}\n`;
    contents['pareto.svg'] = paretoChart(run.report)!;
  }
  await writeOutputs(outDir, contents);
  const later = run.stoppedLater;
  if (later) await saveCheckpoint(resumeFile, { ...later.at.training, info: { options, step: later.at.step, kept: [...later.at.kept], later: { phase: later.phase, done: later.done } } });
  // A finished run leaves no resume state behind.
  else if (resume || resumeLater || checkpointEvery) await rm(resumeFile, { force: true });
  run.backend.destroy();
  const r = run.report;
  const reference = r.precision?.float ?? r.splits?.original ?? r.dense;
  const line = (name: string, s: typeof r.dense) => `${name.padEnd(9)} ${scoreText(s)}  params ${s.params}  MACs ${s.macs}  cycles ${s.cycles} (${s.latencyMs.toFixed(4)} ms)  energy ${s.energyUJ.toFixed(3)} uJ`;
  output(c, { files, report: r }, [
    ...(r.precision ? [line('float', r.precision.float), line('quantized', r.dense), `bits ${Object.entries(r.precision.bits).map(([l, b]) => `${l} ${b}`).join(', ')}`]
      : r.splits ? [line('original', r.splits.original), line('split', r.dense), `split ${Object.entries(r.splits.split).map(([l, k]) => `${l} (ranks ${k.join('/')})`).join(', ') || 'none: channel pruning alone'}`]
        : [line('dense', r.dense)]),
    line('pruned', r.pruned), ...(r.uniform ? [line(`uniform`, r.uniform)] : []),
    ...(r.budget ? [`budget ${r.budget.text} = ${Math.round(r.budget.value)} ${r.budget.unit}: ${r.budget.met ? 'met' : 'NOT met'}; latency ${(r.pruned.cycles / reference.cycles).toFixed(3)}x ${r.precision ? 'float' : r.splits ? 'original' : 'dense'}, energy ${(r.pruned.energyUJ / reference.energyUJ).toFixed(3)}x`] : []),
    ...r.notes.map((n) => `note: ${n}`),
    `backend ${r.backend}`,
    `wrote ${files.onnx}, ${files.checkpoint}, ${files.json}, ${files.html} (${r.seconds.total.toFixed(0)} s)`,
  ].join('\n'));
  if (r.stopped) {
    output(c, { stopped: true, resume: resumeFile }, `stopped; continue with: wgprune prune --resume --out ${outDir}`);
    return 130;
  }
}

/** --sparse-train N|Nep [--reg R] [--reg-mode M] [--lambda X] [--lambda-grow F:N], checked (epochs become steps once the data is known). */
function sparseOptions(v: Values): { run: NonNullable<PruneRunOptions['sparse']>; inEpochs: boolean } | undefined {
  const given = ['reg', 'reg-mode', 'lambda', 'lambda-grow'].filter((k) => v[k] !== undefined);
  if (v['sparse-train'] === undefined) {
    if (given.length) throw new UsageError(`${given.map((k) => `--${k}`).join(', ')} configure sparse training: add --sparse-train N`);
    return undefined;
  }
  const length = /^(\d+)(ep|epochs?)?$/.exec(String(v['sparse-train']));
  if (!length || Number(length[1]) < 1) throw new UsageError(`--sparse-train takes steps (300) or epochs (2ep), at least 1, got '${v['sparse-train']}'`);
  const steps = Number(length[1]);
  const kind = (str(v, 'reg') ?? 'group-lasso') as StructureKind;
  if (!STRUCTURE_KINDS.includes(kind)) throw new UsageError(`--reg '${kind}': use one of ${STRUCTURE_KINDS.join(', ')}`);
  const mode = oneOf(v, 'reg-mode', ['proximal', 'gradient'] as const, 'proximal') as 'proximal' | 'gradient';
  const lambda = num(v, 'lambda');
  if (lambda !== undefined && !(lambda > 0 && Number.isFinite(lambda))) throw new UsageError(`--lambda must be a finite number > 0, got ${lambda}`);
  const growText = str(v, 'lambda-grow');
  const m = growText === undefined ? undefined : /^([0-9.]+):(\d+)$/.exec(growText);
  if (growText !== undefined && (!m || !(Number(m[1]) > 1) || !(Number(m[2]) >= 1))) throw new UsageError(`--lambda-grow takes FACTOR:STEPS with FACTOR > 1, e.g. 2:50, got '${growText}'`);
  return { run: { steps, kind, mode, ...(lambda !== undefined ? { lambda } : {}), ...(m ? { grow: { factor: Number(m[1]), every: Number(m[2]) } } : {}) }, inEpochs: length[2] !== undefined };
}

/** The pruned model and report a run wrote when it stopped in its uniform baseline or sweep. */
async function writtenRun(outDir: string, original: ModelSpec): Promise<Pick<LaterResume, 'report' | 'pruned' | 'kept'>> {
  const [checkpoint, reportFile] = [join(outDir, 'pruned.safetensors'), join(outDir, 'report.json')];
  for (const f of [checkpoint, reportFile]) if (!existsSync(f)) throw new Error(`--resume: ${f}, written when the run stopped, is missing; start the run again`);
  const pruned = await loadCheckpoint(checkpoint);
  const history = pruned.info?.pruning as PruningHistory | undefined;
  if (!history) throw new Error(`--resume: ${checkpoint} has no pruning history; start the run again`);
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport;
  return { report, pruned: pruned.model, kept: keptFromHistory(original, history).kept };
}

