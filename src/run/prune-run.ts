// One pruning run as a user asks for it (CLI `prune`, `npm start`, the demo): prune (channels to a
// ratio or an accelerator budget, unstructured, or N:M), fine-tune (optionally distilled from the
// dense model), evaluate, simulate both models on the accelerator, and build the report. Optionally
// the uniform baseline at the same budget and a budget sweep (the Pareto front).
import { convsWithoutBatchNorm, foldRestored, restoreBatchNorms } from '../train/restore-bn.js';
import type { AcceleratorConfig } from '../accel/config.js';
import type { EvaluateOptions, Mode, ModelCost } from '../accel/cost.js';
import { modelWorkloads } from '../accel/model-workload.js';
import type { Backend } from '../backend.js';
import { type Dataset, nearChanceWarning } from '../data/dataset.js';
import { type Model, paramList, parameterCount } from '../model/model.js';
import {
  type Budget, type BudgetPruneOptions, CostModel, LayerTables, METRIC_UNITS, absoluteBudget, budgetText, pruneToBudget, pruneUniformToBudget, uniformRatioForBudget,
} from '../plan/index.js';
import { channelGroups } from '../prune/dependency.js';
import type { KeptChannels } from '../prune/compact.js';
import type { ModelSpec } from '../model/graph.js';
import { type ChannelPruneResult, type PruneResume, type PruneSchedule, pruneChannels } from '../prune/prune.js';
import { pruneReport } from '../prune/report.js';
import { nmMasks, prunableWeights } from '../prune/sparsity.js';
import { unstructuredMasksOnDevice } from '../prune/threshold.js';
import { type LayerRow, type ModelSummary, type RunReport, type SparsityReport, type Staircase, type SweepPoint, summarize } from '../report/report.js';
import { NEAR_ZERO, autoGrowth, removeEmptied, sparseTrain } from '../prune/regularize.js';
import type { StructureKind } from '../prune/structures.js';
import { type Progress, type TrainOptions, train } from '../train/trainer.js';
import { evaluateModel } from '../train/evaluate.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { checkPruneChoices, needsData } from './prune-options.js';

export type Granularity = 'channel' | 'unstructured' | 'nm';

/** What every run starts from: the model, the data, the accelerator and how it is simulated. */
export interface RunInputs {
  model: Model;
  modelSource: string;
  train: Dataset;
  test: Dataset;
  accelerator: AcceleratorConfig;
  mode?: Mode;
  scheduler?: EvaluateOptions['schedule'];
}

export interface PruneRunOptions extends Omit<RunInputs, 'train' | 'test'> {
  /** Without data (both absent) the run prunes by a data-free criterion and neither fine-tunes nor evaluates. */
  train?: Dataset;
  test?: Dataset;
  criterion: string;
  granularity: Granularity;
  /** Channel or unstructured ratio (fraction removed). */
  ratio?: number;
  /** Channel pruning to an accelerator budget. */
  budget?: Budget;
  nm?: { n: number; m: number };
  /** Channel pruning keeps a multiple of this many channels per group (or all): a CPU's vector width, an array's columns. */
  roundTo?: number;
  /** Ratio schedules; for budgets, iterative:N shrinks the budget in N steps. */
  schedule?: PruneSchedule;
  fineTune: TrainOptions;
  /** Distillation from the dense model while fine-tuning. */
  kd?: { temperature: number; alpha: number };
  compareUniform?: boolean;
  /** Budget fractions to sweep (accelerator-aware and uniform at each). */
  sweep?: number[];
  seed: number;
  onPhase?: (text: string) => void;
  onProgress?: (p: Progress, phase: string) => void;
  /** Budget planning: the phase and the share of the way from the start's cost to the budget. */
  onPlanProgress?: (p: { phase: string; fraction: number }) => void;
  shouldStop?: () => boolean;
  /**
   * Sparse training before pruning (structured sparsity learning): its steps, penalty and λ, growing by
   * `factor` every `every` steps until the run's share of structures is near zero. Without λ and growth
   * both are automatic (autoLambda, autoGrowth); with λ alone it stays constant.
   */
  sparse?: { steps: number; kind: StructureKind; mode?: 'proximal' | 'gradient'; lambda?: number; grow?: { every: number; factor: number } };
  resume?: RunResume;
  /**
   * Give convolutions without a batch norm one for fine-tuning (a PyTorch export folded them), folded
   * back afterwards (train/restore-bn.ts).
   */
  restoreBatchNorm?: boolean;
  /** Continue a run stopped in its uniform baseline or sweep (PruneRunResult.stoppedLater and what it wrote). */
  resumeLater?: LaterResume;
  /** Channel pruning: receives a resumable state every `checkpointEvery` fine-tuning steps. */
  onResumable?: (r: PruneResume) => void | Promise<void>;
  checkpointEvery?: number;
}

/** Where a stopped run was; `step` -1 is sparse training (then `lambda` is its λ), `sparsity` its report once done. */
export interface RunResume extends PruneResume { lambda?: number; sparsity?: SparsityReport }

export interface PruneRunResult {
  result: ChannelPruneResult;
  /** The model channel pruning started from: the dense one, or after sparse training (its architecture if blocks or kernel positions went). */
  start: Model;
  /** Set when the user stopped the uniform baseline or the sweep: pass it back (with the report and pruned model) as `resumeLater`. */
  stoppedLater?: LaterState;
  report: RunReport;
  /** The model to export: compacted for channel pruning, masked otherwise. */
  pruned: Model;
}

const now = () => performance.now();

async function simulate(costs: CostModel, m: Model, sparsity?: { n: number; m: number }): Promise<ModelCost> {
  return costs.evaluate(modelWorkloads(m.spec).map((l) => (sparsity ? { ...l, sparsity } : l)));
}

function budgetOptions(o: PruneRunOptions, costs: CostModel, budget: Budget, phase: string): BudgetPruneOptions {
  return {
    criterion: o.criterion, budget, accelerator: o.accelerator, mode: o.mode, schedule: o.scheduler, seed: o.seed, costs, roundTo: o.roundTo,
    onPlanProgress: o.onPlanProgress && ((p) => o.onPlanProgress!({ ...p, phase: `${phase === 'fine-tune' ? 'planning' : `planning (${phase.replace(/^fine-tune \(|\)$/g, '')})`}: ${p.phase}` })),
    steps: o.schedule?.kind === 'iterative' ? o.schedule.steps : 1,
    fineTune: fineTuneOf(o, phase), resume: o.resume, onResumable: o.onResumable,
  };
}

function fineTuneOf(o: PruneRunOptions, phase: string) {
  if (!o.train || o.fineTune.epochs === 0 || o.fineTune.maxSteps === 0) return undefined;
  return {
    data: o.train, options: { ...o.fineTune, distill: o.kd }, teacher: o.kd ? o.model : undefined,
    hooks: { onProgress: (p: Progress) => o.onProgress?.(p, phase), shouldStop: o.shouldStop, checkpointEvery: o.checkpointEvery },
  };
}

/** The cycles of one layer as its output channels vary, the others as in the pruned model. */
async function staircases(session: CostModel, r: ChannelPruneResult, dense: ModelCost, spec: ModelSpec, count = 3): Promise<Staircase[]> {
  const tables = new LayerTables(spec, r.groups, session.withMetric('latency'));
  const counts = new Map([...r.kept].map(([id, k]) => [id, k.length]));
  const out: Staircase[] = [];
  const top = [...dense.layers].sort((a, b) => b.cycles - a.cycles);
  for (const layer of top) {
    if (out.length >= count) break;
    const g = r.groups.find((x) => x.prunable && x.producers.includes(layer.name));
    const i = tables.layers.findIndex((l) => l.workload.name === layer.name);
    if (!g || i < 0) continue;
    const shapes = Array.from({ length: g.channels }, (_, k) => tables.shape(i, counts, g.id, k + 1));
    await tables.prefetch(shapes);
    out.push({ layer: layer.name, keptOut: shapes.map((_, k) => k + 1), cycles: shapes.map((sh) => tables.cost(sh)), cut: counts.get(g.id) ?? g.channels, full: g.channels });
  }
  return out;
}

/** Per layer of the dense model: before and after (a layer sparse training removed has zeros after). */
function layerRows(dense: Model, pruned: Model, d: ModelCost, p: ModelCost): LayerRow[] {
  const outChannels = (m: Model, name: string) => {
    const n = m.spec.nodes.find((x) => x.name === name);
    return n?.op === 'conv2d' ? n.outChannels : n?.op === 'linear' ? n.outFeatures : 0;
  };
  const after = new Map(p.layers.map((l) => [l.name, l]));
  return d.layers.map((l) => {
    const q = after.get(l.name);
    return {
      name: l.name, channelsBefore: outChannels(dense, l.name), channelsAfter: outChannels(pruned, l.name),
      paramsBefore: l.gemm.K * l.gemm.M * l.gemm.repeats, paramsAfter: q ? q.gemm.K * q.gemm.M * q.gemm.repeats : 0,
      cyclesBefore: l.cycles, cyclesAfter: q?.cycles ?? 0, energyBeforePJ: l.energy.total, energyAfterPJ: q?.energy.total ?? 0,
    };
  });
}

/** A run stopped in a phase after its pruned model: the rows finished and where the phase stopped. */
export interface LaterState {
  /** Finished rows by phase: 'uniform', 'sweep F aware', 'sweep F uniform'. */
  done: Record<string, LaterRow>;
  /** The phase that stopped, and its fine-tuning state (pass back to continue there). */
  phase: string;
  at: PruneResume;
}
type LaterRow = ModelSummary & { ratio?: number };

/** Continue a run stopped after its pruned model: the report and pruned model written at the stop, and the state. */
export interface LaterResume extends LaterState { report: RunReport; pruned: Model; kept: KeptChannels }

/** The phases after the pruned model, in order. */
function laterPhases(o: PruneRunOptions): string[] {
  const ids = o.compareUniform && o.budget ? ['uniform'] : [];
  if (o.granularity === 'channel') for (const f of o.sweep ?? []) ids.push(`sweep ${f} aware`, `sweep ${f} uniform`);
  return ids;
}

const phaseText = (o: PruneRunOptions, id: string) => {
  const [kind, f, side] = id.split(' ');
  return kind === 'uniform' ? 'the uniform baseline at the same budget' : `the sweep at ${o.budget?.metric ?? 'latency'}=${f} (${side === 'aware' ? 'accelerator-aware' : 'uniform'})`;
};

/** Runs one later phase (from its stopped state, if given). */
function runLaterPhase(be: Backend, o: PruneRunOptions, costs: CostModel, id: string, resume?: PruneResume) {
  const [kind, f, side] = id.split(' ');
  const budget = kind === 'uniform' ? o.budget! : ({ metric: o.budget?.metric ?? 'latency', fraction: Number(f) } as Budget);
  const label = kind === 'uniform' ? 'fine-tune (uniform)' : `sweep ${f}${side === 'uniform' ? ' uniform' : ''}`;
  const options = { ...budgetOptions(o, costs, budget, label), resume, onResumable: undefined };
  return kind === 'uniform' || side === 'uniform' ? pruneUniformToBudget(be, o.model, options) : pruneToBudget(be, o.model, options);
}

/** The pruned model's part of a run: dense and pruned models evaluated and simulated, layers, staircases. */
interface MainPart { result: ChannelPruneResult; pruned: Model; report: RunReport; /** The model pruning started from (sparse-trained, blocks removed). */ start?: Model }

/** Loss and score on the run's test set (against the dense model's outputs where it has no labels), or undefined in a run without data. */
const evaluateOn = (be: Backend, m: Model, o: PruneRunOptions, shouldStop?: () => boolean) => (o.test ? evaluateModel(be, m, o.test, { shouldStop, reference: o.model }) : undefined);

export async function runPrune(be: Backend, o: PruneRunOptions): Promise<PruneRunResult> {
  if (!o.train !== !o.test) throw new Error('prune: give both a training and a test set, or neither (a run without data)');
  if (!o.train) {
    // Without data nothing is fine-tuned, evaluated or learnt; what needs data is refused, not dropped.
    const needs = needsData(o, (k) => ({ criterion: `the ${o.criterion} criterion`, sparse: 'sparse training', kd: 'distillation', restoreBatchNorm: 'restoring batch norms' })[k]);
    if (needs.length) throw new Error(`prune: ${needs.join(', ')} ${needs.length > 1 ? 'need' : 'needs'} data; a run without data prunes by a data-free criterion (l1, l2, fpgm, bn-scale, group-norm, random)`);
  }
  const convs = o.restoreBatchNorm ? convsWithoutBatchNorm(o.model.spec) : [];
  if (!convs.length) return runPruneOn(be, o);
  o.onPhase?.(`restoring batch norms after ${convs.length} convolutions for fine-tuning (folded back into them afterwards)`);
  const r = await runPruneOn(be, { ...o, model: await restoreBatchNorms(be, o.model, o.train!, convs) });
  const note = `batch norms restored after ${convs.length} convolutions without one for fine-tuning (identity on the training data at first), folded back into them in the pruned model`;
  return { ...r, report: { ...r.report, notes: [note, ...r.report.notes] } };
}

async function runPruneOn(be: Backend, o: PruneRunOptions): Promise<PruneRunResult> {
  const t0 = now();
  checkPruneChoices(o);

  // One cost session for the run: every layer shape is scheduled once, whichever phase asks first.
  const costs = new CostModel(o.accelerator, { metric: o.budget?.metric ?? 'latency', mode: o.mode, schedule: o.scheduler });
  const later = o.resumeLater;
  const main: MainPart = later
    ? { result: { groups: channelGroups(o.model.spec), kept: later.kept, masked: later.pruned, compact: later.pruned, report: pruneReport(o.model, later.pruned) }, pruned: later.pruned, report: later.report }
    : await mainPart(be, o, costs);
  const { result, pruned } = main;

  // The rows after the pruned model, each a phase; a stopped one leaves the run resumable from there.
  const done: Record<string, LaterRow> = { ...later?.done };
  let stopped: LaterState | undefined;
  const tLater = now();
  if (!result.interrupted) {
    for (const id of laterPhases(o).filter((x) => !done[x])) {
      o.onPhase?.(phaseText(o, id));
      const r = await runLaterPhase(be, o, costs, id, id === later?.phase ? later.at : undefined);
      if (r.interrupted) {
        stopped = { done, phase: id, at: r.interrupted };
        break;
      }
      done[id] = { ...summarize(r.prunedCost, parameterCount(foldRestored(r.compact)), await evaluateOn(be, r.compact, o)), ...(r.uniformRatio !== undefined ? { ratio: r.uniformRatio } : {}) };
    }
  }
  const uniform = done.uniform as RunReport['uniform'];
  const sweep = o.sweep?.length && o.granularity === 'channel' && !result.interrupted
    ? o.sweep.filter((f) => done[`sweep ${f} uniform`]).map((fraction) => ({ fraction, aware: done[`sweep ${fraction} aware`], uniform: done[`sweep ${fraction} uniform`] as SweepPoint['uniform'] }))
    : undefined;
  const stoppedText = stopped && `stopped during ${phaseText(o, stopped.phase)}: its rows are missing (--resume continues the run)`;
  const base = main.report;
  const report: RunReport = {
    ...base, uniform, sweep, stopped: stoppedText,
    notes: [...(stoppedText ? [stoppedText] : []), ...base.notes.filter((n) => n !== base.stopped)],
    seconds: { ...base.seconds, ...(laterPhases(o).length ? { later: (base.seconds.later ?? 0) + (now() - tLater) / 1000 } : {}), total: (later ? base.seconds.total : 0) + (now() - t0) / 1000 },
  };
  if (!stoppedText) delete report.stopped;
  if (!uniform) delete report.uniform;
  if (!sweep) delete report.sweep;
  return { result, report, pruned, start: main.start ?? o.model, ...(stopped ? { stoppedLater: stopped } : {}) };
}

async function mainPart(be: Backend, o: PruneRunOptions, costs: CostModel): Promise<MainPart> {
  const seconds: Record<string, number> = {};
  const t0 = now();
  const dense = o.model;
  const notes: string[] = [];
  if (o.test) o.onPhase?.('evaluating the dense model');
  else notes.push(`no data: pruned by the ${o.criterion} criterion alone, without fine-tuning, and no model evaluated (accuracies are not measured)`);
  const denseAccuracy = await evaluateOn(be, dense, o, o.shouldStop); // nothing done yet: a stop ends the run
  const denseCost = await simulate(costs, dense);
  seconds.dense = (now() - t0) / 1000;

  let result: ChannelPruneResult;
  let pruned: Model;
  let budgetInfo: RunReport['budget'];
  const t1 = now();
  // Sparse training first: pruning starts from its model (a resumed run past it, from the checkpoint's architecture).
  const sparse = o.sparse && (o.resume?.step ?? -1) < 0 ? await sparsePhase(be, o, costs) : undefined;
  const sparsity = sparse?.report ?? o.resume?.sparsity;
  if (sparsity?.warning) notes.push(sparsity.warning);
  const start = sparse?.model ?? (o.sparse && o.resume ? { ...o.resume.training.model, masks: new Map() } : dense);
  if (sparse) seconds.sparse = (now() - t1) / 1000;
  if (sparse?.interrupted) {
    result = { groups: channelGroups(dense.spec), kept: new Map(), masked: dense, compact: dense, report: pruneReport(dense, dense), interrupted: sparse.interrupted };
    pruned = dense;
  } else if (o.granularity === 'channel' && o.budget) {
    o.onPhase?.(`pruning to ${budgetText(o.budget)} on ${o.accelerator.name}`);
    const r = await pruneToBudget(be, start, budgetOptions(o, costs, o.budget, 'fine-tune'));
    result = r;
    pruned = r.compact;
    budgetInfo = { text: budgetText(o.budget), metric: o.budget.metric, value: r.budget, unit: METRIC_UNITS[o.budget.metric], met: r.cost <= r.budget };
  } else if (o.granularity === 'channel') {
    o.onPhase?.(`pruning ${Math.round(100 * o.ratio!)}% of the channels`);
    result = await pruneChannels(be, start, { criterion: o.criterion, ratio: o.ratio!, roundTo: o.roundTo, schedule: o.schedule, fineTune: fineTuneOf(o, 'fine-tune'), seed: o.seed, resume: o.resume, onResumable: o.onResumable });
    pruned = result.compact;
  } else {
    // A resumed run continues the stopped fine-tune of the masked model (its masks are in the checkpoint).
    const resumed = o.resume?.training;
    let masked: Model;
    if (resumed) masked = resumed.model;
    else if (o.granularity === 'nm') {
      // N:M runs along input channels: layers whose input channels are not a multiple of M stay dense.
      const shapes = new Map(paramList(start.spec).map((p) => [p.name, p.shape]));
      const [fits, skipped] = [prunableWeights(start), prunableWeights(start)].map((l, i) => l.filter((w) => (shapes.get(w)![1] % o.nm!.m === 0) === (i === 0)));
      if (skipped.length) notes.push(`${o.nm!.n}:${o.nm!.m} sparsity skips ${skipped.join(', ')}: input channels not a multiple of ${o.nm!.m}`);
      masked = nmMasks(start, o.nm!.n, o.nm!.m, { layers: fits });
    } else {
      masked = await unstructuredMasksOnDevice(be, start, o.ratio!, { global: true });
    }
    o.onPhase?.(o.granularity === 'nm' ? `${o.nm!.n}:${o.nm!.m} sparsity` : `unstructured sparsity ${o.ratio}`);
    const ft = fineTuneOf(o, 'fine-tune');
    let tuned = masked;
    let interrupted: ChannelPruneResult['interrupted'];
    if (ft) {
      const onCheckpoint = o.onResumable && ((c: Checkpoint) => o.onResumable!({ step: 0, kept: new Map(), training: c }));
      const run = await train(be, masked, ft.data, ft.options, { teacher: ft.teacher, ...ft.hooks, onCheckpoint, resume: resumed });
      tuned = run.model;
      if (run.stopped) interrupted = { step: 0, kept: new Map(), training: run.checkpoint };
    }
    pruned = tuned;
    result = { groups: channelGroups(start.spec), kept: new Map(), masked: tuned, compact: tuned, report: pruneReport(start, tuned), interrupted };
    if (o.granularity === 'unstructured') notes.push('unstructured sparsity removes no whole rows or columns of the GEMMs: a dense systolic array runs the model as fast as the dense one');
  }
  seconds.prune = (now() - t1) / 1000;
  // Batch norms restored for fine-tuning go back into their convolutions: the model exported and costed is a plain one.
  pruned = foldRestored(pruned);

  if (o.test) o.onPhase?.('evaluating the pruned model');
  const prunedAccuracy = result.interrupted ? undefined : await evaluateOn(be, pruned, o);
  const prunedCost = await simulate(costs, pruned, o.granularity === 'nm' ? o.nm : undefined);
  if (o.granularity === 'nm' && !o.accelerator.sparsity) notes.push(`${o.accelerator.name} has no N:M sparsity support: the ${o.nm!.n}:${o.nm!.m} model runs at dense speed there`);

  const report: RunReport = {
    tool: 'wgprune', createdAt: new Date().toISOString(),
    model: { name: dense.spec.name, source: o.modelSource },
    data: o.test ? { train: o.train!.name, test: o.test.name, testCount: o.test.count, normalization: o.test.normalization } : { train: 'none', test: 'none', testCount: 0 },
    accelerator: { name: o.accelerator.name, rows: o.accelerator.rows, cols: o.accelerator.cols, dataflow: o.accelerator.dataflow, clockMHz: o.accelerator.clockMHz, source: o.accelerator.source },
    method: {
      granularity: o.granularity, criterion: o.criterion, ...(o.ratio !== undefined ? { ratio: o.ratio } : {}), ...(o.roundTo ? { roundTo: o.roundTo } : {}), ...(o.nm ? { nm: `${o.nm.n}:${o.nm.m}` } : {}),
      schedule: o.schedule ?? { kind: 'one-shot' }, fineTune: fineTuneOf(o, 'fine-tune') ? o.fineTune : false, distillation: o.kd ?? false, mode: o.mode ?? 'tiled',
    },
    budget: budgetInfo,
    dense: summarize(denseCost, parameterCount(foldRestored(dense)), denseAccuracy),
    pruned: summarize(prunedCost, parameterCount(pruned, true), prunedAccuracy),
    layers: layerRows(dense, pruned, denseCost, prunedCost),
    staircases: o.granularity === 'channel' && !result.interrupted ? await staircases(costs, result, await simulate(costs, start), start.spec) : [],
    ...(sparsity ? { sparsity } : {}),
    notes: [...result.report.notes, ...notes, ...[denseAccuracy?.metric === 'top-1' && nearChanceWarning(denseAccuracy.accuracy, dense.spec.classes, o.test!)].filter((w) => w).map((w) => `the dense model's ${w}`)],
    seconds,
  };
  return { result: sparsity && result.interrupted ? { ...result, interrupted: { ...result.interrupted, sparsity } as RunResume } : result, report, pruned, start };
}

/** Sparse training, then (depth, filter shape) the emptied blocks and kernel positions removed; a stop returns a resumable state. */
async function sparsePhase(be: Backend, o: PruneRunOptions, costs: CostModel): Promise<{ model: Model; report?: SparsityReport; interrupted?: RunResume }> {
  const sp = o.sparse!;
  const dense = o.model;
  // Growing λ stops once the share of structures the pruning will remove is near zero (the budget's uniform ratio stands for it).
  const target = o.ratio ?? (o.budget ? await uniformRatioForBudget(dense.spec, costs, await absoluteBudget(o.budget, dense.spec, costs)) : 0.5); // the run's session is under the budget's metric
  const grow = sp.grow ?? (sp.lambda === undefined ? autoGrowth(sp.steps) : undefined);
  o.onPhase?.(`sparse training: ${sp.kind} (${sp.mode ?? 'proximal'}), λ ${sp.lambda ?? 'automatic (from the norms)'}${grow ? ` growing x${grow.factor} every ${grow.every} steps until ${Math.round(100 * target)}% of the structures are near zero` : ''}, ${sp.steps} steps`);
  const data = { train: o.train!, test: o.test! }; // a run without data refuses sparse training (runPrune)
  const options = { ...o.fineTune, epochs: Math.ceil((sp.steps * o.fineTune.batchSize) / data.train.count) + 1, maxSteps: sp.steps };
  const resume = o.resume?.step === -1 ? o.resume : undefined;
  const s = await sparseTrain(be, dense, channelGroups(dense.spec), data.train, options, { kind: sp.kind, mode: sp.mode, lambda: sp.lambda, steps: sp.steps, ...(grow ? { grow: { ...grow, target } } : {}) }, {
    resume: resume?.training, lambda: resume?.lambda, shouldStop: o.shouldStop, onProgress: (p) => o.onProgress?.(p, 'sparse training'),
  });
  if (s.stopped) return { model: dense, interrupted: { step: -1, kept: new Map(), training: s.stopped, lambda: s.lambda } };
  const ref = s.penalty.reference!;
  // The phase is there to empty what the pruning removes: say so when it did not (λ too small or too few steps).
  const short = s.reached.nearZero < 0.9 * s.reached.penalised;
  const warning = short ? `sparse training ended with ${s.reached.nearZero} of the ${s.reached.penalised} structures it aimed at near zero (λ ${s.lambda.toPrecision(3)} at the end): pruning will cut structures still in use; give more steps (--sparse-train), a larger --lambda or --lambda-grow` : undefined;
  const { model, removed } = removeEmptied(s.model, s.penalty.structures, (i) => s.after[i] <= NEAR_ZERO * ref);
  // What removing blocks or kernel positions buys on the accelerator, before any channel is pruned.
  const cycles = removed.length ? { before: (await simulate(costs, s.model)).total.cycles, after: (await simulate(costs, model)).total.cycles } : undefined;
  const report: SparsityReport = {
    kind: sp.kind, mode: sp.mode ?? 'proximal', steps: sp.steps, lambda: sp.lambda ?? s.startLambda ?? s.lambda, lambdaChosen: sp.lambda === undefined ? 'auto' : 'given', finalLambda: s.lambda, reached: s.reached,
    accuracy: (await evaluateModel(be, model, data.test, { reference: dense })).accuracy,
    before: [...s.before], after: [...s.after], nearZeroBelow: NEAR_ZERO * ref, nearZero: s.nearZero, removed, ...(cycles ? { cycles } : {}), ...(warning ? { warning } : {}),
  };
  return { model, report };
}

