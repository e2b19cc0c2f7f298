// A sweep's results merged (`wgprune merge`): every finished row as one record, a CSV of them, and an HTML
// page with the Pareto front (accuracy against simulated latency, accelerator-aware and uniform) of each
// group of rows that differ only in their budget, and the table. Output depends only on the rows and the
// plan's order, so merging is idempotent and the order rows finished in does not matter.
import type { RunReport } from './report.js';
import { esc, lineChart } from './svg.js';

/** What a finished row records (OUT/rows/<id>/row.json): its prune flags and the numbers merged. */
export interface RowResult {
  id: string;
  values: Record<string, string | boolean | undefined>;
  model: string;
  accelerator: string;
  budget?: RunReport['budget'];
  dense: RunReport['dense'];
  pruned: RunReport['pruned'];
  uniform?: RunReport['uniform'];
  /** Output channels per layer of the pruned model. */
  kept: Record<string, number>;
  backend: string;
  /** Wall time of the row's run. */
  seconds: number;
}

export interface SweepResults { rows: RowResult[]; missing: string[] }

const fraction = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a / b);
const num = (v: number | undefined, digits: number) => (v === undefined ? '' : v.toFixed(digits));

/** The columns of results.csv, each a name and a value of a row. */
const COLUMNS: [string, (r: RowResult) => string][] = [
  ['id', (r) => r.id], ['model', (r) => r.model], ['data', (r) => String(r.values.data ?? r.values.images ?? 'mnist')], ['accelerator', (r) => r.accelerator],
  ['budget', (r) => r.budget?.text ?? String(r.values.ratio ?? '')], ['criterion', (r) => String(r.values.criterion ?? 'l1')], ['seed', (r) => String(r.values.seed ?? 1)],
  ['budget_met', (r) => (r.budget ? String(r.budget.met) : '')],
  ['dense_accuracy', (r) => num(r.dense.accuracy, 4)], ['pruned_accuracy', (r) => num(r.pruned.accuracy, 4)], ['uniform_accuracy', (r) => num(r.uniform?.accuracy, 4)],
  ['dense_cycles', (r) => String(r.dense.cycles)], ['pruned_cycles', (r) => String(r.pruned.cycles)], ['uniform_cycles', (r) => (r.uniform ? String(r.uniform.cycles) : '')],
  ['pruned_latency', (r) => num(fraction(r.pruned.cycles, r.dense.cycles), 4)], ['pruned_energy', (r) => num(fraction(r.pruned.energyUJ, r.dense.energyUJ), 4)],
  ['uniform_latency', (r) => num(fraction(r.uniform?.cycles, r.dense.cycles), 4)], ['uniform_energy', (r) => num(fraction(r.uniform?.energyUJ, r.dense.energyUJ), 4)],
  ['dense_params', (r) => String(r.dense.params)], ['pruned_params', (r) => String(r.pruned.params)], ['backend', (r) => r.backend],
];

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function resultsCsv(s: SweepResults): string {
  return `${[COLUMNS.map(([n]) => n), ...s.rows.map((r) => COLUMNS.map(([, f]) => f(r)))].map((row) => row.map(csvCell).join(',')).join('\n')}\n`;
}

/** Rows that differ only in their budget: one Pareto front each, in plan order. */
function fronts(rows: RowResult[]): { title: string; rows: RowResult[] }[] {
  const groups = new Map<string, RowResult[]>();
  for (const r of rows) {
    const { budget: _b, ratio: _r, ...rest } = r.values;
    const key = JSON.stringify(rest);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const v = g[0].values;
    return { title: `${g[0].model} on ${v.data ?? v.images ?? 'mnist'}, ${g[0].accelerator}, ${v.criterion ?? 'l1'}, seed ${v.seed ?? 1}`, rows: g };
  });
}

export function renderSweepHtml(s: SweepResults): string {
  const pct = (v?: number) => (v === undefined ? '–' : `${(100 * v).toFixed(2)}%`);
  const charts = fronts(s.rows).filter((f) => f.rows.some((r) => r.pruned.accuracy !== undefined)).map((f) => {
    const points = (pick: (r: RowResult) => RunReport['pruned'] | undefined) => f.rows.flatMap((r) => {
      const m = pick(r);
      return m?.accuracy === undefined ? [] : [[m.cycles / r.dense.cycles, 100 * m.accuracy] as [number, number]];
    }).sort((a, b) => a[0] - b[0]);
    const uniform = points((r) => r.uniform);
    return lineChart({
      title: f.title, xLabel: 'latency (fraction of dense)', yLabel: 'accuracy (%)',
      series: [{ name: 'accelerator-aware', points: points((r) => r.pruned), marker: true }, ...(uniform.length ? [{ name: 'uniform', points: uniform, marker: true }] : [])],
    });
  });
  const head = ['row', 'model', 'accelerator', 'budget', 'dense', 'aware', 'aware latency', 'aware energy', 'uniform', 'uniform latency', 'uniform energy', 'aware - uniform (pts)'];
  const body = s.rows.map((r) => {
    const gain = r.uniform?.accuracy !== undefined && r.pruned.accuracy !== undefined ? (100 * (r.pruned.accuracy - r.uniform.accuracy)).toFixed(2) : '–';
    const cells = [r.id, r.model, r.accelerator, r.budget?.text ?? '–', pct(r.dense.accuracy), pct(r.pruned.accuracy), num(fraction(r.pruned.cycles, r.dense.cycles), 3), num(fraction(r.pruned.energyUJ, r.dense.energyUJ), 3),
      pct(r.uniform?.accuracy), num(fraction(r.uniform?.cycles, r.dense.cycles), 3) || '–', num(fraction(r.uniform?.energyUJ, r.dense.energyUJ), 3) || '–', gain];
    return `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
  }).join('\n');
  const missing = s.missing.length ? `<p><b>${s.missing.length} rows missing</b> (not run, or not finished): ${esc(s.missing.join(', '))}.</p>` : '<p>Every row of the plan is here.</p>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wgprune sweep</title>
<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 10px;text-align:right}
td:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}.charts svg{border:1px solid #eee;background:#fff}</style></head><body>
<h1>wgprune sweep: ${s.rows.length} rows</h1>
${missing}<div class="charts">${charts.join('\n')}</div>
<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>
${body}</table>
<p>Latency and energy as fractions of the dense model's on the row's accelerator (simulated); accuracies on each row's test images.</p></body></html>
`;
}
