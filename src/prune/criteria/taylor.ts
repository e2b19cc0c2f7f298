// First-order Taylor importance (Molchanov et al., CVPR 2019), from gradients accumulateTaylor() gathered:
// `taylor` is the paper's group form, (sum of w * dL/dw over the channel's weights)^2 summed over
// batches; `taylor-abs` sums |w * dL/dw| over the same weights instead (each weight's own estimate).
import type { Criterion, ImportanceContext } from './types.js';
import { sumOverSlices, weightSlices } from './types.js';

function statistics(ctx: ImportanceContext, name: string) {
  if (!ctx.taylor) throw new Error(`criterion ${name}: needs gradients; run accumulateTaylor() on some batches first`);
  return ctx.taylor;
}

export const taylor: Criterion = async (g, ctx) => {
  const scores = statistics(ctx, 'taylor').perGroup.get(g.id);
  if (!scores) throw new Error(`criterion taylor: no accumulated gradients for group ${g.id}`);
  return Float64Array.from(scores);
};

export const taylorAbs: Criterion = async (g, ctx) => {
  const t = statistics(ctx, 'taylor-abs');
  return sumOverSlices(g, (s) => {
    const stats = t.perIndex.get(`${s.param}:${s.axis}`);
    if (!stats) throw new Error(`criterion taylor-abs: no accumulated gradients for '${s.param}'`);
    return stats;
  }, weightSlices(g));
};
