// Image classification data sets: NCHW float32 images with class labels, from IDX files (MNIST),
// the fashion-mnist package, or NPY files. Errors name the file and what is wrong with it.
import type { Normalization } from '../model/graph.js';
import { Rng } from '../random.js';

/** Data that cannot be used as it is (a file's format, shape, labels or values): the user's to fix (the CLI exits 2). */
export class DataError extends Error {}

export interface Dataset {
  name: string;
  /** [channels, height, width] */
  shape: [number, number, number];
  classes: number;
  count: number;
  /** count x C x H x W, normalised. */
  images: Float32Array;
  labels: Uint8Array;
  /** What the pixels went through: (pixel scaled to [0, 1] - mean) / std. */
  normalization?: Normalization;
  /** No labels came with the images (a flat folder): `labels` are placeholders until a model labels them. */
  unlabelled?: boolean;
  /**
   * Training batches are augmented (random resized crop and horizontal flip, augment.ts): folders of
   * images; 'default' where nobody asked, which a model that is matched to the dense one's outputs
   * (a detector, an embedding net) drops: crops would teach it outputs on zoomed images it is not used on.
   */
  augment?: boolean | 'default';
  /** Per-pixel class labels (segmentation), count x H x W of maskShape; 255 marks a pixel to ignore. */
  masks?: Uint8Array;
  maskShape?: [number, number];
  /** Samples decoded as they are read (a folder of images): `images` is then empty; read batches with loadBatch. */
  stream?: ImageStream;
  /** A streamed set's pixel mean and standard deviation (in [0, 1]), measured when it was opened. */
  statistics?: Normalization;
}

/** A set's images decoded on demand: samples `indices` as [n, C, H, W] pixels in [0, 1]. */
export interface ImageStream {
  read(indices: ArrayLike<number>): Promise<Float32Array>;
  /** The most bytes of pixels one read has held. */
  peakBytes: number;
  close(): void;
}

export interface Batch { images: Float32Array; labels: Float32Array; size: number; masks?: Float32Array }

/** Mean and standard deviation used to normalise pixels in [0, 1] (MNIST's, from torchvision's examples). */
/** How a data set's pixels were normalised, for messages. */
export const normalizationText = (d: Dataset) => (d.normalization ? `(x - ${d.normalization.mean}) / ${d.normalization.std}, x in [0, 1]` : 'as stored');

/** A warning when a model scores near chance on `d`: most often its inputs were normalised otherwise in training. */
export function nearChanceWarning(accuracy: number, classes: number, d: Dataset): string | undefined {
  if (!(accuracy < 2 / classes)) return undefined;
  return `accuracy ${(100 * accuracy).toFixed(1)}% is near chance (${(100 / classes).toFixed(0)}% for ${classes} classes): if the model was trained on inputs normalised otherwise than here (${normalizationText(d)}), say how with --normalize none|mnist|fashion-mnist|MEAN,STD`;
}

export const MNIST_NORMALIZATION = { mean: 0.1307, std: 0.3081 };

export type { Normalization } from '../model/graph.js';

/** The data set's pixels (scaled to [0, 1]) normalised with `to` instead of what they went through. */
export function renormalize(d: Dataset, to: Normalization): Dataset {
  if (d.stream) return { ...d, normalization: to }; // applied as each batch is read
  const from = d.normalization ?? { mean: 0, std: 1 };
  if (from.mean === to.mean && from.std === to.std) return { ...d, normalization: to };
  const [a, b] = [from.std / to.std, (from.mean - to.mean) / to.std];
  return { ...d, images: d.images.map((v) => v * a + b), normalization: to };
}

/** Mean and standard deviation of a data set's pixels scaled to [0, 1] (its own statistics). */
export function pixelStatistics(d: Dataset): Normalization {
  if (d.statistics) return d.statistics;
  const from = d.normalization ?? { mean: 0, std: 1 };
  let sum = 0, squares = 0;
  for (const v of d.images) {
    const x = v * from.std + from.mean;
    sum += x;
    squares += x * x;
  }
  const n = Math.max(d.images.length, 1);
  const mean = sum / n;
  const std = Math.sqrt(Math.max(squares / n - mean * mean, 0));
  // Four decimals, as published statistics are written; a constant image set keeps std 1.
  return { mean: Number(mean.toFixed(4)), std: std > 1e-4 ? Number(std.toFixed(4)) : 1 };
}
export const FASHION_MNIST_NORMALIZATION = { mean: 0.2860, std: 0.3530 };

/** Reads an IDX file (LeCun's MNIST format): magic 0x00 0x00 type rank, big-endian dims, data. */
export function parseIdx(bytes: Uint8Array, file: string): { dims: number[]; data: Uint8Array } {
  if (bytes.length < 4) throw new DataError(`${file}: not an IDX file (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new DataError(`${file}: not an IDX file (magic ${bytes[0]} ${bytes[1]}, expected 0 0)`);
  if (bytes[2] !== 0x08) throw new DataError(`${file}: IDX element type 0x${bytes[2].toString(16)} is not supported (only unsigned bytes, 0x08)`);
  const rank = bytes[3];
  if (rank < 1 || rank > 4) throw new DataError(`${file}: IDX rank ${rank} is not 1 to 4`);
  if (bytes.length < 4 + 4 * rank) throw new DataError(`${file}: truncated IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const offset = 4 + 4 * rank;
  if (bytes.length - offset !== size) throw new DataError(`${file}: IDX header says [${dims.join(' x ')}] = ${size} values, the file holds ${bytes.length - offset}`);
  return { dims, data: bytes.subarray(offset) };
}

/** Reads a .npy file (NumPy format 1.0-3.0) of uint8, int8, int32, int64, float32 or float64 values, C order; `integer` for the integer types. */
export function parseNpy(bytes: Uint8Array, file: string): { shape: number[]; data: Float64Array | Float32Array | Uint8Array; integer: boolean; descr: string } {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new DataError(`${file}: not a .npy file`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLength > bytes.length) throw new DataError(`${file}: .npy header of ${headerLength} bytes runs past the end of the file (${bytes.length} bytes)`);
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  // The header as a message shows it: printable characters only, and not much of it.
  const shown = header.trim().replace(/[^\x20-\x7e]/g, '?');
  if (!descr || shapeText === undefined) throw new DataError(`${file}: unreadable .npy header '${shown.length > 120 ? `${shown.slice(0, 120)}…' (${headerLength} bytes)` : `${shown}'`}`);
  if (fortran) throw new DataError(`${file}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new DataError(`${file}: .npy shape (${shapeText.slice(0, 80)}) is not a list of sizes`);
  const size = shape.reduce((a, b) => a * b, 1);
  const body = Uint8Array.prototype.slice.call(bytes, start + headerLength); // a copy, also of a Node Buffer
  const types: Record<string, [number, (b: ArrayBuffer) => Float64Array | Float32Array | Uint8Array]> = {
    '|u1': [1, (b) => new Uint8Array(b)], '<f4': [4, (b) => new Float32Array(b)], '<f8': [8, (b) => new Float64Array(b)],
    '|i1': [1, (b) => Float64Array.from(new Int8Array(b))], '<i8': [8, (b) => Float64Array.from(new BigInt64Array(b), Number)],
    '<i4': [4, (b) => Float64Array.from(new Int32Array(b))],
  };
  const type = types[descr];
  if (!type) throw new DataError(`${file}: .npy dtype '${descr}' is not supported (uint8, int8, int32, int64, float32, float64)`);
  if (body.byteLength !== size * type[0]) throw new DataError(`${file}: .npy header says shape (${shape.join(', ')}) of '${descr}', the file holds ${body.byteLength} bytes, not ${size * type[0]}`);
  return { shape, data: type[1](body.buffer), integer: !descr.includes('f'), descr };
}

/** A .npy file (format 1.0, C order) of `descr` values ('|u1', '<i8', '<f4', ...): parseNpy's inverse, for fixtures and peers. */
export function encodeNpy(descr: string, shape: number[], body: ArrayBufferView): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`; // the data starts on a 64-byte boundary
  const bytes = new Uint8Array(10 + header.length + body.byteLength);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), 10);
  bytes.set(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), 10 + header.length);
  return bytes;
}

/** Images (N x H x W, N x C x H x W, or N x H x W x C with C in 1..4 last) and labels into a data set. */
export function makeDataset(
  name: string, images: { dims: number[]; data: ArrayLike<number> }, labels: { dims: number[]; data: ArrayLike<number> },
  o: { files: [string, string]; scale?: number; normalization?: Normalization; classes?: number },
): Dataset {
  const [imageFile, labelFile] = o.files;
  const d = images.dims;
  let shape: [number, number, number];
  let channelsLast = false;
  if (d.length === 3) shape = [1, d[1], d[2]];
  else if (d.length === 4 && d[3] <= 4 && d[1] > 4) { shape = [d[3], d[1], d[2]]; channelsLast = true; }
  else if (d.length === 4) shape = [d[1], d[2], d[3]];
  else throw new DataError(`${imageFile}: images must be N x H x W or N x C x H x W, got [${d.join(' x ')}]`);
  if (labels.dims.length !== 1) throw new DataError(`${labelFile}: labels must be a vector, got [${labels.dims.join(' x ')}]`);
  const count = d[0];
  if (labels.dims[0] !== count) throw new DataError(`${labelFile}: ${labels.dims[0]} labels for ${count} images in ${imageFile}`);
  const labelData = Uint8Array.from(labels.data, (v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new DataError(`${labelFile}: label ${i} is ${v}, not a class index`);
    return v;
  });
  const classes = o.classes ?? Math.max(...labelData) + 1;
  const bad = labelData.findIndex((v) => v >= classes);
  if (bad >= 0) throw new DataError(`${labelFile}: label ${bad} is ${labelData[bad]}, outside ${classes} classes`);
  if (count === 0) throw new DataError(`${imageFile}: no images`);
  for (let i = 0; i < images.data.length; i++) {
    if (!Number.isFinite(images.data[i])) throw new DataError(`${imageFile}: value ${i} (image ${Math.floor(i / (images.data.length / count))}) is ${images.data[i]}; images must be finite numbers`);
  }
  const [c, h, w] = shape;
  const plane = h * w;
  const scale = o.scale ?? 1;
  const { mean, std } = o.normalization ?? { mean: 0, std: 1 };
  const out = new Float32Array(count * c * plane);
  for (let n = 0; n < count; n++)
    for (let ch = 0; ch < c; ch++)
      for (let p = 0; p < plane; p++) {
        const src = channelsLast ? (n * plane + p) * c + ch : (n * c + ch) * plane + p;
        out[(n * c + ch) * plane + p] = (images.data[src] * scale - mean) / std;
      }
  // Finite in float64 is not enough: past float32's range (or normalised past it) a pixel becomes infinite.
  const overflow = out.findIndex((v) => !Number.isFinite(v));
  if (overflow >= 0) throw new DataError(`${imageFile}: a pixel of image ${Math.floor(overflow / (c * plane))} is beyond float32's range once scaled and normalised (${out[overflow]}); images must be pixels`);
  return { name, shape, classes, count, images: out, labels: labelData, normalization: { mean, std } };
}

/** The first `count` samples (or all). */
export function subset(d: Dataset, count: number, offset = 0): Dataset {
  const n = Math.min(count, d.count - offset);
  const size = d.shape.reduce((a, b) => a * b, 1);
  const plane = d.maskShape ? d.maskShape[0] * d.maskShape[1] : 0;
  const inner = d.stream;
  return {
    ...d, count: n, images: d.images.subarray(offset * size, (offset + n) * size), labels: d.labels.subarray(offset, offset + n),
    ...(inner ? { stream: { read: (indices) => inner.read(Array.from(indices, (i) => i + offset)), get peakBytes() { return inner.peakBytes; }, close: () => inner.close() } satisfies ImageStream } : {}),
    ...(d.masks ? { masks: d.masks.subarray(offset * plane, (offset + n) * plane) } : {}),
  };
}

/** The sample order of an epoch: a seeded shuffle, the same for the same (seed, epoch). */
export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  const order = Array.from({ length: count }, (_, i) => i);
  new Rng(seed * 1_000_003 + epoch).shuffle(order);
  return Uint32Array.from(order);
}

/** The labels (and masks) of samples `indices`. */
function gatherTargets(d: Dataset, indices: ArrayLike<number>): Omit<Batch, 'images'> {
  const labels = Float32Array.from(indices, (i) => d.labels[i]);
  if (!d.masks) return { labels, size: indices.length };
  const plane = d.maskShape![0] * d.maskShape![1];
  const masks = new Float32Array(indices.length * plane);
  for (let i = 0; i < indices.length; i++) masks.set(d.masks.subarray(indices[i] * plane, (indices[i] + 1) * plane), i * plane);
  return { labels, size: indices.length, masks };
}

/** Samples `indices` of `d` as a batch, normalised: copied from memory, or decoded from a streamed set's files. */
export async function loadBatch(d: Dataset, indices: ArrayLike<number>): Promise<Batch> {
  if (!d.stream) return gatherBatch(d, indices);
  const images = await d.stream.read(indices);
  const { mean, std } = d.normalization ?? { mean: 0, std: 1 };
  for (let i = 0; i < images.length; i++) images[i] = (images[i] - mean) / std;
  return { images, ...gatherTargets(d, indices) };
}

/** loadBatch started ahead of its use (decoding while the caller computes): a failure surfaces where it is awaited, never as an unhandled rejection of a batch nobody awaits. */
export function loadBatchAhead(d: Dataset, indices: ArrayLike<number>): Promise<Batch> {
  const batch = loadBatch(d, indices);
  batch.catch(() => undefined);
  return batch;
}

/** Samples `indices` of an in-memory set (loadBatch reads any). */
export function gatherBatch(d: Dataset, indices: ArrayLike<number>): Batch {
  if (d.stream) throw new Error(`data set '${d.name}' is streamed: read its batches with loadBatch`);
  const size = d.shape.reduce((a, b) => a * b, 1);
  const images = new Float32Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) images.set(d.images.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
  return { images, ...gatherTargets(d, indices) };
}

/** loadFiles on bytes already read (by extension: .npy, anything else IDX); without labels, an unlabelled set. */
export function datasetFromBytes(imagesIn: { file: string; bytes: Uint8Array }, labelsIn: { file: string; bytes: Uint8Array } | undefined, o: { name?: string; normalization?: Normalization } = {}): Dataset {
  const read = ({ file, bytes }: { file: string; bytes: Uint8Array }) => {
    if (file.endsWith('.npy')) {
      const a = parseNpy(bytes, file);
      return { dims: a.shape, data: a.data, integer: a.integer, descr: a.descr };
    }
    return { ...parseIdx(bytes, file), integer: true, descr: 'IDX unsigned bytes' };
  };
  const [imagesFile, labelsFile] = [imagesIn.file, labelsIn?.file ?? imagesIn.file];
  const images = read(imagesIn);
  const labels = labelsIn ? read(labelsIn) : { dims: [images.dims[0]], data: new Uint8Array(images.dims[0]) };
  // Integer pixels are bytes (0-255), scaled to [0, 1] as IDX files are; float pixels are taken as [0, 1] already.
  if (images.integer) {
    const bad = images.data.findIndex((v: number) => v < 0 || v > 255);
    if (bad >= 0) throw new DataError(`${imagesFile}: integer images (${images.descr}) must hold pixel values 0-255; value ${bad} is ${images.data[bad]}`);
  }
  const d = makeDataset(o.name ?? imagesFile, images, labels, {
    files: [imagesFile, labelsFile], scale: images.integer ? 1 / 255 : 1,
    normalization: o.normalization,
  });
  return labelsIn ? d : { ...d, unlabelled: true };
}

/** `d`'s masks at [h, w] (nearest pixel, half-pixel centres), checked against `classes`: the model's output maps. */
export function masksAt(d: Dataset, [h, w]: [number, number], classes: number): Dataset {
  if (!d.masks) return d;
  const [mh, mw] = d.maskShape!;
  let masks = d.masks;
  if (mh !== h || mw !== w) {
    masks = new Uint8Array(d.count * h * w);
    for (let n = 0; n < d.count; n++) for (let i = 0; i < h; i++) {
      const y = Math.min(Math.floor(((i + 0.5) * mh) / h), mh - 1);
      for (let j = 0; j < w; j++) masks[(n * h + i) * w + j] = d.masks[(n * mh + y) * mw + Math.min(Math.floor(((j + 0.5) * mw) / w), mw - 1)];
    }
  }
  const bad = masks.findIndex((v) => v >= classes && v !== 255);
  if (bad >= 0) throw new DataError(`masks of '${d.name}': pixel ${bad % (h * w)} of image ${Math.floor(bad / (h * w))} is class ${masks[bad]}, outside the model's ${classes} classes (255 marks pixels to ignore)`);
  return { ...d, masks, maskShape: [h, w] };
}
