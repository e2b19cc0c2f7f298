// Images as people keep them: a folder of class subfolders (torchvision's ImageFolder: class names in
// sorted order give labels 0..K-1) or a flat folder of images without labels. JPEG, PNG and WebP are
// decoded with sharp (libvips) and brought to the model's input as torchvision's evaluation transform
// does: the shorter side resized to cover [H, W], then a centre crop; grey or RGB by the model's input
// channels; pixels scaled to [0, 1] (normalised afterwards like every data set). A file that does not
// decode is named and skipped, with a count in `skipped` (with `strict`, refused). The decoded set is
// held in memory (a limit: MAX_FLOATS below), not streamed.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { DataError, type Dataset } from './dataset.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);
/** Decoded pixels held at once: 2^28 float32 values (1 GiB); larger sets need streaming, not built yet. */
const MAX_FLOATS = 2 ** 28;
/** Files decoded concurrently (libvips spreads each over its own thread pool). */
const CONCURRENCY = 8;

export interface ImageFolder extends Dataset {
  /** Class subfolder names in label order; empty for a flat folder (no labels). */
  classNames: string[];
  /** Files that did not decode, with why. */
  skipped: string[];
  /** The image files decoded, in sample order. */
  files: string[];
}

const isImage = (name: string) => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());

/** Is `path` a directory (a folder of images rather than an IDX/NPY file)? */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The image files of `dir` with their labels: ImageFolder (class subfolders) or flat (label 0, unlabelled). */
function listImages(dir: string): { files: string[]; labels: number[]; classNames: string[] } {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  const classNames = entries.filter((e) => e.isDirectory() && readdirSync(join(dir, e.name)).some(isImage)).map((e) => e.name);
  const loose = entries.filter((e) => e.isFile() && isImage(e.name)).map((e) => join(dir, e.name));
  if (classNames.length && loose.length) throw new DataError(`${dir}: holds both class subfolders (${classNames.slice(0, 3).join(', ')}) and images (${loose[0]}): use one layout (subfolders per class, or a flat folder without labels)`);
  if (classNames.length > 256) throw new DataError(`${dir}: ${classNames.length} class subfolders; at most 256 classes are supported`);
  if (!classNames.length) {
    if (!loose.length) throw new DataError(`${dir}: no JPEG, PNG or WebP images in it or in subfolders of it`);
    return { files: loose, labels: loose.map(() => 0), classNames: [] };
  }
  const files: string[] = [], labels: number[] = [];
  classNames.forEach((name, label) => {
    for (const f of readdirSync(join(dir, name)).filter(isImage).sort()) {
      files.push(join(dir, name, f));
      labels.push(label);
    }
  });
  return { files, labels, classNames };
}

/** One image as [C, H, W] float32 in [0, 1]: resized to cover, centre-cropped, grey or RGB. */
async function decode(file: string, [c, h, w]: [number, number, number]): Promise<Float32Array> {
  let pipeline = sharp(file).resize(w, h, { fit: 'cover', position: 'centre' });
  pipeline = c === 1 ? pipeline.grayscale() : pipeline.removeAlpha().toColourspace('srgb');
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== c || info.width !== w || info.height !== h) throw new Error(`decoded as ${info.channels}x${info.height}x${info.width}, expected ${c}x${h}x${w}`);
  const out = new Float32Array(c * h * w);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[k * h * w + p] = data[p * c + k] / 255;
  return out;
}

/** A folder of images at the model's input shape [C, H, W] (C 1 or 3). */
export async function loadImageFolder(dir: string, shape: [number, number, number], o: { strict?: boolean; limit?: number } = {}): Promise<ImageFolder> {
  if (shape[0] !== 1 && shape[0] !== 3) throw new DataError(`${dir}: images decode to 1 (grey) or 3 (RGB) channels; the model takes ${shape[0]}`);
  const listed = listImages(dir);
  const n = Math.min(listed.files.length, o.limit ?? Infinity);
  const size = shape[0] * shape[1] * shape[2];
  if (n * size > MAX_FLOATS) throw new DataError(`${dir}: ${n} images of ${shape.join('x')} would take ${((n * size * 4) / 2 ** 30).toFixed(1)} GiB decoded; sets are held in memory (not streamed yet): limit them (--train-limit) or use a smaller --input-size`);
  const images = new Float32Array(n * size);
  const labels: number[] = [];
  const skipped: string[] = [];
  const decodedFiles: string[] = [];
  let at = 0;
  for (let start = 0; start < n; start += CONCURRENCY) {
    const files = listed.files.slice(start, Math.min(start + CONCURRENCY, n));
    const decoded = await Promise.all(files.map((f) => decode(f, shape).catch((e: Error) => e)));
    decoded.forEach((d, k) => {
      const file = files[k];
      if (d instanceof Error) {
        if (o.strict) throw new DataError(`${file}: does not decode as an image (${d.message})`);
        skipped.push(`${file}: ${d.message}`);
        return;
      }
      images.set(d, at * size);
      labels.push(listed.labels[start + k]);
      decodedFiles.push(file);
      at++;
    });
  }
  if (at === 0) throw new DataError(`${dir}: none of its ${n} images decoded (${skipped[0]})`);
  return {
    name: dir, shape, classes: Math.max(listed.classNames.length, 1), count: at, images: images.subarray(0, at * size),
    labels: Uint8Array.from(labels), normalization: { mean: 0, std: 1 }, unlabelled: listed.classNames.length === 0 || undefined,
    classNames: listed.classNames, skipped, files: decodedFiles,
  };
}
