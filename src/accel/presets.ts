// Accelerator presets with the sources of their numbers.
// Energies (pJ per 16-bit word access) follow Eyeriss's normalised costs (Chen, Emer, Sze, ISCA 2016;
// Sze et al., Proc. IEEE 2017): MAC 1x, register file 1x, global buffer 6x, DRAM 200x, with the
// 16-bit MAC at 0.5 pJ (between Horowitz's ISSCC 2014 45 nm int8 multiply, 0.2 pJ, and fp16, 1.1 pJ).
// Layers at other widths (a quantized model's, or a config's `precision`) scale from these by widths.ts:
// the multiply by the product of the operand widths (Horowitz: int8 0.2 pJ, int32 3.1 pJ), the add by the
// accumulator's width (int8 0.03 pJ, int32 0.1 pJ), SRAM and DRAM by the bits moved.
import { type AcceleratorConfig, validateConfig } from './config.js';

const MAC_PJ = 0.5;
const eyerissEnergy = { mac: MAC_PJ, registerFile: MAC_PJ, sram: 6 * MAC_PJ, dram: 200 * MAC_PJ };
// int8 words: Horowitz 2014 int8 multiply 0.2 pJ + add 0.03 pJ; SRAM and DRAM per byte from the
// 64-bit figures (32 KB SRAM 20 pJ / 8 bytes; DRAM 1.3 nJ / 8 bytes).
const int8Energy = { mac: 0.23, registerFile: 0.23, sram: 2.5, dram: 160 };

const presetList: AcceleratorConfig[] = [
  {
    name: 'edge-8x8', rows: 8, cols: 8, dataflow: 'os', ifmapSramKB: 16, filterSramKB: 16, ofmapSramKB: 8,
    wordBytes: 2, dramBandwidth: 4, clockMHz: 200, energy: eyerissEnergy,
    source: 'a small edge array; energies from Eyeriss (ISCA 2016) normalised costs',
  },
  {
    name: 'systolic-16x16', rows: 16, cols: 16, dataflow: 'os', ifmapSramKB: 64, filterSramKB: 64, ofmapSramKB: 32,
    wordBytes: 2, dramBandwidth: 8, clockMHz: 500, energy: eyerissEnergy,
    source: 'mid-size os array; SRAM sizes in the range of SCALE-Sim example configs',
  },
  {
    name: 'systolic-32x32', rows: 32, cols: 32, dataflow: 'ws', ifmapSramKB: 256, filterSramKB: 256, ofmapSramKB: 128,
    wordBytes: 2, dramBandwidth: 16, clockMHz: 700, energy: eyerissEnergy,
    source: 'SCALE-Sim v2 google.cfg-like 32x32 ws array',
  },
  {
    name: 'tpu-v1', rows: 256, cols: 256, dataflow: 'ws', ifmapSramKB: 12 * 1024, filterSramKB: 64, ofmapSramKB: 4 * 1024,
    wordBytes: 1, precision: { weights: 8, activations: 8, psums: 32 }, dramBandwidth: 30, clockMHz: 700, energy: int8Energy,
    source: 'Jouppi et al., ISCA 2017: 256x256 int8 MACs at 700 MHz, 24 MiB unified buffer (split here), 4 MiB of 32-bit accumulators, 64 KiB weight FIFO, 30 GB/s DDR3 (~43 B/cycle; 30 words/cycle used)',
  },
  {
    name: 'eyeriss', rows: 12, cols: 14, dataflow: 'ws', ifmapSramKB: 54, filterSramKB: 27, ofmapSramKB: 27,
    wordBytes: 2, dramBandwidth: 4, clockMHz: 200, energy: eyerissEnergy,
    source: 'Eyeriss v1 (Chen et al., JSSC 2017): 12x14 PEs, 108 KB global buffer (split here), 16-bit words, 200 MHz; SCALE-Sim eyeriss.cfg uses 12x14',
  },
];

export const presets: Record<string, AcceleratorConfig> = Object.fromEntries(presetList.map((p) => [p.name, validateConfig(p, `preset ${p.name}`)]));

export const DEFAULT_PRESET = 'systolic-16x16';

export function preset(name: string): AcceleratorConfig {
  const p = presets[name];
  if (!p) throw new Error(`unknown accelerator preset '${name}'; presets: ${Object.keys(presets).join(', ')}`);
  return p;
}
