// evaluate(config, workload, mapping options): the one entry to the accelerator model. Per layer and in
// total: cycles, stalls, utilization, SRAM and DRAM traffic per operand, and energy per level.
import type { AcceleratorConfig } from './config.js';
import type { Energy, LayerCost } from './layer-cost.js';
import { scaleSimLayer, scaleSimReport } from './scalesim.js';
import { vectorPassCost } from './vector-pass.js';
import {
  type Objective, type Scheduled, type TileCounts, type TileProblem, U32_MAX, countsEnergy, scheduleOnCpu, tileProblem,
} from './tiled.js';
import { type LayerWorkload, gemmOf, macsOf } from './workload.js';

export type Mode = 'tiled' | 'scalesim';

export type { Energy, LayerCost, Traffic } from './layer-cost.js';

export interface ModelCost {
  accelerator: string;
  mode: Mode;
  objective: Objective;
  layers: LayerCost[];
  total: Omit<LayerCost, 'name' | 'gemm' | 'tiling'>;
  /** Latency at the configured clock. */
  latencyMs: number;
}

export interface EvaluateOptions {
  mode?: Mode;
  /** What the tile scheduler minimises in tiled mode. */
  objective?: Objective;
  /** A scheduler (the GPU one); the CPU reference by default. */
  schedule?: (c: AcceleratorConfig, problems: TileProblem[], objective: Objective) => Promise<Scheduled[]> | Scheduled[];
}

function energyOf(c: AcceleratorConfig, macs: number, registerFile: number, sram: number, dram: number): Energy {
  const e = { mac: macs * c.energy.mac, registerFile: registerFile * c.energy.registerFile, sram: sram * c.energy.sram, dram: dram * c.energy.dram };
  return { ...e, total: e.mac + e.registerFile + e.sram + e.dram };
}

function fromTiled(c: AcceleratorConfig, l: LayerWorkload, q: TileProblem, s: Scheduled): LayerCost {
  const t: TileCounts = s.counts;
  const gemm = gemmOf(l);
  // Counts are unsigned 32-bit integers that saturate (the GPU scheduler's arithmetic): a saturated one is no longer exact.
  const saturated = Object.entries(t).find(([, v]) => v === U32_MAX);
  if (saturated) {
    throw new Error(`tiled mode: layer '${l.name}' (a ${gemm.P} x ${gemm.K} x ${gemm.M} GEMM) needs ${saturated[0]} beyond 2^32 - 1, where the tile scheduler's exact 32-bit counts end; use --mode scalesim or a smaller input`);
  }
  const r = gemm.repeats;
  const sram = {
    ifmapReads: t.sramIfmapReads * r, filterReads: t.sramFilterReads * r, ofmapReads: t.sramOfmapReads * r,
    ofmapWrites: t.sramOfmapWrites * r, ifmapWrites: t.sramIfmapWrites * r, filterWrites: t.sramFilterWrites * r,
  };
  const dram = { ifmapReads: t.dramIfmapReads * r, filterReads: t.dramFilterReads * r, ofmapReads: t.dramOfmapReads * r, ofmapWrites: t.dramOfmapWrites * r };
  const one = countsEnergy(c, q, t);
  // A packed binary layer's word operations each do `pack` binary MACs: report those (utilization stays per word operation).
  const macs = q.pack > 1 ? macsOf(l) : t.macs * r;
  const e = { mac: one.mac * r, registerFile: one.registerFile * r, sram: one.sram * r, dram: one.dram * r };
  const cycles = t.cycles * r;
  return {
    name: l.name, gemm, macs, cycles, computeCycles: (t.computeCycles + t.prologueCycles) * r, stallCycles: t.stallCycles * r,
    utilization: (t.macs * r) / (cycles * c.rows * c.cols),
    mappingEfficiency: t.usedPeFolds / (t.folds * c.rows * c.cols),
    sram, dram, dramBytes: one.dramBytes * r, energy: { ...e, total: e.mac + e.registerFile + e.sram + e.dram }, tiling: s.tiling,
  };
}

function fromScaleSim(c: AcceleratorConfig, l: LayerWorkload): LayerCost {
  const s = scaleSimLayer(c, l);
  const report = scaleSimReport(c, l, s);
  const gemm = gemmOf(l);
  // DRAM traffic as SCALE-Sim's buffers move it; what they read from DRAM they write into the SRAMs.
  const dram = { ifmapReads: report['DRAM IFMAP Reads'], filterReads: report['DRAM Filter Reads'], ofmapReads: 0, ofmapWrites: report['DRAM OFMAP Writes'] };
  const sram = { ifmapReads: s.sramIfmapReads, filterReads: s.sramFilterReads, ofmapReads: 0, ofmapWrites: s.sramOfmapWrites, ifmapWrites: dram.ifmapReads, filterWrites: dram.filterReads };
  const sramTotal = Object.values(sram).reduce((a, b) => a + b, 0);
  const dramTotal = Object.values(dram).reduce((a, b) => a + b, 0);
  const cycles = report['Total Cycles'];
  return {
    name: l.name, gemm, macs: s.macs, cycles, computeCycles: s.totalCycles, stallCycles: report['Stall Cycles'],
    utilization: s.macs / (cycles * c.rows * c.cols), mappingEfficiency: s.mappingEffPct / 100,
    sram, dram, dramBytes: dramTotal * c.wordBytes, energy: energyOf(c, s.macs, 3 * s.macs, sramTotal, dramTotal), scaleSim: report,
  };
}

export async function evaluate(c: AcceleratorConfig, layers: LayerWorkload[], o: EvaluateOptions = {}): Promise<ModelCost> {
  const mode = o.mode ?? 'tiled';
  const objective = o.objective ?? 'latency';
  const gemms = layers.filter((l) => !l.vector);
  let gemmCosts: LayerCost[];
  if (mode === 'scalesim') {
    gemmCosts = gemms.map((l) => fromScaleSim(c, l));
  } else {
    const problems = gemms.map((l) => tileProblem(c, l));
    const scheduled = o.schedule ? await o.schedule(c, problems, objective) : problems.map((q) => scheduleOnCpu(c, q, objective));
    gemmCosts = gemms.map((l, i) => fromTiled(c, l, problems[i], scheduled[i]));
  }
  let next = 0;
  return summarize(c, mode, objective, layers.map((l) => (l.vector ? vectorPassCost(c, l) : gemmCosts[next++])));
}

/** A model's cost from its layers' costs: totals, utilization and latency at the clock. */
export function summarize(c: AcceleratorConfig, mode: Mode, objective: Objective, costs: LayerCost[]): ModelCost {
  const sum = (f: (l: LayerCost) => number) => costs.reduce((s, l) => s + f(l), 0);
  const sumRecord = <T extends object>(f: (l: LayerCost) => T): T => {
    const out: Record<string, number> = {};
    for (const l of costs) for (const [k, v] of Object.entries(f(l))) out[k] = (out[k] ?? 0) + (v as number);
    return out as T;
  };
  const cycles = sum((l) => l.cycles);
  const macs = sum((l) => l.macs);
  const arrayCycles = sum((l) => (l.vector ? 0 : l.cycles));
  return {
    accelerator: c.name, mode, objective, layers: costs,
    total: {
      macs, cycles, computeCycles: sum((l) => l.computeCycles), stallCycles: sum((l) => l.stallCycles),
      utilization: cycles ? macs / (cycles * c.rows * c.cols) : 0,
      // Of the PE array's layers only (a vector pass maps nothing onto it).
      mappingEfficiency: arrayCycles ? sum((l) => l.mappingEfficiency * l.cycles) / arrayCycles : 0,
      sram: sumRecord((l) => l.sram), dram: sumRecord((l) => l.dram), dramBytes: sum((l) => l.dramBytes), energy: sumRecord((l) => l.energy),
    },
    latencyMs: cycles / (c.clockMHz * 1000),
  };
}
