// `npm run bench -- tasks` (issue 34): pruning beyond classifiers, on MNIST canvases made here (seeded):
// 64x64, three digits each at random places, every pixel labelled with the digit it belongs to (class d + 1
// where the top digit's ink is over half, else 0: background), 11 classes.
// - Segmentation: the zoo's U-Net (width 16) trained on the canvases' masks (8 epochs, batch 16, Adam 3e-3), then pruned to latency 0.5 on
//   two accelerators, accelerator-aware against uniform at the same latency, each fine-tuned 3 epochs (batch 16, Adam 1e-3):
//   mean IoU and pixel accuracy on held-out canvases, MACs and cycles.
// - Detection without labels: the committed YOLO-style fixture (two heads; PyTorch-made, random weights and
//   calibrated batch norms, the canvas repeated on its 3 channels), pruned to latency 0.5: label-free
//   distillation from the dense model (every head, squared error) against no fine-tuning, scored by the
//   heads' cosine similarity and SNR against the dense model's on held-out canvases.
//   TASKS_TRAIN canvases to train on (2000)   TASKS_TEST held out (500)   TASKS_EPOCHS dense U-Net epochs (8)
import { readFileSync } from 'node:fs';
import { presets } from '../src/accel/presets.js';
import { type Dataset, pixelStatistics, renormalize } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/sources.js';
import { initModel } from '../src/model/model.js';
import { unet } from '../src/model/zoo.js';
import { importOnnx } from '../src/onnx/import.js';
import { openBackend } from '../src/open-backend.js';
import { type PruneRunOptions, runPrune } from '../src/run/prune-run.js';
import type { ModelSummary } from '../src/report/report.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { type TrainOptions, train } from '../src/train/trainer.js';
import { CANVAS, canvases } from '../scripts/mnist-canvases.js';
import { table } from './util.js';

const env = process.env;
const SIZE = CANVAS;

/** The canvases on 3 channels (the YOLO-style fixture's input), without masks: images alone. */
const rgbUnlabelled = (d: Dataset): Dataset => {
  const plane = SIZE * SIZE;
  const images = new Float32Array(d.count * 3 * plane);
  for (let n = 0; n < d.count; n++) for (let c = 0; c < 3; c++) images.set(d.images.subarray(n * plane, (n + 1) * plane), (n * 3 + c) * plane);
  return { ...d, shape: [3, SIZE, SIZE], images, masks: undefined, maskShape: undefined, unlabelled: true };
};

const pct = (x?: number) => (x === undefined ? 'n/a' : (100 * x).toFixed(2));
const FINE_TUNE: TrainOptions = { epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 1e-3, seed: 1, schedule: { kind: 'cosine' }, logEvery: 1000 };

export async function benchTasks(): Promise<void> {
  const be = await openBackend({ backend: 'native' });
  const mnist = (split: 'train' | 'test') => loadDataset('mnist', split, { mean: 0, std: 1 });
  const raw = { train: canvases(mnist('train'), Number(env.TASKS_TRAIN ?? 2000), 1), test: canvases(mnist('test'), Number(env.TASKS_TEST ?? 500), 2) };
  const norm = pixelStatistics(raw.train);
  const [trainSet, testSet] = [renormalize(raw.train, norm), renormalize(raw.test, norm)];
  console.log(`canvases: ${trainSet.count} to train on, ${testSet.count} held out, 3 digits each on ${SIZE}x${SIZE}; backend ${be.name}\n`);

  // Segmentation: the dense U-Net, then latency 0.5 aware against uniform on two accelerators.
  let t0 = performance.now();
  const spec = { ...unet([1, SIZE, SIZE], 11, 16), inputNormalization: norm };
  const dense = (await train(be, initModel(spec, 1), trainSet, { ...FINE_TUNE, epochs: Number(env.TASKS_EPOCHS ?? 8), batchSize: 16, learningRate: 3e-3 })).model;
  const denseScore = await evaluateModel(be, dense, testSet);
  console.log(`dense U-Net (width 16): mean IoU ${pct(denseScore.meanIoU)}%, pixel accuracy ${pct(denseScore.pixelAccuracy)}% (${((performance.now() - t0) / 1000).toFixed(0)} s to train)\n`);
  const rows: string[][] = [];
  for (const preset of ['systolic-16x16', 'systolic-32x32']) {
    t0 = performance.now();
    const base: PruneRunOptions = {
      model: dense, modelSource: 'unet', train: trainSet, test: testSet, accelerator: presets[preset], mode: 'tiled', criterion: 'l1', granularity: 'channel',
      budget: { metric: 'latency', fraction: 0.5 }, compareUniform: true, fineTune: { ...FINE_TUNE, epochs: 3, batchSize: 16 }, seed: 1,
    };
    const r = (await runPrune(be, base)).report;
    const row = (name: string, s: ModelSummary) => [preset, name, pct(s.meanIoU), pct(s.pixelAccuracy), String(s.macs), String(s.cycles), (s.cycles / r.dense.cycles).toFixed(3)];
    rows.push(row('dense', r.dense), row('aware, latency 0.5', r.pruned), ...(r.uniform ? [row(`uniform ${(100 * r.uniform.ratio).toFixed(0)}%`, r.uniform)] : []));
    console.log(`${preset}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  console.log(`\n${table(['accelerator', 'model', 'mean IoU %', 'pixel acc %', 'MACs', 'cycles', 'cycles / dense'], rows)}\n`);

  // Detection without labels: the YOLO-style fixture distilled after pruning, against no fine-tuning.
  const yolo = importOnnx(new Uint8Array(readFileSync(new URL('../test/fixtures/onnx/yolo-mini.onnx', import.meta.url))), { file: 'yolo-mini.onnx' });
  yolo.spec.inputNormalization = norm;
  const [yTrain, yTest] = [rgbUnlabelled(trainSet), rgbUnlabelled(testSet)];
  const yRows: string[][] = [];
  for (const [name, fineTune, kd] of [['no fine-tuning', { ...FINE_TUNE, maxSteps: 0 }, undefined], ['label-free distillation, 5 epochs', { ...FINE_TUNE, epochs: 5 }, { temperature: 4, alpha: 1 }]] as const) {
    t0 = performance.now();
    const r = (await runPrune(be, {
      model: yolo, modelSource: 'yolo-mini.onnx', train: yTrain, test: yTest, accelerator: presets['systolic-16x16'], mode: 'tiled', criterion: 'l1', granularity: 'channel',
      budget: { metric: 'latency', fraction: 0.5 }, fineTune, kd, seed: 1,
    })).report;
    yRows.push([name, pct(r.pruned.cosine), r.pruned.snrDb?.toFixed(2) ?? 'n/a', String(r.pruned.macs), (r.pruned.cycles / r.dense.cycles).toFixed(3), ((performance.now() - t0) / 1000).toFixed(0)]);
  }
  console.log(table(['YOLO-style, latency 0.5 on systolic-16x16', 'cosine vs dense %', 'SNR dB', 'MACs', 'cycles / dense', 's'], yRows));
  be.destroy();
}
