// The report of a low-rank decomposition run: the models before and after, per decomposed layer its
// ranks, MACs and cycles before and after (the gap between the MAC cut and the cycle cut is the point),
// and the singular value spectra; JSON, and HTML with SVG charts.
import { type ModelSummary, summaryTable } from './report.js';
import { barChart, esc, formatNumber, lineChart } from './svg.js';

export interface DecomposedLayerRow {
  layer: string;
  method: 'svd' | 'tucker2' | 'cp';
  full: number[];
  /** Empty where the layer stayed whole. */
  ranks: number[];
  /** ‖W − W̃‖² / ‖W‖². */
  error: number;
  macsBefore: number; macsAfter: number;
  cyclesBefore: number; cyclesAfter: number;
}

export interface DecomposeReport {
  tool: 'wgprune';
  kind: 'decompose';
  createdAt: string;
  model: { name: string; source: string };
  accelerator: { name: string; rows: number; cols: number; dataflow: string };
  /** How ranks were chosen: kept energy, empirical VBMF, or a budget (with its value and whether the model meets it). */
  ranks: { keepEnergy?: number; vbmf?: boolean; budget?: { text: string; metric: string; value: number; met: boolean } };
  dense: ModelSummary;
  decomposed: ModelSummary;
  layers: DecomposedLayerRow[];
  /** Per decomposable layer, its spectra (one for SVD; input then output unfolding for Tucker-2 and CP), largest first. */
  spectra: { layer: string; sigma: number[][] }[];
  fineTune: Record<string, unknown> | false;
  notes: string[];
  seconds: Record<string, number>;
  backend?: string;
}


export function renderDecomposeHtml(r: DecomposeReport): string {
  const rows = r.layers.map((l) => `<tr><td>${esc(l.layer)}</td><td>${l.method}</td><td>${l.full.join(' / ')}</td><td>${l.ranks.length ? l.ranks.join(' / ') : 'whole'}</td><td>${(100 * l.error).toFixed(2)}%</td><td>${formatNumber(l.macsBefore)} → ${formatNumber(l.macsAfter)}</td><td>${formatNumber(l.cyclesBefore)} → ${formatNumber(l.cyclesAfter)}</td></tr>`).join('');
  const split = r.layers.filter((l) => l.ranks.length);
  const charts = [
    barChart({ title: 'MACs and cycles kept per decomposed layer (fraction of the layer)', categories: split.map((l) => l.layer), yLabel: 'fraction kept', series: [{ name: 'MACs', values: split.map((l) => l.macsAfter / l.macsBefore) }, { name: 'cycles', values: split.map((l) => l.cyclesAfter / l.cyclesBefore) }] }),
    lineChart({
      title: 'Singular values (normalised; the first spectrum of each layer)', xLabel: 'index', yLabel: 'σ / σ₁',
      series: r.spectra.slice(0, 8).map((s) => ({ name: s.layer, points: s.sigma[0].map((v, i) => [i + 1, v / (s.sigma[0][0] || 1)] as [number, number]) })),
    }),
  ];
  const budget = r.ranks.budget ? `<p>Budget <b>${esc(r.ranks.budget.text)}</b> = ${formatNumber(r.ranks.budget.value)}: ${r.ranks.budget.met ? 'met' : '<b>not met</b>'}.</p>` : r.ranks.vbmf
      ? '<p>Ranks by empirical VBMF (Nakajima et al., JMLR 2013): the components of each spectrum above the noise level it estimates.</p>'
      : `<p>Ranks keep ${100 * (r.ranks.keepEnergy ?? 1)}% of each spectrum's energy.</p>`;
  const notes = r.notes.length ? `<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wgprune decomposition: ${esc(r.model.name)}</title>
<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 10px;text-align:right}
td:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}.charts svg{border:1px solid #eee;background:#fff}</style></head><body>
<h1>wgprune decomposition: ${esc(r.model.name)} on ${esc(r.accelerator.name)}</h1>
${budget}${summaryTable([['dense', r.dense], ['decomposed', r.decomposed]])}
<table><tr><th>layer</th><th>method</th><th>full ranks</th><th>ranks</th><th>weight error</th><th>MACs</th><th>cycles</th></tr>${rows}</table>
<div class="charts">${charts.join('\n')}</div>${notes}</body></html>
`;
}
