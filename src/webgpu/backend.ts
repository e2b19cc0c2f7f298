// The WebGPU backend: each op validates its inputs (geometry.ts), allocates outputs and records
// dispatches of the kernels in shaders/. Nothing is submitted until a read or flush().
import {
  ACTIVATIONS, type Activation, type AdamOptions, type Backend, type BatchNormParams, type ConvInputs, type DistillationOptions, type FakeQuantOptions, type LayerNormOptions, type LinearOptions,
  type MemoryStats, type SgdOptions, type Tensor, activationAlpha, addResidual,
  type ChannelStat,
} from '../backend.js';
import {
  type Conv2dOptions, type PoolGeometry, type PoolOptions, type Shape,
  assertShape, channelScaleView, channelStatsView, preluView, quantView, checkAdamStep, checkBatchNorm, checkConvInputs, checkOptimizer, checkSlice, concatShape,
  conv2dGeometry, gatherShape, globalPoolOptions, poolGeometry, resampleShape, softmaxSettings,
} from '../geometry.js';
import { type AcquiredDevice, type DeviceOptions, acquireDevice } from './device.js';
import { GpuContext } from './context.js';
import { Convolutions, type ConvVariant } from './convolution.js';
import { layerNormBackward, layerNormForward } from './layer-norm.js';

export type { ConvVariant };

export interface WebGpuBackendOptions extends DeviceOptions {
  /** Force a conv kernel variant; by default chosen from the adapter and the layer. */
  convVariant?: ConvVariant;
}

const ELEMENTWISE = { add: 4, mul: 5, fill: 6, scale: 7, addRelu: 10, activation: 11, activationBackward: 12, channelScale: 13, prelu: 14, preluBackward: 15, difference: 16 } as const;
const WORKGROUP = 256;
/** channel-reduce.wgsl's MODE of each channel statistic. */
const CHANNEL_STAT_MODES = { l1: 3, l2sq: 4, taylor: 5, absmax: 7 } as const;
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly ctx: GpuContext;

  /** Set once the device is lost (a driver reset, a GPU process crash, or destroy()). */
  lost?: GPUDeviceLostInfo;

  private convolutions: Convolutions;

  constructor(readonly acquired: AcquiredDevice, options: WebGpuBackendOptions = {}) {
    this.ctx = new GpuContext(acquired.device);
    this.convolutions = new Convolutions(this.ctx, acquired.report.software, options.convVariant);
    void acquired.device.lost.then((info) => { this.lost = info; });
  }

  static async create(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    return new WebGpuBackend(await acquireDevice(options), options);
  }

  get report() { return this.acquired.report; }

  upload(data: ArrayLike<number>, shape: Shape): Tensor { return this.ctx.upload(data, shape); }
  zeros(shape: Shape): Tensor {
    const t = this.ctx.empty(shape);
    this.fill(t, 0);
    return t;
  }
  read(t: Tensor): Promise<Float32Array> { return this.ctx.read(t); }
  reshape(t: Tensor, shape: Shape): Tensor { return this.ctx.view(t, shape); }
  dispose(...ts: (Tensor | undefined)[]): void { for (const t of ts) if (t) this.ctx.dispose(t); }
  flush(): void { this.ctx.flush(); }
  memory(): MemoryStats { return this.ctx.memory(); }
  destroy(): void {
    if (!this.lost) this.ctx.destroy(); // a lost device took its buffers with it
    this.acquired.device.destroy();
  }

  // ---- convolution and linear layers (convolution.ts) ----

  convVariant(rows: number): ConvVariant { return this.convolutions.convVariant(rows); }
  conv2d(x: Tensor, w: Tensor, o: Conv2dOptions & ConvInputs = {}): Tensor {
    if (!o.residual) return this.convolutions.conv2d(x, w, o);
    checkConvInputs('conv2d', conv2dGeometry(x.shape, w.shape, o), o);
    return addResidual(this, this.convolutions.conv2d(x, w, { ...o, relu: false }), o.residual, o.relu);
  }
  conv2dBackwardInput(dy: Tensor, w: Tensor, inputShape: Shape, o: Conv2dOptions = {}): Tensor { return this.convolutions.conv2dBackwardInput(dy, w, inputShape, o); }
  conv2dBackwardFilter(dy: Tensor, x: Tensor, filterShape: Shape, o: Conv2dOptions = {}): Tensor { return this.convolutions.conv2dBackwardFilter(dy, x, filterShape, o); }
  linear(x: Tensor, w: Tensor, o: LinearOptions = {}): Tensor { return this.convolutions.linear(x, w, o); }
  linearBackwardInput(dy: Tensor, w: Tensor): Tensor { return this.convolutions.linearBackwardInput(dy, w); }
  linearBackwardWeight(dy: Tensor, x: Tensor): Tensor { return this.convolutions.linearBackwardWeight(dy, x); }

  // ---- per-channel reductions and batch norm ----

  private channelReduce(mode: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8, a: Tensor, o: { b?: Tensor; center?: Tensor; scale?: number; out0: Tensor; out1?: Tensor }) {
    const [batch, channels] = a.shape;
    const spatial = a.size / (batch * channels);
    this.ctx.run({
      shader: 'channel-reduce', entry: 'main', overrides: { MODE: mode },
      params: [batch, channels, spatial, o.scale ?? 1], floats: [3],
      bindings: { 1: a, 2: o.b ?? this.ctx.dummy, 3: o.center ?? this.ctx.dummy, 4: o.out0, 5: o.out1 ?? this.ctx.dummyOut },
      workgroups: [channels],
    });
  }

  channelSum(x: Tensor): Tensor {
    if (x.shape.length < 2) throw new Error(`channelSum: input must be [N, C, ...], got [${x.shape.join(', ')}]`);
    const out = this.ctx.empty([x.shape[1]]);
    this.channelReduce(0, x, { out0: out });
    return out;
  }

  private batchNormRun(entry: string, x: Tensor, epsilon: number, momentum: number, bindings: Record<number, Tensor | GPUBuffer>, perChannel: boolean) {
    const [batch, channels] = x.shape;
    const spatial = x.size / (batch * channels);
    this.ctx.run({
      shader: 'batch-norm', entry, overrides: { WORKGROUP_SIZE: WORKGROUP },
      params: [batch, channels, spatial, epsilon, momentum], floats: [3, 4],
      bindings,
      workgroups: perChannel ? [Math.ceil(channels / WORKGROUP)] : this.ctx.grid(x.size, WORKGROUP),
    });
  }

  batchNormTraining(x: Tensor, p: BatchNormParams) {
    checkBatchNorm('batchNormTraining', x.shape, { gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar });
    const channels = x.shape[1];
    const count = x.size / channels;
    const mean = this.ctx.empty([channels]);
    const invStd = this.ctx.empty([channels]);
    this.channelReduce(0, x, { scale: 1 / count, out0: mean });
    this.channelReduce(1, x, { center: mean, out0: invStd });
    this.batchNormRun('finalize_statistics', x, p.epsilon, p.momentum, { 5: mean, 6: invStd, 7: p.runningMean, 8: p.runningVar }, true);
    const y = this.ctx.empty(x.shape);
    this.batchNormRun('normalize', x, p.epsilon, p.momentum, { 1: x, 3: p.gamma, 4: p.beta, 5: mean, 6: invStd, 11: y }, false);
    return { y, mean, invStd };
  }

  batchNormInference(x: Tensor, p: BatchNormParams): Tensor {
    checkBatchNorm('batchNormInference', x.shape, { gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar });
    const invStd = this.ctx.empty([x.shape[1]]);
    this.batchNormRun('inverse_std', x, p.epsilon, p.momentum, { 6: invStd, 8: p.runningVar }, true);
    const y = this.ctx.empty(x.shape);
    this.batchNormRun('normalize', x, p.epsilon, p.momentum, { 1: x, 3: p.gamma, 4: p.beta, 5: p.runningMean, 6: invStd, 11: y }, false);
    this.dispose(invStd);
    return y;
  }

  batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor) {
    assertShape('batchNormBackward', 'dy', dy.shape, x.shape);
    checkBatchNorm('batchNormBackward', x.shape, { gamma, mean, invStd });
    const channels = x.shape[1];
    const dBeta = this.ctx.empty([channels]);
    const centered = this.ctx.empty([channels]);
    this.channelReduce(2, dy, { b: x, center: mean, out0: dBeta, out1: centered });
    const dx = this.ctx.empty(x.shape);
    this.batchNormRun('backward', x, 0, 0, { 1: x, 2: dy, 3: gamma, 5: mean, 6: invStd, 9: dBeta, 10: centered, 11: dx }, false);
    const dGamma = this.elementwise('mul', centered, invStd);
    this.dispose(centered);
    return { dx, dGamma, dBeta };
  }

  layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, o: LayerNormOptions) { return layerNormForward(this.ctx, x, gamma, beta, o); }
  layerNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor, o: { mask?: Tensor } = {}) {
    return layerNormBackward(this.ctx, dy, x, gamma, mean, invStd, o);
  }

  resample(x: Tensor, rows: Tensor, cols: Tensor): Tensor {
    const shape = resampleShape('resample', x.shape, rows.shape, cols.shape);
    const [n, c, h, w] = x.shape;
    const [outH, outW] = [shape[2], shape[3]];
    const params = [n * c, h, w, outH, outW];
    const t = this.ctx.empty([n, c, outH, w]);
    this.ctx.run({ shader: 'resample', entry: 'rows_pass', overrides: { WORKGROUP_SIZE: WORKGROUP }, params, bindings: { 1: x, 2: rows, 3: t }, workgroups: this.ctx.grid(t.size, WORKGROUP) });
    const y = this.ctx.empty(shape);
    this.ctx.run({ shader: 'resample', entry: 'cols_pass', overrides: { WORKGROUP_SIZE: WORKGROUP }, params, bindings: { 1: t, 2: cols, 3: y }, workgroups: this.ctx.grid(y.size, WORKGROUP) });
    this.dispose(t);
    return y;
  }

  // ---- elementwise ----

  /**
   * One elementwise kernel over a's size: `value` is the scalar (fill, scale, an activation's alpha), `act`
   * the activation, `inner` the run length that shares one factor of b (channelScale) and `channels` the
   * factors' count (PReLU, whose input gradient takes the slopes as `slopes`).
   */
  private elementwise(op: keyof typeof ELEMENTWISE, a: Tensor, b?: Tensor, o: { value?: number; out?: Tensor; act?: Activation; inner?: number; channels?: number; slopes?: Tensor } = {}): Tensor {
    if (b && op !== 'channelScale' && op !== 'prelu') assertShape(op, 'second input', b.shape, a.shape);
    const y = o.out ?? this.ctx.empty(a.shape);
    const [value, act, inner] = [o.value ?? 0, o.act ?? 'relu', o.inner ?? 1];
    this.ctx.run({
      shader: 'elementwise', entry: 'main', overrides: { OP: ELEMENTWISE[op], ACT: ACTIVATIONS.indexOf(act), WORKGROUP_SIZE: WORKGROUP },
      params: [a.size, value, inner, o.channels ?? 1], floats: [1],
      bindings: { 1: op === 'fill' ? this.ctx.dummy : a, 2: b ?? this.ctx.dummy, 3: y, 4: o.slopes ?? this.ctx.dummy },
      workgroups: this.ctx.grid(a.size, WORKGROUP),
    });
    return y;
  }

  /** Sets every element of t to value, in place. */
  fill(t: Tensor, value: number): void { this.elementwise('fill', t, undefined, { value, out: t }); }
  scale(t: Tensor, factor: number): Tensor { return this.elementwise('scale', t, undefined, { value: factor }); }
  mul(a: Tensor, b: Tensor): Tensor { return this.elementwise('mul', a, b); }
  add(a: Tensor, b: Tensor, o: { relu?: boolean } = {}): Tensor { return this.elementwise(o.relu ? 'addRelu' : 'add', a, b); }
  fakeQuantize(x: Tensor, scale: Tensor, zeroPoint: Tensor, o: FakeQuantOptions): Tensor { return this.fakeQuant(0, x, scale, zeroPoint, o); }
  fakeQuantizeBackward(dy: Tensor, x: Tensor, scale: Tensor, zeroPoint: Tensor, o: FakeQuantOptions): Tensor {
    assertShape('fakeQuantizeBackward', 'dy', dy.shape, x.shape);
    return this.fakeQuant(1, x, scale, zeroPoint, o, dy);
  }
  private fakeQuant(mode: 0 | 1, x: Tensor, scale: Tensor, zeroPoint: Tensor, o: FakeQuantOptions, dy?: Tensor): Tensor {
    const [, channels, inner] = quantView(mode ? 'fakeQuantizeBackward' : 'fakeQuantize', x.shape, scale.size, zeroPoint.size, o);
    const y = this.ctx.empty(x.shape);
    this.ctx.run({
      shader: 'fake-quantize', entry: 'main', overrides: { MODE: mode, BINARY: !!o.binary, WORKGROUP_SIZE: WORKGROUP },
      params: [x.size, channels, inner, o.qmin, o.qmax], floats: [3, 4],
      bindings: { 1: x, 2: scale, 3: zeroPoint, 4: dy ?? this.ctx.dummy, 5: y }, workgroups: this.ctx.grid(x.size, WORKGROUP),
    });
    return y;
  }

  prelu(x: Tensor, slope: Tensor): Tensor {
    const [, channels, inner] = preluView('prelu', x.shape, slope.shape);
    return this.elementwise('prelu', x, slope, { inner, channels });
  }
  preluBackward(dy: Tensor, x: Tensor, slope: Tensor) {
    const [, channels, inner] = preluView('preluBackward', x.shape, slope.shape);
    assertShape('preluBackward', 'dy', dy.shape, x.shape);
    const dSlope = this.ctx.empty([channels]);
    this.channelReduce(8, dy, { b: x, out0: dSlope });
    return { dx: this.elementwise('preluBackward', dy, x, { inner, channels, slopes: slope }), dSlope };
  }
  channelScale(x: Tensor, s: Tensor): Tensor {
    const [, , inner] = channelScaleView('channelScale', x.shape, s.shape);
    return this.elementwise('channelScale', x, s, { inner });
  }
  channelScaleBackward(dy: Tensor, x: Tensor, s: Tensor) {
    const [n, c, inner] = channelScaleView('channelScaleBackward', x.shape, s.shape);
    assertShape('channelScaleBackward', 'dy', dy.shape, x.shape);
    const ds = this.ctx.empty(s.shape);
    const [dyView, xView] = [this.reshape(dy, [1, n * c, inner]), this.reshape(x, [1, n * c, inner])];
    this.channelReduce(6, dyView, { b: xView, out0: ds });
    this.dispose(dyView, xView);
    return { dx: this.elementwise('channelScale', dy, s, { inner }), ds };
  }
  activation(x: Tensor, kind: Activation, alpha?: number): Tensor {
    return this.elementwise('activation', x, undefined, { value: activationAlpha(kind, alpha), act: kind });
  }
  activationBackward(dy: Tensor, x: Tensor, kind: Activation, alpha?: number): Tensor {
    return this.elementwise('activationBackward', dy, x, { value: activationAlpha(kind, alpha), act: kind });
  }

  // ---- pooling ----

  private pool(entry: string, g: PoolGeometry, bindings: Record<number, Tensor | GPUBuffer>, elements: number) {
    this.ctx.run({
      shader: 'pooling', entry, overrides: { WORKGROUP_SIZE: WORKGROUP },
      params: [g.batch * g.channels, g.inH, g.inW, g.outH, g.outW, g.kernelH, g.kernelW, g.strideH, g.strideW,
        g.padTop, g.padLeft, g.padBottom, g.padRight, g.dilationH, g.dilationW, g.countIncludePad ? 1 : 0],
      bindings,
      workgroups: this.ctx.grid(elements, WORKGROUP),
    });
  }

  maxPool(x: Tensor, o: PoolOptions) {
    const g = poolGeometry('maxPool', x.shape, o);
    const y = this.ctx.empty([g.batch, g.channels, g.outH, g.outW]);
    const argmax = this.ctx.empty(y.shape);
    this.pool('max_forward', g, { 1: x, 3: y, 4: argmax }, y.size);
    return { y, argmax };
  }

  /** The pooling kernel writes the argmax beside the values; here it goes to a scratch buffer, released at once. */
  maxPoolValues(x: Tensor, o: PoolOptions): Tensor {
    const { y, argmax } = this.maxPool(x, o);
    this.dispose(argmax);
    return y;
  }

  maxPoolBackward(dy: Tensor, argmax: Tensor, inputShape: Shape, o: PoolOptions): Tensor {
    const g = poolGeometry('maxPoolBackward', inputShape, o);
    assertShape('maxPoolBackward', 'dy', dy.shape, [g.batch, g.channels, g.outH, g.outW]);
    assertShape('maxPoolBackward', 'argmax', argmax.shape, dy.shape);
    const dx = this.ctx.empty(inputShape);
    this.pool('max_backward', g, { 1: dy, 2: argmax, 3: dx }, dx.size);
    return dx;
  }

  avgPool(x: Tensor, o: PoolOptions): Tensor {
    const g = poolGeometry('avgPool', x.shape, o);
    const y = this.ctx.empty([g.batch, g.channels, g.outH, g.outW]);
    this.pool('avg_forward', g, { 1: x, 3: y }, y.size);
    return y;
  }

  avgPoolBackward(dy: Tensor, inputShape: Shape, o: PoolOptions): Tensor {
    const g = poolGeometry('avgPoolBackward', inputShape, o);
    assertShape('avgPoolBackward', 'dy', dy.shape, [g.batch, g.channels, g.outH, g.outW]);
    const dx = this.ctx.empty(inputShape);
    this.pool('avg_backward', g, { 1: dy, 2: this.ctx.dummy, 3: dx }, dx.size); // argmax slot unread
    return dx;
  }

  globalAvgPool(x: Tensor): Tensor { return this.avgPool(x, globalPoolOptions(x.shape)); }
  globalAvgPoolBackward(dy: Tensor, inputShape: Shape): Tensor { return this.avgPoolBackward(dy, inputShape, globalPoolOptions(inputShape)); }

  // ---- channel concat and slice ----

  private copyChannels(src: Tensor, srcOffset: number, dst: Tensor, dstOffset: number, count: number) {
    const [batch, srcChannels] = src.shape;
    const spatial = src.size / (batch * srcChannels);
    this.ctx.run({
      shader: 'channel-copy', entry: 'main', overrides: { WORKGROUP_SIZE: WORKGROUP },
      params: [batch, spatial, count, srcChannels, srcOffset, dst.shape[1], dstOffset],
      bindings: { 1: src, 2: dst },
      workgroups: this.ctx.grid(batch * count * spatial, WORKGROUP),
    });
  }

  concat(xs: Tensor[]): Tensor {
    const y = this.ctx.empty(concatShape(xs.map((x) => x.shape)));
    let offset = 0;
    for (const x of xs) {
      this.copyChannels(x, 0, y, offset, x.shape[1]);
      offset += x.shape[1];
    }
    return y;
  }

  sliceChannels(x: Tensor, offset: number, count: number): Tensor {
    checkSlice(x.shape, offset, count);
    const [n, , ...rest] = x.shape;
    const y = this.ctx.empty([n, count, ...rest]);
    this.copyChannels(x, offset, y, 0, count);
    return y;
  }

  channelStats(x: Tensor, axis: number, kind: ChannelStat, other?: Tensor): Tensor {
    const [outer, channels, inner] = channelStatsView(x.shape, axis, kind, other);
    const view = this.ctx.view(x, [outer, channels, inner]);
    const out = this.ctx.empty([channels]);
    this.channelReduce(CHANNEL_STAT_MODES[kind], view, { b: other, out0: out });
    this.dispose(view);
    return out;
  }

  async magnitudeHistogram(xs: Tensor[], shift: number, prefix: number): Promise<Uint32Array> {
    const hist = this.zeros([256]);
    for (const x of xs) {
      this.ctx.run({
        shader: 'magnitude-select', entry: 'histogram', overrides: { WORKGROUP_SIZE: WORKGROUP },
        params: [x.size, shift, prefix, 0], bindings: { 1: x, 3: hist }, workgroups: this.ctx.grid(x.size, WORKGROUP),
      });
    }
    const counts = new Uint32Array((await this.read(hist)).buffer);
    this.dispose(hist);
    return counts;
  }

  thresholdMask(x: Tensor, thresholdBits: number): Tensor {
    const y = this.ctx.empty(x.shape);
    this.ctx.run({
      shader: 'magnitude-select', entry: 'threshold_mask', overrides: { WORKGROUP_SIZE: WORKGROUP },
      params: [x.size, 0, 0, thresholdBits], bindings: { 1: x, 4: y }, workgroups: this.ctx.grid(x.size, WORKGROUP),
    });
    return y;
  }

  gatherChannels(x: Tensor, axis: number, indices: Tensor): Tensor {
    const { shape, view: [outer, channels, inner] } = gatherShape(x.shape, axis, indices.shape);
    const y = this.ctx.empty(shape);
    this.ctx.run({
      shader: 'gather-channels', entry: 'main', overrides: { WORKGROUP_SIZE: WORKGROUP },
      params: [outer, channels, inner, indices.size], bindings: { 1: x, 2: indices, 3: y },
      workgroups: this.ctx.grid(y.size, WORKGROUP),
    });
    return y;
  }

  // ---- loss ----

  softmaxCrossEntropy(logits: Tensor, labels: Tensor, o: DistillationOptions = {}) {
    const { rows, classes, positions, temperature, alpha, ignore } = softmaxSettings(logits.shape, labels.shape, o);
    const loss = this.ctx.empty(labels.shape);
    const dLogits = this.ctx.empty(logits.shape);
    const correct = this.ctx.empty(labels.shape);
    this.ctx.run({
      shader: 'softmax-cross-entropy', entry: 'main', overrides: { HAS_TEACHER: !!o.teacher },
      params: [rows, classes, temperature, alpha, 1 / rows, positions, ignore], floats: [2, 3, 4, 6],
      bindings: { 1: logits, 2: labels, 3: o.teacher ?? this.ctx.dummy, 4: loss, 5: dLogits, 6: correct },
      workgroups: this.ctx.grid(rows, 64),
    });
    return { loss, dLogits, correct };
  }

  squaredError(y: Tensor, target: Tensor) {
    const n = y.shape[0];
    const diff = this.elementwise('difference', y, target, { value: 1 });
    const view = this.reshape(diff, [n, diff.size / n]);
    const sums = this.channelStats(view, 0, 'l2sq');
    const r = { loss: this.scale(sums, n / diff.size), dy: this.scale(diff, 2 / diff.size) };
    this.dispose(diff, view, sums);
    return r;
  }

  // ---- optimizers ----

  private optimizerStep(entry: 'sgd' | 'adam', w: Tensor, grad: Tensor, s1: Tensor, s2: Tensor | undefined, mask: Tensor | undefined, hyper: number[]) {
    checkOptimizer(`${entry}Step`, w, { grad, [entry === 'sgd' ? 'velocity' : 'm']: s1, v: s2, mask });
    const bindings: Record<number, Tensor | GPUBuffer> = { 1: w, 2: grad, 3: s1, 5: mask ?? this.ctx.dummy };
    if (s2) bindings[4] = s2;
    this.ctx.run({
      shader: 'optimizer', entry, overrides: { HAS_MASK: !!mask, WORKGROUP_SIZE: WORKGROUP },
      params: [w.size, ...hyper], floats: [1, 2, 3, 4, 5, 6, 7],
      bindings,
      workgroups: this.ctx.grid(w.size, WORKGROUP),
    });
  }

  sgdStep(w: Tensor, grad: Tensor, velocity: Tensor, o: SgdOptions): void {
    this.optimizerStep('sgd', w, grad, velocity, undefined, o.mask, [o.learningRate, o.momentum ?? 0, o.weightDecay ?? 0, 0, 0, 0, 0]);
  }

  adamStep(w: Tensor, grad: Tensor, m: Tensor, v: Tensor, o: AdamOptions): void {
    checkAdamStep(o.step);
    this.optimizerStep('adam', w, grad, m, v, o.mask,
      [o.learningRate, 0, o.weightDecay ?? 0, o.beta1 ?? 0.9, o.beta2 ?? 0.999, o.epsilon ?? 1e-8, o.step]);
  }
}
