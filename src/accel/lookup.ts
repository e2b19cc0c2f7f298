// Latency and energy lookup tables: the cost of a layer for every (kept input channels, kept output
// channels) pair, each pair scheduled by the tile scheduler, all pairs in one GPU pass. This is what
// accelerator-aware pruning consumes; the latency staircase of the array shows in it.
import type { AcceleratorConfig } from './config.js';
import type { EvaluateOptions } from './cost.js';
import { type Objective, type TileProblem, candidateAt, countsEnergy, dramAccesses, evaluateCandidate, scheduleOnCpu, tileProblem } from './tiled.js';
import { type LayerWorkload, keptWorkload } from './workload.js';

export { keptWorkload };

export interface LookupTable {
  layer: string;
  /** Depthwise layers keep input and output channels together: a table of one row. */
  depthwise: boolean;
  inChannels: number;
  outChannels: number;
  /** Row-major [keptIn - 1][keptOut - 1] (depthwise: [0][kept - 1]). */
  cycles: Float64Array;
  energyPJ: Float64Array;
  dramWords: Float64Array;
}

export function lookupIndex(t: LookupTable, keptIn: number, keptOut: number): number {
  return t.depthwise ? keptOut - 1 : (keptIn - 1) * t.outChannels + (keptOut - 1);
}

export interface LookupOptions {
  objective?: Objective;
  /** A scheduler for all pairs at once (a backend's, e.g. the WGSL one: one GPU pass); the CPU reference otherwise. */
  schedule?: EvaluateOptions['schedule'];
}

export async function buildLookupTable(c: AcceleratorConfig, l: LayerWorkload, o: LookupOptions = {}): Promise<LookupTable> {
  const objective = o.objective ?? 'latency';
  const depthwise = l.groups > 1 && l.channels === 1;
  const inChannels = depthwise ? l.groups : l.channels * l.groups;
  const outChannels = depthwise ? l.groups * l.numFilters : l.numFilters * l.groups;
  const pairs: [number, number][] = [];
  if (depthwise) for (let k = 1; k <= l.groups; k++) pairs.push([k, k]);
  else for (let i = 1; i <= inChannels; i++) for (let j = 1; j <= outChannels; j++) pairs.push([i, j]);
  const workloads = pairs.map(([i, j]) => keptWorkload(l, i, j));
  const problems: TileProblem[] = workloads.map((w) => tileProblem(c, w));
  const indices = o.schedule
    ? (await o.schedule(c, problems, objective)).map((s) => s.index)
    : problems.map((q) => scheduleOnCpu(c, q, objective).index);
  const n = pairs.length;
  const table: LookupTable = {
    layer: l.name, depthwise, inChannels, outChannels,
    cycles: new Float64Array(n), energyPJ: new Float64Array(n), dramWords: new Float64Array(n),
  };
  problems.forEach((q, i) => {
    const t = candidateAt(q, indices[i]);
    const k = evaluateCandidate(q, t.tp, t.tk, t.tm, t.orderIndex);
    if (!k.fits) throw new Error(`lookup table: layer '${l.name}' with ${pairs[i][0]} -> ${pairs[i][1]} channels fits no tiling of ${c.name}`);
    const repeats = workloads[i].groups;
    const e = countsEnergy(c, q, k);
    table.cycles[i] = k.cycles * repeats;
    table.dramWords[i] = dramAccesses(k) * repeats;
    table.energyPJ[i] = (e.mac + e.registerFile + e.sram + e.dram) * repeats;
  });
  return table;
}
