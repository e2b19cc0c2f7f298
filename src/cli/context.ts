// What every command shares: its parsed values and output channels, training options from flags, the
// backend it opens (with fallback notices on stderr), and output as text or JSON.
import { BACKEND_CHOICES, type ComputeBackend, openBackend } from '../open-backend.js';
import type { AcceleratorConfig } from '../accel/config.js';
import { type Budget, parseBudget } from '../plan/index.js';
import type { TrainOptions } from '../train/trainer.js';
import { type LoadedModel, UsageError, loadModel, modelInputShape, withTask } from './inputs.js';
import { type InputShape, zoo } from '../model/zoo.js';
import { type Values, int, num, oneOf, str } from './options.js';
import type { ProgressView } from './progress.js';

export interface Context { values: Values; positionals?: string[]; json: boolean; progress: ProgressView; stop: { requested: boolean }; /** Output goes to stderr (a sweep's rows: their summaries are its log). */ toStderr?: boolean }

export function trainOptions(v: Values, epochs: number): TrainOptions {
  const optimizer = oneOf(v, 'optimizer', ['adam', 'sgd'] as const, 'adam');
  const positive = (key: string, x: number | undefined, integer: boolean) => {
    if (x !== undefined && !(x > 0 && (!integer || Number.isInteger(x)))) throw new UsageError(`--${key} must be a positive ${integer ? 'integer' : 'number'}, got '${v[key]}'`);
    return x;
  };
  return {
    epochs: positive('epochs', int(v, 'epochs', epochs), true)!, batchSize: positive('batch-size', int(v, 'batch-size', 64), true)!, optimizer,
    learningRate: positive('lr', num(v, 'lr', optimizer === 'adam' ? 1e-3 : 0.05), false)!,
    seed: int(v, 'seed', 1)!, schedule: { kind: oneOf(v, 'lr-schedule', ['cosine', 'constant'] as const, 'cosine') }, logEvery: 10,
    maxSteps: int(v, 'max-steps'), // 0: no training steps (evaluate and write only)
    maxSeconds: positive('max-seconds', num(v, 'max-seconds'), false),
  };
}

/** One line on stderr: a backend fallback. */
export const notice = (c: Context) => (line: string) => {
  c.progress.clear();
  process.stderr.write(`wgprune: ${line}\n`);
};

export function backend(c: Context): Promise<ComputeBackend> {
  return openBackend({ backend: oneOf(c.values, 'backend', BACKEND_CHOICES, 'auto'), onNotice: notice(c) });
}

export const output = (c: Context, json: unknown, text: string) => (c.toStderr ? process.stderr : process.stdout).write(c.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);

export const dataValues = (v: Values) => ({ data: str(v, 'data'), images: str(v, 'images'), labels: str(v, 'labels'), testImages: str(v, 'test-images'), testLabels: str(v, 'test-labels'), trainLimit: str(v, 'train-limit'), testLimit: str(v, 'test-limit'), normalize: str(v, 'normalize'), strict: v.strict === true, inputSize: str(v, 'input-size'), augment: str(v, 'augment'), masks: str(v, 'masks'), testMasks: str(v, 'test-masks') });

/**
 * How a command that takes --model and data learns the input size for folders, and where their remarks
 * go; `loadModel` gives the command --model, the file read to size a folder when there was one.
 */
export function dataUse(c: Context, v: Values, trains = true) {
  const name = str(v, 'model');
  let sized: Promise<LoadedModel> | undefined;
  return {
    trains, warn: notice(c),
    inputShape: () => modelInputShape(name, str(v, 'input-size'), () => (sized ??= loadModel(name, [1, 28, 28], 10, 1))),
    loadModel: async (shape: InputShape, classes: number): Promise<LoadedModel> => withTask(await (sized ?? loadModel(name, shape, classes, int(v, 'seed', 1)!)), str(v, 'task')),
  };
}

/** --budget METRIC=VALUE on this accelerator (exit 2 naming the problem), or undefined. */
export function budgetOption(v: Values, accel: AcceleratorConfig): Budget | undefined {
  try {
    return str(v, 'budget') ? parseBudget(str(v, 'budget')!, accel) : undefined;
  } catch (e) {
    throw new UsageError(`--budget: ${(e as Error).message}`);
  }
}

/** --kd [--temperature T] [--alpha A]: distillation from the original model, or undefined; T > 0, A in [0, 1]. */
export function kdOption(v: Values): { temperature: number; alpha: number } | undefined {
  const given = ['temperature', 'alpha'].filter((k) => v[k] !== undefined);
  if (!v.kd) {
    if (given.length) throw new UsageError(`${given.map((k) => `--${k}`).join(' and ')} configure distillation: add --kd`);
    return undefined;
  }
  const temperature = num(v, 'temperature', 4)!, alpha = num(v, 'alpha', 0.7)!;
  if (!(temperature > 0)) throw new UsageError(`--temperature must be > 0, got ${temperature}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new UsageError(`--alpha is the distillation loss's weight, in [0, 1], got ${alpha}`);
  return { temperature, alpha };
}

/** --input CxHxW shapes a zoo model only: a checkpoint or ONNX file has its own. */
export function checkInputFor(v: Values): void {
  const model = str(v, 'model') ?? 'default';
  if (v.input !== undefined && !zoo[model]) throw new UsageError(`--input shapes a zoo model; ${model === 'default' ? 'the shipped checkpoint' : `'${model}'`} has its own input shape`);
}

/** --input CxHxW for zoo models outside a data set's shape (default 1x28x28). */
export function modelInput(v: Values): [number, number, number] {
  checkInputFor(v);
  const text = str(v, 'input') ?? '1x28x28';
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--input must be CxHxW, e.g. 3x32x32, got '${text}'`);
  const dims: [number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // An image of at most 2^26 values (a 4096x4096 RGB image holds 2^25.6): beyond, arrays would not fit.
  if (dims.some((d) => d < 1) || dims[0] * dims[1] * dims[2] > 2 ** 26) throw new UsageError(`--input ${text}: each size at least 1, and at most ${2 ** 26} values in all (C x H x W)`);
  return dims;
}
