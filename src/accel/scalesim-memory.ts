// SCALE-Sim v2's memory system for one layer (scalesim-project/scale-sim-v2 22f88b1,
// memory/double_buffered_scratchpad_mem.py service_memory_requests and single_layer_sim.py): the demand
// of every cycle goes to the ifmap and filter read buffers and the ofmap write buffer; a cycle's stall is
// the longest any of the three made it wait, and later cycles shift by it. Buffers hold their SRAM's
// bytes in words of the config's `wordBytes` (SCALE-Sim v2 itself always uses 1-byte words); DRAM
// bandwidth is the config's in `USER` mode and, in `CALC` mode, SCALE-Sim's fixed request widths (10 words
// a cycle for ifmap and filter, the array's width for ofmap) with reads estimated, never stalling.
import type { AcceleratorConfig } from './config.js';
import { type DramSide, EstimatingReadBuffer, ReadBuffer, type ReadSide, WriteBuffer } from './scalesim-buffers.js';
import { type Demand, fetchOrders, foldDemand, foldsOf, operandAddresses } from './scalesim-demand.js';
import type { LayerWorkload } from './workload.js';

/** What SCALE-Sim reports of a layer's memory side (one group of a grouped layer). */
export interface ScaleSimMemory {
  totalCycles: number;
  stallCycles: number;
  /** Mean over folds of the fraction of the fold's cycles x PEs doing MACs (SCALE-Sim's Compute Util). */
  computeUtil: number;
  /** Mean over folds of the fraction of PEs mapped, summed fold by fold as SCALE-Sim does (its Mapping Efficiency). */
  mappingEff: number;
  /** First and last cycle an operand's SRAM is accessed. */
  sram: { ifmap: [number, number]; filter: [number, number]; ofmap: [number, number] };
  /** DRAM words and the first and last cycle of each operand's DRAM trace. */
  dram: { ifmapReads: number; filterReads: number; ofmapWrites: number; ifmap: [number, number]; filter: [number, number]; ofmap: [number, number] };
}

/** SRAM capacity in words, as SCALE-Sim sizes its buffers: floor(kB x 1024 / word size). */
const bufferWords = (kB: number, wordBytes: number) => Math.floor((kB * 1024) / wordBytes);

/** CALC mode's request widths (single_layer_sim.py): ifmap and filter 10 words a cycle, ofmap the array's width. */
const CALC_READ_BANDWIDTH = 10;

export function scaleSimMemory(c: AcceleratorConfig, l: LayerWorkload): ScaleSimMemory {
  const a = operandAddresses(l);
  const R = c.rows, C = c.cols, df = c.dataflow;
  const user = c.interfaceBandwidth === 'USER';
  const words = (kB: number) => bufferWords(kB, c.wordBytes);
  let ifmapBuffer: ReadSide, filterBuffer: ReadSide;
  if (user) {
    const fetch = fetchOrders(df, a, R, C);
    ifmapBuffer = new ReadBuffer(words(c.ifmapSramKB), c.dramBandwidth, fetch.ifmap, a.ifmapWords);
    filterBuffer = new ReadBuffer(words(c.filterSramKB), c.dramBandwidth, fetch.filter, a.filterWords);
  } else {
    ifmapBuffer = new EstimatingReadBuffer(words(c.ifmapSramKB), CALC_READ_BANDWIDTH, a.ifmapWords);
    filterBuffer = new EstimatingReadBuffer(words(c.filterSramKB), CALC_READ_BANDWIDTH, a.filterWords);
  }
  const ofmapBuffer = new WriteBuffer(words(c.ofmapSramKB), user ? c.dramBandwidth : C);

  const f = foldsOf(df, a, R, C);
  const T = df === 'os' ? a.K : df === 'ws' ? a.P : a.M;
  // The fold's cycles as SCALE-Sim's compute utilisation counts them (ws and is count C - 1 more).
  const utilCycles = df === 'os' ? f.cyclesPerFold : f.cyclesPerFold + C - 1;
  const [Sr, Sc] = df === 'os' ? [a.P, a.M] : df === 'ws' ? [a.K, a.M] : [a.K, a.P];
  const sram = { ifmap: [-1, -1] as [number, number], filter: [-1, -1] as [number, number], ofmap: [-1, -1] as [number, number] };
  const touch = (span: [number, number], buffer: DramSide, served: number) => {
    if (buffer.served === 0) return;
    if (span[0] < 0) span[0] = served;
    span[1] = served;
  };
  let stalls = 0, line = 0, last = 0, util = 0, mapped = 0;
  let d: Demand | undefined;
  for (let fc = 0; fc < f.colFolds; fc++) {
    for (let fr = 0; fr < f.rowFolds; fr++) {
      d = foldDemand(df, a, R, C, fr, fc, d);
      const used = Math.min(R, Sr - fr * R) * Math.min(C, Sc - fc * C);
      util += (used * T) / (R * C * utilCycles);
      mapped += used / (R * C);
      for (let row = 0; row < f.cyclesPerFold; row++, line++) {
        const cycle = line + stalls;
        d.ifmap.row(row);
        d.filter.row(row);
        d.ofmap.row(row);
        const i = ifmapBuffer.service(d.ifmap, cycle);
        const w = filterBuffer.service(d.filter, cycle);
        const o = ofmapBuffer.service(d.ofmap, cycle);
        touch(sram.ifmap, ifmapBuffer, i);
        touch(sram.filter, filterBuffer, w);
        touch(sram.ofmap, ofmapBuffer, o);
        stalls += Math.max(i - cycle - 1, w - cycle - 1, o - cycle);
        last = o;
      }
    }
  }
  ifmapBuffer.finish();
  filterBuffer.finish();
  ofmapBuffer.finish(last);
  return {
    totalCycles: last, stallCycles: stalls, computeUtil: util / (f.rowFolds * f.colFolds), mappingEff: mapped / (f.rowFolds * f.colFolds), sram,
    dram: {
      ifmapReads: ifmapBuffer.accesses, filterReads: filterBuffer.accesses, ofmapWrites: ofmapBuffer.accesses,
      ifmap: [ifmapBuffer.start, ifmapBuffer.stop], filter: [filterBuffer.start, filterBuffer.stop], ofmap: [ofmapBuffer.start, ofmapBuffer.stop],
    },
  };
}
