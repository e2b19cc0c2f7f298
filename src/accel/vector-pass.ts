// The vector unit: the ops between GEMM layers that an accelerator runs outside its PE array (NVDLA's
// single-point, planar and channel data processors; a TPU's vector unit): pooling, residual adds,
// squeeze-excitation scales, normalisation that cannot fold into a conv, resizes. Like the GEMM layers
// here, a pass reads its inputs from DRAM and writes its output back, through the global buffer; it is
// bound by its operations (one per lane per cycle, one lane per PE-array column, an assumption of this
// model) or by DRAM bandwidth, whichever is slower. Activations and batch norms after a conv are not
// passes: they apply in the output stage of the unit that made their input (NVDLA's SDP).
import { type AcceleratorConfig, precisionOf } from './config.js';
import type { LayerCost } from './layer-cost.js';
import { type LayerWorkload, gemmOf } from './workload.js';

/** Words a pass reads: its inputs and per-channel parameters. */
export function vectorInputWords(l: LayerWorkload): number {
  const v = l.vector!;
  return v.inputs * l.channels * l.ifmapH * l.ifmapW + v.perChannelWords * l.channels;
}

export function vectorPassCost(c: AcceleratorConfig, l: LayerWorkload): LayerCost {
  const v = l.vector!;
  const inputWords = vectorInputWords(l);
  const outputWords = l.numFilters * l.ofmapH * l.ofmapW;
  const ops = outputWords * v.opsPerOutput;
  const computeCycles = Math.ceil(ops / c.cols);
  // Activations at the config's width, as a share of the word (the unit of bandwidth and energy).
  const share = precisionOf(c).activations / (c.wordBytes * 8);
  // dramBandwidth is a multiple of 1/16 word per cycle (config.ts), exact in binary: the quotient is correctly rounded.
  const dramCycles = Math.ceil(((inputWords + outputWords) * share) / c.dramBandwidth);
  const cycles = Math.max(computeCycles, dramCycles, 1);
  const sram = { ifmapReads: inputWords, filterReads: 0, ofmapReads: 0, ofmapWrites: outputWords, ifmapWrites: inputWords, filterWrites: 0 };
  const dram = { ifmapReads: inputWords, filterReads: 0, ofmapReads: 0, ofmapWrites: outputWords };
  const e = { mac: ops * c.energy.mac, registerFile: 0, sram: (2 * inputWords + outputWords) * share * c.energy.sram, dram: (inputWords + outputWords) * share * c.energy.dram };
  return {
    name: l.name, gemm: gemmOf(l), macs: 0, cycles, computeCycles, stallCycles: cycles - computeCycles, utilization: 0, mappingEfficiency: 0,
    sram, dram, dramBytes: (inputWords + outputWords) * share * c.wordBytes, energy: { ...e, total: e.mac + e.registerFile + e.sram + e.dram }, vector: v.op,
  };
}
