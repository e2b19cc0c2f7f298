// Network slimming (Liu et al., ICCV 2017): a channel's importance is |gamma| of its batch norms.
import type { Criterion } from './types.js';
import { sumOverSlices } from './types.js';

export const bnScale: Criterion = async (g, ctx) => {
  const slices = g.slices.filter((s) => s.param.endsWith('.gamma'));
  if (slices.length === 0) throw new Error(`criterion bn-scale: group ${g.id} (${g.producers.join('+')}) has no batch norm`);
  return sumOverSlices(g, (s) => ctx.model.params.get(s.param)!.map(Math.abs), slices);
};
