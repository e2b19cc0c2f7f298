// `npm run bench -- speedup` (issue 38): does pruning make the model faster on our own backends? For the
// zoo's CNNs and PyTorch's own export of ResNet-18 (64x64, batch norms folded), pruned to 0.5 and 0.3 of
// their channels (l1, uniform) and compacted: evaluation throughput (batch 256; the native backend's
// compiled graph and its op-by-op path) and training throughput (batch 64, SGD) dense against compacted,
// on the native backend, WebGPU and gpu.js, next to onnxruntime running the exported ONNX (same threads),
// with the MAC ratio beside them. Then ResNet-18 at 64x64, batch 64: training throughput and peak resident
// memory, ours (a fresh process: bench/train-child.ts) against PyTorch's (bench/python/torch_training.py).
// SPEEDUP_MODELS and SPEEDUP_BACKENDS pick a subset; WebGPU and gpu.js (SwiftShader and WebAssembly here)
// run the models in SPEEDUP_SLOW_MODELS only (default lenet5, resnet20: minutes each).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { Backend } from '../src/backend.js';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { macsOf } from '../src/accel/workload.js';
import { type Model, initModel } from '../src/model/model.js';
import { zooModel } from '../src/model/zoo.js';
import type { NativeBackend } from '../src/native/backend.js';
import { exportOnnx } from '../src/onnx/export.js';
import { importOnnx } from '../src/onnx/import.js';
import { type ComputeBackend, openBackend } from '../src/open-backend.js';
import { ChannelPruner, byRatio } from '../src/prune/pruner.js';
import { Rng } from '../src/random.js';
import { inferenceNetwork } from '../src/train/inference.js';
import { oursThroughput } from './training.js';
import { median, table, time } from './util.js';

const KEEPS = [0.5, 0.3];
const EVAL_BATCH = 256;
const SLOW_EVAL_BATCH = 32; // SwiftShader and WebAssembly: seconds per batch of 256
const REPEATS = 5;
const ROUNDS = Number(process.env.SPEEDUP_ROUNDS ?? 3);
/** The median of the values measured (undefined where none was). */
const medianOf = (v: (number | undefined)[]) => { const d = v.filter((x): x is number => x !== undefined); return d.length ? median(d) : undefined; };
const env = process.env;
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const script = (name: string) => new URL(`./python/${name}`, import.meta.url).pathname;

const macs = (m: Model) => modelWorkloads(m.spec).reduce((s, l) => s + macsOf(l), 0);
const rate = (v: number | undefined) => (v === undefined ? 'n/a' : v >= 100 ? v.toFixed(0) : v.toFixed(1));

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

async function evalRate(be: Backend, m: Model, batch: number, perOp = false): Promise<number> {
  const net = inferenceNetwork(be, m, { perOp });
  const x = be.upload(new Rng(1).uniformArray(batch * m.spec.inputShape.reduce((a, b) => a * b)), [batch, ...m.spec.inputShape]);
  const ms = median(await time(REPEATS, async () => { const f = net.forward(x); await be.read(f.logits); net.release(f); }));
  be.dispose(x);
  net.dispose();
  return (batch * 1000) / ms;
}

/** onnxruntime-node's public API on our export of `m`, with the native backend's threads. */
async function ortRate(m: Model, batch: number, threads: number): Promise<number> {
  const s = await ort.InferenceSession.create(exportOnnx(m), { intraOpNumThreads: threads, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const x = new ort.Tensor('float32', new Rng(1).uniformArray(batch * m.spec.inputShape.reduce((a, b) => a * b)), [batch, ...m.spec.inputShape]);
  const ms = median(await time(REPEATS, async () => { await s.run({ [s.inputNames[0]]: x }); }));
  await s.release();
  return (batch * 1000) / ms;
}

type Rates = Record<string, number | undefined>;

async function measure(backends: Map<string, ComputeBackend>, m: Model, slow: boolean): Promise<Rates> {
  const r: Rates = {};
  for (const [name, be] of backends) {
    if (name === 'native') {
      r['native eval'] = await evalRate(be, m, EVAL_BATCH);
      r['native eval per-op'] = await evalRate(be, m, EVAL_BATCH, true);
      r.onnxruntime = await ortRate(m, EVAL_BATCH, (be as NativeBackend).threads);
      r['native train'] = (await oursThroughput(be, m.spec)).samplesPerSecond;
    } else if (slow) {
      r[`${name} eval`] = await evalRate(be, m, SLOW_EVAL_BATCH);
      r[`${name} train`] = (await oursThroughput(be, m.spec)).samplesPerSecond;
    }
  }
  return r;
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
  const backends = new Map<string, ComputeBackend>();
  for (const b of (env.SPEEDUP_BACKENDS ?? 'native,webgpu,gpujs').split(',')) backends.set(b, await openBackend({ backend: b as 'native' | 'webgpu' | 'gpujs' }));
  const native = backends.get('native') as NativeBackend | undefined;
  if (!native) throw new Error('SPEEDUP_BACKENDS must include native (it prunes, and it is the backend under test)');
  const columns = [...backends.keys()].flatMap((b) => (b === 'native' ? ['native eval', 'native eval per-op', 'onnxruntime', 'native train'] : [`${b} eval`, `${b} train`]));
  const speedups: string[][] = [];
  const dense: string[][] = [];
  for (const name of names) {
    const model = subject(name);
    if (typeof model === 'string') { console.log(`${name}: ${model}`); continue; }
    const variants: { keep: number; model: Model }[] = [{ keep: 1, model }];
    for (const keep of KEEPS) {
      const pruner = new ChannelPruner(native, model, { importance: 'l1', allocation: byRatio(1 - keep) });
      await pruner.step();
      variants.push({ keep, model: await pruner.compact() });
    }
    // This machine's speed drifts by tens of percent over seconds: the variants are measured back to
    // back in ROUNDS rounds and each figure is its median round (WebGPU and gpu.js: one round, minutes).
    const rounds: Rates[][] = variants.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, v] of variants.entries()) rounds[i].push(await measure(backends, v.model, slowNames.has(name) && round === 0));
    }
    const rates = rounds.map((rs) => Object.fromEntries(columns.map((c) => [c, medianOf(rs.map((r) => r[c]))])) as Rates);
    dense.push([name, String(macs(model)), ...columns.map((c) => rate(rates[0][c]))]);
    for (const [i, v] of variants.entries()) {
      if (i === 0) continue;
      const macRatio = macs(model) / macs(v.model);
      const ratio = (c: string) => (rates[i][c] !== undefined && rates[0][c] !== undefined ? (rates[i][c]! / rates[0][c]!).toFixed(2) : 'n/a');
      speedups.push([name, String(v.keep), macRatio.toFixed(2), ...columns.map(ratio), (rates[i]['native eval']! / rates[0]['native eval']! / macRatio).toFixed(2)]);
      console.log(speedups.at(-1)!.join('  '));
    }
  }
  console.log(`\nDense throughput (samples/s; evaluation at batch ${EVAL_BATCH}, ${SLOW_EVAL_BATCH} on WebGPU and gpu.js; training at batch 64, SGD with momentum; ${native.label})`);
  console.log(table(['model', 'MACs', ...columns], dense));
  console.log('\nSpeed-up of the compacted model (compacted / dense throughput), channels kept uniformly by l1 norm');
  console.log(table(['model', 'channels kept', 'MAC ratio', ...columns, 'native eval / MAC ratio'], speedups));
  console.log(`\nResNet-18 at 64x64, batch 64, SGD: training throughput and peak resident memory, ${native.threads} threads each`);
  console.log(table(['trainer', 'samples/s', 'peak RSS MiB'], memoryRows(native.threads)));
  for (const be of backends.values()) be.destroy();
}
