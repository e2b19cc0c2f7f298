// The report of a quantization run: the float model, after post-training quantization and after
// quantization-aware training; per quantized layer its bits, input quantizer, SQNR against float32 on the
// calibration images, and cycles, energy and DRAM bytes at float and quantized widths; JSON, and HTML
// with SVG charts (SQNR per layer, energy per layer, energy split into MACs, register files, SRAM, DRAM).
import { type ActivationQuant, grid } from '../model/quantization.js';
import { type ModelSummary, summaryTable } from './report.js';
import { barChart, esc, formatNumber } from './svg.js';

export interface QuantizedLayerRow {
  layer: string;
  weightBits: number;
  perChannel: boolean;
  input?: ActivationQuant;
  /** The layer's output against float32 on the calibration images after PTQ (errors of earlier layers included), dB. */
  sqnr: number;
  cyclesBefore: number; cyclesAfter: number;
  /** pJ */
  energyBefore: number; energyAfter: number;
  dramBytesBefore: number; dramBytesAfter: number;
  /** The layer's cycles and energy (pJ) with binary weights and activations (packed XNOR-popcount): what binarizing it would buy. */
  binaryCycles: number; binaryEnergy: number;
}

export interface QuantizeReport {
  tool: 'wgprune';
  kind: 'quantize';
  createdAt: string;
  model: { name: string; source: string };
  accelerator: { name: string; rows: number; cols: number; dataflow: string; wordBits: number };
  settings: { bits: number; weights: string; activations: string; calibrator: string; percentile?: number; calibrationImages: number };
  float: ModelSummary;
  ptq: ModelSummary;
  qat?: ModelSummary & { training: Record<string, unknown> };
  layers: QuantizedLayerRow[];
  seconds: Record<string, number>;
  backend?: string;
}


/** An input quantizer's float range. */
export function inputRange(a: ActivationQuant): [number, number] {
  const { qmin, qmax } = grid(a.bits, a.symmetric);
  return [(qmin - a.zeroPoint) * a.scale, (qmax - a.zeroPoint) * a.scale];
}

export function renderQuantizeHtml(r: QuantizeReport): string {
  const rows = r.layers.map((l) => {
    const range = l.input ? inputRange(l.input).map((v) => v.toPrecision(3)).join(' … ') : 'float';
    return `<tr><td>${esc(l.layer)}</td><td>${l.weightBits}${l.perChannel ? ' per channel' : ' per tensor'}</td><td>${l.input ? `${l.input.bits} ${l.input.symmetric ? 'sym' : 'asym'}` : '-'}</td><td>${range}</td><td>${l.sqnr.toFixed(1)}</td>`
      + `<td>${formatNumber(l.cyclesBefore)} → ${formatNumber(l.cyclesAfter)}</td><td>${formatNumber(l.energyBefore / 1e6)} → ${formatNumber(l.energyAfter / 1e6)}</td><td>${formatNumber(l.dramBytesBefore)} → ${formatNumber(l.dramBytesAfter)}</td>`
      + `<td>${formatNumber(l.binaryCycles)}, ${formatNumber(l.binaryEnergy / 1e6)}</td></tr>`;
  }).join('');
  const models: [string, ModelSummary][] = [['float', r.float], [`${r.settings.bits}-bit PTQ`, r.ptq], ...(r.qat ? [[`${r.settings.bits}-bit QAT`, r.qat] as [string, ModelSummary]] : [])];
  const split = (s: ModelSummary) => [s.energySplitUJ.mac, s.energySplitUJ.registerFile, s.energySplitUJ.sram, s.energySplitUJ.dram];
  const charts = [
    barChart({ title: 'SQNR of each quantized layer\'s output (dB)', categories: r.layers.map((l) => l.layer), yLabel: 'dB', series: [{ name: 'SQNR', values: r.layers.map((l) => l.sqnr) }] }),
    barChart({ title: 'Energy per layer (µJ)', categories: r.layers.map((l) => l.layer), yLabel: 'µJ', series: [{ name: 'float', values: r.layers.map((l) => l.energyBefore / 1e6) }, { name: 'quantized', values: r.layers.map((l) => l.energyAfter / 1e6) }, { name: 'binarized', values: r.layers.map((l) => l.binaryEnergy / 1e6) }] }),
    barChart({ title: 'Energy by where it is spent (µJ)', categories: ['MACs', 'register files', 'SRAM', 'DRAM'], yLabel: 'µJ', series: [{ name: 'float', values: split(r.float) }, { name: 'quantized', values: split(r.ptq) }] }),
  ];
  const s = r.settings;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wgprune quantization: ${esc(r.model.name)}</title>
<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 10px;text-align:right}
td:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}.charts svg{border:1px solid #eee;background:#fff}</style></head><body>
<h1>wgprune quantization: ${esc(r.model.name)} on ${esc(r.accelerator.name)}</h1>
<p>${s.bits}-bit weights (${esc(s.weights)}) and activations (${esc(s.activations)}), ranges by ${esc(s.calibrator)}${s.percentile ? ` ${s.percentile}` : ''} on ${s.calibrationImages} training images; the float model runs at the array's ${r.accelerator.wordBits}-bit words.</p>
${summaryTable(models)}
<table><tr><th>layer</th><th>weights</th><th>input bits</th><th>input range</th><th>SQNR (dB)</th><th>cycles</th><th>energy (µJ)</th><th>DRAM bytes</th><th>binarized: cycles, energy (µJ)</th></tr>${rows}</table>
<div class="charts">${charts.join('\n')}</div></body></html>
`;
}
