// Sparse training: a structured sparsity penalty λ Σ_s ‖w_s‖₂ over the structures s (structures.ts),
// applied as its proximal step after the optimizer step (exact zeros, unaffected by Adam's per-weight
// step sizes) or as its gradient λ w/‖w_s‖ between the backward pass and the optimizer step (SSL's form;
// Torch-Pruning's `pruner.regularize(model)`). The per-row sums of squares are reduced on the backend
// (channelStats), the structures' norms combined on the host (a few hundred numbers), and the update
// applied on the backend as a per-row scaling of the weights (channelScale, + add for the gradient), so
// every backend runs it with ops its shared suite checks. λ is constant, or grows on the structures to
// be removed (Wang et al., "Neural Pruning via Growing Regularization", ICLR 2021; Torch-Pruning's
// GrowingRegPruner) until they are near zero.
import type { Backend, Tensor } from '../backend.js';
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { type TrainHooks, type TrainOptions, train } from '../train/trainer.js';
import type { Group } from './dependency.js';
import { cropKernels, kernelCrops, removeBlocks } from './structure-removal.js';
import { type PenaltyPart, type StructureKind, type Structures, penaltyStructures, residualBlocks } from './structures.js';

export interface SparsityOptions {
  kind: StructureKind;
  /**
   * proximal (default): after the optimizer step, each structure shrinks by lr·λ in norm and stops at
   * exactly 0 (the group-lasso proximal step; independent of Adam's per-weight scaling, which otherwise
   * cancels the penalty's pull). gradient: λ w/‖w_s‖ added to the gradient before the step (SSL's form).
   */
  mode?: 'proximal' | 'gradient';
  /**
   * The penalty's weight λ (at the start, when it grows). Absent: chosen from the norms at the first step
   * (autoLambda), which needs `grow` and `steps`.
   */
  lambda?: number;
  /** The phase's length in steps (for the automatic λ). */
  steps?: number;
  /**
   * Growing regularisation (Wang et al., ICLR 2021): only the `target` share of structures with the
   * smallest norms (per channel group) is penalised, and λ grows by `factor` every `every` steps until
   * that share is near zero.
   */
  grow?: { every: number; factor: number; target: number };
}

/** A structure is near zero below this share of the median structure norm before sparse training. */
export const NEAR_ZERO = 0.01;

/** Per structure, the L2 norm of its entries (host arrays, float64): the reference for the backend's. */
export function structureNorms(model: Model, s: Structures): Float64Array {
  const sq = new Float64Array(s.names.length);
  for (const part of s.parts) {
    const w = model.params.get(part.param)!;
    const mask = model.masks.get(part.param);
    const [, rows, inner] = part.view;
    for (let i = 0; i < w.length; i++) {
      const id = part.structureOfRow[Math.floor(i / inner) % rows];
      const v = mask && mask[i] === 0 ? 0 : w[i];
      if (id >= 0) sq[id] += v * v;
    }
  }
  return sq.map(Math.sqrt);
}

export const penaltyValue = (lambda: number, norms: ArrayLike<number>): number => lambda * Array.from(norms).reduce((a, b) => a + b, 0);

const median = (v: ArrayLike<number>) => {
  const s = Float64Array.from(v).sort();
  return s.length ? s[Math.floor(s.length / 2)] : 0;
};

/** w with each row of the part's [outer, rows, inner] view times factor(its structure id, -1 for none), on the backend. */
function scaleRows(be: Backend, w: Tensor, part: PenaltyPart, factor: (id: number) => number): Tensor {
  const [outer, rows, inner] = part.view;
  const perRow = Array.from(part.structureOfRow, factor);
  const factors = new Float32Array(outer * rows);
  for (let o = 0; o < outer; o++) factors.set(perRow, o * rows);
  const w4 = be.reshape(w, [outer, rows, inner, 1]);
  const s = be.upload(factors, [outer, rows, 1, 1]);
  const scaled = be.channelScale(w4, s);
  const out = be.reshape(scaled, w.shape);
  be.dispose(w4, s, scaled);
  return out;
}

/**
 * The automatic starting λ: with the proximal step each penalised structure shrinks by lr·λ in norm per
 * step, so λ = median penalised norm / (lr · steps / 2) alone would empty the median penalised structure
 * within the phase under a cosine schedule (Σ lr = lr₀·steps/2) if the data's gradient did not pull back;
 * growth (×2 every tenth of the phase while too few are near zero) overcomes that pull.
 */
export function autoLambda(penalisedNorms: number[], learningRate: number, steps: number): number {
  const m = median(penalisedNorms);
  return m > 0 && learningRate > 0 ? m / (learningRate * Math.max(1, steps / 2)) : 1;
}

/** The growth the automatic λ uses: ×2 every tenth of the phase. */
export const autoGrowth = (steps: number) => ({ factor: 2, every: Math.max(1, Math.round(steps / 10)) });

export class SparsityPenalty {
  /** NaN until the first step sets the automatic λ. */
  lambda: number;
  /** λ at the first step: given, or the automatic one once chosen (a resumed run's λ is not its start). */
  startLambda?: number;
  /** The median structure norm when the penalty first ran: "near zero" is relative to it. */
  reference?: number;
  readonly structures: Structures;

  constructor(readonly spec: Model['spec'], groups: Group[], readonly o: SparsityOptions) {
    if (o.lambda !== undefined && !(o.lambda > 0)) throw new Error(`sparse training: λ must be > 0, got ${o.lambda}`);
    if (o.lambda === undefined && !(o.grow && o.steps && o.steps >= 1)) throw new Error('sparse training: an automatic λ needs growth and the phase\'s steps');
    if (o.grow && !(o.grow.every >= 1 && o.grow.factor > 1 && o.grow.target > 0 && o.grow.target <= 1)) throw new Error('sparse training: growing λ needs every >= 1, factor > 1 and a target share in (0, 1]');
    this.structures = penaltyStructures(spec, groups, o.kind);
    this.lambda = o.lambda ?? Number.NaN;
    this.startLambda = o.lambda;
  }

  /**
   * Which structures the penalty acts on: all, or (growing) the `target` share with the smallest norms —
   * per dependency group for channel structures (as a uniform ratio would cut, never a whole group), over
   * all structures otherwise.
   */
  penalised(norms: Float64Array): (id: number) => boolean {
    const g = this.o.grow;
    if (!g) return () => true;
    const pools = new Map<string, number[]>();
    const perGroup = this.o.kind === 'group-lasso' || this.o.kind === 'slimming';
    this.structures.owners.forEach((owner, id) => {
      const key = perGroup ? owner.node : '';
      pools.set(key, [...(pools.get(key) ?? []), id]);
    });
    const chosen = new Set<number>();
    for (const ids of pools.values()) {
      const count = Math.min(Math.ceil(g.target * ids.length), perGroup ? ids.length - 1 : ids.length);
      for (const id of ids.sort((a, b) => norms[a] - norms[b]).slice(0, count)) chosen.add(id);
    }
    return (id) => chosen.has(id);
  }

  /** Per structure, the L2 norm of its entries in `params` (device tensors), reduced on the backend. */
  async norms(be: Backend, params: ReadonlyMap<string, Tensor>): Promise<Float64Array> {
    const sq = new Float64Array(this.structures.names.length);
    for (const part of this.structures.parts) {
      const view = be.reshape(params.get(part.param)!, part.view);
      const stats = be.channelStats(view, 1, 'l2sq');
      const rows = await be.read(stats);
      be.dispose(view, stats);
      rows.forEach((v, r) => { const id = part.structureOfRow[r]; if (id >= 0) sq[id] += v; });
    }
    return sq.map(Math.sqrt);
  }

  /** Adds λ w / ‖w_s‖ to each parameter's gradient (0 where a structure is already exactly zero); returns the norms. */
  async addGradient(be: Backend, params: ReadonlyMap<string, Tensor>, grads: Map<string, Tensor>): Promise<Float64Array> {
    const norms = await this.norms(be, params);
    const on = this.penalised(norms);
    for (const part of this.structures.parts) {
      const g = grads.get(part.param);
      if (!g) continue;
      const scaled = scaleRows(be, params.get(part.param)!, part, (id) => (id >= 0 && on(id) && norms[id] > 0 ? this.lambda / norms[id] : 0));
      grads.set(part.param, be.add(g, scaled));
      be.dispose(scaled, g);
    }
    return norms;
  }

  /**
   * The proximal step of λ Σ‖w_s‖ with step size lr: w_s ← w_s · max(0, 1 − lr·λ/‖w_s‖), on the backend
   * (per-row factors, channelScale). A parameter in several structures (a conv's filters in one group,
   * its input slices in another) takes each one's factor in turn. Returns the norms before the step.
   */
  async shrink(be: Backend, params: Map<string, Tensor>, learningRate: number): Promise<Float64Array> {
    const norms = await this.norms(be, params);
    const on = this.penalised(norms);
    for (const part of this.structures.parts) {
      const w = params.get(part.param)!;
      params.set(part.param, scaleRows(be, w, part, (id) => (id < 0 || !on(id) ? 1 : norms[id] > 0 ? Math.max(0, 1 - (learningRate * this.lambda) / norms[id]) : 0)));
      be.dispose(w);
    }
    return norms;
  }

  /** Trainer hooks: the gradient before the optimizer step, or the proximal step after it; λ grown on schedule. */
  hooks(): Pick<TrainHooks, 'regularize' | 'afterStep'> {
    const start = async (be: Backend, params: ReadonlyMap<string, Tensor>, learningRate: number) => {
      if (!Number.isNaN(this.lambda)) return;
      const norms = await this.norms(be, params);
      const on = this.penalised(norms);
      this.lambda = this.startLambda = autoLambda(Array.from(norms).filter((_, i) => on(i)), learningRate, this.o.steps!);
    };
    const grow = (step: number, norms: Float64Array) => {
      this.reference ??= median(norms);
      const g = this.o.grow;
      if (g && step > 0 && step % g.every === 0 && this.nearZeroShare(norms) < g.target) this.lambda *= g.factor;
    };
    if (this.o.mode === 'gradient') {
      return { regularize: async ({ be, step, params, grads, learningRate }) => { await start(be, params, learningRate); grow(step, await this.addGradient(be, params, grads)); } };
    }
    return { afterStep: async ({ be, step, params, learningRate }) => { await start(be, params, learningRate); grow(step, await this.shrink(be, params, learningRate)); } };
  }

  /** How many of the structures the penalty aims at (growing: the target share with the smallest norms) are near zero in `norms`. */
  reached(norms: Float64Array): { penalised: number; nearZero: number } {
    const on = this.penalised(norms);
    const ref = this.reference ?? median(norms);
    let penalised = 0, nearZero = 0;
    norms.forEach((v, i) => { if (on(i)) { penalised++; if (v <= NEAR_ZERO * ref) nearZero++; } });
    return { penalised, nearZero };
  }

  nearZeroShare(norms: ArrayLike<number>): number {
    const ref = this.reference ?? median(norms);
    return Array.from(norms).filter((v) => v <= NEAR_ZERO * ref).length / norms.length;
  }

  /** Names of the structures near zero. */
  nearZero(norms: ArrayLike<number>): string[] {
    const ref = this.reference ?? median(norms);
    return this.structures.names.filter((_, i) => norms[i] <= NEAR_ZERO * ref);
  }
}

/**
 * Depth and filter shape: the blocks and border kernel positions sparse training emptied, removed from
 * the model (channels are left to the pruner, which ranks them by group norm). Returns what went.
 */
export function removeEmptied(model: Model, s: Structures, emptied: (i: number) => boolean): { model: Model; removed: string[] } {
  const ids = s.names.map((_, i) => i).filter(emptied);
  if (s.kind === 'depth') {
    const adds = new Set(ids.map((i) => s.owners[i].node));
    const blocks = residualBlocks(model.spec).filter((b) => adds.has(b.add));
    return { model: blocks.length ? removeBlocks(model, blocks) : model, removed: blocks.map((b) => `block ${b.add} (${b.nodes.length} nodes)`) };
  }
  if (s.kind === 'filter-shape') {
    const zero = new Map<string, Set<number>>();
    for (const i of ids) zero.set(s.owners[i].node, (zero.get(s.owners[i].node) ?? new Set()).add(s.owners[i].index));
    const crops = kernelCrops(model.spec, zero);
    const sizes = new Map(model.spec.nodes.flatMap((n) => (n.op === 'conv2d' ? [[n.name, n.kernel] as const] : [])));
    const cropped = cropKernels(model, crops);
    const after = new Map(cropped.spec.nodes.flatMap((n) => (n.op === 'conv2d' ? [[n.name, n.kernel] as const] : [])));
    const text = (k: unknown) => (Array.isArray(k) ? k.join('x') : `${k}x${k}`);
    return { model: cropped, removed: crops.map((c) => `${c.conv} kernel ${text(sizes.get(c.conv))} -> ${text(after.get(c.conv))}`) };
  }
  return { model, removed: [] };
}

export interface SparseTrainResult {
  model: Model;
  /** Structure norms before and after (float64, host). */
  before: Float64Array;
  after: Float64Array;
  /** λ at the end (grown, if growing). */
  lambda: number;
  /** λ at the first step (given or automatic); absent when resumed past it. */
  startLambda?: number;
  nearZero: string[];
  /** Of the structures the penalty aimed at, how many ended near zero. */
  reached: { penalised: number; nearZero: number };
  penalty: SparsityPenalty;
  /** Set when the user stopped it: a checkpoint to continue from (with `lambda`). */
  stopped?: Checkpoint;
}

/** Trains `model` with the penalty (the caller's training options and hooks); a resumed run passes its checkpoint and λ. */
export async function sparseTrain(
  be: Backend, model: Model, groups: Group[], data: Dataset, options: TrainOptions, penalty: SparsityOptions,
  hooks: Omit<TrainHooks, 'regularize' | 'afterStep'> & { lambda?: number; reference?: number } = {},
): Promise<SparseTrainResult> {
  const { lambda, reference, ...trainHooks } = hooks;
  const p = new SparsityPenalty(model.spec, groups, penalty);
  const before = structureNorms(model, p.structures);
  if (lambda !== undefined) p.lambda = lambda;
  p.reference = reference ?? median(before);
  const run = await train(be, model, data, options, { ...trainHooks, ...p.hooks() });
  const after = structureNorms(run.model, p.structures);
  return {
    model: run.model, before, after, lambda: p.lambda, ...(p.startLambda !== undefined ? { startLambda: p.startLambda } : {}), nearZero: p.nearZero(after), reached: p.reached(after), penalty: p,
    ...(run.stopped ? { stopped: run.checkpoint } : {}),
  };
}
