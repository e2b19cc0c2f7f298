// The options commands share, their help lines, and typed readers of parsed values (usage errors name the flag).
import type { ParseArgsConfig } from 'node:util';
import { DEFAULT_PRESET, presets } from '../accel/presets.js';
import { UsageError } from './inputs.js';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export const COMMON: Options = {
  json: { type: 'boolean' }, config: { type: 'string' }, verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, backend: { type: 'string' },
};
export const COMMON_HELP = { '--backend B': 'auto (default: a hardware GPU through WebGPU; else the native CPU backend; else WebGPU on a software adapter; else gpu.js), webgpu, native or gpujs', '--json': 'machine-readable output on stdout', '--config FILE': 'a JSON file holding these options (command-line flags win)', '--verbose': 'stack traces on errors', '-h, --help': 'this help' };

export const MODEL: Options = { model: { type: 'string' }, seed: { type: 'string' }, task: { type: 'string' } };
export const MODEL_HELP = { '--model M': "'default' (the shipped LeNet-5 MNIST checkpoint), a zoo name (lenet5, vgg-small, resnet20, mobilenet, resnet18, resnet50, mobilenetv2; unet: a segmenter), a .safetensors checkpoint or an .onnx file", '--seed N': 'seed for initialisation and data order (default 1)', '--task T': "what the model's outputs are, where their shapes do not say it: classify ([K] logits), segment ([K, H, W] per-pixel logits), detect (any outputs, several heads), embed ([D] features); default: several outputs detect, [K] classifies, [K, H, W] segments" };
export const DATA: Options = { data: { type: 'string' }, images: { type: 'string' }, labels: { type: 'string' }, 'test-images': { type: 'string' }, 'test-labels': { type: 'string' }, 'train-limit': { type: 'string' }, 'test-limit': { type: 'string' }, normalize: { type: 'string' }, 'input-size': { type: 'string' }, strict: { type: 'boolean' }, augment: { type: 'string' }, masks: { type: 'string' }, 'test-masks': { type: 'string' } };
export const DATA_HELP = { '--data NAME': 'mnist (default), fashion-mnist, or none (prune only: a trained model pruned by a data-free criterion, without fine-tuning or evaluation)', '--images F --labels F': 'training images and labels (IDX or NPY); --test-images/--test-labels for evaluation', '--images DIR, --test-images DIR': 'a folder of JPEG/PNG/WebP images: class subfolders give labels (ImageFolder), a flat folder has none (prune then distils from the dense model alone); resized and centre-cropped to the model input (--input-size CxHxW for a zoo model); a file that does not decode is skipped and named (--strict refuses it); training batches from a folder are augmented as torchvision does by default (random resized crop, horizontal flip; --augment none to switch off; off by default for detectors and embedding nets, which are matched to the dense model’s outputs on whole images: --augment crop-flip to ask)', '--masks M, --test-masks M': "per-pixel class labels of --images / --test-images for a segmentation model: an N x H x W NPY file, or a folder of PNG masks named like the images (8-bit grey class indices, 255 ignored); resized as the images were, at the nearest pixel, then to the model's output size", '--train-limit N, --test-limit N': 'use the first N samples', '--normalize N': "the model's input normalisation: none, mnist, fashion-mnist or MEAN,STD of pixels in [0, 1] (default: the model's own, from its checkpoint or ONNX file; else the data's own statistics); stored with the model from then on" };
export const ACCEL: Options = { accel: { type: 'string' }, mode: { type: 'string' } };
export const ACCEL_HELP = { '--accel A': `a preset (${Object.keys(presets).join(', ')}; default ${DEFAULT_PRESET}), a .json config or a SCALE-Sim .cfg`, '--mode M': 'tiled (default: tile-scheduled, DRAM bandwidth, energy) or scalesim (SCALE-Sim v2 exactly: its fold-by-fold compute and its double-buffered memory system, InterfaceBandwidth CALC or USER from the config)' };
export const TRAINING: Options = { epochs: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' }, 'lr-schedule': { type: 'string' }, optimizer: { type: 'string' }, 'max-steps': { type: 'string' }, 'max-seconds': { type: 'string' } };
export const TRAINING_HELP = { '--epochs N': 'epochs', '--batch-size N': 'batch size (default 64)', '--lr X': 'learning rate (default 1e-3 adam, 0.05 sgd)', '--lr-schedule S': 'cosine (default: annealed to 0 over the run) or constant', '--optimizer O': 'adam (default) or sgd', '--max-steps N, --max-seconds S': 'stop after N steps or S seconds' };

export const num = (v: Values, key: string, fallback?: number): number | undefined => {
  const text = v[key];
  if (text === undefined) return fallback;
  const x = Number(text);
  if (typeof text !== 'string' || text.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--${key} must be a number, got '${text}'`);
  return x;
};
export const int = (v: Values, key: string, fallback?: number): number | undefined => {
  const x = num(v, key, fallback);
  if (x !== undefined && (!Number.isInteger(x) || x < 0)) throw new UsageError(`--${key} must be a non-negative integer, got '${v[key]}'`);
  return x;
};
export const str = (v: Values, key: string): string | undefined => v[key] as string | undefined;
export const oneOf = <T extends string>(v: Values, key: string, allowed: readonly T[], fallback: T): T => {
  const x = (v[key] as string | undefined) ?? fallback;
  if (!allowed.includes(x as T)) throw new UsageError(`--${key} must be one of ${allowed.join(', ')}, got '${x}'`);
  return x as T;
};
