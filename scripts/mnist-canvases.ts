// MNIST canvases for segmentation and detection (issue 34): 64x64, three digits each at random places
// (seeded), every pixel labelled with the digit it belongs to: class d + 1 where the top digit's ink is
// over half, else 0 (background), 11 classes. `npm run bench -- tasks` makes them in memory; run as a
// script it writes a folder of PNG images and one of PNG masks named like them (grey class indices):
//   npx tsx scripts/mnist-canvases.ts OUT_DIR [COUNT=500] [SEED=1] [train|test]
// -> OUT_DIR/images/0000.png ..., OUT_DIR/masks/0000.png ...
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/sources.js';
import { Rng } from '../src/random.js';

export const CANVAS = 64;
const DIGITS = 3;

/** `count` canvases from `digits` (MNIST, pixels in [0, 1]): images [count, 1, 64, 64] in [0, 1] and masks [count, 64, 64]. */
export function canvases(digits: Dataset, count: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const images = new Float32Array(count * CANVAS * CANVAS);
  const masks = new Uint8Array(count * CANVAS * CANVAS);
  for (let n = 0; n < count; n++) {
    for (let k = 0; k < DIGITS; k++) {
      const d = rng.int(0, digits.count - 1);
      const [top, left] = [rng.int(0, CANVAS - 28), rng.int(0, CANVAS - 28)];
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
        const v = digits.images[d * 784 + y * 28 + x];
        const p = n * CANVAS * CANVAS + (top + y) * CANVAS + left + x;
        if (v > 0.5) masks[p] = digits.labels[d] + 1; // the later digit lies on top
        images[p] = Math.max(images[p], v);
      }
    }
  }
  return {
    name: `mnist-canvases-${seed}`, shape: [1, CANVAS, CANVAS], classes: 11, count, images, labels: new Uint8Array(count),
    masks, maskShape: [CANVAS, CANVAS], normalization: { mean: 0, std: 1 },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [out, count, seed, split] = [process.argv[2], Number(process.argv[3] ?? 500), Number(process.argv[4] ?? 1), process.argv[5] ?? 'train'];
  if (!out || !(count > 0) || (split !== 'train' && split !== 'test')) {
    console.error('usage: npx tsx scripts/mnist-canvases.ts OUT_DIR [COUNT=500] [SEED=1] [train|test]');
    process.exit(2);
  }
  const d = canvases(loadDataset('mnist', split, { mean: 0, std: 1 }), count, seed);
  for (const sub of ['images', 'masks']) mkdirSync(join(out, sub), { recursive: true });
  const plane = CANVAS * CANVAS;
  const png = (bytes: Uint8Array, file: string) => sharp(Buffer.from(bytes), { raw: { width: CANVAS, height: CANVAS, channels: 1 } }).toColourspace('b-w').png().toFile(file);
  for (let n = 0; n < count; n++) {
    const name = `${String(n).padStart(4, '0')}.png`;
    await png(Uint8Array.from(d.images.subarray(n * plane, (n + 1) * plane), (v) => Math.round(v * 255)), join(out, 'images', name));
    await png(d.masks!.subarray(n * plane, (n + 1) * plane), join(out, 'masks', name));
  }
  console.log(`wrote ${count} canvases to ${join(out, 'images')} and their masks to ${join(out, 'masks')}`);
}
