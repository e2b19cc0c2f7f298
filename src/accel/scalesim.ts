// Mode `scalesim`: SCALE-Sim v2's closed-form compute model in its CALC bandwidth mode, reproduced
// exactly (scalesim-project/scale-sim-v2, scalesim/compute/systolic_compute_{os,ws,is}.py).
// Folds run one after another, each paying the full fill, skew and drain.
import type { AcceleratorConfig } from './config.js';
import { type LayerWorkload, gemmOf } from './workload.js';

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
