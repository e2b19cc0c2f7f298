// Structured (channel) pruning, the whole pass: importance -> allocation -> masks -> (fine-tune) ->
// compaction, one-shot or over a schedule (iterative, AGP) with fine-tuning between steps.
import type { Backend } from '../backend.js';
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { type TrainHooks, type TrainOptions, train } from '../train/trainer.js';
import type { Allocation, AllocationOptions } from './allocate.js';
import type { KeptChannels } from './compact.js';
import type { Group } from './dependency.js';
import { ChannelPruner, type PruneSchedule, type StepContext, byRatio, scheduleRatios } from './pruner.js';
import { type PruneReport, pruneReport } from './report.js';

export { type PruneSchedule, type StepContext, scheduleRatios } from './pruner.js';

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
  onResumable?: (r: PruneResume) => void | Promise<void>;
}

export interface ChannelPruneResult {
  groups: Group[]; kept: KeptChannels; masked: Model; compact: Model; report: PruneReport;
  /** Set when fine-tuning was stopped (shouldStop): pass it back as `resume` to continue. */
  interrupted?: PruneResume;
}

/** Where a stopped run was: the step, its kept channels, and the fine-tuning checkpoint. */
export interface PruneResume { step: number; kept: KeptChannels; training: Checkpoint }

export async function pruneChannels(be: Backend, dense: Model, o: ChannelPruneOptions): Promise<ChannelPruneResult> {
  const { ratio, schedule, global, ratios: layerRatios, ignore, roundTo } = o;
  const allocation = byRatio(ratio, { schedule, global, ratios: layerRatios, ignore, roundTo });
  const pruner = new ChannelPruner(be, dense, { importance: o.criterion, taylorData: o.taylorData ?? o.fineTune?.data, seed: o.seed, allocation });
  const ratios = scheduleRatios(schedule ?? { kind: 'one-shot' }, ratio);
  return pruneInSteps(be, dense, o, pruner, (step) => o.onStep?.(step, ratios[step]));
}

export type PruneStepOptions = Pick<ChannelPruneOptions, 'criterion' | 'fineTune' | 'taylorData' | 'seed' | 'resume' | 'onResumable'>;

/** A pruner for a run's step options with its own allocation per step (pruneToBudget's). */
export function stepPruner(be: Backend, dense: Model, o: PruneStepOptions, steps: number, allocate: (c: StepContext) => Promise<Allocation>): ChannelPruner {
  return new ChannelPruner(be, dense, { importance: o.criterion, taylorData: o.taylorData ?? o.fineTune?.data, seed: o.seed, allocation: { steps, allocate } });
}

/**
 * The shared loop, a user of the pruner: per step, the pruner's step (importance -> allocation -> masks),
 * then fine-tuning; then compaction. A stopped fine-tune returns a resumable state.
 */
export async function pruneInSteps(be: Backend, dense: Model, o: PruneStepOptions, pruner: ChannelPruner, onStep?: (step: number) => void): Promise<ChannelPruneResult> {
  const notes: string[] = [];
  const groups = pruner.groups;
  while (!pruner.done) {
    const step = pruner.steps;
    const resume = step === o.resume?.step ? o.resume : undefined;
    if (resume) pruner.restore(step + 1, resume.kept);
    else {
      onStep?.(step);
      notes.push(...(await pruner.step()).notes);
    }
    if (o.fineTune) {
      const hooks = o.fineTune.hooks;
      const at = { step, kept: pruner.kept };
      const onCheckpoint = o.onResumable ? async (c: Checkpoint) => { await o.onResumable!({ ...at, training: c }); return hooks?.onCheckpoint?.(c); } : hooks?.onCheckpoint;
      const run = await train(be, pruner.model, o.fineTune.data, o.fineTune.options, { ...hooks, onCheckpoint, teacher: o.fineTune.teacher, resume: resume?.training });
      pruner.update(run.model);
      if (run.stopped) return { groups, kept: pruner.kept, masked: run.model, compact: run.model, report: pruneReport(dense, run.model, notes), interrupted: { step, kept: pruner.kept, training: run.checkpoint } };
    }
  }
  const compact = await pruner.compact();
  return { groups, kept: pruner.kept, masked: pruner.model, compact, report: pruneReport(dense, compact, [...new Set(notes)]) };
}
