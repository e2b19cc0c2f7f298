// The budget allocation object for a ChannelPruner: each step keeps the most important channels whose
// model fits that step's budget (allocateToBudget); `steps` shrink the budget evenly from the dense
// cost to the target, NetAdapt-style.
import type { AcceleratorConfig } from '../accel/config.js';
import type { ModelSpec } from '../model/graph.js';
import { type ChannelAllocation, type PruneSchedule, refuseUnknown } from '../prune/pruner.js';
import { allocateToBudget } from './allocate-budget.js';
import { type Budget, CostModel, absoluteBudget, budgetSteps } from './budget.js';

export interface ToBudgetOptions {
  /** Costs from a run's cost session (its metric is switched to the budget's), or a new session on `accelerator`. */
  costs?: CostModel;
  accelerator?: AcceleratorConfig;
  /** Steps to the budget (default 1); a schedule iterative:N means the same. */
  steps?: number;
  schedule?: PruneSchedule;
  /** Producer names whose groups are left whole. */
  ignore?: string[];
  /** Keep channel counts at multiples of this (or whole). */
  roundTo?: number;
  /** Budget planning progress: the phase and the share of the way to the step's budget. */
  onProgress?: (p: { phase: string; fraction: number }) => void;
}

/** Keeps, at each step, the most important channels of `dense` whose model meets that step's budget. */
export function toBudget(dense: ModelSpec, budget: Budget, o: ToBudgetOptions): ChannelAllocation {
  const ratioOnly = (['ratios', 'global'] as const).filter((k) => (o as Record<string, unknown>)[k] !== undefined && (o as Record<string, unknown>)[k] !== false);
  if (ratioOnly.length) throw new Error(`pruner: ${ratioOnly.join(' and ')} apply to a ratio; a budget allocates by cost`);
  refuseUnknown('a budget', o, ['costs', 'accelerator', 'steps', 'schedule', 'ignore', 'roundTo', 'onProgress']);
  if (!o.costs && !o.accelerator) throw new Error('pruner: a budget needs an accelerator (or a cost session)');
  if (o.schedule?.kind === 'agp') throw new Error('pruner: an AGP schedule follows a ratio; with a budget use iterative:N (or steps)');
  const scheduled = o.schedule?.kind === 'iterative' ? o.schedule.steps : undefined;
  if (scheduled !== undefined && o.steps !== undefined && scheduled !== o.steps) throw new Error(`pruner: schedule iterative:${scheduled} and steps ${o.steps} disagree`);
  const costs = o.costs?.withMetric(budget.metric) ?? new CostModel(o.accelerator!, { metric: budget.metric });
  const steps = o.steps ?? scheduled ?? 1;
  let stepBudgets: Promise<number[]> | undefined;
  const budgets = () => (stepBudgets ??= (async () => budgetSteps(await costs.cost(dense), await absoluteBudget(budget, dense, costs), steps))());
  return {
    steps,
    budgets,
    allocate: async ({ step, groups, scores, model, kept }) => allocateToBudget(model.spec, groups, scores, costs, (await budgets())[step], {
      ignore: o.ignore, roundTo: o.roundTo, available: kept, onProgress: o.onProgress,
    }),
  };
}
