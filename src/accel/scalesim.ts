// Mode `scalesim`: SCALE-Sim v2 reproduced exactly (scalesim-project/scale-sim-v2 22f88b1): its compute
// side in closed form (scalesim/compute/systolic_compute_{os,ws,is}.py: folds run one after another,
// each paying the full fill, skew and drain) and its memory side replayed cycle by cycle
// (scalesim-memory.ts), reported in its own columns.
import type { AcceleratorConfig } from './config.js';
import { scaleSimMemory } from './scalesim-memory.js';
import { type LayerWorkload, gemmOf } from './workload.js';

/** SCALE-Sim v2's per-layer report files and their columns, in its order (simulator.py). */
export const SCALESIM_REPORTS = {
  COMPUTE_REPORT: ['Total Cycles', 'Stall Cycles', 'Overall Util %', 'Mapping Efficiency %', 'Compute Util %'],
  BANDWIDTH_REPORT: ['Avg IFMAP SRAM BW', 'Avg FILTER SRAM BW', 'Avg OFMAP SRAM BW', 'Avg IFMAP DRAM BW', 'Avg FILTER DRAM BW', 'Avg OFMAP DRAM BW'],
  DETAILED_ACCESS_REPORT: [
    'SRAM IFMAP Start Cycle', 'SRAM IFMAP Stop Cycle', 'SRAM IFMAP Reads', 'SRAM Filter Start Cycle', 'SRAM Filter Stop Cycle', 'SRAM Filter Reads',
    'SRAM OFMAP Start Cycle', 'SRAM OFMAP Stop Cycle', 'SRAM OFMAP Writes', 'DRAM IFMAP Start Cycle', 'DRAM IFMAP Stop Cycle', 'DRAM IFMAP Reads',
    'DRAM Filter Start Cycle', 'DRAM Filter Stop Cycle', 'DRAM Filter Reads', 'DRAM OFMAP Start Cycle', 'DRAM OFMAP Stop Cycle', 'DRAM OFMAP Writes',
  ],
} as const;

export type ScaleSimColumn = (typeof SCALESIM_REPORTS)[keyof typeof SCALESIM_REPORTS][number];

/**
 * A layer's row in SCALE-Sim's reports. A grouped layer runs its groups one after another: cycles and
 * counts are all groups', utilisations and bandwidths one group's (the same for each), start and stop
 * cycles the first group's.
 */
export type ScaleSimReport = Record<ScaleSimColumn, number>;

export interface ScaleSimResult {
  /** Operand mapping: Sr spatial rows, Sc spatial columns, T temporal. */
  Sr: number; Sc: number; T: number;
  rowFolds: number; colFolds: number;
  macs: number;
  totalCycles: number;
  overallUtilPct: number;
  mappingEffPct: number;
  sramIfmapReads: number;
  sramFilterReads: number;
  sramOfmapWrites: number;
}

export function scaleSimLayer(c: AcceleratorConfig, layer: LayerWorkload): ScaleSimResult {
  const { P, K, M, repeats } = gemmOf(layer);
  const R = c.rows, C = c.cols;
  // Operand mapping (Sr, Sc, T): os (P, M, K); ws (K, M, P); is (K, P, M).
  const [Sr, Sc, T] = c.dataflow === 'os' ? [P, M, K] : c.dataflow === 'ws' ? [K, M, P] : [K, P, M];
  const rowFolds = Math.ceil(Sr / R), colFolds = Math.ceil(Sc / C);
  const folds = rowFolds * colFolds;
  const perFold = c.dataflow === 'os' ? T + R + C - 2 : 2 * R + C + T - 2;
  const cycles = folds * perFold - 1;
  const macs = P * K * M;
  // SRAM reads are injections at the array edges; os also writes R + C per fold as it drains.
  let ifmap: number, filter: number, ofmap: number;
  if (c.dataflow === 'os') {
    [ifmap, filter, ofmap] = [P * K * colFolds, K * M * rowFolds, P * M + folds * (R + C)];
  } else if (c.dataflow === 'ws') {
    [ifmap, filter, ofmap] = [P * K * colFolds, K * M, P * M * rowFolds];
  } else {
    [ifmap, filter, ofmap] = [K * P, M * K * colFolds, P * M * rowFolds];
  }
  // Depthwise and grouped layers: one GEMM per group, one after another (SCALE-Sim's convention).
  return {
    Sr, Sc, T, rowFolds, colFolds,
    macs: macs * repeats,
    totalCycles: cycles * repeats,
    overallUtilPct: (100 * macs) / (cycles * R * C),
    mappingEffPct: (100 * Sr * Sc) / (folds * R * C),
    sramIfmapReads: ifmap * repeats,
    sramFilterReads: filter * repeats,
    sramOfmapWrites: ofmap * repeats,
  };
}

/** The layer as SCALE-Sim v2 reports it, memory system included (`s`: its compute side, when the caller has it). */
export function scaleSimReport(c: AcceleratorConfig, layer: LayerWorkload, s = scaleSimLayer(c, layer)): ScaleSimReport {
  const r = gemmOf(layer).repeats;
  const m = scaleSimMemory(c, layer);
  const total = m.totalCycles;
  const [ifmapReads, filterReads, ofmapWrites] = [s.sramIfmapReads / r, s.sramFilterReads / r, s.sramOfmapWrites / r];
  const perCycle = (words: number, [start, stop]: [number, number]) => words / (stop - start + 1);
  return {
    'Total Cycles': total * r, 'Stall Cycles': m.stallCycles * r,
    'Overall Util %': (100 * (s.macs / r)) / (total * c.rows * c.cols), 'Mapping Efficiency %': 100 * m.mappingEff, 'Compute Util %': 100 * m.computeUtil,
    'Avg IFMAP SRAM BW': ifmapReads / total, 'Avg FILTER SRAM BW': filterReads / total, 'Avg OFMAP SRAM BW': ofmapWrites / total,
    'Avg IFMAP DRAM BW': perCycle(m.dram.ifmapReads, m.dram.ifmap), 'Avg FILTER DRAM BW': perCycle(m.dram.filterReads, m.dram.filter),
    'Avg OFMAP DRAM BW': perCycle(m.dram.ofmapWrites, m.dram.ofmap),
    'SRAM IFMAP Start Cycle': m.sram.ifmap[0], 'SRAM IFMAP Stop Cycle': m.sram.ifmap[1], 'SRAM IFMAP Reads': s.sramIfmapReads,
    'SRAM Filter Start Cycle': m.sram.filter[0], 'SRAM Filter Stop Cycle': m.sram.filter[1], 'SRAM Filter Reads': s.sramFilterReads,
    'SRAM OFMAP Start Cycle': m.sram.ofmap[0], 'SRAM OFMAP Stop Cycle': m.sram.ofmap[1], 'SRAM OFMAP Writes': s.sramOfmapWrites,
    'DRAM IFMAP Start Cycle': m.dram.ifmap[0], 'DRAM IFMAP Stop Cycle': m.dram.ifmap[1], 'DRAM IFMAP Reads': m.dram.ifmapReads * r,
    'DRAM Filter Start Cycle': m.dram.filter[0], 'DRAM Filter Stop Cycle': m.dram.filter[1], 'DRAM Filter Reads': m.dram.filterReads * r,
    'DRAM OFMAP Start Cycle': m.dram.ofmap[0], 'DRAM OFMAP Stop Cycle': m.dram.ofmap[1], 'DRAM OFMAP Writes': m.dram.ofmapWrites * r,
  };
}
