// Conv2d forward, backward-input and backward-filter, and a 1024^3 matmul, in GFLOP/s, in one run: our
// native (onnxruntime CPU), WebGPU (whatever adapter answers) and gpu.js backends next to
// @tensorflow/tfjs-backend-webgpu (same adapter, same Dawn flags) and @tensorflow/tfjs-backend-wasm.
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs-core';
import type { Backend, Tensor } from '../src/backend.js';
import { type Conv2dGeometry, type Conv2dOptions, conv2dGeometry } from '../src/geometry.js';
import { GpujsBackend } from '../src/gpujs/backend.js';
import { NativeBackend } from '../src/native/backend.js';
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

/** GFLOP/s of a pass, or n/a where the backend has no such kernel (tfjs-wasm: no Conv2DBackpropFilter). */
const rate = (flops: number, ms: number) => (Number.isNaN(ms) ? 'n/a' : (flops / ms / 1e6).toFixed(2));

export async function benchKernels(repeats = 3): Promise<void> {
  const webgpu = await WebGpuBackend.create();
  const native = await NativeBackend.create();
  const nativeOrt = await NativeBackend.create({ kernels: 'onnxruntime' });
  const gpujs = await GpujsBackend.create();
  await tfjsWebgpu(['enable-dawn-features=disable_robustness']);
  require('@tensorflow/tfjs-backend-wasm');
  console.log(`native: ${native.label}; native-onnxruntime: ${nativeOrt.label}; webgpu: ${webgpu.report.tried.at(-1)}, conv variant for 64 rows: ${webgpu.convVariant(64)}; gpu.js: ${gpujs.mode}`);
  const rng = new Rng(1);
  const rows: string[][] = [];
  const ours = [native, nativeOrt, webgpu, gpujs] as Backend[];
  // Every side reads its result back: tfjs offers no other public way to wait for its queue.
  const timeOurs = async (be: Backend, run: () => Tensor) => median(await time(repeats, async () => { const t = run(); await be.read(t); be.dispose(t); }));
  // Each TensorFlow.js backend gets its own copies of the inputs (a tensor used on another backend would be moved).
  const timeTf = async (backend: string, makeRun: () => { run: () => TfTensor; dispose: () => void }) => {
    await tf.setBackend(backend);
    const { run, dispose } = makeRun();
    try { return median(await time(repeats, async () => { const t = run(); await t.data(); t.dispose(); })); } catch { return NaN; } finally { dispose(); }
  };

  const measure = async (label: string, pass: string, flops: number, runOurs: (be: Backend) => Tensor, runTf: () => { run: () => TfTensor; dispose: () => void }) => {
    const ms = [];
    for (const be of ours) ms.push(await timeOurs(be, () => runOurs(be)));
    for (const backend of ['webgpu', 'wasm']) ms.push(await timeTf(backend, runTf));
    const [mNative, , mWebgpu, , tWebgpu, tWasm] = ms;
    rows.push([label, pass, ...ms.map((m) => rate(flops, m)), Number.isNaN(tWasm) ? 'n/a' : (tWasm / mNative).toFixed(1), (tWebgpu / mWebgpu).toFixed(2)]);
    console.log(rows.at(-1)!.join('  '));
  };

  for (const s of shapes) {
    const g = conv2dGeometry(s.x, s.w, s.o);
    const yShape = [g.batch, g.outChannels, g.outH, g.outW] as const;
    const flops = 2 * g.batch * g.outH * g.outW * g.outChannels * g.inChannels * g.kernelH * g.kernelW;
    const xData = rng.uniformArray(s.x.reduce((a, b) => a * b)), wData = rng.uniformArray(s.w.reduce((a, b) => a * b));
    const dyData = rng.uniformArray(yShape.reduce((a, b) => a * b));
    const inputs = new Map(ours.map((be) => [be, [be.upload(xData, s.x), be.upload(wData, s.w), be.upload(dyData, yShape)]]));
    const peer = (pass: 'forward' | 'backwardInput' | 'backwardFilter') => () => {
      const p = tfConvPasses(tf, g, xData, wData, dyData);
      return { run: p[pass], dispose: p.dispose };
    };
    const on = (f: (x: Tensor, w: Tensor, dy: Tensor, be: Backend) => Tensor) => (be: Backend) => f(...(inputs.get(be)! as [Tensor, Tensor, Tensor]), be);
    await measure(s.label, 'forward', flops, on((x, w, _dy, be) => be.conv2d(x, w, s.o)), peer('forward'));
    await measure(s.label, 'backward input', flops, on((_x, w, dy, be) => be.conv2dBackwardInput(dy, w, s.x, s.o)), peer('backwardInput'));
    await measure(s.label, 'backward filter', flops, on((x, _w, dy, be) => be.conv2dBackwardFilter(dy, x, s.w, s.o)), peer('backwardFilter'));
    for (const [be, ts] of inputs) be.dispose(...ts);
  }

  const n = 1024;
  const [a, b] = [rng.uniformArray(n * n), rng.uniformArray(n * n)];
  const matrices = new Map(ours.map((be) => [be, [be.upload(a, [n, n]), be.upload(b, [n, n])]]));
  const tfMatmul = () => {
    const [ta, tb] = [tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])];
    return { run: () => tf.matMul(ta, tb, false, true), dispose: () => tf.dispose([ta, tb]) };
  };
  await measure('1024^3 matmul (A B^T)', 'forward', 2 * n ** 3, (be) => be.linear(matrices.get(be)![0], matrices.get(be)![1]), tfMatmul);

  console.log();
  console.log(table(['shape', 'pass', 'native GFLOP/s', 'native-onnxruntime GFLOP/s', 'webgpu GFLOP/s', 'gpu.js GFLOP/s', 'tfjs-webgpu GFLOP/s', 'tfjs-wasm GFLOP/s', 'native / tfjs-wasm', 'webgpu / tfjs-webgpu'], rows));
  for (const be of [webgpu, native, nativeOrt, gpujs]) be.destroy();
}
