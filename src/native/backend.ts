// The native CPU backend (Node): convolutions, activations, adds and linear layers on oneDNN, and batch
// norm's training passes, max pooling and the optimizer steps as the addon's own loops, where it is
// built (onednn.ts); layer norm and resampling, and everything where the addon is not, as onnxruntime op
// graphs (conv-graphs.ts, memory-graphs.ts; MLAS, all cores); the loss, channel copies, small sums,
// average pooling and pruning statistics as float32 loops (kernels.ts, pool.ts). Inference of a whole
// model can run as one onnxruntime session (compileOnnx) or per sample (compileSamplewise). Tensors are
// float32 arrays in host memory, pooled (tensors.ts), and every op runs synchronously.
// Chosen by measurement over onnxruntime-web's WebAssembly build and TensorFlow.js's XNNPACK (see
// docs/backends.md, "Notes on the native backend").
import {
  type Activation, type AdamOptions, type Backend, type BatchNormParams, type ConvInputs, type DistillationOptions, type FakeQuantOptions, type LayerNormOptions, type LinearOptions,
  type MemoryStats, type SgdOptions, type Tensor, activationAlpha, addResidual,
  type ChannelStat, type CompiledGraph, type SamplewiseProgram,
} from '../backend.js';
import {
  type Conv2dGeometry, type Conv2dOptions, type PoolGeometry, type PoolOptions, type Shape,
  assertShape, axisView, channelScaleView, channelStatsView, preluView, quantView, checkAdamStep, checkBatchNorm, checkConvBias, checkConvInputs, checkOptimizer, checkSlice, concatShape, conv2dGeometry,
  gatherShape, globalPoolOptions, layerNormView, linearGeometry, resampleShape, poolGeometry, sizeOf, softmaxSettings,
} from '../geometry.js';
import {
  type ConvFlags, convBackwardFilterGraph, convBackwardInputGraph, convForwardGraph, linearBackwardInputGraph, linearBackwardWeightGraph, linearGraph,
} from './conv-graphs.js';
import * as k from './kernels.js';
import {
  activationBackwardGraph, activationGraph, addGraph, channelScaleBackwardGraph, channelScaleGraph, batchNormBackwardGraph, batchNormTrainingGraph, channelAffineGraph, channelSumGraph,
  globalAvgPoolGraph, layerNormBackwardGraph, layerNormGraph, maxPoolGraph, resampleGraph,
} from './memory-graphs.js';
import { NATIVE_KERNELS, type NativeKernels, type OnednnKernels, Pass, openOnednn } from './onednn.js';
import { type OpGraph, type OpSession, compile, compileModel, defaultThreads, loadOrt } from './ort.js';
import * as pool from './pool.js';
import { encodeSamplewise } from './samplewise.js';
import { NativeTensors, data } from './tensors.js';

/** Below this many values a reduction runs as a float32 loop: a call into either library costs more. */
const SMALL = 1 << 14;

const maybe = (t: Tensor | undefined) => (t ? data(t) : undefined);
const flagKey = (f: ConvFlags) => `${f.bias ? 'b' : ''}${f.relu ? 'r' : ''}`;
/** A session key part from a conv or pool geometry: every field, in order. */
const geometryKey = (g: Conv2dGeometry | PoolGeometry) => Object.values(g).join(',');

export interface NativeBackendOptions {
  /** onnxruntime's intra-op threads and oneDNN's OpenMP threads (default: every core). */
  threads?: number;
  /**
   * Where convolutions, batch norm, activations and add run: 'onednn' (the addon, see onednn.ts; an error where
   * it is not built), 'onnxruntime', or 'auto' (default: oneDNN where the addon loads).
   */
  kernels?: NativeKernels;
}

export class NativeBackend implements Backend {
  readonly name = 'native';
  readonly threads: number;
  private sessions = new Map<string, OpSession>();
  private tensors = new NativeTensors();
  private ort = loadOrt();
  /** oneDNN's kernels where the addon loads (onnxruntime runs what they refuse). */
  private dnn?: OnednnKernels;
  /** globalAvgPool's averaging columns by size. */
  private averages = new Map<number, Float32Array>();
  /** 'oneDNN <version>' where its kernels run, else why not. */
  readonly onednn: string;

  private constructor(o: NativeBackendOptions) {
    this.threads = o.threads ?? defaultThreads();
    ({ kernels: this.dnn, description: this.onednn } = openOnednn(o.kernels ?? 'auto', this.threads, (size) => this.tensors.take(size)));
  }

  /** The backend in a few words: its libraries and threads. */
  get label(): string {
    return `onnxruntime CPU kernels${this.dnn ? ` + ${this.onednn}` : ''}, ${this.threads} threads`;
  }

  /** Loads onnxruntime-node; fails with its reason where it cannot load (browsers, unsupported platforms). */
  static async create(o: NativeBackendOptions = {}): Promise<NativeBackend> {
    if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1)) throw new Error(`native backend: threads must be a positive integer, got ${o.threads}`);
    if (o.kernels !== undefined && !NATIVE_KERNELS.includes(o.kernels)) throw new Error(`native backend: kernels must be auto, onednn or onnxruntime, got '${o.kernels}'`);
    try {
      return new NativeBackend(o);
    } catch (e) {
      throw new Error(`native backend unavailable: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  destroy(): void {
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
    this.tensors.clear();
    this.averages.clear();
    this.dnn?.clearCaches();
  }

  /** Ops (kind, shape) oneDNN had no implementation for; onnxruntime ran them. */
  get onednnRefusals(): readonly string[] { return this.dnn?.refusals ?? []; }

  /** Compiled op graphs held (one per op, shape and flags). */
  get sessionCount(): number { return this.sessions.size; }

  /** Runs the op graph cached under `key` (built on first use) on `inputs` (undefined ones skipped); all its outputs. */
  private runAll(key: string, build: () => OpGraph, inputs: (Float32Array | undefined)[]): Float32Array[] {
    let s = this.sessions.get(key);
    if (!s) {
      s = compile(this.ort, build(), this.threads);
      this.sessions.set(key, s);
    }
    return s.run(inputs.filter((v): v is Float32Array => v !== undefined));
  }
  private run(key: string, build: () => OpGraph, inputs: (Float32Array | undefined)[]): Float32Array {
    return this.runAll(key, build, inputs)[0];
  }

  private wrap(shape: Shape, values: Float32Array): Tensor { return this.tensors.wrap(shape, values); }
  upload(values: ArrayLike<number>, shape: Shape): Tensor { return this.tensors.upload(values, shape); }
  zeros(shape: Shape): Tensor { return this.tensors.zeros(shape); }
  read(t: Tensor): Promise<Float32Array> { return this.tensors.read(t); }
  reshape(t: Tensor, shape: Shape): Tensor { return this.tensors.reshape(t, shape); }
  dispose(...ts: (Tensor | undefined)[]): void { this.tensors.dispose(...ts); }
  flush(): void {}
  memory(): MemoryStats { return this.tensors.memory(); }

  /** One onnxruntime session for the whole model (see compileModel): at VGG-small's batch 256, 37 ms where op by op took 82. */
  compileOnnx(onnx: Uint8Array): CompiledGraph {
    const s = compileModel(this.ort, onnx, this.threads);
    return {
      run: (x) => s.run(data(x), x.shape).map((o) => this.wrap(o.dims, o.data)),
      dispose: () => s.dispose(),
    };
  }

  /**
   * A per-sample program on the addon's runtime (samplewise.cc): each thread takes a sample through
   * every layer, the maps between layers in its cache. Its convolutions run on the direct kernel (one
   * group, no dilation, AVX-512): throws where the addon, the CPU or a step cannot.
   */
  compileSamplewise(program: SamplewiseProgram): CompiledGraph {
    if (!this.dnn) throw new Error(`samplewise inference needs the oneDNN addon (${this.onednn})`);
    const e = encodeSamplewise(program, data);
    let plan: ReturnType<OnednnKernels['samplewise']> | undefined = this.dnn.samplewise(e);
    return {
      run: (x) => {
        if (!plan) throw new Error('samplewise graph: run after dispose()');
        if (x.shape.slice(1).join() !== program.inputShape.join()) throw new Error(`samplewise graph: input has shape [${x.shape}], expected [${x.shape[0]},${program.inputShape}]`);
        const batch = x.shape[0];
        const outputs = e.outputShapes.map((shape) => this.tensors.take(batch * sizeOf(shape)));
        plan.run(data(x), outputs);
        return outputs.map((o, k) => this.wrap([batch, ...e.outputShapes[k]], o));
      },
      dispose: () => { plan?.release(); plan = undefined; },
    };
  }

  // ---- convolution and linear layers: oneDNN or onnxruntime ----

  conv2d(x: Tensor, w: Tensor, o: Conv2dOptions & ConvInputs = {}): Tensor {
    const g = conv2dGeometry(x.shape, w.shape, o);
    checkConvInputs('conv2d', g, o);
    const shape = [g.batch, g.outChannels, g.outH, g.outW];
    const fused = this.dnn?.conv(Pass.Forward, g, data(x), data(w), sizeOf(shape), { bias: maybe(o.bias), residual: maybe(o.residual), relu: o.relu });
    if (fused) return this.wrap(shape, fused);
    // onnxruntime's graph: the residual added after it
    const f = { bias: !!o.bias, relu: !!o.relu && !o.residual };
    const y = this.wrap(shape, this.run(`conv:${geometryKey(g)}:${flagKey(f)}`, () => convForwardGraph(g, f), [data(x), data(w), maybe(o.bias)]));
    return o.residual ? addResidual(this, y, o.residual, o.relu) : y;
  }
  conv2dBackwardInput(dy: Tensor, w: Tensor, inputShape: Shape, o: Conv2dOptions = {}): Tensor {
    const g = conv2dGeometry(inputShape, w.shape, o);
    assertShape('conv2dBackwardInput', 'dy', dy.shape, [g.batch, g.outChannels, g.outH, g.outW]);
    const dx = this.dnn?.conv(Pass.Input, g, data(dy), data(w), sizeOf(inputShape))
      ?? this.run(`convdx:${geometryKey(g)}`, () => convBackwardInputGraph(g), [data(dy), data(w)]);
    return this.wrap(inputShape, dx);
  }
  conv2dBackwardFilter(dy: Tensor, x: Tensor, filterShape: Shape, o: Conv2dOptions = {}): Tensor {
    const g = conv2dGeometry(x.shape, filterShape, o);
    assertShape('conv2dBackwardFilter', 'dy', dy.shape, [g.batch, g.outChannels, g.outH, g.outW]);
    const dw = this.dnn?.conv(Pass.Filter, g, data(dy), data(x), sizeOf(filterShape))
      ?? this.run(`convdw:${geometryKey(g)}`, () => convBackwardFilterGraph(g), [data(dy), data(x)]);
    return this.wrap(filterShape, dw);
  }
  linear(x: Tensor, w: Tensor, o: LinearOptions = {}): Tensor {
    const g = linearGeometry(x.shape, w.shape);
    checkConvBias('linear', g.outChannels, o);
    const f = { bias: !!o.bias, relu: !!o.relu };
    const y = this.dnn?.matmul(g.batch, g.inChannels, g.outChannels, data(x), data(w), { transB: true, bias: maybe(o.bias), relu: o.relu })
      ?? this.run(`fc:${g.batch},${g.inChannels},${g.outChannels}:${flagKey(f)}`, () => linearGraph(g.batch, g.inChannels, g.outChannels, f), [data(x), data(w), maybe(o.bias)]);
    return this.wrap([g.batch, g.outChannels], y);
  }
  linearBackwardInput(dy: Tensor, w: Tensor): Tensor {
    const g = linearGeometry([dy.shape[0], w.shape[1]], w.shape);
    assertShape('linearBackwardInput', 'dy', dy.shape, [g.batch, g.outChannels]);
    return this.wrap([g.batch, g.inChannels], this.dnn?.matmul(g.batch, g.outChannels, g.inChannels, data(dy), data(w))
      ?? this.run(`fcdx:${g.batch},${g.inChannels},${g.outChannels}`, () => linearBackwardInputGraph(g.batch, g.inChannels, g.outChannels), [data(dy), data(w)]));
  }
  linearBackwardWeight(dy: Tensor, x: Tensor): Tensor {
    const g = linearGeometry(x.shape, [dy.shape[1], x.shape[1]]);
    assertShape('linearBackwardWeight', 'dy', dy.shape, [g.batch, g.outChannels]);
    return this.wrap([g.outChannels, g.inChannels], this.dnn?.matmul(g.outChannels, g.batch, g.inChannels, data(dy), data(x), { transA: true })
      ?? this.run(`fcdw:${g.batch},${g.inChannels},${g.outChannels}`, () => linearBackwardWeightGraph(g.batch, g.inChannels, g.outChannels), [data(dy), data(x)]));
  }

  // ---- batch norm and per-channel reductions ----

  channelSum(x: Tensor): Tensor {
    const [n, c, sp] = axisView('channelSum', x.shape, 1);
    // A small sum (a bias's gradient, a batch's loss total) costs less as a loop than as a call.
    const sums = this.dnn?.channelSum(n, c, sp, data(x))
      ?? (x.size < SMALL ? k.channelStats(data(x), [n, c, sp], 'sum') : this.run(`sum:${n},${c},${sp}`, () => channelSumGraph(n, c, sp), [data(x)]));
    return this.wrap([c], sums);
  }

  batchNormTraining(x: Tensor, p: BatchNormParams) {
    checkBatchNorm('batchNormTraining', x.shape, { gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar });
    const [n, c, sp] = axisView('batchNormTraining', x.shape, 1);
    const [y, mean, invStd, variance] = this.dnn?.batchNormForward(n, c, sp, p.epsilon, data(x), data(p.gamma), data(p.beta))
      ?? this.runAll(`bn:${n},${c},${sp},${p.epsilon}`, () => batchNormTrainingGraph(n, c, sp, p.epsilon), [data(x), data(p.gamma), data(p.beta)]);
    // Running statistics take the unbiased variance (PyTorch's convention).
    const [runningMean, runningVar] = [data(p.runningMean), data(p.runningVar)];
    const count = n * sp, m = p.momentum;
    for (let k = 0; k < c; k++) {
      runningMean[k] = (1 - m) * runningMean[k] + m * mean[k];
      runningVar[k] = (1 - m) * runningVar[k] + m * (variance[k] * count / Math.max(count - 1, 1));
    }
    return { y: this.wrap(x.shape, y), mean: this.wrap([c], mean), invStd: this.wrap([c], invStd) };
  }
  batchNormInference(x: Tensor, p: BatchNormParams): Tensor {
    checkBatchNorm('batchNormInference', x.shape, { gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar });
    const [n, c, sp] = axisView('batchNormInference', x.shape, 1);
    const [gamma, beta, mean, variance] = [p.gamma, p.beta, p.runningMean, p.runningVar].map(data);
    const scale = variance.map((v, k) => gamma[k] / Math.sqrt(v + p.epsilon));
    const shift = mean.map((v, k) => beta[k] - v * scale[k]);
    return this.wrap(x.shape, this.run(`affine:${n},${c},${sp}`, () => channelAffineGraph(n, c, sp), [data(x), scale, shift]));
  }
  batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor) {
    assertShape('batchNormBackward', 'dy', dy.shape, x.shape);
    checkBatchNorm('batchNormBackward', x.shape, { gamma, mean, invStd });
    const [n, c, sp] = axisView('batchNormBackward', x.shape, 1);
    const [dx, dGamma, dBeta] = this.dnn?.batchNormBackward(n, c, sp, data(dy), data(x), data(gamma), data(mean), data(invStd))
      ?? this.runAll(`bnback:${n},${c},${sp}`, () => batchNormBackwardGraph(n, c, sp), [data(dy), data(x), data(gamma), data(mean), data(invStd)]);
    return { dx: this.wrap(x.shape, dx), dGamma: this.wrap([c], dGamma), dBeta: this.wrap([c], dBeta) };
  }

  layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, o: LayerNormOptions) {
    const [n, c, sp] = layerNormView('layerNorm', x.shape, { gamma, beta, mask: o.mask });
    const mask = o.mask ? data(o.mask) : new Float32Array(c).fill(1);
    const [y, mean, invStd] = this.runAll(`ln:${n},${c},${sp},${o.epsilon}`, () => layerNormGraph(n, c, sp, o.epsilon), [data(x), data(gamma), data(beta), mask]);
    return { y: this.wrap(x.shape, y), mean: this.wrap([n, sp], mean), invStd: this.wrap([n, sp], invStd) };
  }
  layerNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor, o: { mask?: Tensor } = {}) {
    const [n, c, sp] = layerNormView('layerNormBackward', x.shape, { gamma, mask: o.mask }, { mean, invStd });
    assertShape('layerNormBackward', 'dy', dy.shape, x.shape);
    const mask = o.mask ? data(o.mask) : new Float32Array(c).fill(1);
    const [dx, dGamma, dBeta] = this.runAll(`lnback:${n},${c},${sp}`, () => layerNormBackwardGraph(n, c, sp), [data(dy), data(x), data(gamma), data(mean), data(invStd), mask]);
    return { dx: this.wrap(x.shape, dx), dGamma: this.wrap([c], dGamma), dBeta: this.wrap([c], dBeta) };
  }

  resample(x: Tensor, rows: Tensor, cols: Tensor): Tensor {
    const shape = resampleShape('resample', x.shape, rows.shape, cols.shape);
    const [n, c, h, w] = x.shape;
    const key = `resample:${n * c},${h},${w},${shape[2]},${shape[3]}`;
    return this.wrap(shape, this.run(key, () => resampleGraph(n * c, h, w, shape[2], shape[3]), [data(x), data(rows), data(cols)]));
  }

  // ---- elementwise ----

  fakeQuantize(x: Tensor, scale: Tensor, zeroPoint: Tensor, o: FakeQuantOptions): Tensor {
    const view = quantView('fakeQuantize', x.shape, scale.size, zeroPoint.size, o);
    return this.wrap(x.shape, k.fakeQuantize(data(x), data(scale), data(zeroPoint), view, o));
  }
  fakeQuantizeBackward(dy: Tensor, x: Tensor, scale: Tensor, zeroPoint: Tensor, o: FakeQuantOptions): Tensor {
    const view = quantView('fakeQuantizeBackward', x.shape, scale.size, zeroPoint.size, o);
    assertShape('fakeQuantizeBackward', 'dy', dy.shape, x.shape);
    return this.wrap(x.shape, k.fakeQuantize(data(x), data(scale), data(zeroPoint), view, o, data(dy)));
  }
  channelScale(x: Tensor, s: Tensor): Tensor {
    const [n, c, inner] = channelScaleView('channelScale', x.shape, s.shape);
    return this.wrap(x.shape, this.run(`scale:${n},${c},${inner}`, () => channelScaleGraph(n, c, inner), [data(x), data(s)]));
  }
  prelu(x: Tensor, slope: Tensor): Tensor { return this.wrap(x.shape, k.prelu(data(x), data(slope), preluView('prelu', x.shape, slope.shape)[2])); }
  preluBackward(dy: Tensor, x: Tensor, slope: Tensor) {
    assertShape('preluBackward', 'dy', dy.shape, x.shape);
    const r = k.preluBackward(data(dy), data(x), data(slope), preluView('preluBackward', x.shape, slope.shape)[2]);
    return { dx: this.wrap(x.shape, r.dx), dSlope: this.wrap(slope.shape, r.dSlope) };
  }
  channelScaleBackward(dy: Tensor, x: Tensor, s: Tensor) {
    const [n, c, inner] = channelScaleView('channelScaleBackward', x.shape, s.shape);
    assertShape('channelScaleBackward', 'dy', dy.shape, x.shape);
    const [dx, ds] = this.runAll(`scaleback:${n},${c},${inner}`, () => channelScaleBackwardGraph(n, c, inner), [data(dy), data(x), data(s)]);
    return { dx: this.wrap(x.shape, dx), ds: this.wrap(s.shape, ds) };
  }
  activation(x: Tensor, kind: Activation, alpha?: number): Tensor {
    const a = activationAlpha(kind, alpha);
    const y = this.dnn?.activation(data(x), kind, a) ?? this.run(`act:${x.size},${kind},${a}`, () => activationGraph(x.size, kind, a), [data(x)]);
    return this.wrap(x.shape, y);
  }
  activationBackward(dy: Tensor, x: Tensor, kind: Activation, alpha?: number): Tensor {
    assertShape('activationBackward', 'dy', dy.shape, x.shape);
    const a = activationAlpha(kind, alpha);
    const dx = this.dnn?.activationBackward(data(dy), data(x), kind, a)
      ?? this.run(`actback:${x.size},${kind},${a}`, () => activationBackwardGraph(x.size, kind, a), [data(dy), data(x)]);
    return this.wrap(x.shape, dx);
  }
  add(a: Tensor, b: Tensor, o: { relu?: boolean } = {}): Tensor {
    assertShape('add', 'second input', b.shape, a.shape);
    const y = this.dnn?.add(data(a), data(b), !!o.relu) ?? this.run(`add:${a.size},${!!o.relu}`, () => addGraph(a.size, !!o.relu), [data(a), data(b)]);
    return this.wrap(a.shape, y);
  }

  // ---- pooling ----

  maxPool(x: Tensor, o: PoolOptions) {
    const g = poolGeometry('maxPool', x.shape, o);
    const [y, argmax] = this.dnn?.maxPool(data(x), g) ?? this.runAll(`maxpool:${geometryKey(g)}`, () => maxPoolGraph(g), [data(x)]);
    const shape = [g.batch, g.channels, g.outH, g.outW];
    return { y: this.wrap(shape, y), argmax: this.wrap(shape, argmax) };
  }
  /** Values only (no argmax): the addon's loop, else onnxruntime's MaxPool with one output. */
  maxPoolValues(x: Tensor, o: PoolOptions): Tensor {
    const g = poolGeometry('maxPool', x.shape, o);
    return this.wrap([g.batch, g.channels, g.outH, g.outW], this.dnn?.maxPoolValues(data(x), g) ?? this.run(`maxpool-values:${geometryKey(g)}`, () => maxPoolGraph(g, false), [data(x)]));
  }
  maxPoolBackward(dy: Tensor, argmax: Tensor, inputShape: Shape, o: PoolOptions): Tensor {
    const g = poolGeometry('maxPoolBackward', inputShape, o);
    assertShape('maxPoolBackward', 'dy', dy.shape, [g.batch, g.channels, g.outH, g.outW]);
    assertShape('maxPoolBackward', 'argmax', argmax.shape, dy.shape);
    const dx = this.dnn?.maxPoolBackward(data(dy), data(argmax), g) ?? pool.maxPoolBackward(data(dy), data(argmax), g, this.tensors.take(sizeOf(inputShape)));
    return this.wrap(inputShape, dx);
  }
  avgPool(x: Tensor, o: PoolOptions): Tensor {
    const g = poolGeometry('avgPool', x.shape, o);
    return this.wrap([g.batch, g.channels, g.outH, g.outW], pool.avgPool(data(x), g, this.tensors.take(g.batch * g.channels * g.outH * g.outW)));
  }
  avgPoolBackward(dy: Tensor, inputShape: Shape, o: PoolOptions): Tensor {
    const g = poolGeometry('avgPoolBackward', inputShape, o);
    assertShape('avgPoolBackward', 'dy', dy.shape, [g.batch, g.channels, g.outH, g.outW]);
    return this.wrap(inputShape, pool.avgPoolBackward(data(dy), g, this.tensors.take(sizeOf(inputShape))));
  }
  /** A column of `size` values 1 / size (kept per size). */
  private averaging(size: number): Float32Array {
    let v = this.averages.get(size);
    if (!v) this.averages.set(size, (v = new Float32Array(size).fill(1 / size)));
    return v;
  }
  globalAvgPool(x: Tensor): Tensor {
    globalPoolOptions(x.shape); // checks the rank
    const [n, c, h, w] = x.shape;
    // On oneDNN a matrix-vector product, [N * C, H * W] x 1 / (H * W) (onnxruntime's ReduceMean session
    // took 0.5 ms on VGG-small's last 64 x 8 x 8 maps at batch 256, scratch)
    const means = this.dnn?.matmul(n * c, h * w, 1, data(x), this.averaging(h * w));
    return this.wrap([n, c, 1, 1], means ?? this.run(`gap:${n},${c},${h * w}`, () => globalAvgPoolGraph(n, c, h * w), [data(x)]));
  }
  globalAvgPoolBackward(dy: Tensor, inputShape: Shape): Tensor {
    globalPoolOptions(inputShape);
    const [n, c, h, w] = inputShape;
    assertShape('globalAvgPoolBackward', 'dy', dy.shape, [n, c, 1, 1]);
    // A loop into a released array: onnxruntime's Expand wrote a fresh one, 1.9 ms of page faults in
    // VGG-small's 49 ms training step (batch 64, 28x28).
    return this.wrap(inputShape, pool.globalAvgPoolBackward(data(dy), h * w, this.tensors.take(sizeOf(inputShape))));
  }

  // ---- channel concat, slice and gather ----

  concat(xs: Tensor[]): Tensor {
    const shape = concatShape(xs.map((x) => x.shape));
    return this.wrap(shape, k.concatChannels(xs.map((x) => ({ values: data(x), channels: x.shape[1] })), new Float32Array(sizeOf(shape)), shape[1], shape[0], sizeOf(shape.slice(2))));
  }
  sliceChannels(x: Tensor, offset: number, count: number): Tensor {
    checkSlice(x.shape, offset, count);
    const [n, channels, ...rest] = x.shape;
    const y = new Float32Array(n * count * sizeOf(rest));
    k.copyChannels(data(x), channels, offset, y, count, 0, count, n, sizeOf(rest));
    return this.wrap([n, count, ...rest], y);
  }
  gatherChannels(x: Tensor, axis: number, indices: Tensor): Tensor {
    const { shape, view } = gatherShape(x.shape, axis, indices.shape);
    return this.wrap(shape, k.gatherChannels(data(x), view, data(indices)));
  }

  // ---- pruning statistics ----

  channelStats(x: Tensor, axis: number, kind: ChannelStat, other?: Tensor): Tensor {
    const view = channelStatsView(x.shape, axis, kind, other);
    return this.wrap([view[1]], k.channelStats(data(x), view, kind, maybe(other)));
  }
  async magnitudeHistogram(xs: Tensor[], shift: number, prefix: number): Promise<Uint32Array> {
    const hist = new Uint32Array(256);
    for (const x of xs) k.addMagnitudeHistogram(hist, data(x), shift, prefix);
    return hist;
  }
  thresholdMask(x: Tensor, thresholdBits: number): Tensor {
    return this.wrap(x.shape, k.thresholdMask(data(x), thresholdBits));
  }

  // ---- loss and optimizers ----

  softmaxCrossEntropy(logits: Tensor, labels: Tensor, o: DistillationOptions = {}) {
    const s = softmaxSettings(logits.shape, labels.shape, o);
    const r = k.softmaxCrossEntropy(data(logits), data(labels), s, maybe(o.teacher), s.temperature, o.teacher ? s.alpha : 0);
    return { loss: this.wrap(labels.shape, r.loss), dLogits: this.wrap(logits.shape, r.dLogits), correct: this.wrap(labels.shape, r.correct) };
  }
  squaredError(y: Tensor, target: Tensor) {
    assertShape('squaredError', 'target', target.shape, y.shape);
    const r = k.squaredError(data(y), data(target), y.shape[0]);
    return { loss: this.wrap([y.shape[0]], r.loss), dy: this.wrap(y.shape, r.dy) };
  }
  sgdStep(w: Tensor, grad: Tensor, velocity: Tensor, o: SgdOptions): void {
    checkOptimizer('sgdStep', w, { grad, velocity, mask: o.mask });
    (this.dnn ?? k).sgdStep(data(w), data(grad), data(velocity), maybe(o.mask), o.learningRate, o.momentum ?? 0, o.weightDecay ?? 0);
  }
  adamStep(w: Tensor, grad: Tensor, m: Tensor, v: Tensor, o: AdamOptions): void {
    checkAdamStep(o.step);
    checkOptimizer('adamStep', w, { grad, m, v, mask: o.mask });
    (this.dnn ?? k).adamStep(data(w), data(grad), data(m), data(v), maybe(o.mask), {
      lr: o.learningRate, beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, epsilon: o.epsilon ?? 1e-8, weightDecay: o.weightDecay ?? 0, step: o.step,
    });
  }
}
