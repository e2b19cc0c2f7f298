// The demo page: the shipped LeNet-5 MNIST checkpoint pruned to a latency budget on a chosen
// accelerator preset, fine-tuned with distillation and evaluated, all through the library's public
// API on WebGPU (or gpu.js on WebGL2 where WebGPU is missing, said in a banner), with live charts and a
// drawing pad comparing the dense and pruned models. `?backend=auto|webgpu|gpujs` picks the backend.
import checkpointUrl from '../models/lenet5-mnist.safetensors?url';
import {
  type BackendChoice, type ComputeBackend, GpujsBackend, type GpujsMode, type Model, MNIST_NORMALIZATION, type PruningHistory, type RunReport, WebGpuBackend, barChart, criteria,
  decodeCheckpoint, encodeCheckpoint, exportOnnx, lineChart, makeDataset, openBackend, parseBudget, parseIdx, predict, presets, pruningHistory, runPruneWithFallback, DEFAULT_PRESET,
} from '../src/index.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const state: { phase: string; report?: RunReport; error?: string; dense?: Model; pruned?: Model; be?: ComputeBackend; backend?: string } = { phase: 'loading' };
(window as unknown as { demo: typeof state }).demo = state;

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function loadSample(split: 'train' | 'test') {
  const [images, labels] = await Promise.all([fetchBytes(`./mnist-${split}-images.idx`), fetchBytes(`./mnist-${split}-labels.idx`)]);
  return makeDataset(`mnist-${split} sample`, parseIdx(images, `mnist-${split}-images.idx`), parseIdx(labels, `mnist-${split}-labels.idx`), {
    files: [`mnist-${split}-images.idx`, `mnist-${split}-labels.idx`], scale: 1 / 255, normalization: MNIST_NORMALIZATION, classes: 10,
  });
}

function setPhase(text: string, progress?: number) {
  state.phase = text;
  $('phase').textContent = text;
  if (progress !== undefined) ($('progress') as HTMLProgressElement).value = progress;
}

function fill() {
  for (const name of Object.keys(presets)) $('preset').append(new Option(`${name} (${presets[name].rows}x${presets[name].cols} ${presets[name].dataflow})`, name, name === DEFAULT_PRESET, name === DEFAULT_PRESET));
  for (const name of Object.keys(criteria)) $('criterion').append(new Option(name, name, name === 'l1', name === 'l1'));
  const budget = $<HTMLInputElement>('budget');
  budget.oninput = () => { $('budget-value').textContent = `${Math.round(100 * Number(budget.value))}%`; };
}


function showSummary(r: RunReport) {
  const set = (id: string, text: string) => { $(id).textContent = text; };
  for (const [key, s] of [['dense', r.dense], ['pruned', r.pruned]] as const) {
    set(`${key}-accuracy`, s.accuracy === undefined ? '–' : `${(100 * s.accuracy).toFixed(2)}%`);
    set(`${key}-cycles`, String(s.cycles));
    set(`${key}-latency`, s.latencyMs.toFixed(4));
    set(`${key}-energy`, s.energyUJ.toFixed(3));
    set(`${key}-params`, String(s.params));
  }
  set('budget-cycles', r.budget ? `${Math.round(r.budget.value)} (${r.budget.met ? 'met' : 'not met'})` : 'n/a (ratio)');
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

function showMasks(kept: Map<number, number[]>, groups: { id: number; producers: string[]; channels: number; prunable: boolean }[]) {
  $('mask-view').replaceChildren(...groups.filter((g) => g.prunable).map((g) => {
    const row = document.createElement('div');
    row.className = 'layer';
    const keep = new Set(kept.get(g.id) ?? Array.from({ length: g.channels }, (_, i) => i));
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

function drawingPad(onChange: (pixels: Float32Array) => void) {
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
    onChange(Float32Array.from({ length: 784 }, (_, i) => (rgba[4 * i] / 255 - MNIST_NORMALIZATION.mean) / MNIST_NORMALIZATION.std));
  };
  $('clear').onclick = clear;
}

function showPrediction(id: string, probabilities: Float32Array) {
  const best = probabilities.indexOf(Math.max(...probabilities));
  $(id).replaceChildren(...Array.from(probabilities, (p, digit) => {
    const row = document.createElement('div');
    row.className = 'row';
    row.innerHTML = `${digit === best ? '<b>' : ''}${digit}: ${(100 * p).toFixed(1)}%${digit === best ? '</b>' : ''}<span class="pbar" style="width:${Math.round(120 * p)}px"></span>`;
    return row;
  }));
}

const softmax = (v: Float32Array) => {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

async function start() {
  fill();
  const query = new URLSearchParams(location.search);
  const choice = (query.get('backend') ?? 'auto') as BackendChoice;
  const backendSelect = $<HTMLSelectElement>('backend');
  backendSelect.value = choice;
  backendSelect.onchange = () => { location.search = `?backend=${backendSelect.value}`; };
  const banner = (text: string) => {
    $('banner').hidden = false;
    $('banner').textContent = text;
  };
  let be: ComputeBackend;
  try {
    const gpujsMode = query.get('gpujs') as GpujsMode | null; // force a gpu.js mode: webgl2, webgl, webasm, cpu
    be = await openBackend({ backend: choice, gpujs: gpujsMode ? { mode: gpujsMode } : {}, onNotice: (line) => banner(`${line}.`) });
  } catch (e) {
    banner(`No backend to run on (${(e as Error).message}). Try a browser with WebGPU or WebGL2 enabled.`);
    setPhase('no backend');
    state.error = 'no-backend';
    return;
  }
  state.be = be;
  state.backend = be instanceof GpujsBackend ? `gpujs (${be.mode})` : be.name;
  if (be instanceof WebGpuBackend && be.report.software) banner('WebGPU runs on a software adapter (SwiftShader) here: correct but slow.');
  else if (be instanceof GpujsBackend && choice === 'gpujs') banner(`Running on gpu.js (${be.mode}), as asked: slower than WebGPU.`);
  if (be instanceof GpujsBackend && be.skipped.length) $('banner').textContent += ` Skipped: ${be.skipped.join('; ')}.`;
  setPhase('loading the checkpoint and an MNIST sample…');
  const [checkpoint, trainData, test] = await Promise.all([fetchBytes(checkpointUrl).then((b) => decodeCheckpoint(b, 'lenet5-mnist.safetensors')), loadSample('train'), loadSample('test')]);
  state.dense = checkpoint.model;
  const history: [number, number][] = [];
  const accuracy: [number, number][] = [];
  drawingPad(async (pixels) => {
    showPrediction('pred-dense', softmax(await predict(be, state.dense!, pixels, 1)));
    if (state.pruned) showPrediction('pred-pruned', softmax(await predict(be, state.pruned, pixels, 1)));
  });
  setPhase('ready');
  const run = $<HTMLButtonElement>('run');
  run.disabled = false;
  run.onclick = async () => {
    run.disabled = true;
    history.length = 0;
    accuracy.length = 0;
    try {
      const fraction = Number($<HTMLInputElement>('budget').value);
      const granularity = $<HTMLSelectElement>('granularity').value as 'channel' | 'unstructured';
      const accel = presets[$<HTMLSelectElement>('preset').value];
      const steps = Number($<HTMLInputElement>('steps').value);
      const result = await runPruneWithFallback(be, {
        model: checkpoint.model, modelSource: 'the shipped LeNet-5 MNIST checkpoint', train: trainData, test, accelerator: accel,
        criterion: $<HTMLSelectElement>('criterion').value, granularity,
        ...(granularity === 'channel' ? { budget: parseBudget(`latency=${fraction}`) } : { ratio: 1 - fraction }),
        fineTune: { epochs: 10, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1, logEvery: 10, maxSteps: steps, schedule: { kind: 'cosine' } },
        kd: { temperature: 4, alpha: 0.7 }, seed: 1,
        onPhase: (t) => setPhase(t),
        onProgress: (p) => {
          setPhase(`fine-tuning: step ${p.step}/${p.totalSteps}, loss ${p.loss.toFixed(3)}, accuracy ${(100 * p.accuracy).toFixed(1)}%`, p.step / p.totalSteps);
          history.push([p.step, p.loss]);
          accuracy.push([p.step, 100 * p.accuracy]);
          $('chart-training').innerHTML = lineChart({ title: 'Fine-tuning', xLabel: 'step', yLabel: 'loss / accuracy (%)', series: [{ name: 'loss (x10)', points: history.map(([s, l]) => [s, 10 * l]) }, { name: 'accuracy %', points: accuracy }] });
        },
      }, { onNotice: (line) => banner(line) });
      be = result.backend;
      state.be = be;
      state.pruned = result.pruned;
      state.report = result.report;
      showSummary(result.report);
      showMasks(result.result.kept, result.result.groups);
      offerDownloads(result.pruned, granularity === 'channel' ? pruningHistory(checkpoint.model.spec, result.result.groups, result.result.kept) : undefined);
      setPhase('done', 1);
    } catch (e) {
      state.error = (e as Error).message;
      setPhase(`error: ${(e as Error).message}`);
    } finally {
      run.disabled = false;
    }
  };
}

/** The pruned model as files: ONNX, and a checkpoint recording its pruning history (channel pruning). */
function offerDownloads(pruned: Model, history?: PruningHistory) {
  const link = (id: string, bytes: Uint8Array) => {
    const a = $<HTMLAnchorElement>(id);
    if (a.href.startsWith('blob:')) URL.revokeObjectURL(a.href);
    a.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  };
  link('download-onnx', exportOnnx(pruned));
  link('download-checkpoint', encodeCheckpoint({ model: pruned, optimizer: new Map(), info: history ? { pruning: history } : {} }));
  document.querySelector<HTMLElement>('.downloads')!.hidden = false;
}

start().catch((e) => {
  state.error = (e as Error).message;
  setPhase(`error: ${(e as Error).message}`);
});
