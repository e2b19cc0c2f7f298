// Images in a browser (a page or a worker): files picked or dropped as a folder, or unpacked from a zip,
// decoded with createImageBitmap and brought to the model's input on an OffscreenCanvas the way
// image-folder.ts does in Node (sharp): cover-resized to [H, W], centre-cropped, grey (Rec. 709 luma)
// or RGB, pixels scaled to [0, 1]. The resampling filter is the browser's, not libvips's, so pixels can
// differ from Node's by a few levels.
import { type ImageSet, imageLayout, openImageSet } from './image-set.js';

/** A file with its path inside the folder or zip it came from ('cats/1.jpg'). */
export interface ImageFile { path: string; blob: Blob }

/** One image's pixels, [C, H, W] in [0, 1]. */
export async function decodeImageBlob(blob: Blob, [c, h, w]: [number, number, number]): Promise<Float32Array> {
  const bitmap = await createImageBitmap(blob);
  try {
    // Cover: the source rectangle of aspect w:h centred in the image, scaled to w x h.
    const scale = Math.max(w / bitmap.width, h / bitmap.height);
    const [sw, sh] = [w / scale, h / scale];
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, (bitmap.width - sw) / 2, (bitmap.height - sh) / 2, sw, sh, 0, 0, w, h);
    const rgba = ctx.getImageData(0, 0, w, h).data;
    const out = new Float32Array(c * h * w);
    for (let q = 0; q < h * w; q++) {
      const [r, g, b] = [rgba[4 * q], rgba[4 * q + 1], rgba[4 * q + 2]];
      if (c === 1) out[q] = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
      else for (const [k, v] of [r, g, b].entries()) out[k * h * w + q] = v / 255;
    }
    return out;
  } finally {
    bitmap.close();
  }
}

/**
 * The top folder every path is under ('photos' when all are under 'photos/'), and the paths below it: a
 * folder picked in a browser (its files' paths start with its name), or a zip that holds one folder, is
 * then laid out as its contents are. One level at most: a zip of one class subfolder is its images.
 */
export function commonFolder(paths: string[]): { root: string; relative: string[] } {
  const split = paths.map((p) => p.split('/').filter(Boolean));
  const top = split[0]?.[0];
  if (!top || !split.every((p) => p.length > 1 && p[0] === top)) return { root: '', relative: split.map((p) => p.join('/')) };
  return { root: top, relative: split.map((p) => p.slice(1).join('/')) };
}

/** Image files from a browser at the model's input shape, laid out and streamed as a folder on disk is (image-set.ts). */
export async function loadImageFiles(name: string, files: ImageFile[], shape: [number, number, number], o: { strict?: boolean; limit?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<ImageSet> {
  const { root, relative } = commonFolder(files.map((f) => f.path));
  const label = [name, root].filter(Boolean).join('/') || 'images';
  const layout = imageLayout(label, relative);
  const byPath = new Map(relative.map((p, i) => [`${label}/${p}`, files[i].blob]));
  return openImageSet(label, layout, shape, (file, s) => decodeImageBlob(byPath.get(file)!, s), { ...o, parallel: 8 });
}
