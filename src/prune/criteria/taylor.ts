// First-order Taylor (Molchanov et al., CVPR 2019): sum of |w * dL/dw| over a channel's weights,
// accumulated over batches by accumulateTaylor().
import type { Criterion } from './types.js';
import { sumOverSlices, weightSlices } from './types.js';

export const taylor: Criterion = async (g, ctx) => {
  const t = ctx.taylor;
  if (!t) throw new Error('criterion taylor: needs gradients; run accumulateTaylor() on some batches first');
  return sumOverSlices(g, (s) => {
    const stats = t.get(`${s.param}:${s.axis}`);
    if (!stats) throw new Error(`criterion taylor: no accumulated gradients for '${s.param}'`);
    return stats;
  }, weightSlices(g));
};
