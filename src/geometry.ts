// Shapes and validation shared by every backend: an op's geometry is computed once, here, and a bad
// shape or option is reported with the op and the value that is wrong.

export type Shape = readonly number[];

export type Pair = number | readonly [number, number];
/** A single number, [vertical, horizontal], or [top, left, bottom, right] (ONNX order is top, left, bottom, right too). */
export type Padding = number | readonly [number, number] | readonly [number, number, number, number];

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
  /** Fuse a ReLU into the forward output. */
  relu?: boolean;
}

export interface Conv2dGeometry {
  batch: number; inChannels: number; inH: number; inW: number;
  outChannels: number; outH: number; outW: number; groups: number;
  kernelH: number; kernelW: number; strideH: number; strideW: number;
  padTop: number; padLeft: number; padBottom: number; padRight: number;
  dilationH: number; dilationW: number;
}

export interface PoolOptions {
  kernel: Pair;
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  /** Average pooling: divide by the whole window including padding (PyTorch's default) or only by the inside. */
  countIncludePad?: boolean;
}

export interface PoolGeometry {
  batch: number; channels: number; inH: number; inW: number; outH: number; outW: number;
  kernelH: number; kernelW: number; strideH: number; strideW: number;
  padTop: number; padLeft: number; padBottom: number; padRight: number;
  dilationH: number; dilationW: number; countIncludePad: boolean;
}

export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertShape(op: string, name: string, shape: Shape, expected: Shape): void {
  if (!sameShape(shape, expected)) {
    throw new Error(`${op}: ${name} has shape [${shape.join(', ')}], expected [${expected.join(', ')}]`);
  }
}

export function assertRank(op: string, name: string, shape: Shape, rank: number): void {
  if (shape.length !== rank || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`${op}: ${name} must be a rank-${rank} shape of positive integers, got [${shape.join(', ')}]`);
  }
}

export function pair(op: string, name: string, v: Pair | undefined, fallback: number, min: number): [number, number] {
  const p: [number, number] = v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.some((x) => !Number.isInteger(x) || x < min)) {
    throw new Error(`${op}: ${name} must be integers >= ${min}, got ${JSON.stringify(v)}`);
  }
  return p;
}

export function padding(op: string, v: Padding | undefined): [number, number, number, number] {
  let p: [number, number, number, number];
  if (v === undefined) p = [0, 0, 0, 0];
  else if (typeof v === 'number') p = [v, v, v, v];
  else if (v.length === 2) p = [v[0], v[1], v[0], v[1]];
  else if (v.length === 4) p = [v[0], v[1], v[2], v[3]];
  else throw new Error(`${op}: padding must be a number, [vertical, horizontal] or [top, left, bottom, right], got ${JSON.stringify(v)}`);
  if (p.some((x) => !Number.isInteger(x) || x < 0)) throw new Error(`${op}: padding must be integers >= 0, got ${JSON.stringify(v)}`);
  return p;
}

function outputExtent(op: string, input: number, kernel: number, stride: number, padBefore: number, padAfter: number, dilation: number): number {
  const span = (kernel - 1) * dilation + 1;
  const out = Math.floor((input + padBefore + padAfter - span) / stride) + 1;
  if (out < 1) throw new Error(`${op}: a window of ${span} does not fit an input of ${input} padded by ${padBefore}+${padAfter}`);
  return out;
}

export function conv2dGeometry(xShape: Shape, wShape: Shape, o: Conv2dOptions = {}): Conv2dGeometry {
  const op = 'conv2d';
  assertRank(op, 'input', xShape, 4);
  assertRank(op, 'weight', wShape, 4);
  const [batch, inChannels, inH, inW] = xShape;
  const [outChannels, inPerGroup, kernelH, kernelW] = wShape;
  const groups = o.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${op}: groups must be a positive integer, got ${groups}`);
  if (inChannels % groups || outChannels % groups) {
    throw new Error(`${op}: groups=${groups} must divide input channels ${inChannels} and output channels ${outChannels}`);
  }
  if (inPerGroup * groups !== inChannels) {
    throw new Error(`${op}: weight has ${inPerGroup} input channels per group, input has ${inChannels} channels in ${groups} groups`);
  }
  const [strideH, strideW] = pair(op, 'stride', o.stride, 1, 1);
  const [dilationH, dilationW] = pair(op, 'dilation', o.dilation, 1, 1);
  const [padTop, padLeft, padBottom, padRight] = padding(op, o.padding);
  return {
    batch, inChannels, inH, inW, outChannels, groups, kernelH, kernelW, strideH, strideW,
    padTop, padLeft, padBottom, padRight, dilationH, dilationW,
    outH: outputExtent(op, inH, kernelH, strideH, padTop, padBottom, dilationH),
    outW: outputExtent(op, inW, kernelW, strideW, padLeft, padRight, dilationW),
  };
}

/**
 * A transposed convolution of x [N, C_in, H, W] with weight [C_in, C_out / groups, KH, KW] is the input
 * gradient of the convolution from its output [N, C_out, H', W'] back to x with the same weight: this
 * returns that convolution's geometry (its input is the transposed one's output). H' = (H - 1) · stride
 * - padTop - padBottom + dilation · (KH - 1) + outputPadding + 1, with outputPadding < max(stride, dilation)
 * (ONNX's and PyTorch's rule).
 */
export function transposedConvGeometry(xShape: Shape, wShape: Shape, o: Conv2dOptions & { outputPadding?: Pair } = {}): Conv2dGeometry {
  const op = 'convTranspose';
  assertRank(op, 'input', xShape, 4);
  assertRank(op, 'weight', wShape, 4);
  const [batch, inChannels, inH, inW] = xShape;
  const [weightIn, outPerGroup, kernelH, kernelW] = wShape;
  const groups = o.groups ?? 1;
  if (weightIn !== inChannels) throw new Error(`${op}: weight is for ${weightIn} input channels, input has ${inChannels}`);
  if (!Number.isInteger(groups) || groups < 1 || inChannels % groups) throw new Error(`${op}: groups=${groups} must divide input channels ${inChannels}`);
  const [strideH, strideW] = pair(op, 'stride', o.stride, 1, 1);
  const [dilationH, dilationW] = pair(op, 'dilation', o.dilation, 1, 1);
  const [extraH, extraW] = pair(op, 'outputPadding', o.outputPadding, 0, 0);
  if (extraH >= Math.max(strideH, dilationH) || extraW >= Math.max(strideW, dilationW)) throw new Error(`${op}: outputPadding [${extraH}, ${extraW}] must be below max(stride, dilation)`);
  const [padTop, padLeft, padBottom, padRight] = padding(op, o.padding);
  const outH = (inH - 1) * strideH - padTop - padBottom + dilationH * (kernelH - 1) + extraH + 1;
  const outW = (inW - 1) * strideW - padLeft - padRight + dilationW * (kernelW - 1) + extraW + 1;
  if (outH < 1 || outW < 1) throw new Error(`${op}: padding ${padTop}+${padBottom}, ${padLeft}+${padRight} leaves no output of an input ${inH}x${inW}`);
  const g = conv2dGeometry([batch, outPerGroup * groups, outH, outW], wShape, o);
  if (g.outH !== inH || g.outW !== inW) throw new Error(`${op}: internal: the equivalent convolution maps ${outH}x${outW} to ${g.outH}x${g.outW}, not ${inH}x${inW}`);
  return g;
}

export function poolGeometry(op: string, xShape: Shape, o: PoolOptions): PoolGeometry {
  assertRank(op, 'input', xShape, 4);
  const [batch, channels, inH, inW] = xShape;
  const [kernelH, kernelW] = pair(op, 'kernel', o.kernel, 1, 1);
  const [strideH, strideW] = pair(op, 'stride', o.stride ?? o.kernel, 1, 1);
  const [dilationH, dilationW] = pair(op, 'dilation', o.dilation, 1, 1);
  const [padTop, padLeft, padBottom, padRight] = padding(op, o.padding);
  if (padTop >= kernelH || padBottom >= kernelH || padLeft >= kernelW || padRight >= kernelW) {
    throw new Error(`${op}: padding ${JSON.stringify(o.padding)} must be smaller than the kernel ${kernelH}x${kernelW}`);
  }
  return {
    batch, channels, inH, inW, kernelH, kernelW, strideH, strideW, padTop, padLeft, padBottom, padRight,
    dilationH, dilationW, countIncludePad: o.countIncludePad ?? true,
    outH: outputExtent(op, inH, kernelH, strideH, padTop, padBottom, dilationH),
    outW: outputExtent(op, inW, kernelW, strideW, padLeft, padRight, dilationW),
  };
}

/** Linear layer y = x W^T + b as a 1x1 convolution over [batch, features, 1, 1]. */
export function linearGeometry(xShape: Shape, wShape: Shape): Conv2dGeometry {
  assertRank('linear', 'input', xShape, 2);
  assertRank('linear', 'weight', wShape, 2);
  if (xShape[1] !== wShape[1]) {
    throw new Error(`linear: input has ${xShape[1]} features, weight expects ${wShape[1]}`);
  }
  return conv2dGeometry([xShape[0], xShape[1], 1, 1], [wShape[0], wShape[1], 1, 1]);
}

export function globalPoolOptions(xShape: Shape): PoolOptions {
  assertRank('globalAvgPool', 'input', xShape, 4);
  return { kernel: [xShape[2], xShape[3]], stride: 1 };
}

/** A tensor viewed as [outer, channels, inner] around `axis`, for gathers along it. */
export function axisView(op: string, shape: Shape, axis: number): [number, number, number] {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) throw new Error(`${op}: axis ${axis} outside a rank-${shape.length} tensor`);
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

// ---- input checks shared by the device backends (the CPU reference checks as it computes) ----

export function checkConvBias(op: string, outChannels: number, o: { bias?: { shape: Shape } }): void {
  if (o.bias) assertShape(op, 'bias', o.bias.shape, [outChannels]);
}

/** A convolution's bias and residual (the output's shape) against its geometry. */
export function checkConvInputs(op: string, g: Conv2dGeometry, o: { bias?: { shape: Shape }; residual?: { shape: Shape } }): void {
  checkConvBias(op, g.outChannels, o);
  if (o.residual) assertShape(op, 'residual', o.residual.shape, [g.batch, g.outChannels, g.outH, g.outW]);
}

export function checkBatchNorm(op: string, xShape: Shape, params: Record<string, { shape: Shape }>): void {
  if (xShape.length !== 4 && xShape.length !== 2) throw new Error(`${op}: input must be [N, C, H, W] or [N, C], got [${xShape.join(', ')}]`);
  for (const [name, t] of Object.entries(params)) assertShape(op, name, t.shape, [xShape[1]]);
}

/**
 * [N, C, H*W] of a layer norm's input after checking its per-channel parameters ([C]) and per-position
 * statistics ([N, H*W]); the input is [N, C, H, W] or [N, C].
 */
export function layerNormView(op: string, xShape: Shape, perChannel: Record<string, { shape: Shape } | undefined>, perPosition: Record<string, { shape: Shape }> = {}): [number, number, number] {
  if (xShape.length !== 4 && xShape.length !== 2) throw new Error(`${op}: input must be [N, C, H, W] or [N, C], got [${xShape.join(', ')}]`);
  const [n, c, s] = [xShape[0], xShape[1], sizeOf(xShape.slice(2))];
  for (const [name, t] of Object.entries(perChannel)) if (t) assertShape(op, name, t.shape, [c]);
  for (const [name, t] of Object.entries(perPosition)) assertShape(op, name, t.shape, [n, s]);
  return [n, c, s];
}

/** Output shape of resample(x [N, C, H, W], rows [outH, H], cols [outW, W]). */
export function resampleShape(op: string, x: Shape, rows: Shape, cols: Shape): Shape {
  assertRank(op, 'input', x, 4);
  if (rows.length !== 2 || rows[1] !== x[2]) throw new Error(`${op}: rows must be [outH, ${x[2]}], got [${rows.join(', ')}]`);
  if (cols.length !== 2 || cols[1] !== x[3]) throw new Error(`${op}: cols must be [outW, ${x[3]}], got [${cols.join(', ')}]`);
  return [x[0], x[1], rows[0], cols[0]];
}

/** [N, C, H*W] of channelScale's input after checking that the scale is [N, C, 1, 1]. */
export function channelScaleView(op: string, x: Shape, s: Shape): [number, number, number] {
  assertRank(op, 'input', x, 4);
  assertShape(op, 'scale', s, [x[0], x[1], 1, 1]);
  return [x[0], x[1], x[2] * x[3]];
}

/** [outer, channels, inner] of channelStats' input along `axis`; the taylor statistic needs `other` (the gradient) of x's shape. */
export function channelStatsView(xShape: Shape, axis: number, kind: string, other?: { shape: Shape }): [number, number, number] {
  const view = axisView('channelStats', xShape, axis);
  if (kind === 'taylor') {
    if (!other) throw new Error('channelStats: taylor needs the gradient tensor');
    assertShape('channelStats', 'other', other.shape, xShape);
  }
  return view;
}

/** [N, C, positions] of PReLU's input [N, C, H, W] or [N, C] after checking its slope [C]. */
export function preluView(op: string, x: Shape, slope: Shape): [number, number, number] {
  if (x.length !== 4 && x.length !== 2) throw new Error(`${op}: input must be [N, C, H, W] or [N, C], got [${x.join(', ')}]`);
  assertShape(op, 'slope', slope, [x[1]]);
  return [x[0], x[1], sizeOf(x.slice(2))];
}

/** Output shape of a channel concatenation. */
export function concatShape(shapes: Shape[]): Shape {
  if (shapes.length === 0) throw new Error('concat: no inputs');
  const [n, , ...rest] = shapes[0];
  shapes.forEach((s, i) => {
    if (!sameShape([s[0], ...s.slice(2)], [n, ...rest])) {
      throw new Error(`concat: input ${i} has shape [${s.join(', ')}], which differs from input 0 [${shapes[0].join(', ')}] outside the channel axis`);
    }
  });
  return [n, shapes.reduce((sum, s) => sum + s[1], 0), ...rest];
}

export function checkSlice(shape: Shape, offset: number, count: number): void {
  const channels = shape[1];
  if (!Number.isInteger(offset) || !Number.isInteger(count) || offset < 0 || count < 1 || offset + count > channels) {
    throw new Error(`sliceChannels: channels [${offset}, ${offset + count}) lie outside the ${channels} channels of the input`);
  }
}

/** The output shape of a gather along `axis` and the [outer, channels, inner] view of the input. */
export function gatherShape(shape: Shape, axis: number, indicesShape: Shape): { shape: Shape; view: [number, number, number] } {
  const view = axisView('gatherChannels', shape, axis);
  if (indicesShape.length !== 1) throw new Error(`gatherChannels: indices must be a vector, got [${indicesShape.join(', ')}]`);
  const out = [...shape];
  out[axis] = indicesShape[0];
  return { shape: out, view };
}

/**
 * A softmax cross-entropy's rows: one per sample of [batch, classes] logits, or one per pixel of
 * [batch, classes, H, W] (`positions` = H·W, the class axis strided by it). Row r's logit k is at
 * ((r / positions) · classes + k) · positions + r mod positions. `ignore`: the label that marks a row
 * to skip (-1: none).
 */
export function softmaxSettings(
  logitsShape: Shape, labelsShape: Shape, o: { teacher?: { shape: Shape }; temperature?: number; alpha?: number; ignoreLabel?: number },
): { rows: number; classes: number; positions: number; temperature: number; alpha: number; ignore: number } {
  if (logitsShape.length !== 2 && logitsShape.length !== 4) throw new Error(`softmaxCrossEntropy: logits must be [batch, classes] or [batch, classes, H, W], got [${logitsShape.join(', ')}]`);
  const [batch, classes, ...spatial] = logitsShape;
  const positions = spatial.reduce((a, b) => a * b, 1);
  assertShape('softmaxCrossEntropy', 'labels', labelsShape, [batch, ...spatial]);
  const ignore = o.ignoreLabel ?? -1;
  if (!Number.isInteger(ignore) || (ignore >= 0 && ignore < classes)) throw new Error(`softmaxCrossEntropy: the ignored label ${ignore} must be an integer outside the classes [0, ${classes})`);
  if (o.teacher) assertShape('softmaxCrossEntropy', 'teacher logits', o.teacher.shape, logitsShape);
  const temperature = o.temperature ?? 1;
  const alpha = o.alpha ?? 0.5;
  if (!(temperature > 0)) throw new Error(`softmaxCrossEntropy: temperature must be > 0, got ${temperature}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`softmaxCrossEntropy: alpha must be in [0, 1], got ${alpha}`);
  return { rows: batch * positions, classes, positions, temperature, alpha, ignore };
}

/** Optimizer state and gradient must match the weight's shape and be distinct tensors. */
export function checkOptimizer(op: string, w: { shape: Shape }, tensors: Record<string, { shape: Shape } | undefined>): void {
  const given = Object.entries(tensors).filter((e): e is [string, { shape: Shape }] => e[1] !== undefined);
  for (const [name, t] of given) {
    assertShape(op, name, t.shape, w.shape);
    if (t === w) throw new Error(`${op}: ${name} is the weight tensor itself`);
  }
  const state = given.filter(([name]) => name !== 'mask').map(([, t]) => t);
  if (new Set(state).size !== state.length) throw new Error(`${op}: gradient and optimizer state must be distinct tensors`);
}

export function checkAdamStep(step: number): void {
  if (!(Number.isInteger(step) && step >= 1)) throw new Error(`adamStep: step must be an integer >= 1, got ${step}`);
}

/** The transpose of a row-major [rows, cols] matrix. */
export function transposed(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

// ---- fake quantization (src/cpu/reference-quantize.ts) ----

/** Round half to even (IEEE 754's default, WGSL's round(), onnxruntime's QuantizeLinear). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

/** The [outer, channels, inner] view of x for the quantization axis (one channel per tensor), checked. */
export function quantView(op: string, shape: Shape, scaleSize: number, zeroSize: number, o: { qmin: number; qmax: number; axis?: number; binary?: boolean }): [number, number, number] {
  if (!(Number.isInteger(o.qmin) && Number.isInteger(o.qmax) && o.qmin < o.qmax)) throw new Error(`${op}: the grid [${o.qmin}, ${o.qmax}] must be integers with qmin < qmax`);
  if (o.binary && (o.qmin !== -1 || o.qmax !== 1)) throw new Error(`${op}: a binary quantizer's grid is [-1, 1], got [${o.qmin}, ${o.qmax}]`);
  const view: [number, number, number] = o.axis === undefined ? [1, 1, shape.reduce((a, b) => a * b, 1)] : axisView(op, shape, o.axis);
  assertShape(op, 'scale', [scaleSize], [view[1]]);
  assertShape(op, 'zeroPoint', [zeroSize], [view[1]]);
  return view;
}
