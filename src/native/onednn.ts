// oneDNN's kernels (the library PyTorch's CPU convolutions run on) through wgprune's own Node-API addon,
// src/native/onednn/, which `npm install` builds where Debian's libdnnl-dev and a C++ compiler are
// present (scripts/build-onednn.mjs); where it is absent the native backend runs everything on
// onnxruntime. Measured here per convolution at batch 64 (3x3, padding 1, 2 threads), forward / input
// gradient / filter gradient in ms, oneDNN with its blocked layouts and reorders against onnxruntime:
// 16->16 at 28x28 1.9 / 1.6 / 1.8 against 4.0 / 4.0 / 7.9; 64->64 at 7x7 1.0 / 1.1 / 1.5 against 6.4 /
// 6.6 / 8.2. ReLU and add 0.1 ms against 0.7 and 1.0 (onnxruntime copies every output into a fresh
// array). Batch norm's training passes, max pooling and the optimizer steps are the addon's own loops
// (norm.cc, pool.cc, optim.cc: measured faster than oneDNN's primitives and our JavaScript loops).
// oneDNN's OpenMP workers keep libgomp's default (spin a while after each op, as PyTorch's do): on a
// quiet machine that trains resnet20 at 300-366 samples/s against 239-271 with OMP_WAIT_POLICY=PASSIVE,
// but with other work on the cores a tiny convolution took 0.8 ms against 0.08 with PASSIVE.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Activation } from '../backend.js';
import type { Conv2dGeometry, PoolGeometry } from '../geometry.js';
import type { AdamSettings } from './kernels.js';
import type { EncodedProgram } from './samplewise.js';

interface Addon {
  /** A residual (forward only, the output's size) is added before the ReLU. */
  convolve(pass: number, geometry: Int32Array, relu: boolean, a: Float32Array, b: Float32Array, bias: Float32Array | null, residual: Float32Array | null, out: Float32Array): void;
  batchNormForward(n: number, c: number, spatial: number, epsilon: number, x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, invStd: Float32Array, variance: Float32Array): void;
  batchNormBackward(n: number, c: number, spatial: number, dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, invStd: Float32Array, dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array): void;
  channelSum(n: number, c: number, spatial: number, x: Float32Array, sums: Float32Array): void;
  activation(code: number, alpha: number, beta: number, backward: boolean, size: number, a: Float32Array, b: Float32Array, out: Float32Array): void;
  add(relu: boolean, size: number, a: Float32Array, b: Float32Array, out: Float32Array): void;
  maxPool(geometry: Int32Array, x: Float32Array, y: Float32Array, argmax: Float32Array | null): void;
  maxPoolBackward(geometry: Int32Array, dy: Float32Array, argmax: Float32Array, dx: Float32Array): void;
  matmul(transA: boolean, transB: boolean, relu: boolean, m: number, k: number, n: number, a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array): void;
  sgdStep(w: Float32Array, grad: Float32Array, velocity: Float32Array, mask: Float32Array | null, lr: number, momentum: number, weightDecay: number): void;
  adamStep(w: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, mask: Float32Array | null, lr: number, beta1: number, beta2: number, epsilon: number, weightDecay: number, step: number): void;
  setThreads(threads: number): void;
  version(): string;
  /** Frees the calling thread's cached primitives and buffers. */
  clearCaches(): void;
  /** The calling thread's cached primitives and the bytes they are taken to hold. */
  cacheStats(): { entries: number; bytes: number };
  /** The byte budget of each thread's caches (least recently used out first; default 256 MiB). */
  setCacheLimit(bytes: number): void;
  /** Forward convolutions run by the direct kernel (few filters, stride 1, AVX-512) since the addon loaded. */
  directConvCalls(): number;
  /** A per-sample plan (samplewise.cc; the program encoded by native/samplewise.ts). */
  samplewisePlan(program: Int32Array, inputFloats: number, slotFloats: Int32Array, outputSlots: Int32Array, weights: (Float32Array | null)[]): object;
  samplewiseRun(plan: object, x: Float32Array, outputs: Float32Array[]): void;
  samplewiseRelease(plan: object): void;
}

const ADDON_FUNCTIONS = ['convolve', 'batchNormForward', 'batchNormBackward', 'channelSum', 'activation', 'add', 'maxPool', 'maxPoolBackward', 'matmul', 'sgdStep', 'adamStep', 'setThreads', 'version', 'clearCaches', 'cacheStats', 'setCacheLimit', 'directConvCalls', 'samplewisePlan', 'samplewiseRun', 'samplewiseRelease'] as const satisfies readonly (keyof Addon)[];

/** The addon's path: build/ at the package root (src/native/ and dist/native/ are both two levels down). */
export const ONEDNN_ADDON = fileURLToPath(new URL('../../build/onednn.node', import.meta.url));

let loaded: { addon?: Addon; reason?: string } | undefined;

/** The addon, or why it cannot be used (`WGPRUNE_ONEDNN=off` acts as if it were not built). */
export function loadOnednn(): { addon?: Addon; reason?: string } {
  if (loaded) return loaded;
  if (process.env.WGPRUNE_ONEDNN === 'off') return (loaded = { reason: 'WGPRUNE_ONEDNN=off' });
  if (!existsSync(ONEDNN_ADDON)) return (loaded = { reason: `${ONEDNN_ADDON} is not built (apt-get install libdnnl-dev g++, then 'npm rebuild wgprune' where it is a dependency, 'node scripts/build-onednn.mjs' in a checkout)` });
  try {
    const addon = createRequire(import.meta.url)(ONEDNN_ADDON) as Addon;
    const missing = ADDON_FUNCTIONS.filter((f) => typeof addon[f] !== 'function');
    if (missing.length) return (loaded = { reason: `${ONEDNN_ADDON} was built from other sources (no ${missing.join(', ')}): run node scripts/build-onednn.mjs` });
    return (loaded = { addon });
  } catch (e) {
    return (loaded = { reason: `${ONEDNN_ADDON} does not load: ${(e as Error).message.split('\n')[0]}` });
  }
}

/** Where the native backend's convolutions, batch norm, activations, adds and max pooling run. */
export const NATIVE_KERNELS = ['auto', 'onednn', 'onnxruntime'] as const;
export type NativeKernels = (typeof NATIVE_KERNELS)[number];

/**
 * oneDNN's kernels as `choice` asks ('onednn' throws where the addon cannot load; 'onnxruntime' takes
 * none), with a description: 'oneDNN <version>', or why they are not used.
 */
export function openOnednn(choice: NativeKernels, threads: number, alloc: (size: number) => Float32Array): { kernels?: OnednnKernels; description: string } {
  if (choice === 'onnxruntime') return { description: 'not used (kernels: onnxruntime asked for)' };
  const { addon, reason } = loadOnednn();
  if (!addon) {
    if (choice === 'onednn') throw new Error(`oneDNN kernels unavailable: ${reason}`);
    return { description: `not used (${reason})` };
  }
  const kernels = new OnednnKernels(addon, threads, alloc);
  return { kernels, description: `oneDNN ${kernels.version}` };
}

export const enum Pass { Forward = 0, Input = 1, Filter = 2 }

/**
 * The activations oneDNN runs, as [its algorithm's code in memory.cc, alpha, beta] from our alpha (see
 * activationAlpha); hard sigmoid and hard swish stay on onnxruntime.
 */
const ACTIVATIONS: Partial<Record<Activation, (alpha: number) => [number, number, number]>> = {
  relu: () => [0, 0, 0], leakyrelu: (a) => [0, a, 0], relu6: () => [1, 0, 6], sigmoid: () => [2, 0, 0], silu: () => [3, 1, 0], gelu: () => [4, 0, 0], 'gelu-tanh': () => [5, 0, 0],
};

let threadsSet = 0;

/**
 * The ops the native backend runs in the addon: on oneDNN convolutions, activations, add and matrix
 * products; its own loops for batch norm's training passes, max pooling and the optimizer steps.
 * Each returns undefined where oneDNN refused the op's shape (it has no implementation for it; the
 * refusal is kept) so that onnxruntime runs it instead. Outputs come from `alloc` (the backend's pool of
 * released arrays): every op here writes every element of its outputs.
 */
export class OnednnKernels {
  private refused = new Set<string>();
  readonly version: string;

  constructor(private addon: Addon, private threads: number, private alloc: (size: number) => Float32Array) {
    this.version = addon.version();
  }

  /** The ops (kind, shape) oneDNN refused. */
  get refusals(): readonly string[] { return [...this.refused]; }

  /** Frees this thread's cached primitives and buffers (the backend's destroy()). */
  clearCaches(): void { this.addon.clearCaches(); }

  /** The addon, its OpenMP threads set to this backend's. */
  private withThreads(): Addon {
    if (this.threads !== threadsSet) this.addon.setThreads((threadsSet = this.threads));
    return this.addon;
  }

  private attempt<T>(key: string, run: () => T): T | undefined {
    if (this.refused.has(key)) return undefined;
    this.withThreads();
    try {
      return run();
    } catch (e) {
      if (!(e as Error).message.startsWith('oneDNN:')) throw e;
      this.refused.add(key);
      return undefined;
    }
  }

  /**
   * One pass of a convolution into an array of `size`: forward (a = x, b = w, with bias, residual and
   * fused ReLU), input gradient (a = dy, b = w) or filter gradient (a = dy, b = x).
   */
  conv(pass: Pass, g: Conv2dGeometry, a: Float32Array, b: Float32Array, size: number, extras: { bias?: Float32Array; residual?: Float32Array; relu?: boolean } = {}): Float32Array | undefined {
    const geometry = Int32Array.of(g.batch, g.inChannels, g.inH, g.inW, g.outChannels, g.outH, g.outW, g.groups, g.kernelH, g.kernelW,
      g.strideH, g.strideW, g.padTop, g.padLeft, g.padBottom, g.padRight, g.dilationH, g.dilationW);
    return this.attempt(`conv${pass}:${geometry.join(',')}:${extras.bias ? 'b' : ''}${extras.residual ? 's' : ''}${extras.relu ? 'r' : ''}`, () => {
      const out = this.alloc(size);
      this.addon.convolve(pass, geometry, !!extras.relu, a, b, extras.bias ?? null, extras.residual ?? null, out);
      return out;
    });
  }

  /** Batch norm's training forward over [n, c, spatial]: [y, the batch mean, invStd = 1 / sqrt(variance + epsilon), the biased variance]. */
  batchNormForward(n: number, c: number, spatial: number, epsilon: number, x: Float32Array, gamma: Float32Array, beta: Float32Array) {
    const y = this.alloc(n * c * spatial), mean = new Float32Array(c), invStd = new Float32Array(c), variance = new Float32Array(c);
    this.withThreads().batchNormForward(n, c, spatial, epsilon, x, gamma, beta, y, mean, invStd, variance);
    return [y, mean, invStd, variance];
  }

  /** Batch norm's backward through the batch statistics (mean, invStd as the forward gave them): [dx, dGamma, dBeta]. */
  batchNormBackward(n: number, c: number, spatial: number, dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, invStd: Float32Array) {
    const dx = this.alloc(n * c * spatial), dGamma = new Float32Array(c), dBeta = new Float32Array(c);
    this.withThreads().batchNormBackward(n, c, spatial, dy, x, gamma, mean, invStd, dx, dGamma, dBeta);
    return [dx, dGamma, dBeta];
  }

  /** Per channel of [n, c, spatial], the sum over samples and positions (norm.cc). */
  channelSum(n: number, c: number, spatial: number, x: Float32Array): Float32Array {
    const sums = new Float32Array(c);
    this.withThreads().channelSum(n, c, spatial, x, sums);
    return sums;
  }

  /** f(x) for the activations oneDNN has (undefined for the others). */
  activation(x: Float32Array, kind: Activation, alpha: number) { return this.activationPass(false, kind, alpha, x, x); }
  /** dy * f'(x). */
  activationBackward(dy: Float32Array, x: Float32Array, kind: Activation, alpha: number) { return this.activationPass(true, kind, alpha, dy, x); }
  private activationPass(backward: boolean, kind: Activation, alpha: number, a: Float32Array, b: Float32Array): Float32Array | undefined {
    const params = ACTIVATIONS[kind]?.(alpha);
    if (!params) return undefined;
    return this.attempt(`act:${kind},${alpha},${backward},${a.length}`, () => {
      const out = this.alloc(a.length);
      this.addon.activation(...params, backward, a.length, a, b, out);
      return out;
    });
  }

  /** [m, n] = A B (+ bias, ReLU): A is a as [m, k] (transA: a holds [k, m]), B is b as [k, n] (transB: b holds [n, k]). */
  matmul(m: number, k: number, n: number, a: Float32Array, b: Float32Array, o: { transA?: boolean; transB?: boolean; bias?: Float32Array; relu?: boolean } = {}) {
    return this.attempt(`matmul:${m},${k},${n}:${o.transA},${o.transB},${!!o.bias},${!!o.relu}`, () => {
      const out = this.alloc(m * n);
      this.addon.matmul(!!o.transA, !!o.transB, !!o.relu, m, k, n, a, b, o.bias ?? null, out);
      return out;
    });
  }

  /** The addon's per-sample runtime for an encoded program (samplewise.cc); throws saying why where it cannot run it. */
  samplewise(e: EncodedProgram): { run(x: Float32Array, outputs: Float32Array[]): void; release(): void } {
    const plan = this.withThreads().samplewisePlan(e.program, e.inputFloats, e.slotFloats, e.outputSlots, e.weights);
    return { run: (x, outputs) => this.withThreads().samplewiseRun(plan, x, outputs), release: () => this.addon.samplewiseRelease(plan) };
  }

  /** SGD with momentum in place (kernels.sgdStep's definition, in the addon: optim.cc). */
  sgdStep(w: Float32Array, grad: Float32Array, velocity: Float32Array, mask: Float32Array | undefined, lr: number, momentum: number, weightDecay: number): void {
    this.withThreads().sgdStep(w, grad, velocity, mask ?? null, lr, momentum, weightDecay);
  }
  /** Adam in place (kernels.adamStep's definition, in the addon: optim.cc). */
  adamStep(w: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, mask: Float32Array | undefined, o: AdamSettings): void {
    this.withThreads().adamStep(w, grad, m, v, mask ?? null, o.lr, o.beta1, o.beta2, o.epsilon, o.weightDecay, o.step);
  }

  add(a: Float32Array, b: Float32Array, relu: boolean) {
    return this.attempt(`add:${relu},${a.length}`, () => {
      const out = this.alloc(a.length);
      this.addon.add(relu, a.length, a, b, out);
      return out;
    });
  }

  /** Max pooling and its argmax (our addon's own loop, pool.cc): [y, argmax]. */
  maxPool(x: Float32Array, g: PoolGeometry): Float32Array[] {
    const size = g.batch * g.channels * g.outH * g.outW, y = this.alloc(size), argmax = this.alloc(size);
    this.withThreads().maxPool(poolWindow(g), x, y, argmax);
    return [y, argmax];
  }
  /** Max pooling's values only (inference). */
  maxPoolValues(x: Float32Array, g: PoolGeometry): Float32Array {
    const y = this.alloc(g.batch * g.channels * g.outH * g.outW);
    this.withThreads().maxPool(poolWindow(g), x, y, null);
    return y;
  }
  maxPoolBackward(dy: Float32Array, argmax: Float32Array, g: PoolGeometry): Float32Array {
    const dx = this.alloc(g.batch * g.channels * g.inH * g.inW);
    this.withThreads().maxPoolBackward(poolWindow(g), dy, argmax, dx);
    return dx;
  }
}

const poolWindow = (g: PoolGeometry) => Int32Array.of(g.batch * g.channels, g.inH, g.inW, g.outH, g.outW, g.kernelH, g.kernelW, g.strideH, g.strideW, g.padTop, g.padLeft, g.dilationH, g.dilationW);
