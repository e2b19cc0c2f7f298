// The page's worker: it imports the user's model, decodes their images, simulates the accelerator and runs
// the prune (the library's runPrune, as `wgprune prune` does) on WebGPU, or on gpu.js where WebGPU is
// missing, so that the page's main thread only draws. The backend is opened for a run or a prediction
// and destroyed when the run ends or the model is replaced, so GPU memory goes back with it.
/// <reference lib="webworker" />
import { unzipSync } from 'fflate';
import { parseScaleSimConfig } from '../src/accel/scalesim-io.js';
import { type Dataset, datasetFromBytes, pixelStatistics, renormalize } from '../src/data/dataset.js';
import { type ImageFile, loadImageFiles } from '../src/data/browser-images.js';
import { isImageName } from '../src/data/image-set.js';
import { dataForModel, foldedExport, pruneData } from '../src/run/run-data.js';
import { distillationFor } from '../src/train/pseudo-labels.js';
import {
  type AcceleratorConfig, type BackendChoice, type ComputeBackend, GpujsBackend, type GpujsMode, MNIST_NORMALIZATION, type Model, WebGpuBackend, channelGroups, decodeCheckpoint, encodeCheckpoint, evaluate,
  exportOnnx, importOnnx, inferShapes, makeDataset, modelWorkloads, openBackend, parameterCount, parseBudget, parseIdx, predict, presets, pruningHistory, renderHtml, runPruneWithFallback, taskOf,
} from '../src/index.js';
import type { AcceleratorChoice, DataInfo, DataRequest, FromWorker, ModelInfo, RunRequest, ToWorker } from './protocol.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

let choice: { backend: BackendChoice; gpujs?: GpujsMode } = { backend: 'auto' };
let be: ComputeBackend | undefined;
let dense: { model: Model; source: string } | undefined;
let pruned: Model | undefined;
/** The data as given ('sample': the MNIST sample that comes with the shipped model), and opened at the model's input. */
let given: DataRequest | 'sample' | null = null;
let sample: { train: Dataset; test: Dataset } | undefined;
let sets: [Dataset, Dataset] | undefined;
let stopRequested = false;
let running = false;

const label = (b: ComputeBackend) => (b instanceof GpujsBackend ? `gpujs (${b.mode})` : b.name);

async function open(notices: string[] = []): Promise<ComputeBackend> {
  return openBackend({ backend: choice.backend, gpujs: choice.gpujs ? { mode: choice.gpujs } : {}, onNotice: (line) => notices.push(line) });
}

/** Gives the GPU back: its buffers, pipelines and device. */
function release(): void {
  be?.destroy();
  be = undefined;
}

function accelerator(a: AcceleratorChoice): AcceleratorConfig {
  if (a.cfg) return parseScaleSimConfig(a.cfg.text, a.cfg.name);
  const p = presets[a.preset ?? ''];
  if (!p) throw new Error(`accelerator preset '${a.preset}': use one of ${Object.keys(presets).join(', ')}`);
  return p;
}

/** A file's bytes, read in chunks with progress (a 100 MB export shows its progress, and nothing blocks the page). */
async function readFile(file: File, what: 'model' | 'data'): Promise<Uint8Array> {
  const out = new Uint8Array(file.size);
  const reader = file.stream().getReader();
  let [at, shown] = [0, 0];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out.set(value, at);
    at += value.length;
    if (performance.now() - shown > 100) {
      shown = performance.now();
      post({ kind: 'loading', what, text: `reading ${file.name}`, fraction: at / Math.max(file.size, 1) });
    }
  }
  return out;
}

async function modelInfo(a: AcceleratorChoice): Promise<ModelInfo> {
  const { model, source } = dense!;
  const config = accelerator(a);
  const cost = await evaluate(config, modelWorkloads(model.spec), { mode: a.mode });
  const groups = channelGroups(model.spec);
  return {
    source, name: model.spec.name, inputShape: model.spec.inputShape, classes: model.spec.classes, task: taskOf(model.spec, inferShapes(model.spec)),
    layers: cost.layers.length, groups: groups.length, prunableGroups: groups.filter((g) => g.prunable).length, params: parameterCount(model),
    macs: cost.total.macs, cycles: cost.total.cycles, latencyMs: cost.latencyMs, energyUJ: cost.total.energy.total / 1e6, accelerator: config.name,
  };
}

async function loadModel(file: File): Promise<Model> {
  const bytes = await readFile(file, 'model');
  post({ kind: 'loading', what: 'model', text: `importing ${file.name}…` });
  if (/\.onnx$/i.test(file.name)) return importOnnx(bytes, { file: file.name });
  if (/\.safetensors$/i.test(file.name)) return decodeCheckpoint(bytes, file.name).model;
  throw new Error(`${file.name}: not an ONNX model (.onnx) or a wgprune checkpoint (.safetensors)`);
}

/** Files of a zip as image files (folders and macOS's resource forks left out). */
function unzipped(bytes: Uint8Array, name: string): ImageFile[] {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, { filter: (f) => !f.name.endsWith('/') && !f.name.startsWith('__MACOSX/') && isImageName(f.name) });
  } catch (e) {
    throw new Error(`${name}: not a readable zip (${(e as Error).message})`);
  }
  return Object.entries(entries).map(([path, data]) => ({ path, blob: new Blob([data as Uint8Array<ArrayBuffer>]) }));
}

/** The data as the current model takes it: decoded at its input size and normalised by the images' own statistics (the CLI's rule). */
async function openData(): Promise<DataInfo | null> {
  sets?.[0].stream?.close();
  sets = undefined;
  if (!given) return null;
  if (given === 'sample') {
    sets = [sample!.train, sample!.test];
    return { name: 'MNIST sample', count: sample!.train.count, classNames: [], classes: 10, unlabelled: false, skipped: [], test: `the MNIST test sample (${sample!.test.count} images)` };
  }
  const shape = dense!.model.spec.inputShape as [number, number, number];
  const onProgress = (done: number, total: number) => post({ kind: 'loading', what: 'data', text: `decoding images: ${done}/${total}`, fraction: done / total });
  let d: Dataset & { classNames?: string[]; skipped?: string[] };
  if (given.kind === 'npy') {
    const [images, labels] = [...given.files].sort((a, b) => b.size - a.size); // the images are the larger array
    d = datasetFromBytes({ file: images.name, bytes: await readFile(images, 'data') }, labels && { file: labels.name, bytes: await readFile(labels, 'data') });
  } else {
    const files = given.kind === 'zip' ? unzipped(await readFile(given.file, 'data'), given.file.name) : given.files.map((f) => ({ path: f.path, blob: f.file }));
    d = await loadImageFiles(given.kind === 'zip' ? given.file.name : given.name, files, shape, { onProgress });
  }
  d = renormalize(d, pixelStatistics(d));
  sets = [d, d];
  return {
    name: d.name, count: d.count, classNames: d.classNames ?? [], classes: d.classes, unlabelled: !!d.unlabelled, skipped: d.skipped ?? [],
    test: 'the same images (no separate test set): accuracies are on the images fine-tuned on',
  };
}

async function run(r: RunRequest): Promise<void> {
  stopRequested = false;
  running = true;
  release();
  pruned = undefined;
  const notices: string[] = [];
  let runBe: ComputeBackend | undefined;
  try {
    const config = accelerator(r.accelerator);
    const budget = r.budget ? parseBudget(r.budget, config) : undefined;
    const nmMatch = r.nm ? /^(\d+):(\d+)$/.exec(r.nm) : null;
    if (r.nm && !nmMatch) throw new Error(`N:M must be like 2:4, got '${r.nm}'`);
    runBe = await open(notices);
    const model = dense!.model;
    const fitted = sets && (dataForModel(model, undefined, ...sets) as [Dataset, Dataset]);
    const data = await pruneData(runBe, model, fitted);
    const kd = distillationFor(r.kd ? { temperature: 4, alpha: 0.7 } : undefined, fitted?.[0]);
    // Steps as asked (over as many epochs as they take), or one epoch, as `wgprune prune` fine-tunes by default.
    const epochs = data.train && r.steps !== undefined ? Math.max(1, Math.ceil((r.steps * r.batchSize) / data.train.count)) : 1;
    const result = await runPruneWithFallback(runBe, {
      model, modelSource: dense!.source, train: data.train, test: data.test, accelerator: config, mode: r.accelerator.mode,
      criterion: r.criterion, granularity: r.granularity, ratio: r.ratio, budget, nm: nmMatch ? { n: Number(nmMatch[1]), m: Number(nmMatch[2]) } : undefined,
      fineTune: { epochs, batchSize: r.batchSize, optimizer: 'adam', learningRate: r.learningRate, seed: r.seed, logEvery: 10, maxSteps: r.steps, schedule: { kind: 'cosine' } },
      kd, compareUniform: r.compareUniform, seed: r.seed,
      restoreBatchNorm: !!data.train && (r.restoreBn === 'on' || (r.restoreBn === 'auto' && foldedExport(model, dense!.source))),
      onPhase: (text) => post({ kind: 'phase', text }),
      onPlanProgress: (p) => post({ kind: 'phase', text: p.phase, fraction: p.fraction }),
      onProgress: (p, phase) => post({ kind: 'phase', text: phase, step: p.step, totalSteps: p.totalSteps, loss: p.loss, accuracy: p.accuracy, fraction: p.step / p.totalSteps }),
      shouldStop: () => stopRequested,
    }, { onNotice: (line) => notices.push(line) });
    runBe = result.backend;
    if (result.result.interrupted || result.report.stopped) {
      post({ kind: 'stopped', text: 'stopped: nothing was kept; change the settings and prune again' });
      return;
    }
    result.report.notes.unshift(...data.notes, ...notices);
    pruned = result.pruned;
    const history = r.granularity === 'channel' ? pruningHistory(result.start.spec, result.result.groups, result.result.kept) : undefined;
    const onnx = exportOnnx(pruned);
    const checkpoint = encodeCheckpoint({ model: pruned, optimizer: new Map(), info: history ? { pruning: history } : {} });
    const kept = result.result.groups.filter((g) => g.prunable).map((g) => ({ producers: g.producers, channels: g.channels, kept: result.result.kept.get(g.id) ?? Array.from({ length: g.channels }, (_, i) => i) }));
    post({ kind: 'done', report: result.report, backend: label(runBe), onnx, checkpoint, html: renderHtml(result.report), kept }, [onnx.buffer as ArrayBuffer, checkpoint.buffer as ArrayBuffer]);
  } catch (e) {
    if (stopRequested) post({ kind: 'stopped', text: `stopped (${(e as Error).message})` });
    else post({ kind: 'error', what: 'run', message: (e as Error).message });
  } finally {
    runBe?.destroy();
    running = false;
  }
}

async function handle(m: ToWorker): Promise<void> {
  if (running && (m.kind === 'model' || m.kind === 'data')) return post({ kind: 'error', what: m.kind, message: `a run is in progress: stop it before replacing the ${m.kind}` });
  switch (m.kind) {
    case 'init': {
      choice = { backend: m.backend, gpujs: m.gpujs };
      const notices: string[] = [];
      try {
        be = await open(notices);
        post({ kind: 'backend', name: label(be), notices, software: be instanceof WebGpuBackend && be.report.software });
      } catch (e) {
        post({ kind: 'error', what: 'backend', message: (e as Error).message });
        return;
      }
      const idx = (name: string) => parseIdx(m.sample[name], name);
      const split = (s: 'train' | 'test') => makeDataset(`mnist-${s} sample`, idx(`mnist-${s}-images.idx`), idx(`mnist-${s}-labels.idx`), {
        files: [`mnist-${s}-images.idx`, `mnist-${s}-labels.idx`], scale: 1 / 255, normalization: MNIST_NORMALIZATION, classes: 10,
      });
      sample = { train: split('train'), test: split('test') };
      dense = { model: decodeCheckpoint(m.checkpoint, 'lenet5-mnist.safetensors').model, source: 'the shipped LeNet-5 MNIST checkpoint' };
      given = 'sample';
      post({ kind: 'model', info: await modelInfo(m.accelerator) });
      post({ kind: 'data', info: await openData() });
      return;
    }
    case 'model':
      try {
        release();
        const model = await loadModel(m.file);
        dense = { model, source: m.file.name };
        pruned = undefined;
        if (given === 'sample') given = null; // the MNIST sample belongs to the shipped model
        post({ kind: 'model', info: await modelInfo(m.accelerator) });
      } catch (e) {
        post({ kind: 'error', what: 'model', message: (e as Error).message });
        return;
      }
      try {
        post({ kind: 'data', info: await openData() });
      } catch (e) {
        post({ kind: 'error', what: 'data', message: (e as Error).message });
      }
      return;
    case 'data':
      try {
        given = m.data;
        post({ kind: 'data', info: await openData() });
      } catch (e) {
        given = null;
        sets = undefined;
        post({ kind: 'error', what: 'data', message: (e as Error).message });
      }
      return;
    case 'accelerator':
      try {
        post({ kind: 'model', info: await modelInfo(m.accelerator) });
      } catch (e) {
        post({ kind: 'error', what: 'accelerator', message: (e as Error).message });
      }
      return;
    case 'run':
      if (running) return post({ kind: 'error', what: 'run', message: 'a run is in progress: stop it first' });
      return run(m.request);
    case 'stop':
      stopRequested = true;
      return;
    case 'predict': {
      be ??= await open();
      const out = await predict(be, dense!.model, m.pixels, 1);
      const p = pruned ? await predict(be, pruned, m.pixels, 1) : undefined;
      post({ kind: 'prediction', dense: out, pruned: p });
    }
  }
}

scope.onmessage = (e: MessageEvent<ToWorker>) => {
  handle(e.data).catch((err: Error) => post({ kind: 'error', what: 'run', message: err.message }));
};
