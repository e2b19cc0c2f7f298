// The gpu.js backend: the fallback when WebGPU is unavailable. Every op is a gpu.js kernel from
// shaders/gpujs/*.js (WebGL2/WebGL in browsers, WebAssembly with SIMD or plain JS in Node); tensors are
// float32 arrays between kernels, so a kernel call reads its inputs and returns a fresh output.
// Results match the CPU reference within float32 tolerance, like the WebGPU backend's.
import {
  ACTIVATIONS, type Activation, type AdamOptions, type Backend, type BatchNormParams, type ConvInputs, type DistillationOptions, type FakeQuantOptions, type LayerNormOptions, type LinearOptions,
  type SgdOptions, type Tensor, activationAlpha, addResidual,
  type ChannelStat,
} from '../backend.js';
import {
  type Conv2dGeometry, type Conv2dOptions, type PoolGeometry, type PoolOptions, type Shape,
  assertShape, channelScaleView, channelStatsView, preluView, quantView, checkAdamStep, checkBatchNorm, checkConvBias, checkConvInputs, checkOptimizer, checkSlice, concatShape, conv2dGeometry,
  gatherShape, globalPoolOptions, layerNormView, linearGeometry, resampleShape, poolGeometry, sizeOf, softmaxSettings,
} from '../geometry.js';
import { type Data, GpujsRuntime, type GpujsTensor, NONE, data } from './runtime.js';
import { type GpujsInstance, type GpujsMode, type GpujsModeProbe, type GpujsModule, loadGpujs, probeModes, slowerThanWebasm, supportedGpujsModes } from './modes.js';

export { GPUJS_MODES, type GpujsMode, type GpujsModeProbe, type GpujsModule, loadGpujs, supportedGpujsModes } from './modes.js';

/**
 * Every gpu.js mode on this machine: whether it runs our kernels, and how long a small convolution
 * takes there (after compilation), each mode forced.
 */
export const probeGpujsModes = (m?: GpujsModule): Promise<GpujsModeProbe[]> => probeModes((o) => GpujsBackend.create(o), m);

const ELEMENTWISE = {
  add: 0, threshold: 8, running: 9, inverseStd: 10, mul: 11, addRelu: 12, activation: 13, activationBackward: 14, channelScale: 15, prelu: 16, preluFactor: 17, difference: 18,
} as const;
const REDUCE = { sum: 0, squaredDeviation: 1, centeredProduct: 2, l1: 3, l2sq: 4, taylor: 5, product: 6, absmax: 7, preluSlope: 8 } as const;

function convArgs(g: Conv2dGeometry): number[] {
  return [g.inChannels, g.inH, g.inW, g.outChannels, g.outH, g.outW, g.kernelH, g.kernelW, g.strideH, g.strideW,
    g.padTop, g.padLeft, g.dilationH, g.dilationW, g.inChannels / g.groups, g.outChannels / g.groups];
}

function poolArgs(g: PoolGeometry): number[] {
  return [g.inH, g.inW, g.outH, g.outW, g.kernelH, g.kernelW, g.strideH, g.strideW,
    g.padTop, g.padLeft, g.padBottom, g.padRight, g.dilationH, g.dilationW, g.countIncludePad ? 1 : 0];
}

const floatBits = new Uint32Array(1);
const floatOfBits = new Float32Array(floatBits.buffer);

export interface GpujsBackendOptions {
  /** A gpu.js mode; by default the fastest that works here (see GpujsBackend.create). */
  mode?: GpujsMode;
  /** The gpu.js module, when the caller has loaded it (the browser demo does). */
  module?: GpujsModule;
  /** WebAssembly only: split kernels across a worker pool (default: where SharedArrayBuffer exists). */
  threads?: boolean;
}

export class GpujsBackend extends GpujsRuntime implements Backend {
  readonly name = 'gpujs';
  /** Why modes before `mode` (in GPUJS_MODES order) were not used. */
  skipped: string[] = [];

  private constructor(gpu: GpujsInstance, mode: GpujsMode, threads?: boolean) { super(gpu, mode, threads); }

  /**
   * Creates the backend on `o.mode`, or on the first supported mode (GPUJS_MODES order) whose test kernel
   * computes the right answer (a mode can be reported as supported and still fail to compile) and that
   * is not a GL slower than WebAssembly.
   */
  static async create(o: GpujsBackendOptions = {}): Promise<GpujsBackend> {
    const m = o.module ?? (await loadGpujs());
    const candidates = o.mode ? [o.mode] : supportedGpujsModes(m);
    const failures: string[] = [];
    for (const mode of candidates) {
      let gpu: GpujsInstance | undefined;
      try {
        gpu = new m.GPU({ mode });
        const be = new GpujsBackend(gpu, mode, o.threads);
        const probe = be.upload([1, -2, 3], [3]);
        const got = await be.read(be.activation(probe, 'relu'));
        if (got.join() !== '1,0,3') throw new Error(`test kernel returned [${got.join(', ')}]`);
        be.dispose(...be.live);
        const ran = be.kernels.get('elementwise')!;
        const actual = ran.kernel?.constructor.mode ?? ran.constructor.mode;
        // gpu.js degrades kernels it cannot compile to plain JS: that is mode cpu, not the one asked for.
        if (actual === 'cpu' && mode !== 'cpu') throw new Error(`gpu.js ran the test kernel on cpu: ${ran.kernel?.fallbackReason ?? 'no reason given'}`);
        if (!o.mode && candidates.includes('webasm')) {
          const slower = await slowerThanWebasm(be, ran, m, (o) => GpujsBackend.create(o));
          if (slower) throw new Error(slower);
        }
        be.skipped = failures;
        return be;
      } catch (e) {
        gpu?.destroy?.();
        failures.push(`${mode}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    throw new Error(`gpu.js: no mode works here (${failures.join('; ') || 'none supported'})`);
  }

  // ---- convolution and linear layers ----

  private convForward(g: Conv2dGeometry, x: Tensor, w: Tensor, shape: Shape, o: { bias?: Tensor; relu?: boolean }): Tensor {
    return this.output('conv2d-forward', shape, data(x), data(w), o.bias ? data(o.bias) : NONE,
      o.bias ? 1 : 0, o.relu ? 1 : 0, ...convArgs(g));
  }
  private convBackwardInput(g: Conv2dGeometry, dy: Tensor, w: Tensor, shape: Shape): Tensor {
    return this.output('conv2d-backward-input', shape, data(dy), data(w), ...convArgs(g));
  }
  private convBackwardFilter(g: Conv2dGeometry, dy: Tensor, x: Tensor, shape: Shape): Tensor {
    return this.output('conv2d-backward-filter', shape, data(dy), data(x), g.batch, ...convArgs(g));
  }

  conv2d(x: Tensor, w: Tensor, o: Conv2dOptions & ConvInputs = {}): Tensor {
    const g = conv2dGeometry(x.shape, w.shape, o);
    checkConvInputs('conv2d', g, o);
    if (o.residual) return addResidual(this, this.conv2d(x, w, { ...o, residual: undefined, relu: false }), o.residual, o.relu);
    return this.convForward(g, x, w, [g.batch, g.outChannels, g.outH, g.outW], o);
  }
  conv2dBackwardInput(dy: Tensor, w: Tensor, inputShape: Shape, o: Conv2dOptions = {}): Tensor {
    const g = conv2dGeometry(inputShape, w.shape, o);
    assertShape('conv2dBackwardInput', 'dy', dy.shape, [g.batch, g.outChannels, g.outH, g.outW]);
    return this.convBackwardInput(g, dy, w, [...inputShape]);
  }
  conv2dBackwardFilter(dy: Tensor, x: Tensor, filterShape: Shape, o: Conv2dOptions = {}): Tensor {
    const g = conv2dGeometry(x.shape, filterShape, o);
    assertShape('conv2dBackwardFilter', 'dy', dy.shape, [g.batch, g.outChannels, g.outH, g.outW]);
    return this.convBackwardFilter(g, dy, x, [...filterShape]);
  }
  linear(x: Tensor, w: Tensor, o: LinearOptions = {}): Tensor {
    const g = linearGeometry(x.shape, w.shape);
    checkConvBias('linear', g.outChannels, o);
    return this.convForward(g, x, w, [g.batch, g.outChannels], o);
  }
  linearBackwardInput(dy: Tensor, w: Tensor): Tensor {
    const g = linearGeometry([dy.shape[0], w.shape[1]], w.shape);
    assertShape('linearBackwardInput', 'dy', dy.shape, [g.batch, g.outChannels]);
    return this.convBackwardInput(g, dy, w, [g.batch, g.inChannels]);
  }
  linearBackwardWeight(dy: Tensor, x: Tensor): Tensor {
    const g = linearGeometry(x.shape, [dy.shape[1], x.shape[1]]);
    assertShape('linearBackwardWeight', 'dy', dy.shape, [g.batch, g.outChannels]);
    return this.convBackwardFilter(g, dy, x, [g.outChannels, g.inChannels]);
  }

  // ---- per-channel reductions and batch norm ----

  /** Per-channel sums of `a` viewed as [outer, channels, inner]. */
  private reduce(mode: number, a: Data, view: [number, number, number], o: { b?: Data; center?: Data; scale?: number } = {}): Data {
    const [outer, channels, inner] = view;
    return this.run('channel-reduce', channels, a, o.b ?? NONE, o.center ?? NONE, mode, outer, channels, inner, o.scale ?? 1);
  }

  private channelView(x: Tensor): [number, number, number] {
    if (x.shape.length < 2) throw new Error(`channelSum: input must be [N, C, ...], got [${x.shape.join(', ')}]`);
    return [x.shape[0], x.shape[1], x.size / (x.shape[0] * x.shape[1])];
  }

  channelSum(x: Tensor): Tensor {
    return this.wrap([x.shape[1]], this.reduce(REDUCE.sum, data(x), this.channelView(x)));
  }

  private normalize(x: Tensor, mean: Data, invStd: Data, gamma: Tensor, beta: Tensor): Tensor {
    const [, channels, spatial] = this.channelView(x);
    return this.output('batch-norm', x.shape, data(x), NONE, mean, invStd, data(gamma), data(beta), NONE, NONE, 0, channels, spatial, 0);
  }

  batchNormTraining(x: Tensor, p: BatchNormParams) {
    checkBatchNorm('batchNormTraining', x.shape, { gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar });
    const view = this.channelView(x);
    const channels = view[1];
    const count = x.size / channels;
    const mean = this.reduce(REDUCE.sum, data(x), view, { scale: 1 / count });
    const squares = this.reduce(REDUCE.squaredDeviation, data(x), view, { center: mean });
    const m = p.momentum;
    // Running statistics take the unbiased variance (PyTorch's convention).
    (p.runningMean as GpujsTensor).storage.data = this.run('elementwise', channels, data(p.runningMean), mean, ELEMENTWISE.running, m, 1);
    (p.runningVar as GpujsTensor).storage.data = this.run('elementwise', channels, data(p.runningVar), squares, ELEMENTWISE.running, m, 1 / Math.max(count - 1, 1));
    const invStd = this.run('elementwise', channels, squares, NONE, ELEMENTWISE.inverseStd, 1 / count, p.epsilon);
    return { y: this.normalize(x, mean, invStd, p.gamma, p.beta), mean: this.wrap([channels], mean), invStd: this.wrap([channels], invStd) };
  }

  batchNormInference(x: Tensor, p: BatchNormParams): Tensor {
    checkBatchNorm('batchNormInference', x.shape, { gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar });
    const invStd = this.run('elementwise', x.shape[1], data(p.runningVar), NONE, ELEMENTWISE.inverseStd, 1, p.epsilon);
    return this.normalize(x, data(p.runningMean), invStd, p.gamma, p.beta);
  }

  batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor) {
    assertShape('batchNormBackward', 'dy', dy.shape, x.shape);
    checkBatchNorm('batchNormBackward', x.shape, { gamma, mean, invStd });
    const view = this.channelView(x);
    const [, channels, spatial] = view;
    const dBeta = this.reduce(REDUCE.sum, data(dy), view);
    const centered = this.reduce(REDUCE.centeredProduct, data(dy), view, { b: data(x), center: data(mean) });
    const dx = this.output('batch-norm', x.shape, data(x), data(dy), data(mean), data(invStd), data(gamma), NONE, dBeta, centered,
      1, channels, spatial, x.size / channels);
    const dGamma = this.run('elementwise', channels, centered, data(invStd), ELEMENTWISE.mul, 0, 0);
    return { dx, dGamma: this.wrap([channels], dGamma), dBeta: this.wrap([channels], dBeta) };
  }

  /** One layer-norm kernel mode over `size` outputs (see shaders/gpujs/layer-norm.js). */
  private layerNormRun(mode: number, size: number, view: [number, number, number], t: { x: Tensor; dy?: Tensor; gamma?: Tensor; beta?: Tensor; mask?: Tensor; mean?: Data; invStd?: Data; meanG?: Data; meanGx?: Data }, epsilon = 0): Data {
    const [n, c, s] = view;
    const mask = t.mask ? data(t.mask) : new Float32Array(c).fill(1);
    const opt = (v?: Tensor) => (v ? data(v) : NONE);
    return this.run('layer-norm', size, data(t.x), opt(t.dy), opt(t.gamma), opt(t.beta), mask, t.mean ?? NONE, t.invStd ?? NONE, t.meanG ?? NONE, t.meanGx ?? NONE, mode, c, s, n * s, epsilon);
  }

  layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, o: LayerNormOptions) {
    const view = layerNormView('layerNorm', x.shape, { gamma, beta, mask: o.mask });
    const positions = view[0] * view[2];
    const t = { x, gamma, beta, mask: o.mask };
    const mean = this.layerNormRun(0, positions, view, t);
    const invStd = this.layerNormRun(1, positions, view, { ...t, mean }, o.epsilon);
    const y = this.layerNormRun(2, x.size, view, { ...t, mean, invStd });
    return { y: this.wrap(x.shape, y), mean: this.wrap([view[0], view[2]], mean), invStd: this.wrap([view[0], view[2]], invStd) };
  }
  layerNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor, o: { mask?: Tensor } = {}) {
    const view = layerNormView('layerNormBackward', x.shape, { gamma, mask: o.mask }, { mean, invStd });
    assertShape('layerNormBackward', 'dy', dy.shape, x.shape);
    const t = { x, dy, gamma, mask: o.mask, mean: data(mean), invStd: data(invStd) };
    const positions = view[0] * view[2];
    const meanG = this.layerNormRun(3, positions, view, t);
    const meanGx = this.layerNormRun(4, positions, view, t);
    const dx = this.layerNormRun(5, x.size, view, { ...t, meanG, meanGx });
    const dGamma = this.layerNormRun(6, view[1], view, t);
    const dBeta = this.layerNormRun(7, view[1], view, t);
    return { dx: this.wrap(x.shape, dx), dGamma: this.wrap([view[1]], dGamma), dBeta: this.wrap([view[1]], dBeta) };
  }

  resample(x: Tensor, rows: Tensor, cols: Tensor): Tensor {
    const shape = resampleShape('resample', x.shape, rows.shape, cols.shape);
    const [n, c, h, w] = x.shape;
    const [outH, outW] = [shape[2], shape[3]];
    const t = this.run('resample', n * c * outH * w, data(x), data(rows), 0, h, outH, w);
    return this.output('resample', shape, t, data(cols), 1, w, outW, w);
  }

  // ---- elementwise ----

  private elementwise(op: keyof typeof ELEMENTWISE, a: Tensor, b?: Tensor, s0 = 0, s1 = 0): Tensor {
    if (b) assertShape(op, 'second input', b.shape, a.shape);
    return this.output('elementwise', a.shape, data(a), b ? data(b) : NONE, ELEMENTWISE[op], s0, s1);
  }

  add(a: Tensor, b: Tensor, o: { relu?: boolean } = {}): Tensor { return this.elementwise(o.relu ? 'addRelu' : 'add', a, b); }
  fakeQuantize(x: Tensor, scale: Tensor, zeroPoint: Tensor, o: FakeQuantOptions): Tensor {
    const [, channels, inner] = quantView('fakeQuantize', x.shape, scale.size, zeroPoint.size, o);
    return this.output('fake-quantize', x.shape, data(x), data(scale), data(zeroPoint), NONE, 0, channels, inner, o.qmin, o.qmax, o.binary ? 1 : 0);
  }
  fakeQuantizeBackward(dy: Tensor, x: Tensor, scale: Tensor, zeroPoint: Tensor, o: FakeQuantOptions): Tensor {
    const [, channels, inner] = quantView('fakeQuantizeBackward', x.shape, scale.size, zeroPoint.size, o);
    assertShape('fakeQuantizeBackward', 'dy', dy.shape, x.shape);
    return this.output('fake-quantize', x.shape, data(x), data(scale), data(zeroPoint), data(dy), 1, channels, inner, o.qmin, o.qmax, o.binary ? 1 : 0);
  }
  channelScale(x: Tensor, s: Tensor): Tensor {
    const [, , inner] = channelScaleView('channelScale', x.shape, s.shape);
    return this.output('elementwise', x.shape, data(x), data(s), ELEMENTWISE.channelScale, inner, 0);
  }
  prelu(x: Tensor, slope: Tensor): Tensor {
    const [, channels, inner] = preluView('prelu', x.shape, slope.shape);
    return this.output('elementwise', x.shape, data(x), data(slope), ELEMENTWISE.prelu, inner, channels);
  }
  preluBackward(dy: Tensor, x: Tensor, slope: Tensor) {
    const view = preluView('preluBackward', x.shape, slope.shape);
    assertShape('preluBackward', 'dy', dy.shape, x.shape);
    const factor = this.run('elementwise', x.size, data(x), data(slope), ELEMENTWISE.preluFactor, view[2], view[1]);
    const dx = this.output('elementwise', x.shape, data(dy), factor, ELEMENTWISE.mul, 0, 0);
    return { dx, dSlope: this.wrap([view[1]], this.reduce(REDUCE.preluSlope, data(dy), view, { b: data(x) })) };
  }
  channelScaleBackward(dy: Tensor, x: Tensor, s: Tensor) {
    const [n, c, inner] = channelScaleView('channelScaleBackward', x.shape, s.shape);
    assertShape('channelScaleBackward', 'dy', dy.shape, x.shape);
    const ds = this.wrap(s.shape, this.reduce(REDUCE.product, data(dy), [1, n * c, inner], { b: data(x) }));
    return { dx: this.output('elementwise', x.shape, data(dy), data(s), ELEMENTWISE.channelScale, inner, 0), ds };
  }
  activation(x: Tensor, kind: Activation, alpha?: number): Tensor {
    return this.elementwise('activation', x, undefined, activationAlpha(kind, alpha), ACTIVATIONS.indexOf(kind));
  }
  activationBackward(dy: Tensor, x: Tensor, kind: Activation, alpha?: number): Tensor {
    return this.elementwise('activationBackward', dy, x, activationAlpha(kind, alpha), ACTIVATIONS.indexOf(kind));
  }

  // ---- pooling ----

  maxPool(x: Tensor, o: PoolOptions) {
    const g = poolGeometry('maxPool', x.shape, o);
    const shape = [g.batch, g.channels, g.outH, g.outW];
    return { y: this.output('pool', shape, data(x), 0, ...poolArgs(g)), argmax: this.output('pool', shape, data(x), 1, ...poolArgs(g)) };
  }
  maxPoolValues(x: Tensor, o: PoolOptions): Tensor {
    const g = poolGeometry('maxPool', x.shape, o);
    return this.output('pool', [g.batch, g.channels, g.outH, g.outW], data(x), 0, ...poolArgs(g));
  }
  maxPoolBackward(dy: Tensor, argmax: Tensor, inputShape: Shape, o: PoolOptions): Tensor {
    const g = poolGeometry('maxPoolBackward', inputShape, o);
    assertShape('maxPoolBackward', 'dy', dy.shape, [g.batch, g.channels, g.outH, g.outW]);
    assertShape('maxPoolBackward', 'argmax', argmax.shape, dy.shape);
    return this.output('pool-backward', [...inputShape], data(dy), data(argmax), 0, ...poolArgs(g));
  }
  avgPool(x: Tensor, o: PoolOptions): Tensor {
    const g = poolGeometry('avgPool', x.shape, o);
    return this.output('pool', [g.batch, g.channels, g.outH, g.outW], data(x), 2, ...poolArgs(g));
  }
  avgPoolBackward(dy: Tensor, inputShape: Shape, o: PoolOptions): Tensor {
    const g = poolGeometry('avgPoolBackward', inputShape, o);
    assertShape('avgPoolBackward', 'dy', dy.shape, [g.batch, g.channels, g.outH, g.outW]);
    return this.output('pool-backward', [...inputShape], data(dy), NONE, 1, ...poolArgs(g));
  }
  globalAvgPool(x: Tensor): Tensor { return this.avgPool(x, globalPoolOptions(x.shape)); }
  globalAvgPoolBackward(dy: Tensor, inputShape: Shape): Tensor { return this.avgPoolBackward(dy, inputShape, globalPoolOptions(inputShape)); }

  // ---- channel concat, slice and gather ----

  concat(xs: Tensor[]): Tensor {
    const shape = concatShape(xs.map((x) => x.shape));
    const inner = sizeOf(shape.slice(2));
    let values = data(xs[0]);
    let channels = xs[0].shape[1];
    for (const x of xs.slice(1)) {
      const count = channels + x.shape[1];
      values = this.run('channel-copy', shape[0] * count * inner, values, data(x), NONE, 2, channels, x.shape[1], 0, count, inner);
      channels = count;
    }
    if (xs.length === 1) return this.sliceChannels(xs[0], 0, channels);
    return this.wrap(shape, values);
  }
  sliceChannels(x: Tensor, offset: number, count: number): Tensor {
    checkSlice(x.shape, offset, count);
    const [n, channels, ...rest] = x.shape;
    return this.output('channel-copy', [n, count, ...rest], data(x), NONE, NONE, 1, channels, 0, offset, count, sizeOf(rest));
  }
  gatherChannels(x: Tensor, axis: number, indices: Tensor): Tensor {
    const { shape, view: [, channels, inner] } = gatherShape(x.shape, axis, indices.shape);
    const check = (values: Float32Array) => {
      for (const c of values) if (!Number.isInteger(c) || c < 0 || c >= channels) throw new Error(`gatherChannels: index ${c} outside ${channels} channels`);
      return values;
    };
    const idx = data(indices);
    return this.output('channel-copy', shape, data(x), NONE, idx instanceof Float32Array ? check(idx) : idx.then(check), 0, channels, 0, 0, indices.size, inner);
  }

  // ---- pruning statistics ----

  channelStats(x: Tensor, axis: number, kind: ChannelStat, other?: Tensor): Tensor {
    const view = channelStatsView(x.shape, axis, kind, other);
    return this.wrap([view[1]], this.reduce(REDUCE[kind], data(x), view, { b: other ? data(other) : undefined }));
  }

  /**
   * The radix histogram is a scatter, which gpu.js kernels cannot express without one pass per bin
   * (256 times the reads): with the values already in host memory, one pass here is the fast way.
   */
  async magnitudeHistogram(xs: Tensor[], shift: number, prefix: number): Promise<Uint32Array> {
    const hist = new Uint32Array(256);
    for (const x of xs) {
      const values = await data(x);
      const bits = new Uint32Array(values.buffer, values.byteOffset, x.size);
      for (let i = 0; i < bits.length; i++) {
        const b = bits[i] & 0x7fffffff;
        if (shift === 24 || b >>> (shift + 8) === prefix) hist[(b >>> shift) & 255]++;
      }
    }
    return hist;
  }

  /** For non-negative floats, comparing values orders them exactly as comparing bit patterns. */
  thresholdMask(x: Tensor, thresholdBits: number): Tensor {
    floatBits[0] = thresholdBits;
    return this.elementwise('threshold', x, undefined, floatOfBits[0]);
  }

  // ---- loss ----

  softmaxCrossEntropy(logits: Tensor, labels: Tensor, o: DistillationOptions = {}) {
    const { rows, classes, positions, temperature, alpha: distill, ignore } = softmaxSettings(logits.shape, labels.shape, o);
    const alpha = o.teacher ? distill : 0;
    const args = (mode: number) => [data(logits), data(labels), o.teacher ? data(o.teacher) : NONE, o.teacher ? 1 : 0, mode, rows, classes, temperature, alpha, positions, ignore];
    return {
      loss: this.output('softmax-cross-entropy', labels.shape, ...args(0)),
      dLogits: this.output('softmax-cross-entropy', logits.shape, ...args(1)),
      correct: this.output('softmax-cross-entropy', labels.shape, ...args(2)),
    };
  }

  squaredError(y: Tensor, target: Tensor) {
    const n = y.shape[0];
    const diff = this.elementwise('difference', y, target, 1, 1);
    const sums = this.wrap([n], this.reduce(REDUCE.l2sq, data(diff), [1, n, y.size / n], {}));
    const r = { loss: this.elementwise('difference', sums, sums, n / y.size, 0), dy: this.elementwise('difference', y, target, 2 / y.size, 1) };
    this.dispose(diff, sums);
    return r;
  }

  // ---- optimizers: new state computed from the old, then swapped in ----

  sgdStep(w: Tensor, grad: Tensor, velocity: Tensor, o: SgdOptions): void {
    checkOptimizer('sgdStep', w, { grad, velocity, mask: o.mask });
    const args = (which: number) => [data(w), data(grad), data(velocity), NONE, o.mask ? data(o.mask) : NONE, o.mask ? 1 : 0, which,
      o.learningRate, o.momentum ?? 0, o.weightDecay ?? 0, 0, 0, 0, 1, 1];
    // Both computed from the old state before either is swapped in.
    [(velocity as GpujsTensor).storage.data, (w as GpujsTensor).storage.data] = [this.run('optimizer', w.size, ...args(0)), this.run('optimizer', w.size, ...args(1))];
  }

  adamStep(w: Tensor, grad: Tensor, m: Tensor, v: Tensor, o: AdamOptions): void {
    checkAdamStep(o.step);
    checkOptimizer('adamStep', w, { grad, m, v, mask: o.mask });
    const b1 = o.beta1 ?? 0.9, b2 = o.beta2 ?? 0.999;
    const args = (which: number) => [data(w), data(grad), data(m), data(v), o.mask ? data(o.mask) : NONE, o.mask ? 1 : 0, which,
      o.learningRate, 0, o.weightDecay ?? 0, b1, b2, o.epsilon ?? 1e-8, 1 - b1 ** o.step, 1 - b2 ** o.step];
    const [nextM, nextV, nextW] = [this.run('optimizer', w.size, ...args(2)), this.run('optimizer', w.size, ...args(3)), this.run('optimizer', w.size, ...args(4))];
    [(m as GpujsTensor).storage.data, (v as GpujsTensor).storage.data, (w as GpujsTensor).storage.data] = [nextM, nextV, nextW];
  }
}
