// Images as people keep them: a folder of class subfolders (torchvision's ImageFolder: class names in
// sorted order give labels 0..K-1) or a flat folder of images without labels. JPEG, PNG and WebP are
// decoded with sharp (libvips) and brought to the model's input as torchvision's evaluation transform
// does: the shorter side resized to cover [H, W], then a centre crop; grey or RGB by the model's input
// channels; pixels scaled to [0, 1] (normalised when a batch is read, like every data set). A file that
// does not decode is named and skipped, with a count in `skipped` (with `strict`, refused). The set is
// streamed: decoded batch by batch in worker threads (decode-pool.ts), never held whole.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DataError, type Dataset, type ImageStream } from './dataset.js';
import { DecodePool } from './decode-pool.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

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

/** Files in flight per worker during the first pass. */
const AHEAD = 4;

/**
 * A folder of images at the model's input shape [C, H, W] (C 1 or 3), streamed: one pass over the files at
 * opening (in the decode pool) finds those that do not decode and measures the pixels' mean and standard
 * deviation, keeping no pixels; afterwards every batch is decoded when it is read (loadBatch), in worker
 * threads, so the set is never held whole in memory.
 */
export async function loadImageFolder(dir: string, shape: [number, number, number], o: { strict?: boolean; limit?: number } = {}): Promise<ImageFolder> {
  if (shape[0] !== 1 && shape[0] !== 3) throw new DataError(`${dir}: images decode to 1 (grey) or 3 (RGB) channels; the model takes ${shape[0]}`);
  const listed = listImages(dir);
  const n = Math.min(listed.files.length, o.limit ?? Infinity);
  const pool = new DecodePool();
  const files: string[] = [];
  const labels: number[] = [];
  const skipped: string[] = [];
  let [sum, squares, values] = [0, 0, 0];
  try {
    const step = AHEAD * pool.size;
    for (let start = 0; start < n; start += step) {
      const chunk = listed.files.slice(start, Math.min(start + step, n));
      const decoded = await Promise.all(chunk.map((f) => pool.decode(f, shape).catch((e: Error) => e)));
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
        labels.push(listed.labels[start + k]);
      });
    }
  } catch (e) {
    pool.close();
    throw e;
  }
  if (!files.length) {
    pool.close();
    throw new DataError(`${dir}: none of its ${n} images decoded (${skipped[0]})`);
  }
  const mean = sum / values;
  const std = Math.sqrt(Math.max(squares / values - mean * mean, 0));
  return {
    name: dir, shape, classes: Math.max(listed.classNames.length, 1), count: files.length, images: new Float32Array(0),
    labels: Uint8Array.from(labels), normalization: { mean: 0, std: 1 }, unlabelled: listed.classNames.length === 0 || undefined,
    // Four decimals, as pixelStatistics writes them; a constant image set keeps std 1.
    statistics: { mean: Number(mean.toFixed(4)), std: std > 1e-4 ? Number(std.toFixed(4)) : 1 },
    stream: folderStream(pool, files, shape), classNames: listed.classNames, skipped, files,
  };
}

/** Samples read by decoding their files in `pool`: [n, C, H, W] in [0, 1]; a file that stops decoding is named. */
function folderStream(pool: DecodePool, files: string[], shape: [number, number, number]): ImageStream {
  const size = shape[0] * shape[1] * shape[2];
  const stream: ImageStream = {
    peakBytes: 0,
    async read(indices) {
      const out = new Float32Array(indices.length * size);
      stream.peakBytes = Math.max(stream.peakBytes, out.byteLength);
      await Promise.all(Array.from(indices, async (index, i) => {
        try {
          out.set(await pool.decode(files[index], shape), i * size);
        } catch (e) {
          throw new DataError(`${files[index]}: no longer decodes (${(e as Error).message})`);
        }
      }));
      return out;
    },
    close: () => pool.close(),
  };
  return stream;
}
