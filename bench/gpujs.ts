// The gpu.js fallback backend (its best mode here, WebAssembly in Node) next to TensorFlow.js's CPU
// backends in the same run: conv forward, input and filter gradients, and a LeNet-5 training step.
// Peers: @tensorflow/tfjs-backend-cpu (plain JS) and @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD).
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs';
import { GpujsBackend } from '../src/gpujs/backend.js';
import { type Conv2dOptions, conv2dGeometry } from '../src/geometry.js';
import { lenet5 } from '../src/model/zoo.js';
import { Rng } from '../src/random.js';
import { tfConvPasses } from './kernels.js';
import { BATCH, oursThroughput, tfThroughput } from './training.js';
import { median, table, time } from './util.js';

const require = createRequire(import.meta.url);

const shapes: { label: string; x: [number, number, number, number]; w: [number, number, number, number]; o: Conv2dOptions }[] = [
  { label: 'N8 28x28 1->32 3x3 p1', x: [8, 1, 28, 28], w: [32, 1, 3, 3], o: { padding: 1 } },
  { label: 'N8 28x28 32->64 3x3', x: [8, 32, 28, 28], w: [64, 32, 3, 3], o: {} },
  { label: 'N8 14x14 64->128 3x3', x: [8, 64, 14, 14], w: [128, 64, 3, 3], o: {} },
];

async function tfBackends(): Promise<{ tf: typeof TF; names: string[] }> {
  const tf = require('@tensorflow/tfjs') as typeof TF;
  require('@tensorflow/tfjs-backend-wasm');
  return { tf, names: ['cpu', 'wasm'] };
}

export async function benchGpujs(repeats = 3): Promise<void> {
  const ours = await GpujsBackend.create();
  const { tf, names } = await tfBackends();
  console.log(`gpu.js mode: ${ours.mode}; peers: tfjs-backend-${names.join(', tfjs-backend-')}`);
  const rng = new Rng(1);
  const rows: string[][] = [];
  // A peer that lacks a kernel (tfjs-wasm has no Conv2DBackpropFilter) gets n/a.
  const timed = async (run: () => Promise<void>) => { try { return median(await time(repeats, run)); } catch { return NaN; } };
  const cell = (ms: number) => (Number.isNaN(ms) ? 'n/a' : ms.toFixed(1));
  const ratio = (peer: number, mine: number) => (Number.isNaN(peer) ? 'n/a' : (peer / mine).toFixed(2));

  for (const s of shapes) {
    const g = conv2dGeometry(s.x, s.w, s.o);
    const yShape = [g.batch, g.outChannels, g.outH, g.outW] as [number, number, number, number];
    const [xData, wData, dyData] = [s.x, s.w, yShape].map((sh) => rng.uniformArray(sh.reduce((a, b) => a * b)));
    const [x, w, dy] = [ours.upload(xData, s.x), ours.upload(wData, s.w), ours.upload(dyData, yShape)];
    const passes = [
      { pass: 'forward', ours: () => ours.conv2d(x, w, s.o) },
      { pass: 'backward input', ours: () => ours.conv2dBackwardInput(dy, w, s.x, s.o) },
      { pass: 'backward filter', ours: () => ours.conv2dBackwardFilter(dy, x, s.w, s.o) },
    ];
    const peerMs: Record<string, number[]> = {};
    for (const name of names) {
      await tf.setBackend(name);
      await tf.ready();
      const peer = tfConvPasses(tf, g, xData, wData, dyData);
      peerMs[name] = [];
      for (const run of [peer.forward, peer.backwardInput, peer.backwardFilter]) peerMs[name].push(await timed(async () => { const t = run(); await t.data(); t.dispose(); }));
      peer.dispose();
    }
    for (const [i, p] of passes.entries()) {
      const mine = await timed(async () => { const t = p.ours(); await ours.read(t); ours.dispose(t); });
      const flops = 2 * g.batch * g.outH * g.outW * g.outChannels * (g.inChannels / g.groups) * g.kernelH * g.kernelW;
      rows.push([s.label, p.pass, cell(mine), (flops / mine / 1e6).toFixed(2), ...names.map((n) => cell(peerMs[n][i])), ...names.map((n) => ratio(peerMs[n][i], mine))]);
      console.log(rows.at(-1)!.join('  '));
    }
    ours.dispose(x, w, dy);
  }

  // LeNet-5 training steps, batch 64, SGD with momentum, random data (throughput only).
  const spec = lenet5();
  const mineStep = (BATCH * 1000) / (await oursThroughput(ours, spec)).samplesPerSecond;
  const peerStep: Record<string, number> = {};
  for (const name of names) {
    await tf.setBackend(name);
    await tf.ready();
    try { peerStep[name] = (BATCH * 1000) / (await tfThroughput(tf, 'lenet5', spec.inputShape)); } catch { peerStep[name] = NaN; }
  }
  rows.push(['LeNet-5 training step, batch 64', 'fwd+bwd+SGD', cell(mineStep), '', ...names.map((n) => cell(peerStep[n])), ...names.map((n) => ratio(peerStep[n], mineStep))]);
  console.log();
  console.log(table(['shape', 'pass', `gpu.js ${ours.mode} ms`, 'GFLOP/s', ...names.map((n) => `tfjs-${n} ms`), ...names.map((n) => `vs tfjs-${n}`)], rows));
  ours.destroy();
}
