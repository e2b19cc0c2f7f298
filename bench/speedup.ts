// `npm run bench -- speedup` (issue 38): does pruning make the model faster on our own backends? For the
// zoo's CNNs and PyTorch's own export of ResNet-18 (64x64, batch norms folded), pruned to 0.5 and 0.3 of
// their channels (l1, uniform) and compacted: evaluation throughput (batch 256; as the product runs it,
// the fastest of the native backend's compiled graph, per-sample runtime and op-by-op path, and each of
// them) and training
// throughput (batch 64, SGD) dense against compacted,
// on the native backend, WebGPU and gpu.js, next to onnxruntime running the exported ONNX (same threads),
// with the MAC ratio beside them. Then ResNet-18 at 64x64, batch 64: training throughput and peak resident
// memory, ours (a fresh process: bench/train-child.ts) against PyTorch's (bench/python/torch_training.py).
// SPEEDUP_MODELS picks models, SPEEDUP_BACKENDS the backends besides native (default webgpu,gpujs; empty
// for none); those (SwiftShader and WebAssembly here) run the models in SPEEDUP_SLOW_MODELS only (default
// lenet5, resnet20: minutes each). SPEEDUP_ROUNDS: rounds of the native measurements (default 3).
// SPEEDUP_ROUND_TO=N keeps a multiple of N channels per group (prune --round-to: a CPU's 16-lane vectors);
// SPEEDUP_MEMORY=off skips the ResNet-18 memory comparison.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { Backend } from '../src/backend.js';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { macsOf } from '../src/accel/workload.js';
import { type Model, initModel } from '../src/model/model.js';
import { zooModel } from '../src/model/zoo.js';
import { NativeBackend } from '../src/native/backend.js';
import { exportOnnx } from '../src/onnx/export.js';
import { importOnnx } from '../src/onnx/import.js';
import { type ComputeBackend, openBackend } from '../src/open-backend.js';
import { ChannelPruner, byRatio } from '../src/prune/pruner.js';
import { Rng } from '../src/random.js';
import { TUNE_BATCHES, inferenceNetwork } from '../src/train/inference.js';
import { oursThroughput } from './training.js';
import { median, table } from './util.js';

const KEEPS = [0.5, 0.3];
const ROUND_TO = process.env.SPEEDUP_ROUND_TO ? Number(process.env.SPEEDUP_ROUND_TO) : undefined;
const EVAL_BATCH = 256;
const SLOW_EVAL_BATCH = 32; // SwiftShader and WebAssembly: seconds per batch of 256
const REPEATS = 5;
const ROUNDS = Number(process.env.SPEEDUP_ROUNDS ?? 3);
/** The median of the values measured (undefined where none was). */
const medianOf = (v: (number | string | undefined)[]) => { const d = v.filter((x): x is number => typeof x === 'number'); return d.length ? median(d) : undefined; };
/** The engines the rounds chose, most often first ('compiled', 'per-op', or both as 'compiled/per-op'). */
const enginesOf = (v: (number | string | undefined)[]) => [...new Set(v.filter((x): x is string => typeof x === 'string'))].join('/');
const env = process.env;
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const script = (name: string) => new URL(`./python/${name}`, import.meta.url).pathname;

const macs = (m: Model) => modelWorkloads(m.spec).reduce((s, l) => s + macsOf(l), 0);
const rate = (v: number | string | undefined) => (typeof v !== 'number' ? (v ?? 'n/a') : v >= 100 ? v.toFixed(0) : v.toFixed(1));

/** The zoo's models at their usual inputs, and torchvision's ResNet-18 as PyTorch exports it (where python3-torch is installed). */
function subject(name: string): Model | string {
  if (name !== 'resnet18-torch') return initModel(zooModel(name, name === 'lenet5' ? [1, 28, 28] : [3, 32, 32], 10), 1);
  mkdirSync('out', { recursive: true });
  const file = 'out/resnet18-torch-64.onnx';
  if (!existsSync(file)) {
    const r = spawnSync(python, [script('export_resnet18.py'), file, '--size', '64'], { encoding: 'utf8' });
    if (r.status !== 0) return `n/a: PyTorch's export failed (${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}); apt-get install python3-torch python3-torchvision`;
  }
  return importOnnx(readFileSync(file));
}

/**
 * Evaluation throughput of each model and the engine that ran: the product's choice (both timed, the
 * faster kept), or one forced. The models' passes take turns, REPEATS each, so that a drift of this
 * machine's speed reaches dense and compacted alike (their ratio is what the bench reports).
 */
async function evalRates(be: Backend, models: Model[], batch: number, engine?: 'compiled' | 'samplewise' | 'per-op'): Promise<{ rate: number | string; engine: string }[]> {
  const runs = models.map((m) => {
    const net = inferenceNetwork(be, m, { batches: TUNE_BATCHES, perOp: engine === 'per-op', compiled: engine === 'compiled', samplewise: engine === 'samplewise' });
    const x = be.upload(new Rng(1).uniformArray(batch * m.spec.inputShape.reduce((a, b) => a * b)), [batch, ...m.spec.inputShape]);
    return { net, x, pass: async () => { const f = net.forward(x); await be.read(f.logits); net.release(f); } };
  });
  // The product's choice first (its first batches take turns between the engines), then its pace.
  for (const r of runs) for (let i = 0; i < (engine ? 1 : TUNE_BATCHES); i++) await r.pass();
  const ms = await alternating(runs.map((r) => r.pass));
  // A forced engine the model cannot take (it ran another): no figure.
  const rates = runs.map((r, i) => ({ rate: engine && r.net.engine !== engine ? 'n/a' : (batch * 1000) / ms[i], engine: r.net.engine }));
  for (const r of runs) { be.dispose(r.x); r.net.dispose(); }
  return rates;
}

/** The median time of each pass over REPEATS rounds in which the passes take turns. */
async function alternating(passes: (() => Promise<void>)[]): Promise<number[]> {
  const times = passes.map(() => [] as number[]);
  for (let round = 0; round < REPEATS; round++) {
    for (const [i, pass] of passes.entries()) {
      const t0 = performance.now();
      await pass();
      times[i].push(performance.now() - t0);
    }
  }
  return times.map(median);
}

/** onnxruntime-node's public API on our export of each model, with the native backend's threads, passes taking turns. */
async function ortRates(models: Model[], batch: number, threads: number): Promise<number[]> {
  const runs = await Promise.all(models.map(async (m) => {
    const s = await ort.InferenceSession.create(exportOnnx(m), { intraOpNumThreads: threads, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    const x = new ort.Tensor('float32', new Rng(1).uniformArray(batch * m.spec.inputShape.reduce((a, b) => a * b)), [batch, ...m.spec.inputShape]);
    return { s, pass: async () => { await s.run({ [s.inputNames[0]]: x }); } };
  }));
  for (const r of runs) await r.pass(); // warm-up
  const ms = await alternating(runs.map((r) => r.pass));
  for (const r of runs) await r.s.release();
  return ms.map((t) => (batch * 1000) / t);
}

type Rates = Record<string, number | string | undefined>;

/** The native columns of every variant of one model, each column measured with the variants taking turns. */
async function measureNative(be: NativeBackend, models: Model[]): Promise<Rates[]> {
  const tuned = await evalRates(be, models, EVAL_BATCH);
  const compiled = await evalRates(be, models, EVAL_BATCH, 'compiled');
  const samplewise = await evalRates(be, models, EVAL_BATCH, 'samplewise');
  const perOp = await evalRates(be, models, EVAL_BATCH, 'per-op');
  const onnxruntime = await ortRates(models, EVAL_BATCH, be.threads);
  const rates: Rates[] = [];
  for (const [i, m] of models.entries()) {
    rates.push({
      'native eval': tuned[i].rate, engine: tuned[i].engine, 'native compiled': compiled[i].rate, 'native samplewise': samplewise[i].rate, 'native per-op': perOp[i].rate,
      onnxruntime: onnxruntime[i], 'native train': (await oursThroughput(be, m.spec)).samplesPerSecond,
    });
  }
  return rates;
}

async function measureSlow(name: string, be: ComputeBackend, m: Model): Promise<Rates> {
  return { [`${name} eval`]: (await evalRates(be, [m], SLOW_EVAL_BATCH))[0].rate, [`${name} train`]: (await oursThroughput(be, m.spec)).samplesPerSecond };
}

/** Training throughput and peak RSS of ResNet-18 at 64x64, batch 64: ours in a fresh process, PyTorch's in its own. */
function memoryRows(threads: number): string[][] {
  const ours = spawnSync(process.execPath, ['--import', 'tsx', new URL('./train-child.ts', import.meta.url).pathname, 'resnet18', '3x64x64', '64', String(threads)], { encoding: 'utf8' });
  const torch = spawnSync(python, [script('torch_training.py'), '--threads', String(threads), '--batch', '64', '--steps', '6', '--input', '3x64x64', '--peak-rss', 'resnet18'], { encoding: 'utf8' });
  const parse = (r: ReturnType<typeof spawnSync>): Record<string, number> | string =>
    (r.status === 0 ? JSON.parse(String(r.stdout).trim().split('\n').at(-1)!) : String(r.stderr).trim().split('\n').at(-1) ?? 'failed');
  const [o, t] = [parse(ours), parse(torch)];
  if (typeof o === 'string') throw new Error(`bench/train-child.ts failed: ${o}`);
  if (typeof t === 'string') console.log(`PyTorch: n/a (${t}; apt-get install python3-torch python3-torchvision)`);
  const torchRow = typeof t === 'string' ? ['n/a', 'n/a'] : [rate(t.resnet18), rate(t.peakRssMiB)];
  return [['wgprune native', rate(o.resnet18), rate(o.peakRssMiB)], ['PyTorch CPU eager', ...torchRow]];
}

export async function benchSpeedup(): Promise<void> {
  const names = (env.SPEEDUP_MODELS ?? 'lenet5,vgg-small,resnet20,mobilenet,resnet18-torch').split(',');
  const slowNames = new Set((env.SPEEDUP_SLOW_MODELS ?? 'lenet5,resnet20').split(','));
  const slowBackends = (env.SPEEDUP_BACKENDS ?? 'webgpu,gpujs').split(',').filter(Boolean) as ('webgpu' | 'gpujs')[];
  const native = await NativeBackend.create();
  const columns = ['native eval', 'native compiled', 'native samplewise', 'native per-op', 'onnxruntime', 'native train', ...slowBackends.flatMap((b) => [`${b} eval`, `${b} train`])];
  const subjects: { name: string; variants: { keep: number; model: Model }[]; rates: Rates[] }[] = [];
  for (const name of names) {
    const model = subject(name);
    if (typeof model === 'string') { console.log(`${name}: ${model}`); continue; }
    const variants = [{ keep: 1, model }];
    for (const keep of KEEPS) {
      const pruner = new ChannelPruner(native, model, { importance: 'l1', allocation: byRatio(1 - keep, ROUND_TO ? { roundTo: ROUND_TO } : {}) });
      await pruner.step();
      variants.push({ keep, model: await pruner.compact() });
    }
    // This machine's speed drifts by tens of percent over seconds: the variants' passes take turns, in
    // ROUNDS rounds, and each figure is its median round.
    const rounds: Rates[][] = variants.map(() => []);
    for (let round = 0; round < ROUNDS; round++) (await measureNative(native, variants.map((v) => v.model))).forEach((r, i) => rounds[i].push(r));
    subjects.push({ name, variants, rates: rounds.map((rs) => ({ ...Object.fromEntries(columns.map((c) => [c, medianOf(rs.map((r) => r[c]))])), engine: enginesOf(rs.map((r) => r.engine)) }) as Rates) });
    console.log(`${name}: native measured`);
  }
  const label = native.label;
  const threads = native.threads;
  native.destroy();
  // WebGPU and gpu.js (SwiftShader and WebAssembly here: minutes per model, one round) after the native
  // columns: their worker threads would share the cores with the native backend's.
  for (const b of slowBackends) {
    const be = await openBackend({ backend: b });
    for (const s of subjects.filter((x) => slowNames.has(x.name))) {
      for (const [i, v] of s.variants.entries()) Object.assign(s.rates[i], await measureSlow(b, be, v.model));
      console.log(`${s.name}: ${b} measured`);
    }
    be.destroy();
  }
  const dense = subjects.map((s) => [s.name, String(macs(s.variants[0].model)), ...columns.map((c) => rate(s.rates[0][c]))]);
  const speedups = subjects.flatMap((s) => s.variants.slice(1).map((v, j) => {
    const [base, r] = [s.rates[0], s.rates[j + 1]];
    const macRatio = macs(s.variants[0].model) / macs(v.model);
    const ratio = (c: string) => (typeof r[c] === 'number' && typeof base[c] === 'number' ? ((r[c] as number) / (base[c] as number)).toFixed(2) : 'n/a');
    return [s.name, String(v.keep), macRatio.toFixed(2), ...columns.map(ratio), `${base.engine} → ${r.engine}`, (Number(ratio('native eval')) / macRatio).toFixed(2)];
  }));
  console.log(`\nDense throughput (samples/s; evaluation at batch ${EVAL_BATCH}, ${SLOW_EVAL_BATCH} on WebGPU and gpu.js; training at batch 64, SGD with momentum; ${label})`);
  console.log(table(['model', 'MACs', ...columns, 'engine'], dense.map((row, i) => [...row, String(subjects[i].rates[0].engine)])));
  console.log(`\nSpeed-up of the compacted model (compacted / dense throughput), channels kept uniformly by l1 norm${ROUND_TO ? `, a multiple of ${ROUND_TO} per group` : ''}`);
  console.log(table(['model', 'channels kept', 'MAC ratio', ...columns, 'engine (dense → compacted)', 'native eval / MAC ratio'], speedups));
  if (env.SPEEDUP_MEMORY === 'off') return;
  console.log(`\nResNet-18 at 64x64, batch 64, SGD: training throughput and peak resident memory, ${threads} threads each`);
  console.log(table(['trainer', 'samples/s', 'peak RSS MiB'], memoryRows(threads)));
}
