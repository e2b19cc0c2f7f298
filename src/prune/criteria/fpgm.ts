// FPGM (He et al., CVPR 2019): filters near the geometric median of their layer are redundant; a
// filter's importance is the sum of its Euclidean distances to the other filters of its layer.
import type { Criterion } from './types.js';
import { shapeOf } from './types.js';

export const fpgm: Criterion = async (g, ctx) => {
  const scores = new Float64Array(g.channels);
  for (const s of g.slices.filter((x) => x.axis === 0 && x.param.endsWith('.weight'))) {
    const w = ctx.model.params.get(s.param)!;
    const mask = ctx.model.masks.get(s.param);
    const rows = shapeOf(ctx, s.param)[0];
    const len = w.length / rows;
    const row = (r: number) => Array.from({ length: len }, (_, k) => w[r * len + k] * (mask ? mask[r * len + k] : 1));
    const filters = Array.from({ length: rows }, (_, r) => row(r));
    const dist = filters.map((a) => filters.reduce((sum, b) => sum + Math.sqrt(a.reduce((d, v, k) => d + (v - b[k]) ** 2, 0)), 0));
    s.indices.forEach((idx, c) => { for (const i of idx) scores[c] += dist[i]; });
  }
  return scores;
};
