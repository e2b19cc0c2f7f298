// What CLI options name: models (zoo name, checkpoint, ONNX file, or the shipped default), data sets
// (mnist, fashion-mnist, IDX/NPY files) and accelerators (preset, JSON config, SCALE-Sim .cfg).
import { fileURLToPath } from 'node:url';
import type { AcceleratorConfig } from '../accel/config.js';
import { validateConfig } from '../accel/config.js';
import { presets } from '../accel/presets.js';
import { parseScaleSimConfig } from '../accel/scalesim-io.js';
import { type Dataset, FASHION_MNIST_NORMALIZATION, MNIST_NORMALIZATION, type Normalization, pixelStatistics, renormalize, subset } from '../data/dataset.js';
import { type ImageFolder, isDirectory, loadImageFolder } from '../data/image-folder.js';
import { loadMasks } from '../data/masks.js';
import { dataForModel as fitData } from '../run/run-data.js';
import { loadDataset, loadFiles, readFile } from '../data/sources.js';
import { TASKS, type Task, inferShapes } from '../model/graph.js';
import { type Model, checkFinite, initModel } from '../model/model.js';
import { type InputShape, zoo } from '../model/zoo.js';
import { importOnnx } from '../onnx/import.js';
import { type Checkpoint, loadCheckpoint } from '../train/checkpoint.js';

export const DEFAULT_CHECKPOINT = fileURLToPath(new URL('../../models/lenet5-mnist.safetensors', import.meta.url));

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {}

export interface LoadedModel { model: Model; source: string; checkpoint?: Checkpoint }

/** The loaded model with --task stated (checked against its outputs' shapes), or as it is. */
export function withTask(loaded: LoadedModel, task: string | undefined): LoadedModel {
  if (task === undefined) return loaded;
  if (!(TASKS as readonly string[]).includes(task)) throw new UsageError(`--task must be one of ${TASKS.join(', ')}, got '${task}'`);
  const spec = { ...loaded.model.spec, task: task as Task };
  try {
    inferShapes(spec);
  } catch (e) {
    throw new UsageError(`--task ${task}: ${(e as Error).message}`);
  }
  return { ...loaded, model: { ...loaded.model, spec } };
}

export async function loadModel(name: string | undefined, inputShape: InputShape, classes: number, seed: number): Promise<LoadedModel> {
  const what = name ?? 'default';
  if (what === 'default') {
    const c = await loadCheckpoint(DEFAULT_CHECKPOINT);
    return { model: c.model, source: 'the shipped LeNet-5 MNIST checkpoint (models/lenet5-mnist.safetensors)', checkpoint: c };
  }
  if (zoo[what]) return { model: initModel(zoo[what](inputShape, classes), seed), source: `zoo '${what}', initialised with seed ${seed}` };
  if (/\.onnx$/i.test(what)) {
    return { model: checkFinite(importOnnx(readFile(what), { file: what }), what), source: what };
  }
  if (/\.safetensors$/i.test(what)) {
    const c = await loadCheckpoint(what);
    return { model: checkFinite(c.model, what), source: what, checkpoint: c };
  }
  throw new UsageError(`--model '${what}': not a zoo model (${Object.keys(zoo).join(', ')}), a .safetensors checkpoint or an .onnx file`);
}

export interface DataOptions {
  data?: string; images?: string; labels?: string; testImages?: string; testLabels?: string; trainLimit?: string; testLimit?: string; normalize?: string;
  /** Folders of images: refuse a file that does not decode instead of skipping it; the size to bring them to (for --input-size's check). */
  strict?: boolean;
  inputSize?: string;
  /** Training on a folder: crop-flip (the default) or none. */
  augment?: string;
  /** Per-pixel labels of --images and --test-images: an N x H x W NPY file or a folder of PNG masks. */
  masks?: string;
  testMasks?: string;
}

/** How a command learns the model's input shape before it loads a folder of images (which is sized to it). */
export interface DataUse {
  trains: boolean;
  inputShape?: () => Promise<InputShape>;
  /** Files skipped in a folder, and other remarks about the data. */
  warn?: (line: string) => void;
}

/**
 * --input-size CxHxW, else the input shape of the model file (ONNX, checkpoint, the shipped default),
 * read by `load`; a zoo model needs --input-size.
 */
export async function modelInputShape(model: string | undefined, inputSize: string | undefined, load: () => Promise<LoadedModel>): Promise<InputShape> {
  if (inputSize !== undefined) {
    const m = /^(\d+)x(\d+)x(\d+)$/.exec(inputSize);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1 || Number(m[3]) < 1) throw new UsageError(`--input-size must be CxHxW (e.g. 3x224x224), got '${inputSize}'`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  }
  if (model !== undefined && zoo[model]) throw new UsageError(`--model ${model} with a folder of images: give the size to bring the images to, --input-size CxHxW (e.g. 3x32x32)`);
  return (await load()).model.spec.inputShape as InputShape;
}

const FLOAT32_MIN_NORMAL = 2 ** -126;
const MAX_FLOAT32 = 3.4028234663852886e38;

/** --normalize: none, mnist, fashion-mnist or MEAN,STD (pixels scaled to [0, 1], then (x - mean) / std). */
export function parseNormalization(text: string | undefined): Normalization | undefined {
  if (text === undefined) return undefined;
  if (text === 'none') return { mean: 0, std: 1 };
  if (text === 'mnist') return MNIST_NORMALIZATION;
  if (text === 'fashion-mnist') return FASHION_MNIST_NORMALIZATION;
  const [mean, std, extra] = text.split(',').map((x) => (x.trim() === '' ? Number.NaN : Number(x)));
  if (extra !== undefined || !Number.isFinite(mean) || !(std > 0)) throw new UsageError(`--normalize must be none, mnist, fashion-mnist or MEAN,STD with STD > 0, got '${text}'`);
  // Pixels are float32: the mean and std must be float32 numbers, the std a normal one (1/std finite).
  if (!Number.isFinite(Math.fround(mean)) || !(Math.fround(std) >= FLOAT32_MIN_NORMAL && Number.isFinite(Math.fround(std)))) {
    throw new UsageError(`--normalize '${text}': MEAN and STD must be float32 numbers, STD from ${FLOAT32_MIN_NORMAL} to ${MAX_FLOAT32}`);
  }
  return { mean, std };
}


const limitCount = (text: string | undefined, flag: string) => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${text}'`);
  return n;
};
const limit = (d: Dataset, text: string | undefined, flag: string) => {
  const n = limitCount(text, flag);
  return n === undefined ? d : subset(d, Math.min(n, d.count));
};

/**
 * The training and test sets the options name. `--test-images/--test-labels` (together) replace the
 * test set; without `--images/--labels` the training set is `--data`'s, which a command that trains
 * (`trains`) must be given explicitly: fine-tuning on MNIST beside the user's own test files would be a surprise.
 */
export async function loadData(o: DataOptions, use: DataUse = { trains: true }): Promise<{ train: Dataset; test: Dataset }> {
  let train: Dataset;
  /** The test set the training set comes with (files: the same images; a built-in set: its own test split). */
  let own: () => Dataset;
  const normalization = parseNormalization(o.normalize);
  const [trainFolder, testFolder] = [o.images !== undefined && isDirectory(o.images), o.testImages !== undefined && isDirectory(o.testImages)];
  const folder = async (dir: string, flag: string, labels: string | undefined, limit: string | undefined) => {
    if (labels !== undefined) throw new UsageError(`${flag} ${dir} is a folder: its labels are its class subfolders (ImageFolder), or it has none; drop ${flag.replace('images', 'labels')}`);
    if (!use.inputShape) throw new UsageError(`${flag} ${dir}: this command does not read folders of images`);
    const d = await loadImageFolder(dir, await use.inputShape(), { strict: o.strict, limit: limitCount(limit, flag === '--images' ? '--train-limit' : '--test-limit') });
    if (d.skipped.length) use.warn?.(`${dir}: skipped ${d.skipped.length} file${d.skipped.length > 1 ? 's' : ''} that did not decode (--strict refuses them): ${d.skipped.slice(0, 3).join('; ')}${d.skipped.length > 3 ? '; ...' : ''}`);
    return normalization ? renormalize(d, normalization) : d;
  };
  if (!trainFolder && !testFolder) {
    if (o.inputSize !== undefined) throw new UsageError('--input-size sizes folders of images (--images DIR or --test-images DIR); files and built-in sets have their own size');
    if (o.strict) throw new UsageError('--strict refuses undecodable files in folders of images (--images DIR or --test-images DIR)');
  }
  if (o.augment !== undefined && o.augment !== 'none' && o.augment !== 'crop-flip') throw new UsageError(`--augment must be crop-flip or none, got '${o.augment}'`);
  if (o.augment !== undefined && (!trainFolder || !use.trains)) throw new UsageError('--augment applies to training on a folder of images (--images DIR)');
  if (o.testLabels && !o.testImages) throw new UsageError('--test-labels labels --test-images: give the images too');
  if (trainFolder) {
    if (o.data !== undefined) throw new UsageError(`--data '${o.data}' and --images name two training sets: give one`);
    train = await folder(o.images!, '--images', o.labels, o.trainLimit);
    if (!normalization) train = renormalize(train, pixelStatistics(train));
    train = { ...train, augment: use.trains && o.augment !== 'none' && (o.augment === 'crop-flip' || 'default') };
    own = () => train;
  } else if (o.images || o.labels) {
    // --images without --labels: images alone (unlabelled), as a flat folder is.
    if (!o.images) throw new UsageError('--labels labels --images: give the images too');
    if (o.data !== undefined) throw new UsageError(`--data '${o.data}' and --images/--labels name two training sets: give one`);
    // Without --normalize, files take their own statistics (the built-in sets have published ones).
    train = loadFiles(o.images, o.labels, { normalization });
    if (!normalization) train = renormalize(train, pixelStatistics(train));
    own = () => train;
  } else {
    const name = o.data ?? 'mnist';
    if (name === 'none') throw new UsageError('--data none: only prune runs without data (pruned by a data-free criterion, no fine-tuning or evaluation)');
    if (name !== 'mnist' && name !== 'fashion-mnist') throw new UsageError(`--data '${name}': use mnist, fashion-mnist, or --images/--labels files (IDX or NPY)`);
    if (o.testImages && use.trains && o.data === undefined) throw new UsageError('--test-images/--test-labels without --images/--labels: name the training set too (--images/--labels, or --data mnist|fashion-mnist)');
    train = loadDataset(name, 'train', normalization);
    own = () => loadDataset(name, 'test', normalization);
  }
  if (o.masks !== undefined) {
    if (!o.images) throw new UsageError('--masks labels the pixels of --images: give the images too');
    train = { ...train, ...(await loadMasks(o.masks, train, (train as Partial<ImageFolder>).files)) };
  }
  if (o.testMasks !== undefined && !o.testImages) throw new UsageError('--test-masks labels the pixels of --test-images: give the images too');
  // Test files take the training set's normalisation, whichever set that is.
  let test = testFolder ? renormalize(await folder(o.testImages!, '--test-images', o.testLabels, o.testLimit), train.normalization!)
    : o.testImages ? renormalize(loadFiles(o.testImages, o.testLabels), train.normalization!) : own();
  if (o.testMasks !== undefined) test = { ...test, ...(await loadMasks(o.testMasks, test, (test as Partial<ImageFolder>).files)) };
  return { train: limit(train, o.trainLimit, '--train-limit'), test: limit(test, o.testLimit, '--test-limit') };
}

/** dataForModel (run/run-data.ts) with --normalize's text. */
export const dataForModel = (model: Model, normalize: string | undefined, ...sets: Dataset[]) => fitData(model, parseNormalization(normalize), ...sets);

export function loadAccelerator(name: string | undefined, fallback: string): AcceleratorConfig {
  const what = name ?? fallback;
  if (presets[what]) return presets[what];
  if (what.endsWith('.json') || what.endsWith('.cfg')) {
    const text = new TextDecoder().decode(readFile(what));
    if (what.endsWith('.cfg')) return parseScaleSimConfig(text, what);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new Error(`${what}: not valid JSON (${(e as Error).message})`);
    }
    return validateConfig(raw, what);
  }
  throw new UsageError(`--accel '${what}': not a preset (${Object.keys(presets).join(', ')}), a .json config or a SCALE-Sim .cfg file`);
}
