// The WGSL tile scheduler against the CPU reference: identical counts for every candidate, identical
// best candidates and scores, on random layers and configs, for every objective.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../src/accel/cost.js';
import { COUNT_FIELDS, gpuScheduler, scheduleProblemsOnGpu } from '../src/schedulers/webgpu.js';
import { type Objective, type TileCounts, candidateAt, candidateCount, evaluateCandidate, scheduleOnCpu, score, tileProblem } from '../src/accel/tiled.js';
import { Rng } from '../src/random.js';
import { randomConfig, randomLayer } from './helpers/accel-cases.js';
import { webgpu } from './helpers/backends.js';

const FIELDS: (keyof TileCounts)[] = ['fits', 'computeCycles', 'dramCycles', 'prologueCycles', 'stallCycles', 'cycles', 'usedPeFolds', 'folds',
  'macs', 'registerFile', 'sramIfmapReads', 'sramFilterReads', 'sramOfmapReads', 'sramOfmapWrites', 'sramIfmapWrites', 'sramFilterWrites',
  'dramIfmapReads', 'dramFilterReads', 'dramOfmapReads', 'dramOfmapWrites'];

describe('GPU tile scheduler equals the CPU reference', async () => {
  const gpu = await webgpu();
  const rng = new Rng(99);
  const cases = Array.from({ length: 12 }, () => ({ c: randomConfig(rng), l: randomLayer(rng) }));

  it('every candidate of random layers and configs: identical counts and scores', async () => {
    for (const { c, l } of cases) {
      const q = tileProblem(c, l);
      const { counts } = await scheduleProblemsOnGpu(gpu.ctx, c, [q], 'latency', { writeCounts: true });
      const n = candidateCount(q);
      for (let i = 0; i < n; i++) {
        const t = candidateAt(q, i);
        const cpu = evaluateCandidate(q, t.tp, t.tk, t.tm, t.orderIndex);
        const got = FIELDS.map((_, f) => counts![i * COUNT_FIELDS + f]);
        const want = FIELDS.map((f) => Number(cpu[f]));
        if (got.some((v, f) => v !== want[f])) expect(got, `${l.name} on ${c.name} ${c.dataflow}, candidate ${i} ${JSON.stringify(t)}`).toEqual(want);
      }
    }
  });

  for (const objective of ['latency', 'energy', 'edp', 'dram'] as Objective[]) {
    it(`best candidate and score, objective ${objective}, many problems in one pass`, async () => {
      // One config per pass: group the cases by config.
      for (const { c } of cases.slice(0, 4)) {
        const qs = cases.map(({ l }) => tileProblem(c, l));
        const { best } = await scheduleProblemsOnGpu(gpu.ctx, c, qs, objective);
        qs.forEach((q, i) => {
          const cpu = scheduleOnCpu(c, q, objective);
          expect(best[i].index, `problem ${i}`).toBe(cpu.index);
          expect(best[i].score).toBe(score(q, cpu.counts, objective));
        });
      }
    });
  }

  it('evaluate() gives the same model cost with the GPU scheduler', async () => {
    const { c } = cases[0];
    const layers = cases.map((x) => x.l);
    const [onCpu, onGpu] = [await evaluate(c, layers, { objective: 'energy' }), await evaluate(c, layers, { objective: 'energy', schedule: gpuScheduler(gpu.ctx) })];
    expect(onGpu).toEqual(onCpu);
  });
});
