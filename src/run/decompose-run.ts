// One decomposition run (CLI `decompose`): ranks by kept energy, by VBMF or planned to an accelerator budget,
// the decomposition, fine-tuning (optionally distilled from the original model; resumable), evaluation,
// both models simulated on the accelerator, and the report.
import type { ModelCost } from '../accel/cost.js';
import { modelWorkloads } from '../accel/model-workload.js';
import type { Backend } from '../backend.js';
import { type DecomposableLayer, type Ranks, decompose, decomposableLayers, decomposedSpec, layerSpectra, partNames, ranksForEnergy, ranksForVbmf } from '../decompose/decompose.js';
import { type Model, parameterCount } from '../model/model.js';
import { type Budget, CostModel, absoluteBudget, budgetText, planRanks } from '../plan/index.js';
import type { DecomposeReport, DecomposedLayerRow } from '../report/decompose-report.js';
import { summarize } from '../report/report.js';
import type { Checkpoint } from '../train/checkpoint.js';
import type { RunInputs } from './prune-run.js';
import { type Progress, type TrainOptions, train } from '../train/trainer.js';
import { evaluateModel } from '../train/evaluate.js';

export interface DecomposeRunOptions extends RunInputs {
  /** Which layers: svd (linear and 1×1 convs), tucker2 or cp (K×K convs), or svd and tucker2 (auto). */
  method: 'auto' | 'svd' | 'tucker2' | 'cp';
  /** How ranks are chosen (exactly one): keeping this share of each spectrum's energy, by empirical VBMF, or planned to a budget. */
  keepEnergy?: number;
  vbmf?: boolean;
  budget?: Budget;
  fineTune: TrainOptions;
  kd?: { temperature: number; alpha: number };
  onPhase?: (text: string) => void;
  onProgress?: (p: Progress) => void;
  shouldStop?: () => boolean;
  /** Continue the stopped fine-tuning (its checkpoint holds the decomposed model). */
  resume?: Checkpoint;
}

export interface DecomposeRunResult { model: Model; report: DecomposeReport; /** Set when fine-tuning was stopped: pass it back as `resume`. */ interrupted?: Checkpoint }

const now = () => performance.now();

/** Cycles and MACs of a layer of the original model: its own, or the sum of the parts it became. */
function layerCost(cost: ModelCost, name: string): { cycles: number; macs: number } {
  const names = partNames(name);
  const parts = cost.layers.filter((l) => names.includes(l.name));
  return { cycles: parts.reduce((s, l) => s + l.cycles, 0), macs: parts.reduce((s, l) => s + l.macs, 0) };
}

export async function runDecompose(be: Backend, o: DecomposeRunOptions): Promise<DecomposeRunResult> {
  const t0 = now();
  if ([o.keepEnergy !== undefined, !!o.vbmf, o.budget !== undefined].filter(Boolean).length !== 1) throw new Error('decompose: give one of a kept energy, vbmf or a budget');
  if (o.keepEnergy !== undefined && !(o.keepEnergy > 0 && o.keepEnergy <= 1)) throw new Error(`decompose: the kept energy must be in (0, 1], got ${o.keepEnergy}`);
  const dense = o.model;
  const costs = new CostModel(o.accelerator, { metric: o.budget?.metric ?? 'latency', mode: o.mode, schedule: o.scheduler });
  const conv = o.method === 'cp' ? 'cp' : 'tucker2';
  const found = decomposableLayers(dense.spec, conv);
  const layers = found.layers.filter((l: DecomposableLayer) => o.method === 'auto' || l.method === o.method);
  const notes = [...found.skipped];
  if (!layers.length) throw new Error(`decompose: model '${dense.spec.name}' has no layer ${o.method === 'auto' ? '' : `for ${o.method} `}to decompose`);

  o.onPhase?.('evaluating the original model');
  const denseAccuracy = await evaluateModel(be, dense, o.test, { shouldStop: o.shouldStop, reference: dense }); // nothing done yet: a stop ends the run
  const denseCost = await costs.evaluate(modelWorkloads(dense.spec));
  o.onPhase?.(o.budget ? `planning ranks to ${budgetText(o.budget)} on ${o.accelerator.name}` : o.vbmf ? 'ranks by VBMF' : `ranks keeping ${o.keepEnergy} of the energy`);
  let ranks: Ranks;
  let budgetValue: number | undefined;
  if (o.budget) {
    budgetValue = await absoluteBudget(o.budget, dense.spec, costs);
    ranks = (await planRanks(dense, layers, costs, budgetValue, { arrayWidth: Math.min(o.accelerator.rows, o.accelerator.cols), conv })).ranks;
  } else {
    // Kept energy or VBMF picks ranks; a layer whose split would cost more than the layer stays whole (break-even).
    if (o.vbmf) {
      const chosen = ranksForVbmf(dense, layers);
      ranks = chosen.ranks;
      notes.push(...chosen.notes);
    } else ranks = ranksForEnergy(dense, layers, o.keepEnergy!);
    const whole = await costs.cost(dense.spec);
    for (const name of [...ranks.keys()]) {
      if ((await costs.cost(decomposedSpec(dense.spec, new Map([[name, ranks.get(name)!]]), conv))) >= whole) {
        ranks.delete(name);
        notes.push(`${name} stays whole: its split at these ranks costs more on ${o.accelerator.name} than the layer`);
      }
    }
  }
  const seconds: Record<string, number> = { plan: (now() - t0) / 1000 };
  const done = o.resume ? { model: o.resume.model, layers: decompose(dense, ranks, { conv }).layers } : decompose(dense, ranks, { conv });
  notes.push(...done.layers.flatMap((l) => (l.warning ? [`${l.layer}: ${l.warning}`] : [])));

  let model = done.model;
  let interrupted: Checkpoint | undefined;
  const t1 = now();
  if (o.fineTune.maxSteps !== 0 && o.fineTune.epochs !== 0) {
    o.onPhase?.('fine-tuning the decomposed model');
    const run = await train(be, done.model, o.train, { ...o.fineTune, distill: o.kd }, { teacher: o.kd ? dense : undefined, onProgress: o.onProgress, shouldStop: o.shouldStop, resume: o.resume });
    model = run.model;
    if (run.stopped) interrupted = run.checkpoint;
  }
  seconds.fineTune = (now() - t1) / 1000;

  o.onPhase?.('evaluating the decomposed model');
  const cost = await costs.evaluate(modelWorkloads(model.spec));
  const metric = (c: ModelCost) => (o.budget?.metric === 'energy' ? c.total.energy.total : c.total.cycles);
  const rows: DecomposedLayerRow[] = layers.map((l) => {
    const [before, after] = [layerCost(denseCost, l.name), layerCost(cost, l.name)];
    const d = done.layers.find((x) => x.layer === l.name);
    return { layer: l.name, method: l.method, full: l.full, ranks: d?.ranks ?? [], error: d?.error ?? 0, macsBefore: before.macs, macsAfter: after.macs, cyclesBefore: before.cycles, cyclesAfter: after.cycles };
  });
  const report: DecomposeReport = {
    tool: 'wgprune', kind: 'decompose', createdAt: new Date().toISOString(),
    model: { name: dense.spec.name, source: o.modelSource },
    accelerator: { name: o.accelerator.name, rows: o.accelerator.rows, cols: o.accelerator.cols, dataflow: o.accelerator.dataflow },
    ranks: o.budget ? { budget: { text: budgetText(o.budget), metric: o.budget.metric, value: budgetValue!, met: (await costs.cost(model.spec)) <= budgetValue! * (1 + 1e-9) } } : o.vbmf ? { vbmf: true } : { keepEnergy: o.keepEnergy },
    dense: summarize(denseCost, parameterCount(dense), denseAccuracy),
    decomposed: summarize(cost, parameterCount(model), interrupted ? undefined : await evaluateModel(be, model, o.test, { reference: dense })),
    layers: rows,
    spectra: layers.map((l) => ({ layer: l.name, sigma: layerSpectra(dense, l) })),
    fineTune: o.fineTune.maxSteps === 0 ? false : { ...o.fineTune, distillation: o.kd ?? false },
    notes: [...notes, ...(metric(cost) >= metric(denseCost) ? ['the decomposed model costs no less than the original on this accelerator'] : [])],
    seconds: { ...seconds, total: (now() - t0) / 1000 },
  };
  return { model, report, ...(interrupted ? { interrupted } : {}) };
}
