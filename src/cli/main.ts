// The wgprune command line. Each command is an entry in COMMANDS: its options (parsed by node:util
// parseArgs), help text and run function. Every command takes --json, --config FILE (the same options
// as JSON), --verbose and --help. Exit codes: 0 success, 2 usage error, 1 failure; errors are one line
// on stderr (with the stack only under --verbose).
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exportOnnx } from '../onnx/export.js';
import { withDeviceFallback } from '../run/fallback.js';
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { writeFileAtomic } from '../train/safetensors.js';
import { type TrainOptions, train } from '../train/trainer.js';
import { evaluateModel } from '../train/evaluate.js';
import { BACKEND_CHOICES } from '../open-backend.js';
import { doctor } from './doctor.js';
import { StopRequested } from '../interrupt.js';
import { DataError, nearChanceWarning, normalizationText } from '../data/dataset.js';
import { UsageError, dataForModel, loadData, loadModel, withTask } from './inputs.js';
import { scoreText } from '../report/report.js';
import { mergeConfigFile } from './config-file.js';
import { checkOutputFile } from './outputs.js';
import { ACCEL, ACCEL_HELP, COMMON, COMMON_HELP, DATA, DATA_HELP, MODEL, MODEL_HELP, type Options, TRAINING, TRAINING_HELP, type Values, int, oneOf, str } from './options.js';
import { ProgressView } from './progress.js';
import { simulateCommand } from './simulate-command.js';
import { type Context, backend, dataUse, dataValues, modelInput, notice, output, trainOptions } from './context.js';
import { PRUNE_HELP, PRUNE_OPTIONS, pruneCommand } from './prune-command.js';
import { sweepCommand } from './sweep-command.js';
import { mergeCommand } from './merge-command.js';
import { decomposeCommand } from './decompose-command.js';
import { quantizeCommand } from './quantize-command.js';

interface Command {
  summary: string;
  usage: string;
  options: Options;
  help: Record<string, string>;
  run(c: Context): Promise<unknown>;
}

/** Training flags and the options a checkpoint's run started with: --resume continues that run, so none may differ. */
const TRAINING_FIELDS: [string, keyof TrainOptions][] = [['epochs', 'epochs'], ['batch-size', 'batchSize'], ['optimizer', 'optimizer'], ['lr', 'learningRate'], ['seed', 'seed'], ['max-steps', 'maxSteps'], ['max-seconds', 'maxSeconds']];

function checkTrainResume(file: string, resume: Checkpoint, v: Values, given: TrainOptions, dataName: string): void {
  const saved = resume.position?.options as Partial<TrainOptions> | undefined;
  const changed = TRAINING_FIELDS.filter(([flag, field]) => v[flag] !== undefined && saved && saved[field] !== given[field]).map(([flag, field]) => `--${flag} ${v[flag]} (the run has ${saved![field] ?? 'none'})`);
  if (v.model !== undefined) changed.push(`--model ${v.model} (the run trains the model in ${file})`);
  const trainData = resume.info?.trainData;
  if (typeof trainData === 'string' && trainData !== dataName) changed.push(`training data ${dataName} (the run trains on ${trainData})`);
  if (changed.length) throw new UsageError(`--resume continues the stopped run with its own options; ${changed.join(', ')} would change it. Drop them, or start a new run`);
}

const COMMANDS: Record<string, Command> = {
  doctor: {
    summary: 'which compute backend and adapter would be used, and why',
    usage: 'wgprune doctor [--backend auto|webgpu|gpujs|native] [--json]',
    options: {}, help: {},
    async run(c) {
      const r = await doctor(oneOf(c.values, 'backend', BACKEND_CHOICES, 'auto'));
      output(c, r.json, r.text);
      return r.ok ? 0 : 1;
    },
  },

  train: {
    summary: 'train a model (zoo, checkpoint or ONNX) on a data set; Ctrl-C saves a resumable checkpoint',
    usage: 'wgprune train --model lenet5 --data mnist --epochs 2 --out model.safetensors [--resume model.safetensors]',
    options: { ...MODEL, ...DATA, ...TRAINING, out: { type: 'string' }, resume: { type: 'string' } },
    help: { ...MODEL_HELP, ...DATA_HELP, ...TRAINING_HELP, '--out F': 'checkpoint to write (default out/model.safetensors)', '--resume F': 'continue a stopped run from its checkpoint' },
    async run(c) {
      const v = c.values;
      const out = str(v, 'out') ?? 'out/model.safetensors';
      checkOutputFile('--out', out);
      const options = trainOptions(v, 1);
      const { train: loaded, test: loadedTest } = await loadData(dataValues(v), dataUse(c, v));
      if (loaded.unlabelled && !loaded.masks) throw new UsageError(`${loaded.name} has no labels to train on: give labels (class subfolders, --labels), or --masks for a segmentation model (prune fine-tunes without labels, by distillation)`);
      const resume = str(v, 'resume') ? await loadCheckpoint(str(v, 'resume')!) : undefined;
      if (resume) checkTrainResume(str(v, 'resume')!, resume, v, options, loaded.name);
      const { model, source } = resume ? { model: resume.model, source: str(v, 'resume')! } : withTask(await loadModel(str(v, 'model') ?? 'lenet5', loaded.shape as [number, number, number], loaded.classes, int(v, 'seed', 1)!), str(v, 'task'));
      const [data, test] = dataForModel(model, str(v, 'normalize'), loaded, loadedTest);
      ensureDir(out);
      let latest = resume;
      // Checkpoints name their training set, so that --resume can refuse another.
      const withData = (k: Checkpoint): Checkpoint => ({ ...k, info: { ...k.info, trainData: loaded.name } });
      const { value: r, backend: be } = await withDeviceFallback(await backend(c), (on) => train(on, model, data, options, {
        resume: latest, onProgress: (p) => c.progress.update(p, 'train'), shouldStop: () => c.stop.requested,
        onCheckpoint: (k) => { latest = k; return saveCheckpoint(out, withData(k)); }, checkpointEvery: 200,
      }), () => `step ${latest?.position?.step ?? 0} (${out})`, { onNotice: notice(c) });
      c.progress.clear();
      await saveCheckpoint(out, withData(r.checkpoint));
      if (r.stopped) {
        output(c, { stopped: true, checkpoint: out, step: r.checkpoint.position?.step }, `stopped at step ${r.checkpoint.position?.step}; resume with: wgprune train --resume ${out}`);
        return 130;
      }
      const e = await evaluateModel(be, r.model, test);
      be.destroy();
      output(c, { model: model.spec.name, source, checkpoint: out, ...e, testCount: e.count }, `${model.spec.name}: test ${scoreText(e)} (${e.count} images); saved ${out}`);
    },
  },

  eval: {
    summary: 'accuracy and loss of a model on a data set (mean IoU with masks; agreement with --reference on images without labels)',
    usage: 'wgprune eval --model default --data mnist',
    options: { ...MODEL, ...DATA, reference: { type: 'string' } },
    help: { ...MODEL_HELP, ...DATA_HELP, '--reference M': "on images without labels: the model (the dense one, .onnx or .safetensors) whose outputs the scores compare with: top-1 agreement for logits, the outputs' cosine similarity and SNR otherwise" },
    async run(c) {
      const use = dataUse(c, c.values, false);
      const { test: loaded } = await loadData(dataValues(c.values), use);
      const referenceName = str(c.values, 'reference');
      const unlabelled = loaded.unlabelled && !loaded.masks;
      if (unlabelled && !referenceName) throw new UsageError(`${loaded.name} has no labels to evaluate against: give labels (class subfolders, --test-labels), --masks, or compare with the dense model (--reference M)`);
      if (referenceName && !unlabelled) throw new UsageError(`--reference compares outputs on images without labels; ${loaded.name} has ${loaded.masks ? 'masks' : 'labels'}: drop --reference`);
      const { model, source } = await use.loadModel(loaded.shape as [number, number, number], loaded.classes);
      const [test] = dataForModel(model, str(c.values, 'normalize'), loaded);
      const reference = referenceName ? withTask(await loadModel(referenceName, model.spec.inputShape, model.spec.classes, 1), model.spec.task).model : undefined;
      const be = await backend(c);
      c.progress.phase(`evaluating ${model.spec.name} on ${test.count} images (${test.name})`);
      const e = await evaluateModel(be, model, test, { batchSize: 256, shouldStop: () => c.stop.requested, reference }).finally(() => be.destroy());
      const warning = e.metric === 'top-1' && nearChanceWarning(e.accuracy, model.spec.classes, test);
      if (warning) notice(c)(warning);
      output(c, { model: model.spec.name, source, data: test.name, normalization: test.normalization, ...e },
        `${model.spec.name} (${source}) on ${test.name}: ${scoreText(e)}, loss ${e.loss.toFixed(4)} (${e.count} images; inputs ${normalizationText(test)})`);
    },
  },

  prune: {
    summary: 'prune to a ratio or an accelerator budget, fine-tune (optionally distilled), write ONNX, checkpoint and report',
    usage: 'wgprune prune --model default --budget latency=0.5 --accel systolic-16x16 --kd --out out/',
    options: PRUNE_OPTIONS, help: PRUNE_HELP,
    async run(c) { return pruneCommand(c); },
  },

  decompose: {
    summary: 'low-rank decomposition (SVD, Tucker-2, CP) by kept energy, by VBMF or to an accelerator budget, fine-tuned; ONNX, checkpoint and report',
    usage: 'wgprune decompose --model default --budget latency=0.7|--keep-energy 0.9|--vbmf --accel systolic-16x16 [--method auto|svd|tucker2|cp] [--kd] --out out/',
    options: {
      ...MODEL, ...DATA, ...ACCEL, ...TRAINING, method: { type: 'string' }, 'keep-energy': { type: 'string' }, vbmf: { type: 'boolean' }, budget: { type: 'string' },
      kd: { type: 'boolean' }, temperature: { type: 'string' }, alpha: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
    },
    help: {
      ...MODEL_HELP, ...DATA_HELP, ...ACCEL_HELP, ...TRAINING_HELP,
      '--method M': 'auto (default: svd and tucker2), svd (linear and 1x1 layers), tucker2 or cp (KxK convolutions)',
      '--keep-energy E': 'ranks keeping this share of each spectrum\'s energy, e.g. 0.9',
      '--vbmf': 'ranks by empirical VBMF: the components above the noise level each spectrum implies (Kim et al., ICLR 2016)',
      '--budget B': 'plan ranks to latency=0.7, energy=..., ... on the accelerator (layers whose split does not pay stay whole)',
      '--kd': 'distil from the original model while fine-tuning (--temperature 4, --alpha 0.7)',
      '--out DIR': 'where decomposed.onnx, decomposed.safetensors, report.json and report.html go (default out/)',
      '--resume': 'continue the run stopped with Ctrl-C in --out',
    },
    async run(c) { return decomposeCommand(c); },
  },

  quantize: {
    summary: 'post-training quantization (calibrated, batch norm folded) and optional quantization-aware training; QDQ ONNX, checkpoint and report',
    usage: 'wgprune quantize --model default --bits 8 [--activation-bits N] [--calibrate percentile|minmax|entropy|mse] [--qat [--kd]] --accel systolic-16x16 --out out/',
    options: {
      ...MODEL, ...DATA, ...ACCEL, ...TRAINING, bits: { type: 'string' }, calibrate: { type: 'string' }, percentile: { type: 'string' }, 'calibration-images': { type: 'string' },
      weights: { type: 'string' }, activations: { type: 'string' }, 'activation-bits': { type: 'string' }, 'edge-bits': { type: 'string' }, qat: { type: 'boolean' },
      kd: { type: 'boolean' }, temperature: { type: 'string' }, alpha: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
    },
    help: {
      ...MODEL_HELP, ...DATA_HELP, ...ACCEL_HELP, ...TRAINING_HELP,
      '--bits N': 'weight and activation bits, 2-16 (default 8; the ONNX export holds 8 at most), or 1: binary weights sign(w)·mean|w| (XNOR-Net; train them with --qat)',
      '--activation-bits N': 'activation bits when they differ (default --bits; 8 with binary weights); 1: ±mean|x| for signed inputs, {0, t} after a ReLU',
      '--edge-bits N': 'bits of the first and last layers (default 8 with binary weights, else --bits)',
      '--calibrate C': 'activation ranges by percentile (default), minmax, entropy (KL, as TensorRT) or mse',
      '--percentile P': 'the percentile of |x| kept (default 99.99)',
      '--calibration-images N': 'training images to calibrate on (default 512)',
      '--weights W': 'per-channel (default) or per-tensor weight scales',
      '--activations A': 'asymmetric (default: unsigned with a zero point) or symmetric (TensorRT-style) activation grids',
      '--qat': 'quantization-aware training after calibration, with the training options (Adam at lr 1e-4, 1e-3 with one-bit layers, unless --lr)',
      '--kd': 'distil from the float model during QAT (--temperature 4, --alpha 0.7)',
      '--out DIR': 'where quantized.onnx, quantized.safetensors, report.json and report.html go (default out/)',
      '--resume': 'continue the QAT stopped with Ctrl-C in --out',
    },
    async run(c) { return quantizeCommand(c); },
  },

  simulate: {
    summary: 'per-layer accelerator cost of a model or a SCALE-Sim topology CSV',
    usage: 'wgprune simulate --model default --accel systolic-16x16 [--topology net.csv] [--mode tiled|scalesim] [--objective latency|energy|edp|dram] [--reports DIR] [--json]',
    options: { ...MODEL, ...ACCEL, topology: { type: 'string' }, objective: { type: 'string' }, input: { type: 'string' }, reports: { type: 'string' } },
    help: {
      ...MODEL_HELP, ...ACCEL_HELP, '--input CxHxW': 'input shape of a zoo model (default 1x28x28)', '--topology F': 'a SCALE-Sim topology CSV instead of a model',
      '--objective O': 'what the tile scheduler minimises: latency (default), energy, edp, dram',
      '--reports DIR': "with --mode scalesim: write SCALE-Sim v2's COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv into DIR (its columns, one row per array layer)",
    },
    async run(c) { return simulateCommand(c); },
  },

  export: {
    summary: 'write a model (checkpoint, zoo or ONNX) as ONNX (opset 13)',
    usage: 'wgprune export --model out/pruned.safetensors --out model.onnx',
    options: { ...MODEL, out: { type: 'string' }, input: { type: 'string' } },
    help: { ...MODEL_HELP, '--input CxHxW': 'input shape of a zoo model (default 1x28x28)', '--out F': 'the .onnx file to write (default out/model.onnx)' },
    async run(c) {
      const out = str(c.values, 'out') ?? 'out/model.onnx';
      checkOutputFile('--out', out);
      const { model, source } = await loadModel(str(c.values, 'model'), modelInput(c.values), 10, int(c.values, 'seed', 1)!);
      ensureDir(out);
      const bytes = exportOnnx(model);
      await writeFileAtomic(out, bytes);
      output(c, { source, out, bytes: bytes.length }, `wrote ${out} (${bytes.length} bytes) from ${source}`);
    },
  },

  sweep: {
    summary: 'run a plan of prune runs (models x data x accelerators x budgets x criteria x fine-tuning x seeds), or this shard\'s share of it',
    usage: 'wgprune sweep --plan sweep.yaml --out out/sweep [--shard I/N | --shards N] [--list]',
    options: { plan: { type: 'string' }, out: { type: 'string' }, shard: { type: 'string' }, shards: { type: 'string' }, list: { type: 'boolean' }, 'checkpoint-every': { type: 'string' }, threads: { type: 'string' } },
    help: {
      '--plan FILE': 'the plan, JSON or YAML: lists of models, data, accelerators, budgets, criteria, fine-tune, seeds (each entry a value of its flag, or an object of prune flags) and options (prune flags for every row); rows are their cross product',
      '--out DIR': 'where rows go (DIR/rows/<row-id>/: prune\'s outputs and row.json) and DIR/plan.json (default out/sweep)',
      '--shard I/N': 'run shard I of N (0-based): rows balanced by estimated cost, the same split for a plan every time',
      '--shards N': 'N shards, this one JOB_COMPLETION_INDEX (set in each pod of a Kubernetes Indexed Job)',
      '--list': 'print the rows, their ids and share of the estimated work (and shard, with --shard/--shards), and run nothing',
      '--checkpoint-every N': 'fine-tuning steps between a row\'s saved states (default 25): a killed row continues from its last',
      '--threads N': 'CPU threads of the native backend (default: every core; WGPRUNE_THREADS): shards sharing a machine give each its share of the cores',
    },
    async run(c) { return sweepCommand(c); },
  },

  merge: {
    summary: 'merge a sweep\'s finished rows into results.json, results.csv and report.html, naming the missing rows',
    usage: 'wgprune merge out/sweep [--complete]',
    options: { complete: { type: 'boolean' } },
    help: { OUT: 'the sweep\'s --out folder', '--complete': 'exit 1 while rows are missing (the merge is written anyway)' },
    async run(c) { return mergeCommand(c, c.positionals ?? []); },
  },

  bench: {
    summary: 'benchmarks against peers measured in the same run (kernels, training, accelerator, pruning)',
    usage: 'wgprune bench [kernels|training|accelerator|pruning]',
    options: {}, help: {},
    async run() {
      const { spawnSync } = await import('node:child_process');
      const root = new URL('../../', import.meta.url);
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...process.argv.slice(3).filter((a) => !a.startsWith('--'))], { cwd: root, stdio: 'inherit' });
      return r.status ?? 1;
    },
  },
};


function ensureDir(file: string) {
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
  mkdirSync(dir, { recursive: true });
}

function help(name?: string): string {
  if (!name) {
    return ['wgprune: accelerator-aware CNN pruning on WebGPU', '', 'usage: wgprune <command> [options]', '', 'commands:',
      ...Object.entries(COMMANDS).map(([n, cmd]) => `  ${n.padEnd(10)} ${cmd.summary}`), '', "'wgprune <command> --help' for a command's options."].join('\n');
  }
  const cmd = COMMANDS[name];
  const rows = Object.entries({ ...cmd.help, ...COMMON_HELP });
  return [`wgprune ${name}: ${cmd.summary}`, '', `usage: ${cmd.usage}`, '', 'options:', ...rows.map(([k, d]) => `  ${k.padEnd(34)} ${d}`)].join('\n');
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const verbose = argv.includes('--verbose');
  if (verbose) process.env.WGPRUNE_DRIVER_WARNINGS = '1'; // Dawn's driver warnings on stderr (see webgpu/device.ts)
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(`${help(rest[0] && COMMANDS[rest[0]] ? rest[0] : undefined)}\n`);
      return name ? 0 : 2;
    }
    const cmd = COMMANDS[name];
    if (!cmd) throw new UsageError(`unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')}`);
    const options = { ...COMMON, ...cmd.options };
    let values: Values;
    let positionals: string[] = [];
    try {
      const parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: name === 'bench' || name === 'merge' });
      values = parsed.values as Values;
      positionals = parsed.positionals;
    } catch (e) {
      const message = (e as Error).message;
      const ambiguous = /^Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument is ambiguous/.exec(message);
      if (ambiguous) throw new UsageError(`${ambiguous[1]} needs a value; a value starting with '-' is written ${ambiguous[1]}=-VALUE`);
      throw new UsageError(message.replace(/\. To specify.*$/s, '').replace(/^Unknown option/, 'unknown option'));
    }
    if (values.help) {
      process.stdout.write(`${help(name)}\n`);
      return 0;
    }
    if (values.config) mergeConfigFile(values.config as string, values, options, name);
    const stop = { requested: false };
    const onSigint = () => {
      if (stop.requested) process.exit(130);
      stop.requested = true;
      process.stderr.write('\nstopping after this step (Ctrl-C again to quit at once)\n');
    };
    process.on('SIGINT', onSigint);
    const json = values.json === true;
    const code = await cmd.run({ values, positionals, json, progress: new ProgressView(undefined, false, json), stop });
    process.off('SIGINT', onSigint);
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    if (e instanceof StopRequested) {
      process.stderr.write(`wgprune: ${e.message}; it has nothing to resume from: run it again\n`);
      return 130;
    }
    const usage = e instanceof UsageError || e instanceof DataError;
    process.stderr.write(`wgprune: ${usage ? 'usage: ' : ''}${(e as Error).message}\n`);
    if (verbose && !usage) process.stderr.write(`${(e as Error).stack}\n`);
    if (usage) process.stderr.write(`see 'wgprune ${COMMANDS[name] ? `${name} ` : ''}--help'\n`);
    return usage ? 2 : 1;
  }
}

