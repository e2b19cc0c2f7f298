// Training augmentation for folders of images, torchvision's default pair: RandomResizedCrop (a crop of
// 8-100% of the area with an aspect ratio from 3/4 to 4/3, resized back to the input size by bilinear
// sampling, align_corners false) and RandomHorizontalFlip (p 0.5). It works on the images as loaded (already
// at the model's input size), per batch, from a generator seeded by the training step, so a resumed run
// augments exactly as the uninterrupted one would. A segmentation batch's masks get the same crop (scaled to
// their size) and flip, sampled at the nearest pixel, so that labels stay classes.
import { Rng } from '../random.js';
import type { Batch } from './dataset.js';

/** torchvision.transforms.RandomResizedCrop's defaults. */
const SCALE: [number, number] = [0.08, 1];
const RATIO: [number, number] = [3 / 4, 4 / 3];

/** A crop box [top, left, height, width] (fractional pixels) as torchvision draws it: 10 tries, then the centre crop. */
function cropBox(rng: Rng, h: number, w: number): [number, number, number, number] {
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = h * w * rng.uniform(SCALE[0], SCALE[1]);
    const ratio = Math.exp(rng.uniform(Math.log(RATIO[0]), Math.log(RATIO[1])));
    const [cw, ch] = [Math.round(Math.sqrt(area * ratio)), Math.round(Math.sqrt(area / ratio))];
    if (cw >= 1 && ch >= 1 && cw <= w && ch <= h) return [rng.int(0, h - ch), rng.int(0, w - cw), ch, cw];
  }
  return [0, 0, h, w];
}

/** The mask `src` [mh, mw] cropped to the box (in image pixels of [h, w]), resized back at the nearest pixel, maybe flipped. */
function cropMask(src: Float32Array, dst: Float32Array, [mh, mw]: [number, number], [h, w]: [number, number], [top, left, ch, cw]: number[], flip: boolean): void {
  const [sy, sx] = [mh / h, mw / w];
  for (let i = 0; i < mh; i++) {
    const y = Math.min(Math.floor((top + ((i + 0.5) * ch) / mh) * sy), mh - 1);
    for (let j = 0; j < mw; j++) {
      const x = Math.min(Math.floor((left + ((j + 0.5) * cw) / mw) * sx), mw - 1);
      dst[i * mw + (flip ? mw - 1 - j : j)] = src[y * mw + x];
    }
  }
}

/** The batch with each image (and mask, of `maskShape`) cropped, resized back and maybe flipped. */
export function augmentBatch(b: Batch, [c, h, w]: [number, number, number], seed: number, maskShape?: [number, number]): Batch {
  const rng = new Rng(seed);
  const size = c * h * w;
  const images = new Float32Array(b.images.length);
  const masks = b.masks && new Float32Array(b.masks.length);
  const plane = maskShape ? maskShape[0] * maskShape[1] : 0;
  for (let n = 0; n < b.size; n++) {
    const [top, left, ch, cw] = cropBox(rng, h, w);
    const flip = rng.bool(0.5);
    if (masks) cropMask(b.masks!.subarray(n * plane, (n + 1) * plane), masks.subarray(n * plane, (n + 1) * plane), maskShape!, [h, w], [top, left, ch, cw], flip);
    const src = b.images.subarray(n * size, (n + 1) * size);
    const dst = images.subarray(n * size, (n + 1) * size);
    for (let i = 0; i < h; i++) {
      // Half-pixel sampling clamped to the crop's edges, as cropping first and resizing then does.
      const y = Math.min(Math.max(top + ((i + 0.5) * ch) / h - 0.5, top), top + ch - 1);
      const [y0, fy] = [Math.floor(y), y - Math.floor(y)];
      const y1 = Math.min(y0 + 1, h - 1);
      for (let j = 0; j < w; j++) {
        const x = Math.min(Math.max(left + ((j + 0.5) * cw) / w - 0.5, left), left + cw - 1);
        const [x0, fx] = [Math.floor(x), x - Math.floor(x)];
        const x1 = Math.min(x0 + 1, w - 1);
        const out = flip ? w - 1 - j : j;
        for (let k = 0; k < c; k++) {
          const p = src.subarray(k * h * w);
          dst[k * h * w + i * w + out] = (1 - fy) * ((1 - fx) * p[y0 * w + x0] + fx * p[y0 * w + x1]) + fy * ((1 - fx) * p[y1 * w + x0] + fx * p[y1 * w + x1]);
        }
      }
    }
  }
  return { ...b, images, ...(masks ? { masks } : {}) };
}
