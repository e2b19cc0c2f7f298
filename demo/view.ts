// What the page draws from the worker's answers: the model's and data's summaries, the run's numbers
// and charts (those report.html has), the filters kept, and the digit pad of an MNIST-shaped model.
import { type RunReport, barChart, lineChart } from '../src/index.js';
import type { DataInfo, ModelInfo } from './protocol.js';

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const fmt = (v: number) => (Math.abs(v) >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : Math.abs(v) >= 1e4 ? `${(v / 1e3).toFixed(1)} k` : String(Math.round(v * 1e4) / 1e4));

export function showModel(m: ModelInfo) {
  const rows: [string, string][] = [
    ['model', `${m.name} (${m.source})`], ['input', m.inputShape.join('x')], ['task', `${m.task}, ${m.classes} outputs`],
    ['layers on the accelerator', String(m.layers)], ['channel groups', `${m.groups} (${m.prunableGroups} prunable)`],
    ['parameters', fmt(m.params)], ['MACs', fmt(m.macs)], [`cycles on ${m.accelerator}`, `${m.cycles} (${m.latencyMs.toFixed(4)} ms)`], ['energy', `${m.energyUJ.toFixed(3)} µJ`],
  ];
  $('model-info').replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement('tr');
    tr.innerHTML = '<td></td><td></td>';
    tr.cells[0].textContent = k;
    tr.cells[1].textContent = v;
    return tr;
  }));
}

export function dataText(d: DataInfo | null): string {
  if (!d) return 'no data: magnitude pruning (a data-free criterion), no fine-tuning, no accuracy';
  const labels = d.unlabelled ? 'no labels: fine-tuned by distillation from the dense model; accuracy is agreement with it' : d.classNames.length ? `${d.classNames.length} classes (${d.classNames.slice(0, 5).join(', ')}${d.classNames.length > 5 ? ', …' : ''})` : `${d.classes} classes`;
  return `${d.name}: ${d.count} images, ${labels}; tested on ${d.test}`;
}

export function showSummary(r: RunReport) {
  const set = (id: string, text: string) => { $(id).textContent = text; };
  const metric = r.dense.metric && r.dense.metric !== 'top-1' ? r.dense.metric : 'accuracy';
  set('score-name', metric);
  for (const [key, s] of [['dense', r.dense], ['pruned', r.pruned]] as const) {
    set(`${key}-accuracy`, s.accuracy === undefined ? '–' : `${(100 * s.accuracy).toFixed(2)}%`);
    set(`${key}-cycles`, String(s.cycles));
    set(`${key}-latency`, s.latencyMs.toFixed(4));
    set(`${key}-energy`, s.energyUJ.toFixed(3));
    set(`${key}-params`, String(s.params));
  }
  set('budget-cycles', r.budget ? `${r.budget.text} = ${Math.round(r.budget.value)} ${r.budget.unit} (${r.budget.met ? 'met' : 'not met'})` : 'n/a (ratio)');
  $('notes').replaceChildren(...r.notes.map((n) => Object.assign(document.createElement('li'), { textContent: n })));
  const names = r.layers.map((l) => l.name);
  $('chart-channels').innerHTML = barChart({ title: 'Channels kept per layer', categories: names, yLabel: 'output channels', series: [{ name: 'dense', values: r.layers.map((l) => l.channelsBefore) }, { name: 'pruned', values: r.layers.map((l) => l.channelsAfter) }] });
  $('chart-cycles').innerHTML = barChart({ title: `Cycles per layer on ${r.accelerator.name}`, categories: names, yLabel: 'cycles', series: [{ name: 'dense', values: r.layers.map((l) => l.cyclesBefore) }, { name: 'pruned', values: r.layers.map((l) => l.cyclesAfter) }] });
  $('chart-energy').innerHTML = barChart({ title: 'Energy per layer', categories: names, yLabel: 'pJ', series: [{ name: 'dense', values: r.layers.map((l) => l.energyBeforePJ) }, { name: 'pruned', values: r.layers.map((l) => l.energyAfterPJ) }] });
  const select = $<HTMLSelectElement>('stair-layer');
  select.replaceChildren(...r.staircases.map((s) => new Option(s.layer, s.layer)));
  const drawStair = () => {
    const s = r.staircases.find((x) => x.layer === select.value);
    $('chart-staircase').innerHTML = s ? lineChart({ title: `Latency staircase of ${s.layer}`, xLabel: 'output channels kept', yLabel: 'layer cycles', series: [{ name: s.layer, points: s.keptOut.map((k, i) => [k, s.cycles[i]]), step: true }], marks: [{ x: s.cut, label: `cut: ${s.cut} of ${s.full}` }] }) : '';
  };
  select.onchange = drawStair;
  drawStair();
}

export function clearResults() {
  for (const id of ['chart-channels', 'chart-cycles', 'chart-energy', 'chart-staircase', 'chart-training', 'mask-view', 'notes', 'pred-pruned']) $(id).replaceChildren();
  for (const key of ['dense', 'pruned']) for (const k of ['accuracy', 'cycles', 'latency', 'energy', 'params']) $(`${key}-${k}`).textContent = '–';
  $('budget-cycles').textContent = '–';
  document.querySelector<HTMLElement>('.downloads')!.hidden = true;
}

export function showMasks(groups: { producers: string[]; channels: number; kept: number[] }[]) {
  $('mask-view').replaceChildren(...groups.map((g) => {
    const row = document.createElement('div');
    row.className = 'layer';
    const keep = new Set(g.kept);
    row.textContent = `${g.producers.join('+')} (${keep.size}/${g.channels}) `;
    for (let c = 0; c < g.channels; c++) {
      const cell = document.createElement('span');
      cell.className = keep.has(c) ? 'cell' : 'cell off';
      cell.title = `filter ${c}: ${keep.has(c) ? 'kept' : 'removed'}`;
      row.append(cell);
    }
    return row;
  }));
}

/** The training curve: loss (x10) and accuracy (%) per logged step. */
export function showTraining(points: { step: number; loss: number; accuracy: number }[]) {
  $('chart-training').innerHTML = lineChart({ title: 'Fine-tuning', xLabel: 'step', yLabel: 'loss / accuracy (%)', series: [{ name: 'loss (x10)', points: points.map((p) => [p.step, 10 * p.loss]) }, { name: 'accuracy %', points: points.map((p) => [p.step, 100 * p.accuracy]) }] });
}

/** A pad to draw a digit on; `onChange` gets it as a 28x28 MNIST-normalised image (mean, std). */
export function drawingPad(normalization: { mean: number; std: number }, onChange: (pixels: Float32Array) => void) {
  const pad = $<HTMLCanvasElement>('pad');
  const ctx = pad.getContext('2d')!;
  const clear = () => { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, pad.width, pad.height); };
  clear();
  let down = false;
  const at = (e: PointerEvent) => [e.offsetX * (pad.width / pad.clientWidth), e.offsetY * (pad.height / pad.clientHeight)];
  pad.onpointerdown = (e) => { down = true; pad.setPointerCapture(e.pointerId); const [x, y] = at(e); ctx.beginPath(); ctx.moveTo(x, y); };
  pad.onpointermove = (e) => {
    if (!down) return;
    const [x, y] = at(e);
    ctx.strokeStyle = '#fff'; ctx.lineWidth = 22; ctx.lineCap = 'round'; ctx.lineTo(x, y); ctx.stroke();
  };
  pad.onpointerup = () => {
    down = false;
    // MNIST-like: the drawing scaled to 20x20 inside 28x28.
    const small = document.createElement('canvas');
    small.width = small.height = 28;
    const s = small.getContext('2d')!;
    s.fillStyle = '#000'; s.fillRect(0, 0, 28, 28);
    s.drawImage(pad, 4, 4, 20, 20);
    const rgba = s.getImageData(0, 0, 28, 28).data;
    onChange(Float32Array.from({ length: 784 }, (_, i) => (rgba[4 * i] / 255 - normalization.mean) / normalization.std));
  };
  $('clear').onclick = clear;
}

export function showPrediction(id: string, logits: Float32Array) {
  const m = Math.max(...logits);
  const e = logits.map((x) => Math.exp(x - m));
  const sum = e.reduce((a, b) => a + b, 0);
  const probabilities = e.map((x) => x / sum);
  const best = probabilities.indexOf(Math.max(...probabilities));
  $(id).replaceChildren(...Array.from(probabilities, (p, digit) => {
    const row = document.createElement('div');
    row.className = 'row';
    row.innerHTML = `${digit === best ? '<b>' : ''}${digit}: ${(100 * p).toFixed(1)}%${digit === best ? '</b>' : ''}<span class="pbar" style="width:${Math.round(120 * p)}px"></span>`;
    return row;
  }));
}
