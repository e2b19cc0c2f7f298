// FPGM (He et al., CVPR 2019): filters near the geometric median of their layer are redundant; a
// filter's importance is the sum of its Euclidean distances to the other filters of its layer. The
// Gram matrix W W^T (the O(filters^2 x filter size) part) runs on the backend as a linear layer;
// distances come from it: |a - b|^2 = |a|^2 + |b|^2 - 2 a.b.
import type { Criterion } from './types.js';
import { shapeOf } from './types.js';

export const fpgm: Criterion = async (g, ctx) => {
  const scores = new Float64Array(g.channels);
  for (const s of g.slices.filter((x) => x.axis === 0 && x.param.endsWith('.weight'))) {
    const w = ctx.model.params.get(s.param)!;
    const mask = ctx.model.masks.get(s.param);
    const rows = shapeOf(ctx, s.param)[0];
    const len = w.length / rows;
    const filters = ctx.be.upload(mask ? w.map((v, i) => v * mask[i]) : w, [rows, len]);
    const gramTensor = ctx.be.linear(filters, filters);
    const gram = await ctx.be.read(gramTensor);
    ctx.be.dispose(filters, gramTensor);
    const dist = Array.from({ length: rows }, (_, a) => {
      let sum = 0;
      for (let b = 0; b < rows; b++) sum += Math.sqrt(Math.max(0, gram[a * rows + a] + gram[b * rows + b] - 2 * gram[a * rows + b]));
      return sum;
    });
    s.indices.forEach((idx, c) => { for (const i of idx) scores[c] += dist[i]; });
  }
  return scores;
};
