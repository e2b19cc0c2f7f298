// Which combinations of a prune run's choices are honoured, in one place: runPrune (the library) and
// `wgprune prune` (the CLI) both call checkPruneChoices, each naming options its own way (the library by
// key, the CLI by flag), so a combination is either honoured or refused the same way everywhere.
import type { Budget } from '../plan/index.js';
import { GRADIENT_CRITERIA } from '../prune/criteria/index.js';
import type { PruneSchedule } from '../prune/prune.js';

/** A combination the run cannot honour; the CLI exits 2 on it. */
export class OptionError extends Error {}

export interface PruneChoices {
  granularity: 'channel' | 'unstructured' | 'nm';
  ratio?: number;
  budget?: Budget;
  nm?: { n: number; m: number };
  schedule?: PruneSchedule;
  compareUniform?: boolean;
  sweep?: number[];
  /** Planned with the channels before pruning (the CLI's --bits and --decompose; plan/ in the library). */
  bits?: number[];
  decompose?: string;
  sparse?: unknown;
  roundTo?: number;
}

/** How a caller names an option in messages: the library by key (the default), the CLI by flag. */
export type OptionName = (key: keyof PruneChoices) => string;

const scheduleText = (s: PruneSchedule) => (s.kind === 'one-shot' ? 'one-shot' : `${s.kind}:${s.steps}`);

export function checkPruneChoices(o: PruneChoices, name: OptionName = (k) => k): void {
  const refuse = (message: string) => { throw new OptionError(message); };
  const { granularity: g, ratio, budget, nm, schedule } = o;
  const budgetGiven = `${name('budget')} METRIC=VALUE`;
  if (ratio !== undefined && !(ratio >= 0 && ratio < 1)) refuse(`${name('ratio')} must be in [0, 1), got ${ratio}`);
  if (g === 'channel' && ratio === undefined && budget === undefined) refuse(`prune needs ${name('ratio')} R or ${budgetGiven}`);
  if (g === 'channel' && ratio !== undefined && budget !== undefined) refuse(`give ${name('ratio')} or ${name('budget')}, not both`);
  if (nm && g !== 'nm') refuse(`${name('nm')} ${nm.n}:${nm.m} is an N:M pattern: add ${name('granularity')} nm`);
  if (g === 'nm' && ratio !== undefined) {
    const p = nm ?? { n: 2, m: 4 };
    refuse(`${name('ratio')} does not apply to ${name('granularity')} nm: the pattern ${p.n}:${p.m} fixes the share pruned (${(1 - p.n / p.m).toFixed(2)})`);
  }
  if (o.compareUniform && budget === undefined) refuse(`${name('compareUniform')} prunes uniformly to the same budget: add ${budgetGiven}`);
  if (o.sweep !== undefined && g !== 'channel') refuse(`${name('sweep')} sweeps channel pruning's budget; ${name('granularity')} ${g} takes one ${name('ratio')}`);
  if (g === 'unstructured' && ratio === undefined) refuse(`unstructured pruning needs ${name('ratio')}`);
  if (schedule && schedule.kind !== 'one-shot' && g !== 'channel') refuse(`${name('schedule')} ${scheduleText(schedule)} applies to channel pruning; ${name('granularity')} ${g} prunes in one shot`);
  if (schedule?.kind === 'agp' && budget) refuse(`${name('schedule')} agp:N follows a ratio; with ${name('budget')} use iterative:N (the budget shrinks in N equal steps)`);
  if (o.roundTo !== undefined && !(Number.isInteger(o.roundTo) && o.roundTo >= 1)) refuse(`${name('roundTo')} must be a positive integer, got ${o.roundTo}`);
  if (o.roundTo !== undefined && g !== 'channel') refuse(`${name('roundTo')} rounds kept channels; ${name('granularity')} ${g} prunes weights`);
  if (budget && g !== 'channel') refuse(`${name('budget')} applies to channel pruning; ${name('granularity')} ${g} takes ${name('ratio')}`);
  if (o.bits && !budget) refuse(`${name('bits')} plans bit widths with the channels against a budget: add ${budgetGiven}`);
  if (o.bits && o.sparse) refuse(`${name('bits')} and ${name('sparse')} do not combine yet: the widths are planned on the dense model`);
  if (o.decompose && !budget) refuse(`${name('decompose')} plans layer splits with the channels against a budget: add ${budgetGiven}`);
  if (o.decompose && (o.bits || o.sparse)) refuse(`${name('decompose')} and ${name(o.bits ? 'bits' : 'sparse')} do not combine yet`);
  if ((o.bits || o.decompose) && o.sweep !== undefined) refuse(`${name('sweep')} and ${name(o.bits ? 'bits' : 'decompose')} do not combine yet: the sweep's fractions would be of the planned model, not of the original`);
}

/** What a run needs data for, of what is asked of one without (each named by `name`, in this order). */
export function needsData(o: { criterion: string; sparse?: unknown; kd?: unknown; restoreBatchNorm?: boolean }, name: (what: 'criterion' | 'sparse' | 'kd' | 'restoreBatchNorm') => string): string[] {
  return [
    ...(GRADIENT_CRITERIA.includes(o.criterion) ? [name('criterion')] : []),
    ...(o.sparse ? [name('sparse')] : []),
    ...(o.kd ? [name('kd')] : []),
    ...(o.restoreBatchNorm ? [name('restoreBatchNorm')] : []),
  ];
}
