// A criterion scores every channel of a group (higher = more important); adding one is one file in
// this folder plus a line in index.ts.
import type { Backend } from '../../backend.js';
import { type Model, paramList } from '../../model/model.js';
import type { Group, ParamSlice } from '../dependency.js';
import type { TaylorStatistics } from '../taylor.js';

export interface ImportanceContext {
  be: Backend;
  model: Model;
  /** Gradient statistics for the taylor criteria (see accumulateTaylor). */
  taylor?: TaylorStatistics;
  seed?: number;
}

export type Criterion = (group: Group, ctx: ImportanceContext) => Promise<Float64Array>;

export const weightSlices = (g: Group): ParamSlice[] => g.slices.filter((s) => s.param.endsWith('.weight'));

/** Sums per-index statistics of each slice into per-channel scores. */
export function sumOverSlices(g: Group, perIndex: (s: ParamSlice) => ArrayLike<number>, slices: ParamSlice[]): Float64Array {
  const scores = new Float64Array(g.channels);
  for (const s of slices) {
    const stats = perIndex(s);
    s.indices.forEach((idx, c) => { for (const i of idx) scores[c] += stats[i]; });
  }
  return scores;
}

/** Per-index sums along the slice's axis, computed on the backend. */
export async function sliceStats(ctx: ImportanceContext, s: ParamSlice, kind: 'l1' | 'l2sq'): Promise<Float32Array> {
  const data = ctx.model.params.get(s.param)!;
  const mask = ctx.model.masks.get(s.param);
  const shape = shapeOf(ctx, s.param);
  const w = ctx.be.upload(mask ? data.map((v, i) => v * mask[i]) : data, shape);
  const stats = ctx.be.channelStats(w, s.axis, kind);
  const out = await ctx.be.read(stats);
  ctx.be.dispose(w, stats);
  return out;
}

export function shapeOf(ctx: ImportanceContext, param: string): number[] {
  const p = paramList(ctx.model.spec).find((q) => q.name === param);
  if (!p) throw new Error(`importance: no parameter '${param}'`);
  return p.shape;
}
