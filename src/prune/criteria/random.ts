// Random importance (seeded): the baseline every criterion should beat.
import { Rng } from '../../random.js';
import type { Criterion } from './types.js';

export const random: Criterion = async (g, ctx) => {
  const rng = new Rng((ctx.seed ?? 0) * 7919 + g.id);
  return Float64Array.from({ length: g.channels }, () => rng.uniform());
};
