// Conv2d forward, backward-input and backward-filter, and a 1024^3 matmul: our WebGPU kernels next to
// @tensorflow/tfjs-backend-webgpu on the same adapter (same Dawn flags) in the same run.
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs-core';
import type { Tensor } from '../src/backend.js';
import { type Conv2dGeometry, type Conv2dOptions, conv2dGeometry } from '../src/geometry.js';
import { Rng } from '../src/random.js';
import { WebGpuBackend } from '../src/webgpu/backend.js';
import { median, table, time } from './util.js';

interface ConvShape { label: string; x: [number, number, number, number]; w: [number, number, number, number]; o: Conv2dOptions }

// tfjs's ESM build does not load in plain Node ESM; its CommonJS build does (gradients included).
const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core') as typeof TF;
type TfTensor = TF.Tensor;
type TfTensor4D = TF.Tensor4D;

const shapes: ConvShape[] = [
  { label: '(a) N32 28x28 1->32 3x3 p1', x: [32, 1, 28, 28], w: [32, 1, 3, 3], o: { padding: 1 } },
  { label: '(b) N32 28x28 32->64 3x3', x: [32, 32, 28, 28], w: [64, 32, 3, 3], o: {} },
  { label: '(c) N32 14x14 64->128 3x3', x: [32, 64, 14, 14], w: [128, 64, 3, 3], o: {} },
  { label: '(d) N8 56x56 64->64 3x3', x: [8, 64, 56, 56], w: [64, 64, 3, 3], o: {} },
];

/** A 3x3 conv's three passes in TensorFlow.js (NHWC, stride 1, 'same' or 'valid'), from our NCHW data. */
export function tfConvPasses(tf: typeof TF, g: Conv2dGeometry, x: Float32Array, w: Float32Array, dy: Float32Array) {
  const tx = tf.transpose(tf.tensor4d(x, [g.batch, g.inChannels, g.inH, g.inW]), [0, 2, 3, 1]) as TfTensor4D;
  const tw = tf.transpose(tf.tensor4d(w, [g.outChannels, g.inChannels, 3, 3]), [2, 3, 1, 0]) as TfTensor4D;
  const tdy = tf.transpose(tf.tensor4d(dy, [g.batch, g.outChannels, g.outH, g.outW]), [0, 2, 3, 1]) as TfTensor4D;
  const pad = (g.padTop ? 'same' : 'valid') as 'same' | 'valid';
  return {
    forward: () => tf.conv2d(tx, tw, 1, pad),
    backwardInput: () => tf.conv2dTranspose(tdy, tw, [g.batch, g.inH, g.inW, g.inChannels], 1, pad),
    backwardFilter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x: tx, dy: tdy }, { strides: 1, pad, dataFormat: 'NHWC', filterShape: [3, 3, g.inChannels, g.outChannels] }) as TfTensor,
    dispose: () => tf.dispose([tx, tw, tdy]),
  };
}

async function tfjsWebgpu(flags: string[]) {
  const name = 'webgpu';
  const dawn = await import(/* @vite-ignore */ name);
  Object.assign(globalThis, dawn.globals);
  (globalThis as { navigator?: unknown }).navigator = { gpu: dawn.create(flags) };
  require('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs-backend-webgpu did not initialise');
  await tf.ready();
}

export async function benchKernels(repeats = 3): Promise<void> {
  const ours = await WebGpuBackend.create();
  await tfjsWebgpu(['enable-dawn-features=disable_robustness']);
  console.log(`adapter: ${ours.report.tried.at(-1)}; conv variant for 64 rows: ${ours.convVariant(64)}`);
  const rng = new Rng(1);
  const rows: string[][] = [];

  const measure = async (label: string, pass: string, flops: number, runOurs: () => Tensor, runTf: () => TfTensor) => {
    // Both sides read the result back: tfjs offers no other public way to wait for its queue.
    const a = median(await time(repeats, async () => { const t = runOurs(); await ours.read(t); ours.dispose(t); }));
    const b = median(await time(repeats, async () => { const t = runTf(); await t.data(); t.dispose(); }));
    rows.push([label, pass, a.toFixed(1), (flops / a / 1e6).toFixed(2), b.toFixed(1), (flops / b / 1e6).toFixed(2), (b / a).toFixed(2)]);
    console.log(rows.at(-1)!.join('  '));
  };

  for (const s of shapes) {
    const g = conv2dGeometry(s.x, s.w, s.o);
    const yShape = [g.batch, g.outChannels, g.outH, g.outW] as const;
    const flops = 2 * g.batch * g.outH * g.outW * g.outChannels * g.inChannels * g.kernelH * g.kernelW;
    const xData = rng.uniformArray(s.x.reduce((a, b) => a * b)), wData = rng.uniformArray(s.w.reduce((a, b) => a * b));
    const dyData = rng.uniformArray(yShape.reduce((a, b) => a * b));
    const [x, w, dy] = [ours.upload(xData, s.x), ours.upload(wData, s.w), ours.upload(dyData, yShape)];
    const peer = tfConvPasses(tf, g, xData, wData, dyData);
    await measure(s.label, 'forward', flops, () => ours.conv2d(x, w, s.o), peer.forward);
    await measure(s.label, 'backward input', flops, () => ours.conv2dBackwardInput(dy, w, s.x, s.o), peer.backwardInput);
    await measure(s.label, 'backward filter', flops, () => ours.conv2dBackwardFilter(dy, x, s.w, s.o), peer.backwardFilter);
    ours.dispose(x, w, dy);
    peer.dispose();
  }

  const n = 1024;
  const [a, b] = [rng.uniformArray(n * n), rng.uniformArray(n * n)];
  const [ma, mb] = [ours.upload(a, [n, n]), ours.upload(b, [n, n])];
  const [ta, tb] = [tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])];
  await measure('1024^3 matmul (A B^T)', 'forward', 2 * n ** 3, () => ours.linear(ma, mb), () => tf.matMul(ta, tb, false, true));

  console.log();
  console.log(table(['shape', 'pass', 'ours ms', 'ours GFLOP/s', 'tfjs-webgpu ms', 'tfjs GFLOP/s', 'speed-up'], rows));
  ours.destroy();
}
