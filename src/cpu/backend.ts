// The CPU reference as a Backend: slow, float64 inside, and the definition every other backend matches.
import type { AdamOptions, Backend, ChannelStat, BatchNormParams, LayerNormOptions, ConvInputs, DistillationOptions, FakeQuantOptions, LinearOptions, MemoryStats, SgdOptions, Tensor, Activation } from '../backend.js';
import { type Conv2dOptions, type PoolOptions, type Shape, sizeOf } from '../geometry.js';
import * as ref from './reference.js';

class CpuTensor implements Tensor {
  readonly size: number;
  constructor(readonly shape: Shape, readonly data: Float64Array) { this.size = sizeOf(shape); }
}

const nd = (t: Tensor): ref.NdArray => ({ shape: [...t.shape], data: (t as CpuTensor).data });
const opt = (t: Tensor | undefined) => (t ? nd(t) : undefined);

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  private live = new Set<CpuTensor>();
  private stats = { peakBytes: 0, bytesUploaded: 0, bytesRead: 0 };

  private wrap(a: ref.NdArray): CpuTensor {
    const t = new CpuTensor(a.shape, a.data);
    this.live.add(t);
    this.stats.peakBytes = Math.max(this.stats.peakBytes, this.memory().liveBytes);
    return t;
  }

  upload(data: ArrayLike<number>, shape: Shape): Tensor {
    this.stats.bytesUploaded += data.length * 4;
    return this.wrap(ref.ndarray(shape, Float32Array.from(data)));
  }
  zeros(shape: Shape): Tensor { return this.wrap(ref.ndarray(shape)); }
  async read(t: Tensor): Promise<Float32Array> {
    this.stats.bytesRead += t.size * 4;
    return Float32Array.from((t as CpuTensor).data);
  }
  reshape(t: Tensor, shape: Shape): Tensor {
    if (sizeOf(shape) !== t.size) throw new Error(`reshape: [${t.shape.join(', ')}] cannot become [${shape.join(', ')}]`);
    return this.wrap({ shape: [...shape], data: (t as CpuTensor).data });
  }
  dispose(...ts: (Tensor | undefined)[]): void { for (const t of ts) if (t) this.live.delete(t as CpuTensor); }
  flush(): void {}
  memory(): MemoryStats {
    const buffers = new Set([...this.live].map((t) => t.data.buffer));
    const liveBytes = [...buffers].reduce((s, b) => s + b.byteLength / 2, 0); // reported as float32 bytes
    return { liveTensors: this.live.size, liveBuffers: buffers.size, liveBytes, ...this.stats };
  }

  conv2d(x: Tensor, w: Tensor, o: Conv2dOptions & ConvInputs = {}): Tensor {
    return this.wrap(ref.conv2d(nd(x), nd(w), { ...o, bias: opt(o.bias), residual: opt(o.residual) }));
  }
  conv2dBackwardInput(dy: Tensor, w: Tensor, inputShape: Shape, o: Conv2dOptions = {}): Tensor {
    return this.wrap(ref.conv2dBackwardInput(nd(dy), nd(w), inputShape, o));
  }
  conv2dBackwardFilter(dy: Tensor, x: Tensor, filterShape: Shape, o: Conv2dOptions = {}): Tensor {
    return this.wrap(ref.conv2dBackwardFilter(nd(dy), nd(x), filterShape, o));
  }
  linear(x: Tensor, w: Tensor, o: LinearOptions = {}): Tensor {
    return this.wrap(ref.linear(nd(x), nd(w), { ...o, bias: opt(o.bias) }));
  }
  linearBackwardInput(dy: Tensor, w: Tensor): Tensor {
    return this.wrap(ref.linearBackwardInput(nd(dy), nd(w)));
  }
  linearBackwardWeight(dy: Tensor, x: Tensor): Tensor {
    return this.wrap(ref.linearBackwardWeight(nd(dy), nd(x)));
  }
  channelSum(x: Tensor): Tensor { return this.wrap(ref.channelSum(nd(x))); }

  batchNormTraining(x: Tensor, p: BatchNormParams) {
    const r = ref.batchNormTraining(nd(x), nd(p.gamma), nd(p.beta), nd(p.runningMean), nd(p.runningVar), p);
    return { y: this.wrap(r.y), mean: this.wrap(r.mean), invStd: this.wrap(r.invStd) };
  }
  batchNormInference(x: Tensor, p: BatchNormParams): Tensor {
    return this.wrap(ref.batchNormInference(nd(x), nd(p.gamma), nd(p.beta), nd(p.runningMean), nd(p.runningVar), p));
  }
  batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor) {
    const r = ref.batchNormBackward(nd(dy), nd(x), nd(gamma), nd(mean), nd(invStd));
    return { dx: this.wrap(r.dx), dGamma: this.wrap(r.dGamma), dBeta: this.wrap(r.dBeta) };
  }

  activation(x: Tensor, kind: Activation, alpha?: number): Tensor { return this.wrap(ref.activation(nd(x), kind, alpha)); }
  activationBackward(dy: Tensor, x: Tensor, kind: Activation, alpha?: number): Tensor { return this.wrap(ref.activationBackward(nd(dy), nd(x), kind, alpha)); }

  maxPool(x: Tensor, o: PoolOptions) {
    const r = ref.maxPool(nd(x), o);
    return { y: this.wrap(r.y), argmax: this.wrap(r.argmax) };
  }
  maxPoolValues(x: Tensor, o: PoolOptions): Tensor { return this.wrap(ref.maxPool(nd(x), o).y); }
  maxPoolBackward(dy: Tensor, argmax: Tensor, inputShape: Shape, o: PoolOptions): Tensor {
    return this.wrap(ref.maxPoolBackward(nd(dy), nd(argmax), inputShape, o));
  }
  avgPool(x: Tensor, o: PoolOptions): Tensor { return this.wrap(ref.avgPool(nd(x), o)); }
  avgPoolBackward(dy: Tensor, inputShape: Shape, o: PoolOptions): Tensor { return this.wrap(ref.avgPoolBackward(nd(dy), inputShape, o)); }
  globalAvgPool(x: Tensor): Tensor { return this.wrap(ref.globalAvgPool(nd(x))); }
  globalAvgPoolBackward(dy: Tensor, inputShape: Shape): Tensor { return this.wrap(ref.globalAvgPoolBackward(nd(dy), inputShape)); }

  add(a: Tensor, b: Tensor, o: { relu?: boolean } = {}): Tensor {
    const sum = ref.add(nd(a), nd(b));
    return this.wrap(o.relu ? ref.activation(sum, 'relu') : sum);
  }
  layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, o: LayerNormOptions) {
    const r = ref.layerNorm(nd(x), nd(gamma), nd(beta), { epsilon: o.epsilon, mask: opt(o.mask) });
    return { y: this.wrap(r.y), mean: this.wrap(r.mean), invStd: this.wrap(r.invStd) };
  }
  layerNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor, o: { mask?: Tensor } = {}) {
    const r = ref.layerNormBackward(nd(dy), nd(x), nd(gamma), nd(mean), nd(invStd), { mask: opt(o.mask) });
    return { dx: this.wrap(r.dx), dGamma: this.wrap(r.dGamma), dBeta: this.wrap(r.dBeta) };
  }
  resample(x: Tensor, rows: Tensor, cols: Tensor): Tensor { return this.wrap(ref.resample(nd(x), nd(rows), nd(cols))); }
  channelScale(x: Tensor, s: Tensor): Tensor { return this.wrap(ref.channelScale(nd(x), nd(s))); }
  channelScaleBackward(dy: Tensor, x: Tensor, s: Tensor) {
    const r = ref.channelScaleBackward(nd(dy), nd(x), nd(s));
    return { dx: this.wrap(r.dx), ds: this.wrap(r.ds) };
  }
  prelu(x: Tensor, slope: Tensor): Tensor { return this.wrap(ref.prelu(nd(x), nd(slope))); }
  preluBackward(dy: Tensor, x: Tensor, slope: Tensor) {
    const r = ref.preluBackward(nd(dy), nd(x), nd(slope));
    return { dx: this.wrap(r.dx), dSlope: this.wrap(r.dSlope) };
  }
  fakeQuantize(x: Tensor, scale: Tensor, zeroPoint: Tensor, o: FakeQuantOptions): Tensor { return this.wrap(ref.fakeQuantize(nd(x), nd(scale), nd(zeroPoint), o)); }
  fakeQuantizeBackward(dy: Tensor, x: Tensor, scale: Tensor, zeroPoint: Tensor, o: FakeQuantOptions): Tensor {
    return this.wrap(ref.fakeQuantizeBackward(nd(dy), nd(x), nd(scale), nd(zeroPoint), o));
  }
  concat(xs: Tensor[]): Tensor { return this.wrap(ref.concat(xs.map(nd))); }
  sliceChannels(x: Tensor, offset: number, count: number): Tensor { return this.wrap(ref.sliceChannels(nd(x), offset, count)); }

  channelStats(x: Tensor, axis: number, kind: ChannelStat, other?: Tensor): Tensor {
    return this.wrap(ref.channelStats(nd(x), axis, kind, opt(other)));
  }
  async magnitudeHistogram(xs: Tensor[], shift: number, prefix: number): Promise<Uint32Array> {
    return ref.magnitudeHistogram(xs.map(nd), shift, prefix);
  }
  thresholdMask(x: Tensor, thresholdBits: number): Tensor {
    return this.wrap(ref.thresholdMask(nd(x), thresholdBits));
  }
  gatherChannels(x: Tensor, axis: number, indices: Tensor): Tensor {
    return this.wrap(ref.gatherChannels(nd(x), axis, (indices as CpuTensor).data));
  }

  softmaxCrossEntropy(logits: Tensor, labels: Tensor, o: DistillationOptions = {}) {
    const r = ref.softmaxCrossEntropy(nd(logits), nd(labels), { ...o, teacher: opt(o.teacher) });
    return { loss: this.wrap(r.loss), dLogits: this.wrap(r.dLogits), correct: this.wrap(r.correct) };
  }
  squaredError(y: Tensor, target: Tensor) {
    const r = ref.squaredError(nd(y), nd(target));
    return { loss: this.wrap(r.loss), dy: this.wrap(r.dy) };
  }
  sgdStep(w: Tensor, grad: Tensor, velocity: Tensor, o: SgdOptions): void {
    ref.sgdStep(nd(w), nd(grad), nd(velocity), { ...o, mask: opt(o.mask) });
  }
  adamStep(w: Tensor, grad: Tensor, m: Tensor, v: Tensor, o: AdamOptions): void {
    ref.adamStep(nd(w), nd(grad), nd(m), nd(v), { ...o, mask: opt(o.mask) });
  }
}
