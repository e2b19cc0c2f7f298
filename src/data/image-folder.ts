// A folder of images on disk (image-set.ts: class subfolders or flat), decoded with sharp (libvips) in
// worker threads (decode-pool.ts) and brought to the model's input as torchvision's evaluation transform
// does: the shorter side resized to cover [H, W], then a centre crop; grey or RGB by the model's input
// channels; pixels scaled to [0, 1] (normalised when a batch is read, like every data set).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DecodePool } from './decode-pool.js';
import { type ImageLayout, type ImageSet, imageLayout, openImageSet } from './image-set.js';

export type ImageFolder = ImageSet;

/** Is `path` a directory (a folder of images rather than an IDX/NPY file)? */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The files of `dir` and of its subfolders, relative to it. */
function listImages(dir: string): ImageLayout {
  const paths: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile()) paths.push(e.name);
    else if (e.isDirectory()) for (const f of readdirSync(join(dir, e.name), { withFileTypes: true })) if (f.isFile()) paths.push(`${e.name}/${f.name}`);
  }
  return imageLayout(dir, paths, join);
}

/** Files in flight per worker during the first pass. */
const AHEAD = 4;

/** A folder of images at the model's input shape [C, H, W] (C 1 or 3), streamed (image-set.ts). */
export async function loadImageFolder(dir: string, shape: [number, number, number], o: { strict?: boolean; limit?: number } = {}): Promise<ImageFolder> {
  const layout = listImages(dir);
  const pool = new DecodePool();
  return openImageSet(dir, layout, shape, (file, s) => pool.decode(file, s), { ...o, parallel: AHEAD * pool.size, close: () => pool.close() });
}
