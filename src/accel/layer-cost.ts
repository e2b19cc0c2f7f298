// What the accelerator model says of one layer (a GEMM on the PE array or a vector-unit pass): its own
// module, so that cost.ts and vector-pass.ts, which both make them, need not import each other.
import type { ScaleSimReport } from './scalesim.js';
import type { Tiling } from './tiled.js';
import type { Gemm } from './workload.js';

export interface Traffic { ifmapReads: number; filterReads: number; ofmapReads: number; ofmapWrites: number }
export interface Energy { mac: number; registerFile: number; sram: number; dram: number; total: number }

export interface LayerCost {
  name: string;
  gemm: Gemm;
  macs: number;
  cycles: number;
  computeCycles: number;
  stallCycles: number;
  /** MACs / (cycles x PEs). */
  utilization: number;
  /** Mean over folds of the fraction of PEs mapped. */
  mappingEfficiency: number;
  sram: Traffic & { ifmapWrites: number; filterWrites: number };
  dram: Traffic;
  /** DRAM bytes moved: each class at its width. */
  dramBytes: number;
  /** picojoules */
  energy: Energy;
  tiling?: Tiling;
  /** `--mode scalesim`: SCALE-Sim v2's report of the layer (its COMPUTE, BANDWIDTH and DETAILED_ACCESS columns). */
  scaleSim?: ScaleSimReport;
  /** A vector-unit pass (its op), not a GEMM on the PE array. */
  vector?: string;
}
