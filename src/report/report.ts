// The run report: report.json (everything measured) and a self-contained report.html (no network)
// with SVG charts: channels kept per layer, cycles and energy per layer before and after, the latency
// staircase of the most expensive layers with the cut marked, and the Pareto front of a budget sweep.
import type { Normalization } from '../model/graph.js';
import type { ModelCost } from '../accel/cost.js';
import { barChart, esc, formatNumber, lineChart } from './svg.js';

export interface ModelSummary {
  /** The task's score (see metric): top-1 accuracy, mean IoU, or agreement with the dense model. */
  accuracy?: number;
  loss?: number;
  /** What accuracy measures (train/evaluate.ts's EvalMetric): absent or 'top-1' for a classifier's accuracy. */
  metric?: string;
  pixelAccuracy?: number;
  meanIoU?: number;
  snrDb?: number;
  cosine?: number;
  params: number;
  macs: number;
  cycles: number;
  latencyMs: number;
  energyUJ: number;
  /** Energy by where it is spent (µJ): MACs, register files, SRAM, DRAM. */
  energySplitUJ: { mac: number; registerFile: number; sram: number; dram: number };
  dramWords: number;
  /** DRAM bytes at each tensor's width. */
  dramBytes: number;
}

export interface LayerRow {
  name: string;
  channelsBefore: number; channelsAfter: number;
  paramsBefore: number; paramsAfter: number;
  cyclesBefore: number; cyclesAfter: number;
  energyBeforePJ: number; energyAfterPJ: number;
}

export interface Staircase { layer: string; keptOut: number[]; cycles: number[]; cut: number; full: number }

export interface SweepPoint {
  fraction: number;
  aware: ModelSummary;
  uniform?: ModelSummary & { ratio: number };
}

/** Sparse training before pruning: the penalty, the structures' norms before and after, what went to zero. */
export interface SparsityReport {
  kind: string;
  /** proximal or gradient. */
  mode: string;
  steps: number;
  /** λ at the start: given, or chosen from the norms (`lambdaChosen`). */
  lambda: number;
  lambdaChosen: 'given' | 'auto';
  /** λ at the end (grown, if growing). */
  finalLambda: number;
  /** Of the structures the penalty aimed at (the share the pruning removes), how many ended near zero. */
  reached?: { penalised: number; nearZero: number };
  /** Set when the structures aimed at did not reach zero. */
  warning?: string;
  /** Test accuracy of the sparse-trained model, before pruning. */
  accuracy?: number;
  before: number[];
  after: number[];
  /** The near-zero line: NEAR_ZERO times the median norm before. */
  nearZeroBelow: number;
  nearZero: string[];
  /** Blocks and kernel positions removed (depth, filter shape), and the simulated cycles before and after removing them. */
  removed: string[];
  cycles?: { before: number; after: number };
}

export interface RunReport {
  tool: 'wgprune';
  createdAt: string;
  /** Set when the user stopped a phase after the pruned model (the uniform baseline, the sweep). */
  stopped?: string;
  model: { name: string; source: string };
  /** normalization: what the input pixels went through, (x - mean) / std with x in [0, 1]. */
  data: { train: string; test: string; testCount: number; normalization?: Normalization };
  accelerator: { name: string; rows: number; cols: number; dataflow: string; clockMHz: number; source?: string };
  method: Record<string, unknown>;
  budget?: { text: string; metric: string; value: number; unit: string; met: boolean };
  dense: ModelSummary;
  pruned: ModelSummary;
  uniform?: ModelSummary & { ratio: number };
  layers: LayerRow[];
  staircases: Staircase[];
  sweep?: SweepPoint[];
  sparsity?: SparsityReport;
  /** Mixed precision planned with the channels (prune --bits): each layer's width, and the float model the budget is a share of. */
  precision?: PrecisionReport;
  /** Decomposition planned with the channels (prune --decompose): the layers split, and the original model the budget is a share of. */
  splits?: SplitReport;
  notes: string[];
  seconds: Record<string, number>;
  /** The compute backend that ran the job (the one that finished it, after a device loss). */
  backend?: string;
}

export interface PrecisionReport {
  candidates: number[];
  bits: Record<string, number>;
  /** The float model (the run's dense model is the quantized one before pruning). */
  float: ModelSummary;
  /** Loss on the judging images of the planned model (pruned, quantized, not fine-tuned), and of the same at the widest width. */
  judgedLoss: number;
  widestLoss: number;
  steps: { layer: string; bits: number; loss: number }[];
  seconds: number;
}

export interface SplitReport {
  method: string;
  /** Split layers and the ranks they started at (channel pruning may have cut them further: see the layers). */
  split: Record<string, number[]>;
  /** The original model (the run's dense model is the split one before pruning). */
  original: ModelSummary;
  /** Loss on the judging images of the planned model (pruned, batch norm adapted, not fine-tuned), and of channel pruning alone. */
  judgedLoss: number;
  pruningLoss: number;
  steps: { layer: string; ranks: number[]; loss: number }[];
  notes: string[];
  seconds: number;
}

/** A model's evaluation (train/evaluate.ts's EvalResult). */
type Score = Pick<ModelSummary, 'metric' | 'pixelAccuracy' | 'meanIoU' | 'snrDb' | 'cosine'> & { accuracy: number; loss: number; count?: number };

export function summarize(cost: ModelCost, params: number, score?: Score): ModelSummary {
  const d = cost.total.dram;
  const { count: _count, ...scores } = score ?? {};
  return {
    ...scores,
    params, macs: cost.total.macs, cycles: cost.total.cycles, latencyMs: cost.latencyMs,
    energyUJ: cost.total.energy.total / 1e6, dramWords: d.ifmapReads + d.filterReads + d.ofmapReads + d.ofmapWrites, dramBytes: cost.total.dramBytes,
    energySplitUJ: { mac: cost.total.energy.mac / 1e6, registerFile: cost.total.energy.registerFile / 1e6, sram: cost.total.energy.sram / 1e6, dram: cost.total.energy.dram / 1e6 },
  };
}

const pct = (v?: number) => (v === undefined ? 'n/a' : `${(100 * v).toFixed(2)}%`);

/** A model's score as the CLI prints it: "accuracy 98.10%", "mean IoU 61.20% (pixels 90.10%)", "cosine similarity 99.10% (SNR 21.3 dB)". */
export function scoreText(s: Pick<ModelSummary, 'accuracy' | 'metric' | 'pixelAccuracy' | 'snrDb'>): string {
  const name = !s.metric || s.metric === 'top-1' ? 'accuracy' : s.metric;
  const extra = s.pixelAccuracy !== undefined ? ` (pixels ${pct(s.pixelAccuracy)})` : s.snrDb !== undefined ? ` (SNR ${s.snrDb.toFixed(1)} dB)` : '';
  return `${name} ${pct(s.accuracy)}${s.accuracy === undefined ? '' : extra}`;
}

/** Histogram of the structures' norms (decades) before and after sparse training. */
export function normHistogram(s: SparsityReport): string {
  const lo = -6, hi = 2;
  const bin = (v: number) => Math.min(hi - lo, Math.max(0, Math.floor(Math.log10(Math.max(v, 1e-30))) - lo + 1));
  const count = (norms: number[]) => norms.reduce((h, v) => { h[bin(v)]++; return h; }, new Array(hi - lo + 2).fill(0) as number[]);
  const categories = [`< 1e${lo}`, ...Array.from({ length: hi - lo }, (_, i) => `1e${lo + i}`), `>= 1e${hi}`];
  return barChart({ title: `Structure norms (${s.kind}) before and after sparse training`, categories, yLabel: 'structures', series: [{ name: 'before', values: count(s.before) }, { name: 'after', values: count(s.after) }] });
}

/** Accuracy against simulated latency over a budget sweep, accelerator-aware and uniform. */
export function paretoChart(r: RunReport): string | undefined {
  if (!r.sweep?.length) return undefined;
  const x = (s: ModelSummary) => s.cycles;
  const series = [{ name: 'accelerator-aware', points: r.sweep.map((p) => [x(p.aware), 100 * (p.aware.accuracy ?? 0)] as [number, number]), marker: true }];
  if (r.sweep.every((p) => p.uniform)) series.push({ name: 'uniform', points: r.sweep.map((p) => [x(p.uniform!), 100 * (p.uniform!.accuracy ?? 0)] as [number, number]), marker: true });
  return lineChart({ title: `Accuracy versus simulated latency on ${r.accelerator.name} (budget sweep)`, xLabel: 'cycles', yLabel: 'test accuracy (%)', series });
}

/** Accuracy, parameters, MACs, cycles, latency, energy and DRAM words of models side by side (HTML). */
export function summaryTable(columns: [string, ModelSummary][]): string {
  const rows: [string, (s: ModelSummary) => string][] = [
    ['test accuracy', (s) => pct(s.accuracy)], ['parameters', (s) => formatNumber(s.params)], ['MACs', (s) => formatNumber(s.macs)],
    ['cycles', (s) => formatNumber(s.cycles)], ['latency (ms)', (s) => s.latencyMs.toFixed(4)], ['energy (uJ)', (s) => s.energyUJ.toFixed(3)],
    ['DRAM words', (s) => formatNumber(s.dramWords)], ['DRAM bytes', (s) => formatNumber(s.dramBytes)],
    ['energy: MACs / SRAM / DRAM (uJ)', (s) => [s.energySplitUJ.mac, s.energySplitUJ.sram, s.energySplitUJ.dram].map((e) => e.toFixed(3)).join(' / ')],
  ];
  return `<table><tr><th></th>${columns.map(([n]) => `<th>${esc(n)}</th>`).join('')}</tr>${rows.map(([label, f]) => `<tr><td>${label}</td>${columns.map(([, s]) => `<td>${f(s)}</td>`).join('')}</tr>`).join('')}</table>`;
}

export function renderHtml(r: RunReport): string {
  const pr = r.precision;
  const sr = r.splits;
  const summary = summaryTable([...(pr ? [['float', pr.float] as [string, ModelSummary]] : sr ? [['original', sr.original] as [string, ModelSummary]] : []), [pr ? 'quantized' : sr ? 'split' : 'dense', r.dense], ['pruned', r.pruned], ...(r.uniform ? [[`uniform (ratio ${r.uniform.ratio})`, r.uniform] as [string, ModelSummary]] : [])]);
  const names = r.layers.map((l) => l.name);
  const charts = [
    barChart({ title: 'Channels kept per layer', categories: names, yLabel: 'output channels', series: [{ name: 'dense', values: r.layers.map((l) => l.channelsBefore) }, { name: 'pruned', values: r.layers.map((l) => l.channelsAfter) }] }),
    barChart({ title: `Cycles per layer on ${r.accelerator.name}`, categories: names, yLabel: 'cycles', series: [{ name: 'dense', values: r.layers.map((l) => l.cyclesBefore) }, { name: 'pruned', values: r.layers.map((l) => l.cyclesAfter) }] }),
    barChart({ title: 'Energy per layer', categories: names, yLabel: 'energy (pJ)', series: [{ name: 'dense', values: r.layers.map((l) => l.energyBeforePJ) }, { name: 'pruned', values: r.layers.map((l) => l.energyAfterPJ) }] }),
    ...r.staircases.map((s) => lineChart({
      title: `Latency staircase of ${s.layer}`, xLabel: 'output channels kept', yLabel: 'layer cycles',
      series: [{ name: s.layer, points: s.keptOut.map((k, i) => [k, s.cycles[i]]), step: true }], marks: [{ x: s.cut, label: `cut: ${s.cut} of ${s.full}` }],
    })),
  ];
  const pareto = paretoChart(r);
  if (pareto) charts.push(pareto);
  if (r.sparsity) charts.unshift(normHistogram(r.sparsity));
  const budget = r.budget ? `<p>Budget <b>${esc(r.budget.text)}</b> = ${formatNumber(r.budget.value)} ${esc(r.budget.unit)}: ${r.budget.met ? 'met' : '<b>not met</b>'}.</p>` : '';
  const method = Object.entries(r.method).map(([k, v]) => `<li>${esc(k)}: ${esc(typeof v === 'string' ? v : JSON.stringify(v))}</li>`).join('');
  const sp = r.sparsity;
  const sparsity = sp ? `<h2>Sparse training</h2><p>${esc(sp.kind)} (${esc(sp.mode)}), ${sp.steps} steps, λ ${sp.lambda.toPrecision(3)}${sp.lambdaChosen === 'auto' ? ' (automatic)' : ''}${sp.finalLambda !== sp.lambda ? ` grown to ${sp.finalLambda.toPrecision(3)}` : ''}; accuracy after it ${pct(sp.accuracy)}. ${sp.nearZero.length} of ${sp.after.length} structures near zero (norm below ${sp.nearZeroBelow.toPrecision(3)})${sp.removed.length ? `; removed: ${esc(sp.removed.join(', '))}` : ''}${sp.cycles ? ` (simulated cycles ${formatNumber(sp.cycles.before)} → ${formatNumber(sp.cycles.after)})` : ''}.</p>${sp.nearZero.length ? `<details><summary>near zero</summary><p>${esc(sp.nearZero.join(', '))}</p></details>` : ''}` : '';
  const precision = pr ? `<h2>Mixed precision</h2><p>Bit widths from {${pr.candidates.join(', ')}} planned with the channels against the budget (loss on the judging images of the pruned, quantized model: ${pr.judgedLoss.toFixed(4)}, ${pr.widestLoss.toFixed(4)} with every layer at ${Math.max(...pr.candidates)} bits).</p>`
    + `<table><tr><th>layer</th><th>bits</th><th>channels</th><th>energy (pJ)</th></tr>${r.layers.filter((l) => pr.bits[l.name] !== undefined).map((l) => `<tr><td>${esc(l.name)}</td><td>${pr.bits[l.name]}</td><td>${l.channelsBefore} → ${l.channelsAfter}</td><td>${formatNumber(l.energyBeforePJ)} → ${formatNumber(l.energyAfterPJ)}</td></tr>`).join('')}</table>` : '';
  const splits = sr ? `<h2>Pruning and decomposition</h2><p>${Object.keys(sr.split).length ? `Split (${esc(sr.method)}): ${Object.entries(sr.split).map(([l, k]) => `${esc(l)} at ranks ${k.join('/')}`).join(', ')}; channel pruning then cut the ranks with the channels (layers below).` : 'No split paid: channel pruning alone.'} Judged loss of the plan ${sr.judgedLoss.toFixed(4)}, of channel pruning alone ${sr.pruningLoss.toFixed(4)} (pruned, batch norm adapted, before fine-tuning).</p>` : '';
  const notes = r.notes.length ? `<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wgprune report: ${esc(r.model.name)}</title>
<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 10px;text-align:right}
td:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}.charts svg{border:1px solid #eee;background:#fff}</style></head><body>
<h1>wgprune: ${esc(r.model.name)} on ${esc(r.accelerator.name)}</h1>
<p>${esc(r.accelerator.name)}: ${r.accelerator.rows}x${r.accelerator.cols} ${esc(r.accelerator.dataflow)} array at ${r.accelerator.clockMHz} MHz. Model from ${esc(r.model.source)}; evaluated on ${r.data.testCount} images of ${esc(r.data.test)}. ${esc(r.createdAt)}.</p>
${budget}${summary}<ul>${method}</ul>${precision}${splits}${sparsity}<div class="charts">${charts.join('\n')}</div>${notes}</body></html>
`;
}
