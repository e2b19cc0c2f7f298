// The narrow interface every backend implements (WebGPU, the CPU reference, gpu.js): tensors in,
// tensors out, NCHW float32. Gradients are separate ops so a training loop can record a whole step.
import type { Conv2dOptions, PoolOptions, Shape } from './geometry.js';

export interface Tensor {
  readonly shape: Shape;
  readonly size: number;
}

/**
 * Elementwise activations (see reference.activation for each formula). Their index in this list is the
 * code the shaders use. `alpha` is leaky ReLU's negative slope and hard sigmoid's slope.
 */
export const ACTIVATIONS = ['relu', 'relu6', 'leakyrelu', 'sigmoid', 'hardsigmoid', 'hardswish', 'silu', 'gelu', 'gelu-tanh'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** `alpha` when the caller gives none: leaky ReLU 0.01 (ONNX's default), hard sigmoid 1/6 (PyTorch's; ONNX's default is 0.2). */
export function activationAlpha(kind: Activation, alpha?: number): number {
  return alpha ?? (kind === 'hardsigmoid' ? 1 / 6 : 0.01);
}

// Weight masks are applied once, in the model's parameter view: a network's weights are 0 where pruned and
// the optimizer steps (which take the mask) keep them so; kernels see effective weights only.
export interface ConvInputs {
  bias?: Tensor;
  /** Added to the output (its shape) before the fused ReLU: a residual block's sum in the convolution's store. */
  residual?: Tensor;
}
export interface LinearOptions { bias?: Tensor; relu?: boolean }

export interface BatchNormParams {
  gamma: Tensor; beta: Tensor; runningMean: Tensor; runningVar: Tensor;
  epsilon: number;
  /** Weight of the new batch statistic in the running averages (PyTorch's momentum, 0.1 by default). */
  momentum: number;
}

export interface LayerNormOptions {
  epsilon: number;
  /** [C], 0 for pruned channels: statistics over the kept channels only, and 0 out where masked. */
  mask?: Tensor;
}

export interface DistillationOptions {
  /** Teacher logits for distillation; without them the loss is plain cross-entropy. */
  teacher?: Tensor;
  temperature?: number;
  /** Weight of the distillation term (the hard-label term gets 1 - alpha). */
  alpha?: number;
  /** Rows (pixels) with this label add nothing to the hard-label term, nor to `correct` (a mask's "void", 255). */
  ignoreLabel?: number;
}

/**
 * The integer grid of a fake quantization: [qmin, qmax] (e.g. -128..127 for int8), per index along `axis`
 * or per tensor. `binary` (with the grid [-1, 1]): one bit, y = s · sign(x) with sign(0) = +1, no zero
 * point, and the gradient of the clipped-linear surrogate s · clamp(x / s, -1, 1): dy where |x| ≤ s.
 */
export interface FakeQuantOptions { qmin: number; qmax: number; axis?: number; binary?: boolean }

/** Per-channel statistics: sum |x|, sum x², sum |x · other| (Taylor importance), max |x| (a symmetric quantizer's range). */
export type ChannelStat = 'l1' | 'l2sq' | 'taylor' | 'absmax';

export interface SgdOptions { learningRate: number; momentum?: number; weightDecay?: number; mask?: Tensor }
export interface AdamOptions {
  learningRate: number; beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number;
  /** 1-based step count, for the bias correction. */
  step: number;
  mask?: Tensor;
}

export interface MemoryStats {
  liveTensors: number;
  liveBuffers: number;
  liveBytes: number;
  peakBytes: number;
  bytesUploaded: number;
  bytesRead: number;
}

export interface Backend {
  readonly name: string;

  upload(data: ArrayLike<number>, shape: Shape): Tensor;
  zeros(shape: Shape): Tensor;
  read(t: Tensor): Promise<Float32Array>;
  /** A view of the same storage with another shape (flatten); dispose it like any tensor. */
  reshape(t: Tensor, shape: Shape): Tensor;
  dispose(...ts: (Tensor | undefined)[]): void;
  /** Sends recorded work to the device; reads flush implicitly. */
  flush(): void;
  memory(): MemoryStats;

  conv2d(x: Tensor, w: Tensor, o?: Conv2dOptions & ConvInputs): Tensor;
  conv2dBackwardInput(dy: Tensor, w: Tensor, inputShape: Shape, o?: Conv2dOptions): Tensor;
  conv2dBackwardFilter(dy: Tensor, x: Tensor, filterShape: Shape, o?: Conv2dOptions): Tensor;
  /** y = x W^T + b with W of shape [out, in]. */
  linear(x: Tensor, w: Tensor, o?: LinearOptions): Tensor;
  linearBackwardInput(dy: Tensor, w: Tensor): Tensor;
  linearBackwardWeight(dy: Tensor, x: Tensor): Tensor;
  /** Sum over batch and space per channel: the gradient of a bias. */
  channelSum(x: Tensor): Tensor;

  batchNormTraining(x: Tensor, p: BatchNormParams): { y: Tensor; mean: Tensor; invStd: Tensor };
  batchNormInference(x: Tensor, p: BatchNormParams): Tensor;
  batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor): { dx: Tensor; dGamma: Tensor; dBeta: Tensor };

  /**
   * Layer normalisation over the channels at each position of x [N, C, H, W] or [N, C] (ConvNeXt's
   * LayerNorm2d): y = mask * (gamma * (x - mean) * invStd + beta); mean and invStd are [N, H*W].
   */
  layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, o: LayerNormOptions): { y: Tensor; mean: Tensor; invStd: Tensor };
  layerNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor, o?: { mask?: Tensor }): { dx: Tensor; dGamma: Tensor; dBeta: Tensor };

  activation(x: Tensor, kind: Activation, alpha?: number): Tensor;
  activationBackward(dy: Tensor, x: Tensor, kind: Activation, alpha?: number): Tensor;
  /** PReLU over x [N, C, H, W] or [N, C]: x where x > 0, else slope[c] · x (slope [C]). */
  prelu(x: Tensor, slope: Tensor): Tensor;
  /** Its gradients: dx = dy where x > 0, else slope[c] · dy; dSlope[c] = the sum over batch and positions of dy · min(x, 0). */
  preluBackward(dy: Tensor, x: Tensor, slope: Tensor): { dx: Tensor; dSlope: Tensor };

  maxPool(x: Tensor, o: PoolOptions): { y: Tensor; argmax: Tensor };
  /** Max pooling's values alone, for inference: no argmax is kept for a backward pass. */
  maxPoolValues(x: Tensor, o: PoolOptions): Tensor;
  maxPoolBackward(dy: Tensor, argmax: Tensor, inputShape: Shape, o: PoolOptions): Tensor;
  avgPool(x: Tensor, o: PoolOptions): Tensor;
  avgPoolBackward(dy: Tensor, inputShape: Shape, o: PoolOptions): Tensor;
  globalAvgPool(x: Tensor): Tensor;
  globalAvgPoolBackward(dy: Tensor, inputShape: Shape): Tensor;

  /**
   * Separable linear resampling of each [H, W] plane: y = rows x cols^T with rows [outH, H] and cols
   * [outW, W] (nearest and bilinear upsampling; its gradient is resample(dy, rows^T, cols^T)).
   */
  resample(x: Tensor, rows: Tensor, cols: Tensor): Tensor;

  /** a + b; with relu, max(a + b, 0) in the same pass (a residual block's end, at inference). */
  add(a: Tensor, b: Tensor, o?: { relu?: boolean }): Tensor;
  /** x [N, C, H, W] times s [N, C, 1, 1], broadcast over positions: squeeze-excitation's channel scale. */
  channelScale(x: Tensor, s: Tensor): Tensor;
  /** channelScale's gradients: dx = dy * s; ds[n, c] = sum over positions of dy * x. */
  channelScaleBackward(dy: Tensor, x: Tensor, s: Tensor): { dx: Tensor; ds: Tensor };
  concat(xs: Tensor[]): Tensor;
  sliceChannels(x: Tensor, offset: number, count: number): Tensor;

  /**
   * Fake quantization (quantize, then dequantize) per index along `axis` (per channel) or per tensor
   * (`axis` absent; scale and zeroPoint hold one value): q = roundHalfEven(x / scale) + zeroPoint,
   * y = (clamp(q, qmin, qmax) − zeroPoint) · scale.
   */
  fakeQuantize(x: Tensor, scale: Tensor, zeroPoint: Tensor, o: FakeQuantOptions): Tensor;
  /** Its straight-through gradient, clipped to the representable range: dy where qmin ≤ q ≤ qmax, else 0. */
  fakeQuantizeBackward(dy: Tensor, x: Tensor, scale: Tensor, zeroPoint: Tensor, o: FakeQuantOptions): Tensor;

  /** Per index along `axis`: sum |x| (l1), sum x^2 (l2sq), sum |x * other| (taylor) or max |x| (absmax). */
  channelStats(x: Tensor, axis: number, kind: ChannelStat, other?: Tensor): Tensor;
  /**
   * Radix selection of a magnitude threshold: a 256-bin histogram of the float32 bit patterns of |x|
   * over all tensors, bin = (bits >> shift) & 255, counting only entries whose bits >> (shift + 8) equal
   * `prefix` (every entry when shift is 24). Pruned weights are 0 and count as such.
   */
  magnitudeHistogram(xs: Tensor[], shift: number, prefix: number): Promise<Uint32Array>;
  /** 1 where the float32 bits of |x| exceed `thresholdBits`, else 0. */
  thresholdMask(x: Tensor, thresholdBits: number): Tensor;
  /** Keeps channels `indices` (a tensor of integer values) along `axis`: gather-compaction. */
  gatherChannels(x: Tensor, axis: number, indices: Tensor): Tensor;

  /** Per row (a sample, or a pixel of [N, K, H, W] logits): loss, the gradient of the mean loss, and 1 where the top logit is the label (else 0). */
  softmaxCrossEntropy(logits: Tensor, labels: Tensor, o?: DistillationOptions): { loss: Tensor; dLogits: Tensor; correct: Tensor };
  /**
   * Per sample of y [N, ...]: the mean of (y − target)² over its values (a map's or embedding's
   * distillation loss); dy, the gradient of the batch mean of those: 2 (y − target) / y.size.
   */
  squaredError(y: Tensor, target: Tensor): { loss: Tensor; dy: Tensor };

  /** In place on w and velocity; with a mask, pruned entries of w and its state are set to exactly 0. */
  sgdStep(w: Tensor, grad: Tensor, velocity: Tensor, o: SgdOptions): void;
  /** In place on w, m and v. */
  adamStep(w: Tensor, grad: Tensor, m: Tensor, v: Tensor, o: AdamOptions): void;

  /**
   * Optional, for inference: a whole ONNX model (float32 input 'input' with a symbolic batch, float32
   * outputs) compiled by a graph runtime that fuses and re-lays-out across layers, which a per-op
   * interface cannot. Backends without one leave it out and run inference op by op.
   */
  compileOnnx?(onnx: Uint8Array): CompiledGraph;

  /**
   * Optional, for inference: a per-sample program compiled to take each sample through every layer
   * before the next sample, so that the maps between layers stay in a core's cache (the native backend:
   * samplewise.cc). The graph keeps its own copy of the program's weights: the caller may dispose
   * them once it is compiled. Throws, saying why, where it cannot run the program. Its definition:
   * runSamplewise (src/samplewise.ts).
   */
  compileSamplewise?(program: SamplewiseProgram): CompiledGraph;
}

// A model's inference as a program of steps (Backend.compileSamplewise), each reading earlier steps.
/** An earlier step's output by its index in the program, or -1: the model's input. */
export type StepInput = number;

export type SampleStep =
  /** With its bias, a residual (a step of its output's shape) added, then its ReLU. */
  | { op: 'conv2d'; input: StepInput; weight: Tensor; bias?: Tensor; options: Conv2dOptions; residual?: StepInput; relu?: boolean }
  | { op: 'maxpool'; input: StepInput; options: PoolOptions }
  | { op: 'gap'; input: StepInput }
  /** Over the input's values as one vector (a flattened map). */
  | { op: 'linear'; input: StepInput; weight: Tensor; bias?: Tensor; relu?: boolean }
  | { op: 'add'; input: StepInput; other: StepInput; relu?: boolean }
  | { op: 'activation'; input: StepInput; kind: Activation; alpha?: number }
  | { op: 'prelu'; input: StepInput; slope: Tensor }
  | { op: 'avgpool'; input: StepInput; options: PoolOptions }
  /** The input's channels, then the other's. */
  | { op: 'concat'; input: StepInput; other: StepInput }
  /** Each channel of the input times the other's value for it (the other: [C, 1, 1], a squeeze-excitation's scale). */
  | { op: 'scale'; input: StepInput; other: StepInput }
  | { op: 'gather'; input: StepInput; channels: readonly number[] };

export interface SamplewiseProgram {
  /** One sample's shape. */
  inputShape: Shape;
  steps: SampleStep[];
  /** The program's outputs, in order: steps by index. */
  outputs: StepInput[];
}


/** A compiled inference graph: run() gives its outputs in the model's order (the caller disposes them). */
export interface CompiledGraph {
  run(x: Tensor): Tensor[];
  dispose(): void;
}

const bitsView = new Float32Array(1);
const bitsOut = new Uint32Array(bitsView.buffer);

/** The float32 bit pattern of |v| (of 0 where masked): ordered like the magnitude. */
export function magnitudeBits(v: number, masked = false): number {
  bitsView[0] = masked ? 0 : Math.abs(v);
  return bitsOut[0];
}

/**
 * conv2d's residual on a backend whose convolution kernels store without one: `y` (the convolution, no
 * ReLU) plus the residual, then the ReLU, as the add kernel does it; `y` is freed.
 */
export function addResidual(be: Backend, y: Tensor, residual: Tensor, relu?: boolean): Tensor {
  const sum = be.add(y, residual, { relu });
  be.dispose(y);
  return sum;
}
