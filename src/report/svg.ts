// Small self-contained SVG charts (no scripts, no fonts to fetch): grouped bars and line/scatter
// series with nice axis ticks. Used by the HTML report, the Pareto chart and the demo.

export interface Series { name: string; values: number[]; color?: string }
export interface XYSeries { name: string; points: [number, number][]; color?: string; marker?: boolean; step?: boolean }

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1'];
const W = 640;
const H = 300;
const M = { top: 44, right: 16, bottom: 64, left: 64 };

/** Text for HTML and SVG: &, <, > and quotes escaped (safe in element text and in attribute values). */
export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** About `count` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  return String(+v.toPrecision(4));
}

function frame(title: string, yTicks: number[], y: (v: number) => number, yLabel: string, body: string, legend: { name: string; color: string }[]): string {
  const grid = yTicks.map((t) => `<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e5e5"/><text x="${M.left - 6}" y="${y(t) + 4}" text-anchor="end">${formatNumber(t)}</text>`).join('');
  const keys = legend.map((l, i) => `<rect x="${M.left + i * 150}" y="24" width="10" height="10" fill="${l.color}"/><text x="${M.left + 14 + i * 150}" y="33">${esc(l.name)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}" font-family="sans-serif" font-size="11">`
    + `<title>${esc(title)}</title><text x="${W / 2}" y="15" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>${grid}${body}${keys}`
    + `<text transform="translate(14 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text></svg>`;
}

/** Grouped bars: one group per category, one bar per series. */
export function barChart(o: { title: string; categories: string[]; series: Series[]; yLabel: string }): string {
  const max = Math.max(1e-12, ...o.series.flatMap((s) => s.values));
  const ticks = niceTicks(0, max);
  const top = Math.max(max, ticks.at(-1)!);
  const y = (v: number) => +(H - M.bottom - ((H - M.top - M.bottom) * v) / top).toFixed(2);
  const band = (W - M.left - M.right) / Math.max(1, o.categories.length);
  const bar = (band * 0.8) / o.series.length;
  const colors = o.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  let body = '';
  o.categories.forEach((c, ci) => {
    o.series.forEach((s, si) => {
      const x = M.left + ci * band + band * 0.1 + si * bar;
      const v = s.values[ci] ?? 0;
      body += `<rect class="bar" x="${x.toFixed(2)}" y="${y(v)}" width="${bar.toFixed(2)}" height="${(H - M.bottom - y(v)).toFixed(2)}" fill="${colors[si]}"><title>${esc(`${c} ${s.name}: ${formatNumber(v)}`)}</title></rect>`;
    });
    const cx = M.left + ci * band + band / 2;
    body += `<text x="${cx.toFixed(2)}" y="${H - M.bottom + 12}" text-anchor="end" transform="rotate(-35 ${cx.toFixed(2)} ${H - M.bottom + 12})">${esc(c)}</text>`;
  });
  return frame(o.title, ticks, y, o.yLabel, body, o.series.map((s, i) => ({ name: s.name, color: colors[i] })));
}

/** Lines (or steps) through points, with optional markers, and vertical marks. */
export function lineChart(o: { title: string; series: XYSeries[]; xLabel: string; yLabel: string; marks?: { x: number; label: string }[] }): string {
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = o.series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys));
  const [y0, y1] = [Math.min(yTicks[0], ...ys), Math.max(yTicks.at(-1)!, ...ys)];
  const x = (v: number) => +(M.left + ((W - M.left - M.right) * (v - x0)) / (x1 - x0 || 1)).toFixed(2);
  const y = (v: number) => +(H - M.bottom - ((H - M.top - M.bottom) * (v - y0)) / (y1 - y0 || 1)).toFixed(2);
  const colors = o.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  let body = niceTicks(x0, x1).map((t) => `<text x="${x(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${formatNumber(t)}</text>`).join('');
  body += `<text x="${(M.left + W - M.right) / 2}" y="${H - 20}" text-anchor="middle">${esc(o.xLabel)}</text>`;
  o.series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    const path = pts.map((p, j) => (j === 0 ? `M${x(p[0])},${y(p[1])}` : s.step ? `H${x(p[0])}V${y(p[1])}` : `L${x(p[0])},${y(p[1])}`)).join('');
    body += `<path class="series" d="${path}" fill="none" stroke="${colors[i]}" stroke-width="2"/>`;
    if (s.marker) body += pts.map((p) => `<circle cx="${x(p[0])}" cy="${y(p[1])}" r="3.5" fill="${colors[i]}"><title>${esc(`${s.name}: ${formatNumber(p[0])}, ${formatNumber(p[1])}`)}</title></circle>`).join('');
  });
  for (const m of o.marks ?? []) {
    body += `<line class="mark" x1="${x(m.x)}" x2="${x(m.x)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#e15759" stroke-dasharray="4 3"/><text x="${x(m.x) + (x(m.x) > W * 0.7 ? -4 : 4)}" y="${M.top + 12}" fill="#e15759" text-anchor="${x(m.x) > W * 0.7 ? 'end' : 'start'}">${esc(m.label)}</text>`;
  }
  return frame(o.title, yTicks, y, o.yLabel, body, o.series.map((s, i) => ({ name: s.name, color: colors[i] })));
}
