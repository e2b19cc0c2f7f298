// Magnitude criteria (Li et al., "Pruning Filters for Efficient ConvNets", ICLR 2017): the L1 or L2
// norm of every weight a channel owns across the group (its filters and the consumers' input slices).
import { type Criterion, sliceStats, sumOverSlices, weightSlices } from './types.js';

export const l1: Criterion = async (g, ctx) => {
  const slices = weightSlices(g);
  const stats = new Map(await Promise.all(slices.map(async (s) => [s, await sliceStats(ctx, s, 'l1')] as const)));
  return sumOverSlices(g, (s) => stats.get(s)!, slices);
};

export const l2: Criterion = async (g, ctx) => {
  const slices = weightSlices(g);
  const stats = new Map(await Promise.all(slices.map(async (s) => [s, await sliceStats(ctx, s, 'l2sq')] as const)));
  return sumOverSlices(g, (s) => stats.get(s)!, slices).map(Math.sqrt);
};
