// SCALE-Sim's memory system on zoo models (npm run bench -- memory):
//  1. the tiled mode against the scalesim mode (CALC and USER bandwidth) on the presets: cycles, stall
//     cycles and DRAM words of whole models, where the two models differ;
//  2. resnet20 and vgg-small pruned to half their scalesim latency with USER bandwidth (the presets' own
//     DRAM bandwidth, which leaves most layers memory-bound): per layer, dense and pruned, the DRAM
//     words and stalls, and whether the layer's filters fit the filter SRAM's active half, which is
//     where a cut relieves the memory bound.
// Channel widths come from the L1 criterion on initialised weights (the table is about the accelerator,
// not accuracy). Prints Markdown tables and writes out/memory-table.json.
// Options (environment): MEMORY_MODELS=resnet20,vgg-small MEMORY_PRESETS=systolic-16x16,eyeriss
import { mkdirSync, writeFileSync } from 'node:fs';
import { type AcceleratorConfig, validateConfig } from '../src/accel/config.js';
import { type Mode, evaluate } from '../src/accel/cost.js';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { presets } from '../src/accel/presets.js';
import { initModel } from '../src/model/model.js';
import { zooModel } from '../src/model/zoo.js';
import { parseBudget } from '../src/plan/budget.js';
import { pruneToBudget } from '../src/plan/prune-to-budget.js';
import { openBackend } from '../src/open-backend.js';
import { table } from './util.js';

const env = (k: string, d: string) => process.env[k] ?? d;
const INPUTS: Record<string, [number, number, number]> = { lenet5: [1, 28, 28], resnet20: [3, 32, 32], 'vgg-small': [3, 32, 32], mobilenet: [3, 32, 32] };
const user = (c: AcceleratorConfig) => validateConfig({ ...c, interfaceBandwidth: 'USER' });
const words = (d: { ifmapReads: number; filterReads: number; ofmapReads: number; ofmapWrites: number }) => d.ifmapReads + d.filterReads + d.ofmapReads + d.ofmapWrites;
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)}%`;

export async function benchMemory(): Promise<void> {
  const presetNames = env('MEMORY_PRESETS', 'systolic-16x16,eyeriss').split(',');
  const results: object[] = [];
  mkdirSync('out', { recursive: true });

  // 1. tiled against scalesim on whole models.
  const rows: string[][] = [];
  for (const model of Object.keys(INPUTS)) {
    const layers = modelWorkloads(zooModel(model, INPUTS[model], 10));
    for (const name of presetNames) {
      const cells = [model, `${name} (${presets[name].dataflow}, ${presets[name].dramBandwidth} w/c)`];
      for (const [mode, config] of [['tiled', presets[name]], ['scalesim', presets[name]], ['scalesim', user(presets[name])]] as [Mode, AcceleratorConfig][]) {
        const t = (await evaluate(config, layers, { mode })).total;
        cells.push(`${t.cycles} (${pct(t.stallCycles, t.cycles)})`, String(words(t.dram)));
        results.push({ part: 'modes', model, accelerator: name, mode, interfaceBandwidth: config.interfaceBandwidth ?? 'CALC', cycles: t.cycles, stallCycles: t.stallCycles, dramWords: words(t.dram) });
      }
      rows.push(cells);
    }
  }
  console.log('\nWhole models, batch 1: cycles (share stalled) and DRAM words\n');
  console.log(table(['model', 'accelerator', 'tiled cycles', 'tiled DRAM', 'scalesim CALC cycles', 'CALC DRAM', 'scalesim USER cycles', 'USER DRAM'], rows));

  // 2. dense and pruned to latency=0.5 (scalesim, USER), per layer.
  const be = await openBackend({ backend: 'native' });
  try {
    for (const model of env('MEMORY_MODELS', 'resnet20,vgg-small').split(',')) {
      for (const name of presetNames) {
        const accel = user(presets[name]);
        const dense = initModel(zooModel(model, INPUTS[model], 10), 1);
        const t0 = performance.now();
        const r = await pruneToBudget(be, dense, { criterion: 'l1', budget: parseBudget('latency=0.5'), accelerator: accel, mode: 'scalesim', seed: 1 });
        const seconds = (performance.now() - t0) / 1000;
        // SCALE-Sim's read buffers hold half their words active, and fetch an operand in its prefetch
        // order: the ifmap as im2col windows (P x K entries), the filters K x M. What fits is fetched once.
        const half = (kB: number) => Math.ceil(Math.floor((kB * 1024) / accel.wordBytes) / 2);
        const [ifmapHalf, filterHalf] = [half(accel.ifmapSramKB), half(accel.filterSramKB)];
        const fits = (g: { P: number; K: number; M: number }) => `${g.P * g.K <= ifmapHalf ? 'yes' : 'no'} / ${g.K * g.M <= filterHalf ? 'yes' : 'no'}`;
        const layerRows: string[][] = [];
        r.denseCost.layers.forEach((d, i) => {
          const p = r.prunedCost.layers[i];
          if (d.vector) return;
          layerRows.push([d.name, `${d.gemm.K}x${d.gemm.M}`, fits(d.gemm), `${d.cycles} (${pct(d.stallCycles, d.cycles)})`, String(words(d.dram)),
            `${p.gemm.K}x${p.gemm.M}`, fits(p.gemm), `${p.cycles} (${pct(p.stallCycles, p.cycles)})`, String(words(p.dram))]);
          results.push({ part: 'pruned', model, accelerator: name, layer: d.name, dense: { K: d.gemm.K, M: d.gemm.M, cycles: d.cycles, stallCycles: d.stallCycles, dramWords: words(d.dram) }, pruned: { K: p.gemm.K, M: p.gemm.M, cycles: p.cycles, stallCycles: p.stallCycles, dramWords: words(p.dram) } });
        });
        const [dt, pt] = [r.denseCost.total, r.prunedCost.total];
        layerRows.push(['all layers (vector passes too)', '', '', `${dt.cycles} (${pct(dt.stallCycles, dt.cycles)})`, String(words(dt.dram)), '', '', `${pt.cycles} (${pct(pt.stallCycles, pt.cycles)})`, String(words(pt.dram))]);
        console.log(`\n${model} on ${name} (${accel.dataflow}, USER ${accel.dramBandwidth} words/cycle, active halves: ifmap ${ifmapHalf}, filter ${filterHalf} words), latency=0.5 in scalesim mode; planned in ${seconds.toFixed(1)} s\n`);
        console.log(table(['layer', 'dense K x M', 'fits: ifmap / filter', 'cycles (stalled)', 'DRAM words', 'pruned K x M', 'fits: ifmap / filter', 'cycles (stalled)', 'DRAM words'], layerRows));
      }
    }
  } finally {
    be.destroy();
  }
  writeFileSync('out/memory-table.json', `${JSON.stringify(results, null, 1)}\n`);
  console.log('\nwrote out/memory-table.json');
}
