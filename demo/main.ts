// The page: bring a model (ONNX or checkpoint; the shipped LeNet-5 to start), optionally images (a folder,
// a zip, NPY arrays), choose the accelerator and budget, prune, and download the result. All the work runs
// in a worker (worker.ts) on WebGPU, or gpu.js on WebGL2 where WebGPU is missing (said in a banner); the
// page draws. `?backend=auto|webgpu|gpujs` picks the backend, `&gpujs=MODE` forces a gpu.js mode.
import checkpointUrl from '../models/lenet5-mnist.safetensors?url';
import { type BackendChoice, DEFAULT_PRESET, type GpujsMode, MNIST_NORMALIZATION, type RunReport, criteria, presets } from '../src/index.js';
import type { AcceleratorChoice, DataInfo, DataRequest, FromWorker, ModelInfo, RunRequest, ToWorker } from './protocol.js';
import { $, clearResults, dataText, drawingPad, showMasks, showModel, showPrediction, showSummary, showTraining } from './view.js';

interface PageState {
  phase: string;
  running: boolean;
  backend?: string;
  model?: ModelInfo;
  data?: DataInfo | null;
  report?: RunReport;
  error?: string;
  modelError?: string;
  dataError?: string;
  /** The last fine-tuning step reported, of how many. */
  trained?: { step: number; totalSteps: number };
}
const state: PageState = { phase: 'loading', running: false };
(window as unknown as { demo: PageState }).demo = state;

const query = new URLSearchParams(location.search);
const choice = (query.get('backend') ?? 'auto') as BackendChoice;
const gpujsMode = (query.get('gpujs') ?? undefined) as GpujsMode | undefined;
let cfg: AcceleratorChoice['cfg'];
let modelFile: File | undefined;
let dataRequest: DataRequest | null | undefined;
let worker: Worker;
let boot: ToWorker;

function setPhase(text: string, fraction?: number) {
  state.phase = text;
  $('phase').textContent = text;
  if (fraction !== undefined) ($('progress') as HTMLProgressElement).value = fraction;
}

const banner = (text: string) => {
  $('banner').hidden = false;
  $('banner').textContent = text;
};

const showError = (id: 'model-error' | 'data-error', text?: string) => {
  $(id).hidden = !text;
  $(id).textContent = text ?? '';
};

const acceleratorChoice = (): AcceleratorChoice => ({ ...(cfg && $<HTMLSelectElement>('preset').value === '@cfg' ? { cfg } : { preset: $<HTMLSelectElement>('preset').value }), mode: $<HTMLSelectElement>('mode').value as 'tiled' | 'scalesim' });

function request(): RunRequest {
  const granularity = $<HTMLSelectElement>('granularity').value as RunRequest['granularity'];
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  return {
    accelerator: acceleratorChoice(), granularity, criterion: $<HTMLSelectElement>('criterion').value,
    ...(granularity === 'channel' ? { budget: $<HTMLInputElement>('budget').value.trim() } : granularity === 'unstructured' ? { ratio: num('ratio') } : { nm: $<HTMLInputElement>('nm').value.trim() }),
    steps: $<HTMLInputElement>('steps').value.trim() === '' ? undefined : num('steps'), batchSize: num('batch-size'), learningRate: num('lr'), kd: $<HTMLInputElement>('kd').checked,
    compareUniform: $<HTMLInputElement>('compare-uniform').checked, restoreBn: $<HTMLSelectElement>('restore-bn').value as RunRequest['restoreBn'], seed: num('seed'),
  };
}

/** Remaining time from the steps done since the phase began. */
const eta = { phase: '', start: 0, step: 0 };
function showEta(phase: string, step?: number, total?: number) {
  if (step === undefined || total === undefined) { $('eta').textContent = ''; return; }
  if (eta.phase !== phase || step < eta.step) Object.assign(eta, { phase, start: performance.now(), step });
  const rate = (performance.now() - eta.start) / Math.max(step - eta.step, 1);
  $('eta').textContent = step > eta.step ? `about ${Math.ceil((rate * (total - step)) / 1000)} s left` : '';
}

const training: { step: number; loss: number; accuracy: number }[] = [];
let drawn = 0;

function onMessage(m: FromWorker) {
  switch (m.kind) {
    case 'backend':
      state.backend = m.name;
      if (m.notices.length) banner(`${m.notices.join('. ')}.`);
      if (m.software) banner('WebGPU runs on a software adapter (SwiftShader) here: correct but slow.');
      else if (m.name.startsWith('gpujs') && choice === 'gpujs') banner(`Running on gpu.js (${m.name.slice(7, -1)}), as asked: slower than WebGPU.`);
      return;
    case 'loading': {
      const bar = $<HTMLProgressElement>(`${m.what}-progress`);
      bar.hidden = false;
      if (m.fraction === undefined) bar.removeAttribute('value');
      else bar.value = m.fraction;
      $(`${m.what}-status`).textContent = m.text;
      return;
    }
    case 'model':
      state.model = m.info;
      showModel(m.info);
      $('draw').hidden = !(m.info.inputShape.join('x') === '1x28x28' && m.info.classes === 10 && m.info.task === 'classify');
      settle('model', `${m.info.name} from ${m.info.source}`);
      return;
    case 'data':
      state.data = m.info;
      $('data-warning').hidden = !m.info?.skipped.length;
      $('data-warning').textContent = m.info?.skipped.length ? `skipped ${m.info.skipped.length} file${m.info.skipped.length > 1 ? 's' : ''} that did not decode: ${m.info.skipped.join('; ')}` : '';
      settle('data', dataText(m.info));
      return;
    case 'error':
      if (m.what === 'model' || m.what === 'data') {
        if (state.running) return showError(`${m.what}-error`, m.message); // refused during a run: nothing changed
        if (m.what === 'data') state.data = null;
        settle(m.what, m.what === 'model' ? (state.model ? `still ${state.model.name}` : 'no model') : dataText(null), m.message);
        return;
      }
      if (m.what === 'backend') banner(`No backend to run on (${m.message}). Try a browser with WebGPU or WebGL2 enabled.`);
      state.error = m.message;
      finish(`error: ${m.message}`);
      return;
    case 'phase':
      setPhase(m.step !== undefined ? `${m.text}: step ${m.step}/${m.totalSteps}, loss ${m.loss!.toFixed(3)}, accuracy ${(100 * m.accuracy!).toFixed(1)}%` : m.text, m.fraction);
      showEta(m.text, m.step, m.totalSteps);
      if (m.step !== undefined) {
        state.trained = { step: m.step, totalSteps: m.totalSteps! };
        training.push({ step: m.step, loss: m.loss!, accuracy: m.accuracy! });
        if (performance.now() - drawn > 500) { drawn = performance.now(); showTraining(training); }
      }
      return;
    case 'done': {
      state.report = m.report;
      state.backend = m.backend;
      showTraining(training);
      showSummary(m.report);
      showMasks(m.kept);
      const link = (id: string, data: Uint8Array | string, type: string) => {
        const a = $<HTMLAnchorElement>(id);
        if (a.href.startsWith('blob:')) URL.revokeObjectURL(a.href);
        a.href = URL.createObjectURL(new Blob([data as BlobPart], { type }));
      };
      link('download-onnx', m.onnx, 'application/octet-stream');
      link('download-checkpoint', m.checkpoint, 'application/octet-stream');
      link('download-report', m.html, 'text/html');
      document.querySelector<HTMLElement>('.downloads')!.hidden = false;
      finish('done', 1);
      return;
    }
    case 'stopped':
      finish(m.text);
      return;
    case 'prediction':
      showPrediction('pred-dense', m.dense);
      if (m.pruned) showPrediction('pred-pruned', m.pruned);
  }
}

/** A model or data load ended: its progress bar hidden, its status line and error (if any) shown. */
function settle(what: 'model' | 'data', status: string, error?: string) {
  state[what === 'model' ? 'modelError' : 'dataError'] = error;
  showError(`${what}-error`, error);
  $<HTMLProgressElement>(`${what}-progress`).hidden = true;
  $(`${what}-status`).textContent = status;
  ready();
}

/** Ready to run once the model (and data, if any) are in; inputs stay locked while a run goes. */
function ready() {
  if (state.running) return;
  $<HTMLButtonElement>('run').disabled = !state.model;
  if (state.phase.startsWith('loading') && state.model && state.data !== undefined) setPhase('ready');
}

function finish(text: string, fraction?: number) {
  state.running = false;
  clearTimeout(hardStop);
  setPhase(text, fraction);
  $('eta').textContent = '';
  for (const id of ['run', 'model-file', 'data-folder', 'data-files', 'data-none', 'accel-cfg']) $<HTMLButtonElement>(id).disabled = false;
  $<HTMLButtonElement>('stop').disabled = true;
}

function startWorker() {
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<FromWorker>) => onMessage(e.data);
  worker.onerror = (e) => { state.error = e.message; finish(`error: ${e.message}`); };
  worker.postMessage({ ...boot, accelerator: acceleratorChoice() });
  if (modelFile) send({ kind: 'model', file: modelFile, accelerator: acceleratorChoice() });
  if (dataRequest !== undefined) send({ kind: 'data', data: dataRequest });
}
const send = (m: ToWorker) => worker.postMessage(m);

let hardStop: ReturnType<typeof setTimeout> | undefined;
/** Stop asks the worker to stop at its next step; a worker that does not answer in 10 s is replaced. */
function stop() {
  send({ kind: 'stop' });
  setPhase('stopping…');
  hardStop = setTimeout(() => {
    worker.terminate();
    startWorker();
    finish('stopped (the worker was restarted)');
  }, 10_000);
}

function loadModel(file: File) {
  modelFile = file;
  clearResults();
  state.modelError = undefined;
  $<HTMLButtonElement>('run').disabled = true;
  send({ kind: 'model', file, accelerator: acceleratorChoice() });
}

function loadData(files: { path: string; file: File }[], name: string) {
  const zip = files.find((f) => /\.zip$/i.test(f.file.name));
  const npy = files.filter((f) => /\.npy$/i.test(f.file.name));
  dataRequest = zip ? { kind: 'zip', file: zip.file } : npy.length ? { kind: 'npy', files: npy.map((f) => f.file) } : { kind: 'files', name, files };
  $<HTMLButtonElement>('run').disabled = true;
  send({ kind: 'data', data: dataRequest });
}

/** The files under a dropped folder, with their paths. */
async function entryFiles(entry: FileSystemEntry, out: { path: string; file: File }[]): Promise<void> {
  if (entry.isFile) {
    out.push({ path: entry.fullPath.replace(/^\//, ''), file: await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej)) });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
    if (!batch.length) return;
    for (const e of batch) await entryFiles(e, out);
  }
}

function dropZone(id: string, onFiles: (files: { path: string; file: File }[]) => void) {
  const zone = $(id);
  zone.ondragover = (e) => { e.preventDefault(); zone.classList.add('over'); };
  zone.ondragleave = () => zone.classList.remove('over');
  zone.ondrop = async (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (state.running) return;
    const files: { path: string; file: File }[] = [];
    for (const entry of Array.from(e.dataTransfer?.items ?? [], (i) => i.webkitGetAsEntry()).filter((x): x is FileSystemEntry => !!x)) await entryFiles(entry, files);
    if (files.length) onFiles(files);
  };
}

function wire() {
  for (const name of Object.keys(presets)) $('preset').append(new Option(`${name} (${presets[name].rows}x${presets[name].cols} ${presets[name].dataflow})`, name, name === DEFAULT_PRESET, name === DEFAULT_PRESET));
  for (const name of Object.keys(criteria)) $('criterion').append(new Option(name, name, name === 'l1', name === 'l1'));
  const backendSelect = $<HTMLSelectElement>('backend');
  backendSelect.value = choice;
  backendSelect.onchange = () => { location.search = `?backend=${backendSelect.value}`; };
  const simulate = () => state.model && send({ kind: 'accelerator', accelerator: acceleratorChoice() });
  $<HTMLSelectElement>('preset').onchange = simulate;
  $<HTMLSelectElement>('mode').onchange = simulate;
  $<HTMLInputElement>('accel-cfg').onchange = async (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (!f) return;
    cfg = { name: f.name, text: await f.text() };
    $('preset').querySelector('option[value="@cfg"]')?.remove();
    $('preset').append(new Option(`${f.name} (SCALE-Sim config)`, '@cfg', true, true));
    simulate();
  };
  $<HTMLInputElement>('model-file').onchange = (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) loadModel(f);
  };
  $<HTMLInputElement>('data-folder').onchange = (e) => {
    const files = Array.from((e.target as HTMLInputElement).files ?? [], (file) => ({ path: file.webkitRelativePath || file.name, file }));
    if (files.length) loadData(files, '');
  };
  $<HTMLInputElement>('data-files').onchange = (e) => {
    const files = Array.from((e.target as HTMLInputElement).files ?? [], (file) => ({ path: file.name, file }));
    if (files.length) loadData(files, 'selected images');
  };
  $('data-none').onclick = () => {
    dataRequest = null;
    send({ kind: 'data', data: null });
  };
  dropZone('model-drop', (files) => loadModel(files[0].file));
  dropZone('data-drop', (files) => loadData(files, ''));
  $<HTMLButtonElement>('run').onclick = () => {
    clearResults();
    training.length = 0;
    state.report = undefined;
    state.error = undefined;
    state.trained = undefined;
    state.running = true;
    for (const id of ['run', 'model-file', 'data-folder', 'data-files', 'data-none', 'accel-cfg']) $<HTMLButtonElement>(id).disabled = true;
    $<HTMLButtonElement>('stop').disabled = false;
    setPhase('starting', 0);
    send({ kind: 'run', request: request() });
  };
  $<HTMLButtonElement>('stop').onclick = stop;
  drawingPad(MNIST_NORMALIZATION, (pixels) => send({ kind: 'predict', pixels }));
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function start() {
  wire();
  setPhase('loading the shipped checkpoint and an MNIST sample…');
  const names = ['mnist-train-images.idx', 'mnist-train-labels.idx', 'mnist-test-images.idx', 'mnist-test-labels.idx'];
  const [checkpoint, ...sample] = await Promise.all([fetchBytes(checkpointUrl), ...names.map((n) => fetchBytes(`./${n}`))]);
  boot = { kind: 'init', backend: choice, gpujs: gpujsMode, checkpoint, sample: Object.fromEntries(names.map((n, i) => [n, sample[i]])), accelerator: acceleratorChoice() };
  startWorker();
}

start().catch((e) => {
  state.error = (e as Error).message;
  setPhase(`error: ${(e as Error).message}`);
});
