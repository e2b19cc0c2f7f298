// A pruner object in the spirit of Torch-Pruning's: it holds the dependency groups, the importance
// function and the allocation, and `step()` prunes one step of the schedule (importance of the current
// model -> allocation -> channel masks); fine-tuning between steps stays with the caller, who hands the
// tuned model back with `update()`. Channels pruned at one step stay pruned at the next.
import type { Backend } from '../backend.js';
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import { type Allocation, type AllocationOptions, allocate } from './allocate.js';
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

/**
 * How a pruner chooses the channels each step keeps: `byRatio()` here, `toBudget()` (src/plan/: an
 * accelerator budget), or your own object (the uniform baseline's is one).
 */
export interface ChannelAllocation {
  /** Steps in the schedule. */
  readonly steps: number;
  allocate(c: StepContext): Promise<Allocation>;
  /** Each step's budget in the metric's unit, where the allocation has one. */
  budgets?(): Promise<number[]>;
}

export interface RatioOptions extends Omit<AllocationOptions, 'ratio' | 'available'> {
  /** One-shot (default), iterative or AGP. */
  schedule?: PruneSchedule;
}

/** Refuses keys an options object of `what` cannot honour (a JavaScript caller can pass any). */
export function refuseUnknown(what: string, o: object, known: readonly string[], hint = ''): void {
  const unknown = Object.keys(o).filter((k) => !known.includes(k) && (o as Record<string, unknown>)[k] !== undefined);
  if (unknown.length) throw new Error(`pruner: ${unknown.join(', ')} ${unknown.length > 1 ? 'do' : 'does'} not apply to ${what}${hint}`);
}

/** Removes `ratio` of every group's channels (or per-layer `ratios`), over the schedule's steps. */
export function byRatio(ratio: number, o: RatioOptions = {}): ChannelAllocation {
  refuseUnknown('a ratio', o, ['schedule', 'global', 'ratios', 'ignore', 'roundTo'], '; a budget takes toBudget()');
  if (!(typeof ratio === 'number' && ratio >= 0 && ratio < 1)) throw new Error(`prune: ratio must be in [0, 1), got ${ratio}`);
  const ratios = scheduleRatios(o.schedule ?? { kind: 'one-shot' }, ratio);
  const { schedule: _, ...rest } = o;
  return {
    steps: ratios.length,
    allocate: async ({ step, groups, scores, kept }) => allocate(groups, scores, {
      ...rest, ratio: ratios[step], ratios: o.ratios && Object.fromEntries(Object.entries(o.ratios).map(([k, v]) => [k, (v * ratios[step]) / ratio])), available: kept,
    }),
  };
}

export interface PrunerOptions {
  /** A built-in criterion's name, or your own: (group, context) => one score per channel (higher = more important). */
  importance: string | Criterion;
  /** What each step keeps: byRatio(0.5), toBudget(budget, { costs }) or your own. */
  allocation: ChannelAllocation;
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
  private readonly score: Criterion;
  private readonly gradients: boolean;

  constructor(readonly be: Backend, readonly dense: Model, readonly o: PrunerOptions) {
    refuseUnknown('a pruner', o, ['importance', 'allocation', 'taylorData', 'seed'], ' (the allocation object takes a ratio or a budget and its options)');
    if (!o.allocation) throw new Error('pruner: give an allocation: byRatio(r), toBudget(budget, ...) or your own');
    this.groups = channelGroups(dense.spec);
    this.model = dense;
    this.score = typeof o.importance === 'string' ? criterion(o.importance) : o.importance;
    this.gradients = typeof o.importance === 'string' && GRADIENT_CRITERIA.includes(o.importance);
    this.totalSteps = o.allocation.steps;
  }

  /** With a budget: each step's budget in the metric's unit; undefined otherwise. */
  budgets(): Promise<number[] | undefined> {
    return this.o.allocation.budgets?.() ?? Promise.resolve(undefined);
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
    const allocation = await this.o.allocation.allocate({ step: this.steps, groups: this.groups, scores, model: this.model, kept: this.kept });
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
