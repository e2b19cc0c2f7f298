// A set of image files as people keep them, wherever the files are (a folder on disk, a folder or zip
// picked in a browser): torchvision's ImageFolder layout (class subfolders, class names in sorted order
// give labels 0..K-1) or a flat set of images without labels, decoded by whatever the platform has
// (sharp in worker threads in Node, createImageBitmap in a browser) and streamed: one pass at opening
// finds the files that do not decode and measures the pixels' mean and standard deviation, keeping no
// pixels; afterwards each batch is decoded when it is read, so the set is never held whole.
import { DataError, type Dataset, type ImageStream } from './dataset.js';

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

export const isImageName = (name: string) => IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));

export interface ImageSet extends Dataset {
  /** Class subfolder names in label order; empty for a flat set (no labels). */
  classNames: string[];
  /** Files that did not decode, with why. */
  skipped: string[];
  /** The image files decoded, in sample order. */
  files: string[];
}

export interface ImageLayout { files: string[]; labels: number[]; classNames: string[] }

/**
 * The images among `paths` (relative to `root`, '/'-separated, files only) and their labels: images one
 * folder down are labelled by that folder (ImageFolder), images at the top are a flat unlabelled set;
 * other files and deeper folders are not read. Both layouts at once are refused, naming an example of each.
 */
export function imageLayout(root: string, paths: string[], join = (a: string, b: string) => `${a}/${b}`): ImageLayout {
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const images = paths.filter(isImageName).map((p) => p.split('/'));
  const loose = images.filter((p) => p.length === 1).map((p) => p[0]).sort(byName).map((f) => join(root, f));
  const inClass = images.filter((p) => p.length === 2);
  const classNames = [...new Set(inClass.map((p) => p[0]))].sort(byName);
  if (classNames.length && loose.length) throw new DataError(`${root}: holds both class subfolders (${classNames.slice(0, 3).join(', ')}) and images (${loose[0]}): use one layout (subfolders per class, or a flat folder without labels)`);
  if (classNames.length > 256) throw new DataError(`${root}: ${classNames.length} class subfolders; at most 256 classes are supported`);
  if (!classNames.length) {
    if (!loose.length) throw new DataError(`${root}: no JPEG, PNG or WebP images in it or in subfolders of it`);
    return { files: loose, labels: loose.map(() => 0), classNames: [] };
  }
  const files: string[] = [], labels: number[] = [];
  classNames.forEach((name, label) => {
    for (const f of inClass.filter((p) => p[0] === name).map((p) => p[1]).sort(byName)) {
      files.push(join(join(root, name), f));
      labels.push(label);
    }
  });
  return { files, labels, classNames };
}

/** One file's pixels, [C, H, W] in [0, 1] (cover-resized to H x W, centre-cropped); rejects with why it did not decode. */
export type DecodeImage = (file: string, shape: [number, number, number]) => Promise<Float32Array>;

export interface OpenOptions {
  /** Refuse the set when a file does not decode (else skip it, named in `skipped`). */
  strict?: boolean;
  limit?: number;
  /** Files decoded at once in the first pass. */
  parallel?: number;
  /** Files looked at so far in the first pass, of all. */
  onProgress?: (done: number, total: number) => void;
  /** Frees the decoder when the set is closed. */
  close?: () => void;
}

/** `layout`'s images at the model's input shape [C, H, W] (C 1 or 3), decoded by `decode` (see the file's head). */
export async function openImageSet(root: string, layout: ImageLayout, shape: [number, number, number], decode: DecodeImage, o: OpenOptions = {}): Promise<ImageSet> {
  if (shape[0] !== 1 && shape[0] !== 3) throw new DataError(`${root}: images decode to 1 (grey) or 3 (RGB) channels; the model takes ${shape[0]}`);
  const n = Math.min(layout.files.length, o.limit ?? Infinity);
  const files: string[] = [];
  const labels: number[] = [];
  const skipped: string[] = [];
  let [sum, squares, values] = [0, 0, 0];
  try {
    const step = o.parallel ?? 4;
    for (let start = 0; start < n; start += step) {
      const chunk = layout.files.slice(start, Math.min(start + step, n));
      const decoded = await Promise.all(chunk.map((f) => decode(f, shape).catch((e: Error) => e)));
      decoded.forEach((d, k) => {
        const file = chunk[k];
        if (d instanceof Error) {
          if (o.strict) throw new DataError(`${file}: does not decode as an image (${d.message})`);
          skipped.push(`${file}: ${d.message}`);
          return;
        }
        for (const v of d) { sum += v; squares += v * v; }
        values += d.length;
        files.push(file);
        labels.push(layout.labels[start + k]);
      });
      o.onProgress?.(start + chunk.length, n);
    }
  } catch (e) {
    o.close?.();
    throw e;
  }
  if (!files.length) {
    o.close?.();
    throw new DataError(`${root}: none of its ${n} images decoded (${skipped[0]})`);
  }
  const mean = sum / values;
  const std = Math.sqrt(Math.max(squares / values - mean * mean, 0));
  return {
    name: root, shape, classes: Math.max(layout.classNames.length, 1), count: files.length, images: new Float32Array(0),
    labels: Uint8Array.from(labels), normalization: { mean: 0, std: 1 }, unlabelled: layout.classNames.length === 0 || undefined,
    // Four decimals, as pixelStatistics writes them; a constant image set keeps std 1.
    statistics: { mean: Number(mean.toFixed(4)), std: std > 1e-4 ? Number(std.toFixed(4)) : 1 },
    stream: imageStream(files, shape, decode, o.close ?? (() => {})), classNames: layout.classNames, skipped, files,
  };
}

/** Samples read by decoding their files: [n, C, H, W] in [0, 1]; a file that stops decoding is named. */
function imageStream(files: string[], shape: [number, number, number], decode: DecodeImage, close: () => void): ImageStream {
  const size = shape[0] * shape[1] * shape[2];
  const stream: ImageStream = {
    peakBytes: 0,
    async read(indices) {
      const out = new Float32Array(indices.length * size);
      stream.peakBytes = Math.max(stream.peakBytes, out.byteLength);
      await Promise.all(Array.from(indices, async (index, i) => {
        try {
          out.set(await decode(files[index], shape), i * size);
        } catch (e) {
          throw new DataError(`${files[index]}: no longer decodes (${(e as Error).message})`);
        }
      }));
      return out;
    },
    close,
  };
  return stream;
}
