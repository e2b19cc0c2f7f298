// Beyond classifiers (issue 34), on four PyTorch exports (scripts/make-task-fixtures.py): a U-Net segmenter,
// torchvision's DeepLabV3 on a dilated MobileNetV3, a two-headed YOLO-style detector and a face-embedding
// net. Each imports and computes what PyTorch computed (its outputs saved beside it) and what onnxruntime
// computes; pruned 30%, its compacted export runs in onnxruntime as the masked model does; and pruned from
// a folder of images alone (masks for the segmenters, nothing for the others), its fine-tuning loss falls.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type Dataset, encodeNpy, parseNpy } from '../src/data/dataset.js';
import { type Task, inferShapes, outputNames } from '../src/model/graph.js';
import type { Model } from '../src/model/model.js';
import { Network } from '../src/model/network.js';
import { exportOnnx } from '../src/onnx/export.js';
import { importOnnx } from '../src/onnx/import.js';
import { ChannelPruner, byRatio } from '../src/prune/pruner.js';
import { NativeBackend } from '../src/native/backend.js';
import { type Distillation, featureBoundaries } from '../src/train/objective.js';
import { train } from '../src/train/trainer.js';
import { Rng } from '../src/random.js';
import { cpu, toleranceRatio } from './helpers/backends.js';
import { cli } from './helpers/cli.js';

const ort = createRequire(import.meta.url)('onnxruntime-node');
const dir = new URL('./fixtures/onnx/', import.meta.url).pathname;
const ROOT = new URL('..', import.meta.url).pathname;
const FIXTURES: { name: string; task?: Task; outputs: number; masks?: 'npy' | 'png' }[] = [
  { name: 'unet-seg', outputs: 1, masks: 'npy' },
  { name: 'deeplabv3-mobilenetv3', outputs: 1, masks: 'png' },
  { name: 'yolo-mini', outputs: 2 },
  { name: 'face-embed', task: 'embed', outputs: 1 },
];

/** Every output of `m` on x, in graph order. */
async function outputs(m: Model, x: Float32Array, batch: number): Promise<Float32Array[]> {
  const be = cpu();
  const net = Network.forInference(be, m);
  const input = be.upload(x, [batch, ...m.spec.inputShape]);
  const f = net.forward(input, false);
  const out = await Promise.all(outputNames(m.spec).map((n) => be.read(f.outputs.get(n)!)));
  net.release(f);
  net.dispose();
  return out;
}

async function runOrt(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, shape) });
  return session.outputNames.map((n: string) => out[n].data as Float32Array);
}

/** n images of smooth random blobs at size x size, and their masks (4 classes by brightness, some pixels 255) as PNGs or one NPY. */
async function imageFolder(root: string, n: number, size: number, masks?: 'npy' | 'png'): Promise<{ images: string; masks?: string }> {
  const rng = new Rng(11);
  const images = join(root, 'images');
  mkdirSync(images, { recursive: true });
  mkdirSync(join(root, 'masks'), { recursive: true });
  const all = new Uint8Array(n * size * size);
  for (let i = 0; i < n; i++) {
    const [fx, fy, phase] = [rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.4), rng.uniform(0, 6)];
    const grey = Array.from({ length: size * size }, (_, p) => 0.5 + 0.45 * Math.sin(fx * (p % size) + phase) * Math.cos(fy * Math.floor(p / size)));
    const rgb = Buffer.from(grey.flatMap((g, p) => [Math.round(255 * g), Math.round(255 * (1 - g)), (p * 7) % 256]));
    await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).png().toFile(join(images, `${String(i).padStart(3, '0')}.png`));
    const mask = Uint8Array.from(grey, (g, p) => (p % 97 === 0 ? 255 : Math.min(3, Math.floor(g * 4))));
    all.set(mask, i * size * size);
    if (masks === 'png') await sharp(Buffer.from(mask), { raw: { width: size, height: size, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, 'masks', `${String(i).padStart(3, '0')}.png`));
  }
  if (masks !== 'npy') return { images, masks: masks && join(root, 'masks') };
  writeFileSync(join(root, 'masks.npy'), encodeNpy('|u1', [n, size, size], all));
  return { images, masks: join(root, 'masks.npy') };
}

describe('beyond classifiers: segmenters, a detector and an embedding net from PyTorch', () => {
  for (const f of FIXTURES) {
    const bytes = new Uint8Array(readFileSync(join(dir, `${f.name}.onnx`)));
    const model = importOnnx(bytes, { file: f.name, task: f.task });

    it(`${f.name}: imports, and computes PyTorch's outputs and onnxruntime's`, async () => {
      expect(outputNames(model.spec)).toHaveLength(f.outputs);
      const x = parseNpy(readFileSync(join(dir, `${f.name}.input.npy`)), 'input');
      const batch = x.shape[0];
      const ours = await outputs(model, Float32Array.from(x.data), batch);
      for (let i = 0; i < f.outputs; i++) {
        const torch = parseNpy(readFileSync(join(dir, `${f.name}.${i ? `output${i}` : 'output'}.npy`)), 'output');
        expect(torch.shape.slice(1)).toEqual(inferShapes(model.spec).get(outputNames(model.spec)[i]));
        expect(toleranceRatio(ours[i], torch.data, 1e-4, 1e-4), `output ${i} against PyTorch`).toBeLessThanOrEqual(1);
      }
      const other = new Rng(3).uniformArray(batch * model.spec.inputShape.reduce((a, b) => a * b, 1)).map((v) => 2 * v - 1);
      const [mine, theirs] = [await outputs(model, other, batch), await runOrt(bytes, other, [batch, ...model.spec.inputShape])];
      // onnxruntime's kernels round otherwise than PyTorch's (DeepLab's 60 layers reach 1.3e-4 here).
      theirs.forEach((t, i) => expect(toleranceRatio(mine[i], t, 5e-4, 2e-4), `output ${i} against onnxruntime`).toBeLessThanOrEqual(1));
    });

    it(`${f.name}: pruned 30%, the compacted export computes in onnxruntime what the masked model computes`, async () => {
      const pruner = new ChannelPruner(cpu(), model, { importance: 'l1', allocation: byRatio(0.3) });
      await pruner.step();
      const compact = await pruner.compact();
      expect(compact.params.size).toBe(model.params.size);
      const shrunk = [...compact.params].filter(([k, v]) => v.length < model.params.get(k)!.length).length;
      expect(shrunk).toBeGreaterThan(2);
      const x = new Rng(4).uniformArray(2 * model.spec.inputShape.reduce((a, b) => a * b, 1)).map((v) => 2 * v - 1);
      const [masked, exported] = [await outputs(pruner.model, x, 2), await runOrt(exportOnnx(compact), x, [2, ...model.spec.inputShape])];
      expect(exported).toHaveLength(f.outputs);
      exported.forEach((t, i) => expect(toleranceRatio(t, masked[i], 1e-4, 1e-4), `output ${i}`).toBeLessThanOrEqual(1));
    });

    it(`${f.name}: prune --ratio 0.3 from a folder of images${f.masks ? ` and ${f.masks} masks` : ' alone'}: the fine-tuning loss falls, the report scores the task (and eval --reference scores the export alike)`, async () => {
      const root = mkdtempSync(join(tmpdir(), `wgprune-${f.name}-`));
      const data = await imageFolder(root, 48, model.spec.inputShape[1], f.masks);
      const out = join(root, 'out');
      const r = await cli(['prune', '--model', join(dir, `${f.name}.onnx`), '--images', data.images, ...(data.masks ? ['--masks', data.masks] : []), ...(f.task ? ['--task', f.task] : []),
        '--ratio', '0.3', '--epochs', '10', '--batch-size', '16', '--augment', 'none', '--lr', '3e-3', '--out', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const losses = r.stderr.split('\n').filter((l) => l.startsWith('{"event":"progress"')).map((l) => JSON.parse(l).loss as number);
      expect(losses.length).toBeGreaterThanOrEqual(3);
      // Each reading is the mean over 10 steps; the last is below the first by more than noise.
      expect(losses.at(-1)!, `losses ${losses.map((l) => l.toFixed(4))}`).toBeLessThan(0.97 * losses[0]);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      const metric = f.masks ? 'mean IoU' : 'cosine similarity';
      expect([report.dense.metric, report.pruned.metric]).toEqual([metric, metric]);
      if (f.masks) expect(report.pruned.pixelAccuracy).toBeGreaterThan(0);
      else expect(report.dense.accuracy).toBeCloseTo(1, 6); // the dense model agrees with itself
      expect(report.pruned.macs).toBeLessThan(0.85 * report.dense.macs);
      const prunedOnnx = new Uint8Array(readFileSync(join(out, 'pruned.onnx')));
      const exported = await runOrt(prunedOnnx, new Float32Array(2 * model.spec.inputShape.reduce((a, b) => a * b, 1)), [2, ...model.spec.inputShape]);
      expect(exported).toHaveLength(f.outputs);
      expect(importOnnx(prunedOnnx).spec.task).toBe(f.task); // a stated task travels in the export's metadata
      if (!f.masks) {
        // eval scores the exported model on the folder against the dense one as the run did.
        const e = await cli(['eval', '--model', join(out, 'pruned.onnx'), '--images', data.images, '--reference', join(dir, `${f.name}.onnx`), '--json']);
        expect(e.code, e.stderr).toBe(0);
        expect(JSON.parse(e.stdout)).toMatchObject({ metric: 'cosine similarity', count: 48 });
        expect(JSON.parse(e.stdout).accuracy).toBeCloseTo(report.pruned.accuracy, 4);
        // The README's onnxruntime script: every head of the export, and the dense model against itself agreeing exactly.
        const script = (model: string) => execFileSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'examples', 'onnxruntime-outputs.ts'), model, '--dense', join(dir, `${f.name}.onnx`), join(data.images, '000.png'), join(data.images, '001.png')], { encoding: 'utf8' });
        expect(script(join(out, 'pruned.onnx')).trim().split('\n')).toHaveLength(f.outputs);
        expect(script(join(dir, `${f.name}.onnx`))).toMatch(/^output: \[2, .*\]  cosine 1\.0000/);
      }
    });
  }

  it('feature distillation (--kd-features): fine-tuned on images alone, the pruned face-embedding net matches the dense model\'s residual map better than when only the output is matched', async () => {
    const be = await NativeBackend.create();
    const dense = importOnnx(new Uint8Array(readFileSync(join(dir, 'face-embed.onnx'))), { task: 'embed' });
    const features = featureBoundaries(dense.spec);
    expect(features).toEqual(['Add']);
    const pruner = new ChannelPruner(be, dense, { importance: 'l1', allocation: byRatio(0.3) });
    await pruner.step();
    const rng = new Rng(8);
    const data: Dataset = { name: 'noise', shape: [3, 32, 32], classes: 1, count: 128, images: rng.uniformArray(128 * 3072, -1.7, 1.7), labels: new Uint8Array(128), unlabelled: true };
    const tune = (distill: Distillation) => train(be, pruner.model, data, { epochs: 4, batchSize: 32, optimizer: 'adam', learningRate: 3e-3, seed: 1, distill }, { teacher: dense });
    /** The mean squared error of the model's residual map against the dense model's, in inference mode. */
    const mapError = async (m: Model) => {
      const x = be.upload(data.images.subarray(0, 32 * 3072), [32, 3, 32, 32]);
      const [a, b] = [new Network(be, m), new Network(be, dense)];
      const [fa, fb] = [a.forward(x, false), b.forward(x, false)];
      const [ya, yb] = [await be.read(fa.outputs.get('Add')!), await be.read(fb.outputs.get('Add')!)];
      a.release(fa); b.release(fb); a.dispose(); b.dispose(); be.dispose(x);
      return ya.reduce((s, v, i) => s + (v - yb[i]) ** 2, 0) / ya.length;
    };
    const plain = await tune({ temperature: 4, alpha: 1 });
    const matched = await tune({ temperature: 4, alpha: 1, features });
    const [before, withoutFeatures, withFeatures] = [await mapError(pruner.model), await mapError(plain.model), await mapError(matched.model)];
    expect(withFeatures).toBeLessThan(0.8 * before);
    expect(withFeatures, `map error: pruned ${before}, outputs matched ${withoutFeatures}, maps matched too ${withFeatures}`).toBeLessThan(withoutFeatures);
    be.destroy();
  });
});
