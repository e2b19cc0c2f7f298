// `wgprune simulate`: a model's or a SCALE-Sim topology's per-layer cost on an accelerator, in tiled or
// scalesim mode; with --reports, SCALE-Sim v2's own report files for a side-by-side diff.
import type { AcceleratorConfig } from '../accel/config.js';
import { type LayerCost, type Mode, type ModelCost, evaluate, summarize } from '../accel/cost.js';
import { modelWorkloads } from '../accel/model-workload.js';
import { DEFAULT_PRESET } from '../accel/presets.js';
import { parseScaleSimTopology, scaleSimReportFiles } from '../accel/scalesim-io.js';
import { SCALESIM_REPORTS } from '../accel/scalesim.js';
import type { Objective } from '../accel/tiled.js';
import { readFile } from '../data/sources.js';
import { checkStop } from '../interrupt.js';
import { schedulerFor } from '../open-backend.js';
import { type Context, backend, modelInput, notice, output } from './context.js';
import { UsageError, loadAccelerator, loadModel } from './inputs.js';
import { int, oneOf, str } from './options.js';
import { checkOutputDir, writeOutputs } from './outputs.js';

const readText = (file: string): string => new TextDecoder().decode(readFile(file));

/** The memory side in total (scalesim mode): DRAM words per operand, the stalls, and the words per cycle they average. */
function scaleSimSummary(c: AcceleratorConfig, cost: ModelCost): string {
  const d = cost.total.dram;
  const words = d.ifmapReads + d.filterReads + d.ofmapWrites;
  const bandwidth = c.interfaceBandwidth === 'USER' ? `USER bandwidth ${c.dramBandwidth} words/cycle per operand` : 'CALC bandwidth: reads estimated, never stalling';
  const arrayStalls = cost.layers.reduce((sum, l) => sum + (l.vector ? 0 : l.stallCycles), 0);
  return `DRAM (SCALE-Sim memory system, ${bandwidth}): ifmap ${d.ifmapReads} + filter ${d.filterReads} words read, ofmap ${d.ofmapWrites} written = ${(words / cost.total.cycles).toFixed(3)} words/cycle over ${cost.total.cycles} cycles; stall cycles ${arrayStalls} in the array layers, ${cost.total.stallCycles - arrayStalls} in vector passes`;
}

export async function simulateCommand(c: Context): Promise<number> {
  const v = c.values;
  const accel = loadAccelerator(str(v, 'accel'), DEFAULT_PRESET);
  const mode = oneOf(v, 'mode', ['tiled', 'scalesim'] as const, 'tiled') as Mode;
  const objective = oneOf(v, 'objective', ['latency', 'energy', 'edp', 'dram'] as const, 'latency') as Objective;
  const reports = str(v, 'reports');
  if (reports !== undefined) {
    if (mode !== 'scalesim') throw new UsageError(`--reports ${reports}: SCALE-Sim's report files come from --mode scalesim (the tiled mode is another model)`);
    checkOutputDir('--reports', reports, Object.keys(SCALESIM_REPORTS).map((r) => `${r}.csv`));
  }
  if (mode === 'scalesim' && v.objective !== undefined) throw new UsageError(`--objective ${v.objective}: SCALE-Sim's mapping is fixed by its dataflow; the objective steers the tiled mode's scheduler only`);
  if (mode === 'scalesim' && accel.wordBytes !== 1) {
    notice(c)(`${accel.name} has ${accel.wordBytes}-byte words: its SRAMs hold kB x 1024 / ${accel.wordBytes} of them here, where SCALE-Sim v2 always counts 1-byte words (it does not read WordSize)`);
  }
  let layers;
  let source: string;
  if (str(v, 'topology')) {
    const file = str(v, 'topology')!;
    const other = ['model', 'input', 'seed'].filter((k) => v[k] !== undefined);
    if (other.length) throw new UsageError(`--topology ${file} is the workload; ${other.map((k) => `--${k}`).join(', ')} would be ignored: drop ${other.length > 1 ? 'them' : 'it'}`);
    layers = parseScaleSimTopology(readText(file), file);
    source = file;
  } else {
    const m = await loadModel(str(v, 'model'), modelInput(v), 10, int(v, 'seed', 1)!);
    layers = modelWorkloads(m.model.spec);
    source = m.source;
  }
  const be = mode === 'tiled' ? await backend(c) : undefined;
  c.progress.phase(`simulating ${layers.length} layers on ${accel.name} (${mode} mode)`);
  // In chunks of layers, so that Ctrl-C stops a long topology between them (exit 130).
  const costs: LayerCost[] = [];
  try {
    for (let i = 0; i < layers.length; i += 16) {
      await checkStop(() => c.stop.requested, 'the simulation');
      costs.push(...(await evaluate(accel, layers.slice(i, i + 16), { mode, objective, schedule: be ? schedulerFor(be) : undefined })).layers);
    }
  } finally {
    be?.destroy();
  }
  const cost = summarize(accel, mode, objective, costs);
  if (reports !== undefined) await writeOutputs(reports, scaleSimReportFiles(cost.layers));
  const table = ['layer        GEMM (P x K x M)        cycles    stalls   util  map-eff   SRAM reads   DRAM words   energy nJ',
    ...cost.layers.map((l) => [
      l.name.padEnd(12), (l.vector ? `${l.vector} (vector unit)` : `${l.gemm.P} x ${l.gemm.K} x ${l.gemm.M}${l.gemm.repeats > 1 ? ` x${l.gemm.repeats}` : ''}`).padEnd(22), String(l.cycles).padStart(9), String(l.stallCycles).padStart(9),
      `${(100 * l.utilization).toFixed(1)}%`.padStart(6), `${(100 * l.mappingEfficiency).toFixed(1)}%`.padStart(8),
      String(l.sram.ifmapReads + l.sram.filterReads + l.sram.ofmapReads).padStart(12), String(l.dram.ifmapReads + l.dram.filterReads + l.dram.ofmapReads + l.dram.ofmapWrites).padStart(12),
      (l.energy.total / 1000).toFixed(1).padStart(11),
    ].join(' ')),
    `total: ${cost.total.cycles} cycles = ${cost.latencyMs.toFixed(4)} ms at ${accel.clockMHz} MHz, ${(cost.total.energy.total / 1e6).toFixed(3)} uJ, utilization ${(100 * cost.total.utilization).toFixed(1)}% (${accel.name}, ${mode} mode, ${source})`,
    ...(mode === 'scalesim' ? [scaleSimSummary(accel, cost), ...(reports !== undefined ? [`SCALE-Sim reports: ${reports}/{${Object.keys(SCALESIM_REPORTS).join(',')}}.csv`] : [])] : [])];
  output(c, { source, ...cost }, table.join('\n'));
  return 0;
}
