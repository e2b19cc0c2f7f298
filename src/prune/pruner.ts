// A pruner object in the spirit of Torch-Pruning's: it holds the dependency groups, the importance
// function and the allocation, and `step()` prunes one step of the schedule (importance of the current
// model -> allocation -> channel masks); fine-tuning between steps stays with the caller, who hands the
// tuned model back with `update()`. Channels pruned at one step stay pruned at the next.
import type { AcceleratorConfig } from '../accel/config.js';
import type { Backend } from '../backend.js';
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import { type Allocation, type AllocationOptions, allocate } from './allocate.js';
import { allocateToBudget } from './allocate-budget.js';
import { type Budget, CostModel, absoluteBudget, budgetSteps } from './budget.js';
import { type KeptChannels, applyChannelMasks, compactModel } from './compact.js';
import { type Criterion, GRADIENT_CRITERIA, criterion } from './criteria/index.js';
import { type Group, channelGroups } from './dependency.js';
import { agpSparsity, iterativeRatios } from './sparsity.js';
import { accumulateTaylor } from './taylor.js';

export type PruneSchedule = { kind: 'one-shot' } | { kind: 'iterative'; steps: number } | { kind: 'agp'; steps: number };

/** Ratios to prune to, step by step. */
export function scheduleRatios(s: PruneSchedule, final: number): number[] {
  if (s.kind === 'one-shot') return [final];
  if (s.kind === 'iterative') return iterativeRatios(final, s.steps);
  return Array.from({ length: s.steps }, (_, i) => agpSparsity(i + 1, { initial: 0, final, start: 0, steps: s.steps, every: 1 }));
}

export interface StepContext { step: number; groups: Group[]; scores: Map<number, Float64Array>; model: Model; kept: KeptChannels }

export interface PrunerOptions extends Partial<AllocationOptions> {
  /** A built-in criterion's name, or your own: (group, context) => one score per channel (higher = more important). */
  importance: string | Criterion;
  /** Ratio schedule (with `ratio`): one-shot (default), iterative or AGP. */
  schedule?: PruneSchedule;
  /**
   * An accelerator budget instead of a ratio: each step keeps the most important channels whose model
   * fits (`budgetSteps` steps shrink the budget evenly from the dense cost, NetAdapt-style; default 1).
   * Costs come from `costs` (a run's cost session) or a new session on `accelerator`.
   */
  budget?: Budget;
  accelerator?: AcceleratorConfig;
  costs?: CostModel;
  budgetSteps?: number;
  /** Budget planning progress: the phase and the share of the way to the step's budget. */
  onPlanProgress?: (p: { phase: string; fraction: number }) => void;
  /** Steps and how each allocates, instead of a ratio or budget (the uniform baseline's). */
  allocator?: { steps: number; allocate: (c: StepContext) => Promise<Allocation> };
  /** Batches for the gradients of the taylor criteria (default: none; they then throw). */
  taylorData?: Dataset;
  seed?: number;
}

export interface PruneStep {
  step: number;
  /** Per group id: the channels kept after this step, and those this step removed. */
  kept: KeptChannels;
  removed: KeptChannels;
  notes: string[];
}

export class ChannelPruner {
  readonly groups: Group[];
  /** The current model: the dense one with channel masks for what is pruned so far. */
  model: Model;
  kept: KeptChannels = new Map();
  /** Steps taken. */
  steps = 0;
  readonly totalSteps: number;
  /** With a budget: each step's budget in the metric's unit; undefined otherwise. */
  readonly budgets: () => Promise<number[] | undefined> = async () => undefined;
  private stepBudgets?: number[];
  private readonly score: Criterion;
  private readonly gradients: boolean;
  private readonly allocateStep: (c: StepContext) => Promise<Allocation>;

  constructor(readonly be: Backend, readonly dense: Model, readonly o: PrunerOptions) {
    this.groups = channelGroups(dense.spec);
    this.model = dense;
    this.score = typeof o.importance === 'string' ? criterion(o.importance) : o.importance;
    this.gradients = typeof o.importance === 'string' && GRADIENT_CRITERIA.includes(o.importance);
    if ([o.ratio, o.budget, o.allocator].filter((x) => x !== undefined).length !== 1) throw new Error('pruner: give one of a ratio, a budget or an allocator');
    if (o.allocator) {
      const unhonoured = (['schedule', 'ratios', 'global', 'budgetSteps'] as const).filter((k) => o[k] !== undefined && o[k] !== false);
      if (unhonoured.length) throw new Error(`pruner: ${unhonoured.join(', ')} do not apply with an allocator (it decides each step)`);
      this.totalSteps = o.allocator.steps;
      this.allocateStep = o.allocator.allocate;
    } else if (o.budget) {
      const budget = o.budget;
      if (!o.costs && !o.accelerator) throw new Error('pruner: a budget needs an accelerator (or a cost session)');
      const costs = o.costs?.withMetric(budget.metric) ?? new CostModel(o.accelerator!, { metric: budget.metric });
      // A budget shrinks in steps (iterative:N is budgetSteps N); what only a ratio can mean is refused.
      const unhonoured = (['ratios', 'global'] as const).filter((k) => o[k] !== undefined && o[k] !== false);
      if (unhonoured.length) throw new Error(`pruner: ${unhonoured.join(' and ')} apply to a ratio; a budget allocates by cost`);
      if (o.schedule && o.schedule.kind === 'agp') throw new Error('pruner: an AGP schedule follows a ratio; with a budget use iterative:N (or budgetSteps)');
      const scheduled = o.schedule?.kind === 'iterative' ? o.schedule.steps : undefined;
      if (scheduled !== undefined && o.budgetSteps !== undefined && scheduled !== o.budgetSteps) throw new Error(`pruner: schedule iterative:${scheduled} and budgetSteps ${o.budgetSteps} disagree`);
      this.totalSteps = o.budgetSteps ?? scheduled ?? 1;
      this.allocateStep = async ({ step, groups, scores, model, kept }) => {
        const budgets = await this.budgets();
        return allocateToBudget(model.spec, groups, scores, costs, budgets![step], { ignore: o.ignore, roundTo: o.roundTo, available: kept, onProgress: o.onPlanProgress });
      };
      this.budgets = async () => (this.stepBudgets ??= budgetSteps(await costs.cost(dense.spec), await absoluteBudget(budget, dense.spec, costs), this.totalSteps));
    } else {
      if (o.budgetSteps !== undefined) throw new Error('pruner: budgetSteps applies to a budget; a ratio takes a schedule');
      const final = o.ratio!;
      const ratios = scheduleRatios(o.schedule ?? { kind: 'one-shot' }, final);
      this.totalSteps = ratios.length;
      this.allocateStep = async ({ step, scores, kept }) => allocate(this.groups, scores, {
        ...o, ratio: ratios[step], ratios: o.ratios && Object.fromEntries(Object.entries(o.ratios).map(([k, v]) => [k, (v * ratios[step]) / final])), available: kept,
      });
    }
  }

  /** Whether steps remain. */
  get done(): boolean {
    return this.steps >= this.totalSteps;
  }

  /** Importance of every prunable group of the current model. */
  async importance(): Promise<Map<number, Float64Array>> {
    const taylor = this.gradients
      ? await accumulateTaylor(this.be, this.model, this.groups, this.o.taylorData ?? (() => { throw new Error(`pruner: the ${this.o.importance} criterion needs data (taylorData)`); })(), { batches: 4, batchSize: 32 })
      : undefined;
    const scores = new Map<number, Float64Array>();
    for (const g of this.groups.filter((x) => x.prunable)) scores.set(g.id, await this.score(g, { be: this.be, model: this.model, taylor, seed: this.o.seed }));
    return scores;
  }

  /** Prunes one step: the current model's importance, the allocation, channel masks on the dense model's own. */
  async step(): Promise<PruneStep> {
    if (this.done) throw new Error(`pruner: all ${this.totalSteps} steps are taken`);
    const scores = await this.importance();
    const allocation = await this.allocateStep({ step: this.steps, groups: this.groups, scores, model: this.model, kept: this.kept });
    const removed: KeptChannels = new Map();
    for (const g of this.groups) {
      const before = this.kept.get(g.id) ?? Array.from({ length: g.channels }, (_, c) => c);
      const after = new Set(allocation.kept.get(g.id) ?? before);
      const gone = before.filter((c) => !after.has(c));
      if (gone.length) removed.set(g.id, gone);
    }
    this.restore(this.steps + 1, allocation.kept);
    return { step: this.steps - 1, kept: this.kept, removed, notes: allocation.notes };
  }

  /** Takes the caller's fine-tuned model (the same masks) as the current one. */
  update(model: Model): void {
    this.model = model;
  }

  /** Continues from a stopped run: `steps` taken, with these kept channels. */
  restore(steps: number, kept: KeptChannels): void {
    this.steps = steps;
    this.kept = kept;
    this.model = applyChannelMasks({ ...this.model, masks: this.dense.masks }, this.groups, kept);
  }

  /** The physically smaller model of the current one. */
  compact(): Promise<Model> {
    return compactModel(this.be, this.model, this.groups, this.kept);
  }
}
