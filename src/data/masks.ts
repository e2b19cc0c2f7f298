// Per-pixel class labels for segmentation: an NPY file of N x H x W integers, or a folder of PNG masks named
// like the images (same file name, .png), 8-bit grey values that are class indices (255: ignore), brought
// to the images' geometry as they were (cover-resize and centre crop) at the nearest pixel, so that every
// value stays a class. Palette PNGs (as PASCAL VOC ships them) hold colours, not indices: they are refused
// with the way out. Masks are then resampled (nearest) to the model's output size where it differs.
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { DataError, type Dataset, parseNpy } from './dataset.js';
import { isDirectory } from './image-folder.js';

/** The mask files of a folder of images' `files`, decoded at [h, w]: count x h x w. */
async function maskFolder(dir: string, files: string[], [h, w]: [number, number]): Promise<Uint8Array> {
  const out = new Uint8Array(files.length * h * w);
  await Promise.all(files.map(async (image, i) => {
    const file = join(dir, `${basename(image, extname(image))}.png`);
    if (!existsSync(file)) throw new DataError(`${dir}: no mask ${basename(file)} for image ${image}`);
    const meta = await sharp(file).metadata().catch((e: Error) => { throw new DataError(`${file}: does not decode as a PNG mask (${e.message})`); });
    const refuse = (what: string) => new DataError(`${file}: a mask must be 8-bit grey class indices (255: ignore), this one is ${what}; convert it to grey indices (e.g. PIL: Image.fromarray(np.array(Image.open(f))).save(f))`);
    if (meta.isPalette) throw refuse('a palette image');
    const { data, info } = await sharp(file).removeAlpha().resize(w, h, { fit: 'cover', position: 'centre', kernel: 'nearest' }).raw().toBuffer({ resolveWithObject: true });
    // Grey written as RGB (equal channels) is grey.
    for (let p = 0; p < h * w; p++) {
      if (info.channels > 1 && (data[p * info.channels + 1] !== data[p * info.channels] || data[p * info.channels + 2] !== data[p * info.channels])) throw refuse('a colour image');
      out[i * h * w + p] = data[p * info.channels];
    }
  }));
  return out;
}

/**
 * Masks for `images` from `path` (an NPY file, or a folder of PNGs when `files` names the images' files in
 * order), checked: one per image, integers in 0..255; `classes`: one more than the largest label (255 aside).
 */
export async function loadMasks(path: string, images: Dataset, files?: string[]): Promise<{ masks: Uint8Array; maskShape: [number, number]; classes: number }> {
  const withClasses = (masks: Uint8Array, maskShape: [number, number]) => {
    let top = 0;
    for (const v of masks) if (v !== 255 && v > top) top = v;
    return { masks, maskShape, classes: top + 1 };
  };
  const [, h, w] = images.shape;
  if (isDirectory(path)) {
    if (!files) throw new DataError(`${path}: a folder of PNG masks goes with a folder of images (--images DIR); with image files, give the masks as an N x H x W NPY file`);
    return withClasses(await maskFolder(path, files, [h, w]), [h, w]);
  }
  if (!/\.npy$/i.test(path)) throw new DataError(`${path}: masks are an N x H x W .npy file of class indices or a folder of PNG masks`);
  const npy = parseNpy(readFileSync(path), path);
  if (npy.shape.length !== 3 || npy.shape[0] !== images.count) throw new DataError(`${path}: masks must be N x H x W with N = ${images.count} images, got (${npy.shape.join(', ')})`);
  const bad = npy.data.findIndex((v) => !Number.isInteger(v) || v < 0 || v > 255);
  if (bad >= 0) throw new DataError(`${path}: value ${bad} is ${npy.data[bad]}, not a class index (0-254, 255 ignored)`);
  return withClasses(Uint8Array.from(npy.data), [npy.shape[1], npy.shape[2]]);
}
