// The wgprune command line. Each command is an entry in COMMANDS: its options (parsed by node:util
// parseArgs), help text and run function. Every command takes --json, --config FILE (the same options
// as JSON), --verbose and --help. Exit codes: 0 success, 2 usage error, 1 failure; errors are one line
// on stderr (with the stack only under --verbose).
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Mode, evaluate } from '../accel/cost.js';
import { modelWorkloads } from '../accel/model-workload.js';
import { DEFAULT_PRESET } from '../accel/presets.js';
import { parseScaleSimTopology } from '../accel/scalesim-io.js';
import type { Objective } from '../accel/tiled.js';
import type { Backend } from '../backend.js';
import { readFile } from '../data/sources.js';
import { exportOnnx } from '../onnx/export.js';
import { criteria } from '../prune/criteria/index.js';
import { parseBudget } from '../prune/budget.js';
import type { PruneResume, PruneSchedule } from '../prune/prune.js';
import { paretoChart, renderHtml } from '../report/report.js';
import { runPruneWithFallback, withDeviceFallback } from '../run/fallback.js';
import type { Granularity } from '../run/prune-run.js';
import { pruningHistory } from '../prune/history.js';
import { type Checkpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { writeFileAtomic } from '../train/safetensors.js';
import { type TrainOptions, evaluateModel, train } from '../train/trainer.js';
import { BACKEND_CHOICES, type ComputeBackend, openBackend, schedulerFor } from '../open-backend.js';
import { doctor } from './doctor.js';
import { nearChanceWarning, normalizationText } from '../data/dataset.js';
import { UsageError, dataForModel, loadAccelerator, loadData, loadModel } from './inputs.js';
import { mergeConfigFile } from './config-file.js';
import { checkOutputDir, checkOutputFile, writeOutputs } from './outputs.js';
import { ACCEL, ACCEL_HELP, COMMON, COMMON_HELP, DATA, DATA_HELP, MODEL, MODEL_HELP, type Options, TRAINING, TRAINING_HELP, type Values, int, num, oneOf, str } from './options.js';
import { ProgressView } from './progress.js';

interface Context { values: Values; json: boolean; progress: ProgressView; stop: { requested: boolean } }

interface Command {
  summary: string;
  usage: string;
  options: Options;
  help: Record<string, string>;
  run(c: Context): Promise<unknown>;
}

function trainOptions(v: Values, epochs: number): TrainOptions {
  const optimizer = oneOf(v, 'optimizer', ['adam', 'sgd'] as const, 'adam');
  return {
    epochs: int(v, 'epochs', epochs)!, batchSize: int(v, 'batch-size', 64)!, optimizer, learningRate: num(v, 'lr', optimizer === 'adam' ? 1e-3 : 0.05)!,
    seed: int(v, 'seed', 1)!, schedule: { kind: 'cosine' }, logEvery: 10, maxSteps: int(v, 'max-steps'), maxSeconds: num(v, 'max-seconds'),
  };
}

/** One line on stderr: a backend fallback. */
const notice = (c: Context) => (line: string) => {
  c.progress.clear();
  process.stderr.write(`wgprune: ${line}\n`);
};

function backend(c: Context): Promise<ComputeBackend> {
  return openBackend({ backend: oneOf(c.values, 'backend', BACKEND_CHOICES, 'auto'), onNotice: notice(c) });
}

const output = (c: Context, json: unknown, text: string) => process.stdout.write(c.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);

/** --input CxHxW for zoo models outside a data set's shape (default 1x28x28). */
function modelInput(v: Values): [number, number, number] {
  const text = str(v, 'input') ?? '1x28x28';
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--input must be CxHxW, e.g. 3x32x32, got '${text}'`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
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
      const { train: loaded, test: loadedTest } = loadData(dataValues(v));
      const resume = str(v, 'resume') ? await loadCheckpoint(str(v, 'resume')!) : undefined;
      const { model, source } = resume ? { model: resume.model, source: str(v, 'resume')! } : await loadModel(str(v, 'model') ?? 'lenet5', loaded.shape as [number, number, number], loaded.classes, int(v, 'seed', 1)!);
      const [data, test] = dataForModel(model, str(v, 'normalize'), loaded, loadedTest);
      ensureDir(out);
      let latest = resume;
      const { value: r, backend: be } = await withDeviceFallback(await backend(c), (on) => train(on, model, data, trainOptions(v, 1), {
        resume: latest, onProgress: (p) => c.progress.update(p, 'train'), shouldStop: () => c.stop.requested,
        onCheckpoint: (k) => { latest = k; return saveCheckpoint(out, k); }, checkpointEvery: 200,
      }), () => `step ${latest?.position?.step ?? 0} (${out})`, { onNotice: notice(c) });
      c.progress.clear();
      await saveCheckpoint(out, r.checkpoint);
      if (r.stopped) {
        output(c, { stopped: true, checkpoint: out, step: r.checkpoint.position?.step }, `stopped at step ${r.checkpoint.position?.step}; resume with: wgprune train --resume ${out}`);
        return 130;
      }
      const e = await evaluateModel(be, r.model, test);
      be.destroy();
      output(c, { model: model.spec.name, source, checkpoint: out, accuracy: e.accuracy, loss: e.loss, testCount: e.count }, `${model.spec.name}: test accuracy ${(100 * e.accuracy).toFixed(2)}% (${e.count} images); saved ${out}`);
    },
  },

  eval: {
    summary: 'accuracy and loss of a model on a data set',
    usage: 'wgprune eval --model default --data mnist',
    options: { ...MODEL, ...DATA },
    help: { ...MODEL_HELP, ...DATA_HELP },
    async run(c) {
      const { test: loaded } = loadData(dataValues(c.values));
      const { model, source } = await loadModel(str(c.values, 'model'), loaded.shape as [number, number, number], loaded.classes, int(c.values, 'seed', 1)!);
      const [test] = dataForModel(model, str(c.values, 'normalize'), loaded);
      const be = await backend(c);
      const e = await evaluateModel(be, model, test);
      be.destroy();
      const warning = nearChanceWarning(e.accuracy, model.spec.classes, test);
      if (warning) notice(c)(warning);
      output(c, { model: model.spec.name, source, data: test.name, normalization: test.normalization, ...e },
        `${model.spec.name} (${source}) on ${test.name}: accuracy ${(100 * e.accuracy).toFixed(2)}%, loss ${e.loss.toFixed(4)} (${e.count} images; inputs ${normalizationText(test)})`);
    },
  },

  prune: {
    summary: 'prune to a ratio or an accelerator budget, fine-tune (optionally distilled), write ONNX, checkpoint and report',
    usage: 'wgprune prune --model default --budget latency=0.5 --accel systolic-16x16 --kd --out out/',
    options: {
      ...MODEL, ...DATA, ...ACCEL, ...TRAINING, criterion: { type: 'string' }, granularity: { type: 'string' }, ratio: { type: 'string' }, budget: { type: 'string' },
      nm: { type: 'string' }, schedule: { type: 'string' }, kd: { type: 'boolean' }, temperature: { type: 'string' }, alpha: { type: 'string' },
      'compare-uniform': { type: 'boolean' }, sweep: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
    },
    help: {
      ...MODEL_HELP, ...DATA_HELP, ...ACCEL_HELP, ...TRAINING_HELP,
      '--criterion C': `channel importance: ${Object.keys(criteria).join(', ')} (default l1)`,
      '--granularity G': 'channel (default), unstructured or nm',
      '--ratio R': 'fraction of channels (or weights) to remove, in [0, 1)',
      '--budget B': 'latency=0.5 (fraction of dense), latency=0.1ms, energy=3uJ, dram=..., macs=..., params=...',
      '--nm N:M': 'N:M sparsity pattern (granularity nm), e.g. 2:4',
      '--schedule S': 'one-shot (default), iterative:N, agp:N (ratios); iterative:N shrinks a budget in N steps',
      '--kd': 'distil from the dense model while fine-tuning (--temperature 4, --alpha 0.7)',
      '--compare-uniform': 'also prune uniformly to the same budget, fine-tuned the same way',
      '--sweep F,F,...': 'budget fractions to sweep (accelerator-aware and uniform): the Pareto front',
      '--out DIR': 'where pruned.onnx, pruned.safetensors, report.json and report.html go (default out/)',
      '--resume': 'continue the run stopped with Ctrl-C in --out',
    },
    async run(c) { return pruneCommand(c); },
  },

  simulate: {
    summary: 'per-layer accelerator cost of a model or a SCALE-Sim topology CSV',
    usage: 'wgprune simulate --model default --accel systolic-16x16 [--topology net.csv] [--mode tiled|scalesim] [--objective latency|energy|edp|dram] [--json]',
    options: { ...MODEL, ...ACCEL, topology: { type: 'string' }, objective: { type: 'string' }, input: { type: 'string' } },
    help: { ...MODEL_HELP, ...ACCEL_HELP, '--input CxHxW': 'input shape of a zoo model (default 1x28x28)', '--topology F': 'a SCALE-Sim topology CSV instead of a model', '--objective O': 'what the tile scheduler minimises: latency (default), energy, edp, dram' },
    async run(c) {
      const v = c.values;
      const accel = loadAccelerator(str(v, 'accel'), DEFAULT_PRESET);
      const mode = oneOf(v, 'mode', ['tiled', 'scalesim'] as const, 'tiled') as Mode;
      const objective = oneOf(v, 'objective', ['latency', 'energy', 'edp', 'dram'] as const, 'latency') as Objective;
      let layers;
      let source: string;
      if (str(v, 'topology')) {
        const file = str(v, 'topology')!;
        layers = parseScaleSimTopology(readText(file), file);
        source = file;
      } else {
        const m = await loadModel(str(v, 'model'), modelInput(v), 10, int(v, 'seed', 1)!);
        layers = modelWorkloads(m.model.spec);
        source = m.source;
      }
      const be = mode === 'tiled' ? await backend(c) : undefined;
      const cost = await evaluate(accel, layers, { mode, objective, schedule: be ? schedulerFor(be) : undefined });
      be?.destroy();
      const table = ['layer        GEMM (P x K x M)        cycles    stalls   util  map-eff   SRAM reads   DRAM words   energy nJ',
        ...cost.layers.map((l) => [
          l.name.padEnd(12), (l.vector ? `${l.vector} (vector unit)` : `${l.gemm.P} x ${l.gemm.K} x ${l.gemm.M}${l.gemm.repeats > 1 ? ` x${l.gemm.repeats}` : ''}`).padEnd(22), String(l.cycles).padStart(9), String(l.stallCycles).padStart(9),
          `${(100 * l.utilization).toFixed(1)}%`.padStart(6), `${(100 * l.mappingEfficiency).toFixed(1)}%`.padStart(8),
          String(l.sram.ifmapReads + l.sram.filterReads + l.sram.ofmapReads).padStart(12), String(l.dram.ifmapReads + l.dram.filterReads + l.dram.ofmapReads + l.dram.ofmapWrites).padStart(12),
          (l.energy.total / 1000).toFixed(1).padStart(11),
        ].join(' ')),
        `total: ${cost.total.cycles} cycles = ${cost.latencyMs.toFixed(4)} ms at ${accel.clockMHz} MHz, ${(cost.total.energy.total / 1e6).toFixed(3)} uJ, utilization ${(100 * cost.total.utilization).toFixed(1)}% (${accel.name}, ${mode} mode, ${source})`];
      output(c, { source, ...cost }, table.join('\n'));
    },
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

const dataValues = (v: Values) => ({ data: str(v, 'data'), images: str(v, 'images'), labels: str(v, 'labels'), testImages: str(v, 'test-images'), testLabels: str(v, 'test-labels'), trainLimit: str(v, 'train-limit'), testLimit: str(v, 'test-limit'), normalize: str(v, 'normalize') });

const readText = (file: string): string => new TextDecoder().decode(readFile(file));

function ensureDir(file: string) {
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
  mkdirSync(dir, { recursive: true });
}

function parseSchedule(text: string | undefined): PruneSchedule | undefined {
  if (!text || text === 'one-shot') return text ? { kind: 'one-shot' } : undefined;
  const m = /^(iterative|agp):(\d+)$/.exec(text);
  if (!m || Number(m[2]) < 1) throw new UsageError(`--schedule must be one-shot, iterative:N or agp:N, got '${text}'`);
  return { kind: m[1] as 'iterative' | 'agp', steps: Number(m[2]) };
}

/** Options of the command line, not of the run: a stopped run does not save them, --resume may differ in them (and in --out and --backend). */
const NOT_SAVED_WITH_A_RUN = ['resume', 'help', 'config', 'json', 'verbose'];

async function pruneCommand(c: Context): Promise<number | void> {
  const outDir = str(c.values, 'out') ?? 'out';
  checkOutputDir('--out', outDir);
  const resumeFile = join(outDir, 'resume.safetensors');
  let resume: PruneResume | undefined;
  let v = c.values;
  if (v.resume) {
    const saved: Checkpoint = await loadCheckpoint(resumeFile);
    const info = saved.info as { options: Values; step: number; kept: [number, number[]][] } | undefined;
    if (!info?.options) throw new Error(`${resumeFile}: not a stopped prune run`);
    // A resumed run is the stopped one: options given again must not change it.
    const changed = Object.entries(v).filter(([k, x]) => ![...NOT_SAVED_WITH_A_RUN, 'out', 'backend'].includes(k) && x !== undefined && info.options[k] !== x);
    if (changed.length) {
      const given = changed.map(([k, x]) => `--${k}${x === true ? '' : ` ${x}`} (the run has ${info.options[k] ?? 'none'})`);
      throw new UsageError(`--resume continues the stopped run with its own options; ${given.join(', ')} would change it. Drop them, or start a new run in another --out`);
    }
    v = { ...info.options, out: outDir };
    resume = { step: info.step, kept: new Map(info.kept), training: saved };
  }
  const granularity = oneOf(v, 'granularity', ['channel', 'unstructured', 'nm'] as const, 'channel') as Granularity;
  const criterion = str(v, 'criterion') ?? 'l1';
  if (!criteria[criterion]) throw new UsageError(`--criterion '${criterion}': use one of ${Object.keys(criteria).join(', ')}`);
  const accel = loadAccelerator(str(v, 'accel'), DEFAULT_PRESET);
  const ratio = num(v, 'ratio');
  if (ratio !== undefined && !(ratio >= 0 && ratio < 1)) throw new UsageError(`--ratio must be in [0, 1), got ${ratio}`);
  let budget;
  try {
    budget = str(v, 'budget') ? parseBudget(str(v, 'budget')!, accel) : undefined;
  } catch (e) {
    throw new UsageError(`--budget: ${(e as Error).message}`);
  }
  if (granularity === 'channel' && ratio === undefined && budget === undefined) throw new UsageError('prune needs --ratio R or --budget METRIC=VALUE');
  if (granularity === 'channel' && ratio !== undefined && budget !== undefined) throw new UsageError('give --ratio or --budget, not both');
  let nm;
  if (granularity === 'nm') {
    const m = /^(\d+):(\d+)$/.exec(str(v, 'nm') ?? '2:4');
    if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new UsageError(`--nm must be N:M with 1 <= N <= M, got '${str(v, 'nm')}'`);
    nm = { n: Number(m[1]), m: Number(m[2]) };
  }
  if (granularity === 'unstructured' && ratio === undefined) throw new UsageError('unstructured pruning needs --ratio');
  // Combinations the run cannot honour are refused, not dropped.
  const schedule = parseSchedule(str(v, 'schedule'));
  if (schedule && schedule.kind !== 'one-shot' && granularity !== 'channel') throw new UsageError(`--schedule ${str(v, 'schedule')} applies to channel pruning; --granularity ${granularity} prunes in one shot`);
  if (schedule?.kind === 'agp' && budget) throw new UsageError(`--schedule agp:N follows a ratio; with --budget use iterative:N (the budget shrinks in N equal steps)`);
  if (budget && granularity !== 'channel') throw new UsageError(`--budget applies to channel pruning; --granularity ${granularity} takes --ratio`);
  const sweep = str(v, 'sweep')?.split(',').map((x) => {
    const f = Number(x);
    if (!(f > 0 && f <= 1)) throw new UsageError(`--sweep takes fractions in (0, 1], got '${x}'`);
    return f;
  });
  const { train: loaded, test: loadedTest } = loadData(dataValues(v));
  const { model, source } = await loadModel(str(v, 'model'), loaded.shape as [number, number, number], loaded.classes, int(v, 'seed', 1)!);
  const [trainData, test] = dataForModel(model, str(v, 'normalize'), loaded, loadedTest);
  const be = await backend(c);
  const fineTune = trainOptions(v, 1);
  const kd = v.kd ? { temperature: num(v, 'temperature', 4)!, alpha: num(v, 'alpha', 0.7)! } : undefined;

  const run = await runPruneWithFallback(be, {
    model, modelSource: source, train: trainData, test, accelerator: accel, mode: oneOf(v, 'mode', ['tiled', 'scalesim'] as const, 'tiled') as Mode,
    criterion, granularity, ratio, budget, nm, schedule,
    fineTune, kd, compareUniform: v['compare-uniform'] === true, sweep, seed: int(v, 'seed', 1)!,
    onPhase: (t) => c.progress.phase(t), onProgress: (p, phase) => c.progress.update(p, phase), onPlanProgress: (p) => c.progress.plan(p), shouldStop: () => c.stop.requested, resume,
  }, { onNotice: notice(c) });
  c.progress.clear();
  mkdirSync(outDir, { recursive: true });
  if (run.result.interrupted) {
    const i = run.result.interrupted;
    const options = Object.fromEntries(Object.entries(v).filter(([k]) => !NOT_SAVED_WITH_A_RUN.includes(k)));
    await saveCheckpoint(resumeFile, { ...i.training, info: { options, step: i.step, kept: [...i.kept] } });
    output(c, { stopped: true, resume: resumeFile }, `stopped; the run is saved in ${resumeFile}. Continue with: wgprune prune --resume --out ${outDir}`);
    run.backend.destroy();
    return 130;
  }
  const files: Record<string, string> = { onnx: join(outDir, 'pruned.onnx'), checkpoint: join(outDir, 'pruned.safetensors'), json: join(outDir, 'report.json'), html: join(outDir, 'report.html') };
  const contents: Record<string, Uint8Array | string> = {
    'pruned.onnx': exportOnnx(run.pruned),
    'pruned.safetensors': encodeCheckpoint({
      model: run.pruned, optimizer: new Map(),
      info: { report: files.json, ...(granularity === 'channel' ? { pruning: pruningHistory(model.spec, run.result.groups, run.result.kept) } : {}) },
    }),
    'report.json': `${JSON.stringify(run.report, null, 2)}\n`,
    'report.html': renderHtml(run.report),
  };
  if (run.report.sweep) {
    // The Pareto front on its own too, for scripts and slides.
    Object.assign(files, { pareto: join(outDir, 'pareto.json'), paretoSvg: join(outDir, 'pareto.svg') });
    contents['pareto.json'] = `${JSON.stringify(run.report.sweep, null, 2)}\n`;
    contents['pareto.svg'] = paretoChart(run.report)!;
  }
  await writeOutputs(outDir, contents);
  // A finished run leaves no resume state behind.
  if (resume) await rm(resumeFile, { force: true });
  run.backend.destroy();
  const r = run.report;
  const line = (name: string, s: typeof r.dense) => `${name.padEnd(8)} accuracy ${s.accuracy === undefined ? 'n/a' : `${(100 * s.accuracy).toFixed(2)}%`}  params ${s.params}  MACs ${s.macs}  cycles ${s.cycles} (${s.latencyMs.toFixed(4)} ms)  energy ${s.energyUJ.toFixed(3)} uJ`;
  output(c, { files, report: r }, [
    line('dense', r.dense), line('pruned', r.pruned), ...(r.uniform ? [line(`uniform`, r.uniform)] : []),
    ...(r.budget ? [`budget ${r.budget.text} = ${Math.round(r.budget.value)} ${r.budget.unit}: ${r.budget.met ? 'met' : 'NOT met'}; latency ${(r.pruned.cycles / r.dense.cycles).toFixed(3)}x dense, energy ${(r.pruned.energyUJ / r.dense.energyUJ).toFixed(3)}x`] : []),
    ...r.notes.map((n) => `note: ${n}`),
    `backend ${r.backend}`,
    `wrote ${files.onnx}, ${files.checkpoint}, ${files.json}, ${files.html} (${r.seconds.total.toFixed(0)} s)`,
  ].join('\n'));
  if (r.stopped) return 130;
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
    try {
      values = parseArgs({ args: rest, options, strict: true, allowPositionals: name === 'bench' }).values as Values;
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
    const code = await cmd.run({ values, json, progress: new ProgressView(undefined, false, json), stop });
    process.off('SIGINT', onSigint);
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    const usage = e instanceof UsageError;
    process.stderr.write(`wgprune: ${usage ? 'usage: ' : ''}${(e as Error).message}\n`);
    if (verbose && !usage) process.stderr.write(`${(e as Error).stack}\n`);
    if (usage) process.stderr.write(`see 'wgprune ${COMMANDS[name] ? `${name} ` : ''}--help'\n`);
    return usage ? 2 : 1;
  }
}

