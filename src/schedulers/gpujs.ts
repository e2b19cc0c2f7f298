// The tile scheduler on the gpu.js backend: shaders/gpujs/tile-scheduler.js scores every candidate of
// many problems in float32, then the host re-scores exactly (src/accel/tiled.ts) the candidates within
// float rounding of the best and those whose counts may saturate. The result is the CPU reference's
// choice exactly: the exact best scores within rounding of the float best, so it is always re-scored.
import type { GpujsBackend } from '../gpujs/backend.js';
import type { AcceleratorConfig } from '../accel/config.js';
import { OBJECTIVES, problemWords, scheduledAt } from './webgpu.js';
import { type Objective, type Scheduled, type TileProblem, candidateAt, candidateCount, evaluateCandidate, score } from '../accel/tiled.js';

/** Relative error bound of the float32 scores (tens of roundings of 2^-24 each), with a wide margin. */
const FLOAT_TOLERANCE = 1e-4;
const NO_FIT = 1e38;
/** Grid cells per kernel call. */
const BATCH_CELLS = 1 << 22;

/** A problem's best candidate: the near-best by float score (and any flagged), re-scored exactly. */
function bestCandidate(q: TileProblem, floats: Float32Array, objective: Objective): number {
  let min = Infinity;
  for (let i = 0; i < floats.length; i++) if (floats[i] >= 0 && floats[i] < min) min = floats[i];
  let best = -1;
  let bestScore = 0n;
  for (let i = 0; i < floats.length; i++) {
    const s = floats[i];
    if (s >= NO_FIT || (s >= 0 && s > min * (1 + FLOAT_TOLERANCE) + 1)) continue;
    const t = candidateAt(q, i);
    const exact = score(q, evaluateCandidate(q, t.tp, t.tk, t.tm, t.orderIndex), objective);
    if (best < 0 || exact < bestScore) [best, bestScore] = [i, exact];
  }
  return Math.max(best, 0);
}

/** The gpu.js scheduler with evaluate()'s `schedule` signature. */
export function gpujsScheduler(be: GpujsBackend) {
  return async (c: AcceleratorConfig, problems: TileProblem[], objective: Objective): Promise<Scheduled[]> => {
    const result: Scheduled[] = [];
    for (let start = 0; start < problems.length;) {
      let width = 0;
      let end = start;
      while (end < problems.length && (end === start || Math.max(width, candidateCount(problems[end])) * (end - start + 1) <= BATCH_CELLS)) {
        width = Math.max(width, candidateCount(problems[end]));
        end++;
      }
      const batch = problems.slice(start, end);
      const words = Float32Array.from(batch.flatMap((q) => problemWords(q, candidateCount(q), 0)));
      const rows = await be.runGrid('tile-scheduler', width, batch.length, words, OBJECTIVES[objective]);
      batch.forEach((q, i) => result.push(scheduledAt(c, q, bestCandidate(q, rows[i].subarray(0, candidateCount(q)), objective))));
      start = end;
    }
    return result;
  };
}
