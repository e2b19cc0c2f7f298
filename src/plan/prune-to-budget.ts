// Accelerator-aware pruning to a budget: importance -> knapsack allocation on the accelerator model ->
// masks -> fine-tuning (optionally distilled) -> compaction -> the compacted model's simulated cost,
// which is checked against the budget. One-shot, or NetAdapt-style iterative (Yang et al., ECCV 2018):
// the budget shrinks in equal steps with fine-tuning between them. The uniform baseline (one ratio for
// every layer, the smallest that meets the budget) runs through the same loop.
import type { AcceleratorConfig } from '../accel/config.js';
import type { EvaluateOptions, Mode, ModelCost } from '../accel/cost.js';
import { modelWorkloads } from '../accel/model-workload.js';
import type { Backend } from '../backend.js';
import type { Model } from '../model/model.js';
import type { ModelSpec } from '../model/graph.js';
import { allocate } from '../prune/allocate.js';
import { uniformCountsForBudget } from './allocate-budget.js';
import { type Budget, CostModel, absoluteBudget, metricOf } from './budget.js';
import { channelGroups } from '../prune/dependency.js';
import { type ChannelPruneResult, type PruneStepOptions, pruneInSteps, stepPruner } from '../prune/prune.js';
import { ChannelPruner } from '../prune/pruner.js';
import { toBudget } from './to-budget.js';

export interface BudgetPruneOptions extends PruneStepOptions {
  budget: Budget;
  accelerator: AcceleratorConfig;
  mode?: Mode;
  /** The tile scheduler (gpuScheduler(ctx) for the GPU); the CPU reference by default. */
  schedule?: EvaluateOptions['schedule'];
  /** Iterative (NetAdapt-style) with this many budget steps; one-shot by default. */
  steps?: number;
  ignore?: string[];
  roundTo?: number;
  onStep?: (step: number, budget: number) => void;
  /** The run's cost session (a CostModel under the budget's metric); one of its own otherwise. */
  costs?: CostModel;
  /** Planning progress: the phase and the share of the way to the budget. */
  onPlanProgress?: (p: { phase: string; fraction: number }) => void;
}

export interface BudgetPruneResult extends ChannelPruneResult {
  /** The absolute budget, in the metric's base unit. */
  budget: number;
  denseCost: ModelCost;
  prunedCost: ModelCost;
  /** The pruned model's cost under the budget's metric. */
  cost: number;
  denseValue: number;
  /** Set for the uniform baseline: the ratio that meets the budget. */
  uniformRatio?: number;
}

/** The run's session under the budget's metric, or a new one. */
const costModelFor = (o: BudgetPruneOptions) => o.costs?.withMetric(o.budget.metric) ?? new CostModel(o.accelerator, { metric: o.budget.metric, mode: o.mode, schedule: o.schedule });

async function simulate(costs: CostModel, spec: ModelSpec): Promise<{ cost: ModelCost; value: number }> {
  const cost = await costs.evaluate(modelWorkloads(spec));
  return { cost, value: cost.layers.reduce((s, l) => s + metricOf(l, costs.o.metric), 0) };
}

async function finish(o: BudgetPruneOptions, costs: CostModel, dense: Model, r: ChannelPruneResult, budget: number, uniformRatio?: number): Promise<BudgetPruneResult> {
  const [d, p] = [await simulate(costs, dense.spec), await simulate(costs, r.compact.spec)];
  if (!r.interrupted && p.value > budget * (1 + 1e-9)) throw new Error(`internal: the pruned model costs ${p.value} ${o.budget.metric}, over the budget ${budget}`);
  return { ...r, budget, denseCost: d.cost, prunedCost: p.cost, cost: p.value, denseValue: d.value, uniformRatio };
}


export async function pruneToBudget(be: Backend, dense: Model, o: BudgetPruneOptions): Promise<BudgetPruneResult> {
  const costs = costModelFor(o);
  const pruner = new ChannelPruner(be, dense, {
    importance: o.criterion, taylorData: o.taylorData ?? o.fineTune?.data, seed: o.seed,
    allocation: toBudget(dense.spec, o.budget, { costs, steps: o.steps, ignore: o.ignore, roundTo: o.roundTo, onProgress: o.onPlanProgress }),
  });
  const steps = (await pruner.budgets())!;
  const r = await pruneInSteps(be, dense, o, pruner, (step) => o.onStep?.(step, steps[step]));
  return finish(o, costs, dense, r, steps.at(-1)!);
}

/** The smallest uniform ratio (in steps of 1/100) whose model meets the budget. */
export async function uniformRatioForBudget(spec: ModelSpec, costs: CostModel, budget: number, o: Pick<BudgetPruneOptions, 'ignore' | 'roundTo'> = {}): Promise<number> {
  const u = await uniformCountsForBudget(spec, channelGroups(spec), costs, budget, o);
  if (!u) throw new Error(`prune: no uniform ratio below 1 meets the budget ${budget} ${costs.o.metric}`);
  return u.ratio!;
}

/** The baseline: uniform channel pruning at the ratio that just meets the same budget. */
export async function pruneUniformToBudget(be: Backend, dense: Model, o: BudgetPruneOptions): Promise<BudgetPruneResult> {
  const costs = costModelFor(o);
  const budget = await absoluteBudget(o.budget, dense.spec, costs);
  const ratio = await uniformRatioForBudget(dense.spec, costs, budget, o);
  const n = o.steps ?? 1;
  const r = await pruneInSteps(be, dense, o, stepPruner(be, dense, o, n, async ({ step, groups, scores, kept }) => {
    o.onStep?.(step, budget);
    return allocate(groups, scores, { ratio: (ratio * (step + 1)) / n, ignore: o.ignore, roundTo: o.roundTo, available: kept });
  }));
  return finish(o, costs, dense, r, budget, ratio);
}
