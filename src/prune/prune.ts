// Structured (channel) pruning, the whole pass: importance -> allocation -> masks -> (fine-tune) ->
// compaction, one-shot or over a schedule (iterative, AGP) with fine-tuning between steps.
import type { Backend } from '../backend.js';
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { type TrainHooks, type TrainOptions, train } from '../train/trainer.js';
import { type Allocation, type AllocationOptions, allocate } from './allocate.js';
import { applyChannelMasks, compactModel, type KeptChannels } from './compact.js';
import { GRADIENT_CRITERIA, criterion } from './criteria/index.js';
import { channelGroups, type Group } from './dependency.js';
import { type PruneReport, pruneReport } from './report.js';
import { agpSparsity, iterativeRatios } from './sparsity.js';
import { accumulateTaylor } from './taylor.js';

export type PruneSchedule = { kind: 'one-shot' } | { kind: 'iterative'; steps: number } | { kind: 'agp'; steps: number };

export interface ChannelPruneOptions extends AllocationOptions {
  criterion: string;
  schedule?: PruneSchedule;
  /** Fine-tuning after every pruning step (masked weights stay exactly zero). */
  fineTune?: { data: Dataset; options: TrainOptions; teacher?: Model; hooks?: Pick<TrainHooks, 'onProgress' | 'shouldStop' | 'onCheckpoint' | 'checkpointEvery'> };
  /** Batches for the taylor criterion's gradients. */
  taylorData?: Dataset;
  seed?: number;
  onStep?: (step: number, ratio: number) => void;
  resume?: PruneResume;
  /** Receives a resumable state at every fine-tuning checkpoint (fineTune.hooks.checkpointEvery steps). */
  onResumable?: (r: PruneResume) => void;
}

export interface ChannelPruneResult {
  groups: Group[]; kept: KeptChannels; masked: Model; compact: Model; report: PruneReport;
  /** Set when fine-tuning was stopped (shouldStop): pass it back as `resume` to continue. */
  interrupted?: PruneResume;
}

/** Where a stopped run was: the step, its kept channels, and the fine-tuning checkpoint. */
export interface PruneResume { step: number; kept: KeptChannels; training: Checkpoint }

/** Ratios to prune to, step by step. */
export function scheduleRatios(s: PruneSchedule, final: number): number[] {
  if (s.kind === 'one-shot') return [final];
  if (s.kind === 'iterative') return iterativeRatios(final, s.steps);
  return Array.from({ length: s.steps }, (_, i) => agpSparsity(i + 1, { initial: 0, final, start: 0, steps: s.steps, every: 1 }));
}

export async function pruneChannels(be: Backend, dense: Model, o: ChannelPruneOptions): Promise<ChannelPruneResult> {
  const ratios = scheduleRatios(o.schedule ?? { kind: 'one-shot' }, o.ratio);
  return pruneInSteps(be, dense, o, ratios.length, async ({ step, groups, scores, kept }) => {
    const ratio = ratios[step];
    o.onStep?.(step, ratio);
    return allocate(groups, scores, { ...o, ratio, ratios: o.ratios && scaleRatios(o.ratios, ratio / o.ratio), available: kept });
  });
}

export interface StepContext { step: number; groups: Group[]; scores: Map<number, Float64Array>; model: Model; kept: KeptChannels }

export type PruneStepOptions = Pick<ChannelPruneOptions, 'criterion' | 'fineTune' | 'taylorData' | 'seed' | 'resume' | 'onResumable'>;

/**
 * The shared loop: per step, importance of the current (masked, fine-tuned) model -> allocation ->
 * channel masks -> fine-tuning; then compaction. Channels pruned at an earlier step stay pruned.
 */
export async function pruneInSteps(
  be: Backend, dense: Model, o: PruneStepOptions, steps: number, allocateStep: (c: StepContext) => Promise<Allocation>,
): Promise<ChannelPruneResult> {
  const score = criterion(o.criterion);
  const groups = channelGroups(dense.spec);
  let model = dense;
  let kept: KeptChannels = new Map();
  const notes: string[] = [];
  for (let step = o.resume?.step ?? 0; step < steps; step++) {
    const resume = step === o.resume?.step ? o.resume : undefined;
    if (resume) {
      kept = resume.kept;
      model = applyChannelMasks({ ...model, masks: dense.masks }, groups, kept);
    } else {
      ({ model, kept } = await pruneStep(step, model, kept));
    }
    if (o.fineTune) {
      const hooks = o.fineTune.hooks;
      const at = { step, kept };
      const onCheckpoint = o.onResumable ? (c: Checkpoint) => { o.onResumable!({ ...at, training: c }); return hooks?.onCheckpoint?.(c); } : hooks?.onCheckpoint;
      const run = await train(be, model, o.fineTune.data, o.fineTune.options, { ...hooks, onCheckpoint, teacher: o.fineTune.teacher, resume: resume?.training });
      model = run.model;
      if (run.stopped) return { groups, kept, masked: model, compact: model, report: pruneReport(dense, model, notes), interrupted: { step, kept, training: run.checkpoint } };
    }
  }
  const compact = await compactModel(be, model, groups, kept);
  return { groups, kept, masked: model, compact, report: pruneReport(dense, compact, [...new Set(notes)]) };

  async function pruneStep(step: number, model: Model, kept: KeptChannels) {
    const taylor = GRADIENT_CRITERIA.includes(o.criterion)
      ? await accumulateTaylor(be, model, groups, o.taylorData ?? o.fineTune?.data ?? (() => { throw new Error('prune: the taylor criterion needs data'); })(), { batches: 4, batchSize: 32 })
      : undefined;
    const scores = new Map<number, Float64Array>();
    for (const g of groups.filter((x) => x.prunable)) {
      scores.set(g.id, await score(g, { be, model, taylor, seed: o.seed }));
    }
    const allocation = await allocateStep({ step, groups, scores, model, kept });
    notes.push(...allocation.notes);
    // Channel masks for this step's kept set, on top of the dense model's own masks.
    return { kept: allocation.kept, model: applyChannelMasks({ ...model, masks: dense.masks }, groups, allocation.kept) };
  }
}

const scaleRatios = (r: Record<string, number>, f: number) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v * f]));
