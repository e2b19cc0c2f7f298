import { bnScale } from './bn-scale.js';
import { fpgm } from './fpgm.js';
import { groupNorm } from './group-norm.js';
import { l1, l2 } from './magnitude.js';
import { random } from './random.js';
import { taylor, taylorAbs } from './taylor.js';
import type { Criterion } from './types.js';

export type { Criterion, ImportanceContext } from './types.js';

export const criteria: Record<string, Criterion> = { l1, l2, 'bn-scale': bnScale, taylor, 'taylor-abs': taylorAbs, fpgm, 'group-norm': groupNorm, random };

/** Criteria that need gradients (accumulateTaylor) before scoring. */
export const GRADIENT_CRITERIA = ['taylor', 'taylor-abs'];

export function criterion(name: string): Criterion {
  const c = criteria[name];
  if (!c) throw new Error(`unknown importance criterion '${name}'; choose from: ${Object.keys(criteria).join(', ')}`);
  return c;
}
