// The tile scheduler on the GPU: shaders/tile-scheduler.wgsl evaluates every candidate of many problems
// (layers, or every (kept input, kept output) channel pair of a layer) in one pass, then reduces each
// problem to its best candidate. Results are identical to the CPU reference (src/accel/tiled.ts).
import type { GpuContext } from '../webgpu/context.js';
import type { AcceleratorConfig } from '../accel/config.js';
import {
  type Objective, type Scheduled, type TileProblem, candidateAt, candidateCount, evaluateCandidate,
} from '../accel/tiled.js';

/** Objective codes, as the tile-scheduler kernel takes them. */
export const OBJECTIVES: Record<Objective, number> = { latency: 0, energy: 1, edp: 2, dram: 3 };
export const PROBLEM_WORDS = 30;
export const COUNT_FIELDS = 24;
/** Candidates evaluated per submission (12 bytes of scores each). */
const BATCH_CANDIDATES = 1 << 22;
const STORAGE = 0x80 | 0x04 | 0x08;

export interface GpuScheduleResult {
  best: { index: number; score: bigint }[];
  /** With writeCounts: COUNT_FIELDS u32 per candidate, problems one after another. */
  counts?: Uint32Array;
}

export function problemWords(q: TileProblem, candidates: number, first: number): number[] {
  return [q.P, q.K, q.M, q.ofmapW, q.ifmapH, q.ifmapW, q.filterH, q.filterW, q.strideH, q.strideW, q.channels, q.rows,
    q.cols, q.dataflow, q.ifmapWords, q.filterWords, q.ofmapWords, q.bandwidthPer16, q.sparseN, q.sparseM, candidates, first,
    q.activationUnits, q.weightUnits, q.psumUnits, ...q.energy, q.outputUnits];
}

export async function scheduleProblemsOnGpu(
  ctx: GpuContext, c: AcceleratorConfig, problems: TileProblem[], objective: Objective, o: { writeCounts?: boolean } = {},
): Promise<GpuScheduleResult> {
  const best: GpuScheduleResult['best'] = [];
  const countChunks: Uint32Array[] = [];
  for (let start = 0; start < problems.length;) {
    // A batch of whole problems holding at most BATCH_CANDIDATES candidates (at least one problem).
    const batch: { q: TileProblem; n: number; first: number }[] = [];
    let total = 0;
    for (let i = start; i < problems.length; i++) {
      const n = candidateCount(problems[i]);
      if (batch.length > 0 && total + n > BATCH_CANDIDATES) break;
      batch.push({ q: problems[i], n, first: total });
      total += n;
    }
    start += batch.length;
    const device = ctx.device;
    const buffer = (words: number, data?: Uint32Array<ArrayBuffer>) => {
      const b = device.createBuffer({ size: Math.max(16, words * 4), usage: STORAGE });
      if (data) device.queue.writeBuffer(b, 0, data);
      return b;
    };
    const problemBuffer = buffer(batch.length * PROBLEM_WORDS, Uint32Array.from(batch.flatMap((b) => problemWords(b.q, b.n, b.first))));
    const scores = buffer(total * 3);
    const counts = o.writeCounts ? buffer(total * COUNT_FIELDS) : buffer(4);
    const bestBuffer = buffer(batch.length * 4);
    const maxCandidates = Math.max(...batch.map((b) => b.n));
    const params = [batch.length, OBJECTIVES[objective]];
    const overrides = { WRITE_COUNTS: !!o.writeCounts };
    ctx.run({ shader: 'tile-scheduler', entry: 'evaluate', overrides, params, bindings: { 1: problemBuffer, 2: scores, 3: counts }, workgroups: [Math.ceil(maxCandidates / 64), batch.length] });
    ctx.run({ shader: 'tile-scheduler', entry: 'reduce', overrides, params, bindings: { 1: problemBuffer, 2: scores, 4: bestBuffer }, workgroups: [Math.min(batch.length, 65535), Math.ceil(batch.length / 65535)] });
    const result = new Uint32Array(await ctx.readBuffer(bestBuffer, batch.length * 16));
    for (let i = 0; i < batch.length; i++) {
      const [index, hi, mid, lo] = result.subarray(i * 4, i * 4 + 4);
      best.push({ index, score: (BigInt(hi) << 64n) | (BigInt(mid) << 32n) | BigInt(lo) });
    }
    if (o.writeCounts) countChunks.push(new Uint32Array(await ctx.readBuffer(counts, total * COUNT_FIELDS * 4)));
    for (const b of [problemBuffer, scores, counts, bestBuffer]) b.destroy();
  }
  const counts = o.writeCounts ? new Uint32Array(countChunks.reduce((s, a) => s + a.length, 0)) : undefined;
  if (counts) countChunks.reduce((offset, a) => { counts.set(a, offset); return offset + a.length; }, 0);
  return { best, counts };
}

/** The GPU scheduler with evaluate()'s `schedule` signature. */
export function gpuScheduler(ctx: GpuContext) {
  return async (c: AcceleratorConfig, problems: TileProblem[], objective: Objective): Promise<Scheduled[]> => {
    const { best } = await scheduleProblemsOnGpu(ctx, c, problems, objective);
    return best.map(({ index }, i) => scheduledAt(c, problems[i], index));
  };
}

/** The schedule of candidate `index`, with its exact counts; throws when even that one does not fit. */
export function scheduledAt(c: AcceleratorConfig, q: TileProblem, index: number): Scheduled {
  const t = candidateAt(q, index);
  const counts = evaluateCandidate(q, t.tp, t.tk, t.tm, t.orderIndex);
  if (!counts.fits) throw new Error(`tiled mode: no tiling of a ${q.P}x${q.K}x${q.M} GEMM fits the SRAMs of ${c.name}`);
  return { index, tiling: { tp: t.tp, tk: t.tk, tm: t.tm, order: t.order }, counts, candidates: candidateCount(q) };
}
