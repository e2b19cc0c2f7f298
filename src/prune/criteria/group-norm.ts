// The norm sparse training drives to zero (Wen et al., NeurIPS 2016): per channel, the L2 norm of every
// parameter slice the group owns (filters, consumers' input slices, biases, batch-norm scales and
// shifts), so the structures the penalty emptied rank last. `l2` reads the weights only.
import { type Criterion, sliceStats, sumOverSlices } from './types.js';

export const groupNorm: Criterion = async (g, ctx) => {
  const stats = new Map(await Promise.all(g.slices.map(async (s) => [s, await sliceStats(ctx, s, 'l2sq')] as const)));
  return sumOverSlices(g, (s) => stats.get(s)!, g.slices).map(Math.sqrt);
};
