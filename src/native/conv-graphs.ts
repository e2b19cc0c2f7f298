// The op graphs of convolution and linear layers on onnxruntime's CPU kernels, forward and backward.
// Inputs are declared in the order the backend feeds them: data, weight, then the optional bias.
//  - forward: Conv (bias, fused Relu);
//  - input gradient: ConvTranspose of dy with the same weight, pads, strides, dilations and groups;
//  - filter gradient: an im2col built from Slice nodes (one per kernel tap) and a batched MatMul with dy
//    per group. Measured here (2 cores, conv N32 28x28 32->64 3x3): 50 GFLOP/s, against 22 GFLOP/s for
//    the usual trick of a Conv over batch-transposed tensors (one 28x28 "kernel" per sample, a 3x3
//    output: a GEMM 9 columns wide), which is kept for small outputs and depthwise layers.
import type { Conv2dGeometry } from '../geometry.js';
import { OpGraph } from './ort.js';

export interface ConvFlags { bias?: boolean; relu?: boolean }

const inShape = (g: Conv2dGeometry) => [g.batch, g.inChannels, g.inH, g.inW];
const outShape = (g: Conv2dGeometry) => [g.batch, g.outChannels, g.outH, g.outW];
const weightShape = (g: Conv2dGeometry) => [g.outChannels, g.inChannels / g.groups, g.kernelH, g.kernelW];

function convAttributes(g: Conv2dGeometry): Record<string, number | number[]> {
  return {
    kernel_shape: [g.kernelH, g.kernelW], strides: [g.strideH, g.strideW], dilations: [g.dilationH, g.dilationW],
    pads: [g.padTop, g.padLeft, g.padBottom, g.padRight], group: g.groups,
  };
}

/** y = conv(x, w) + b, then ReLU when fused. Inputs: x, w, [b]. */
export function convForwardGraph(g: Conv2dGeometry, f: ConvFlags): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', inShape(g));
  const w = G.input('w', weightShape(g));
  const b = f.bias ? [G.input('b', [g.outChannels])] : [];
  const y = G.op('Conv', [x, w, ...b], convAttributes(g));
  G.output(f.relu ? G.op('Relu', [y]) : y);
  return G;
}

/**
 * dx = the transposed convolution of dy with w. Inputs: dy, w. With stride 1 (and padding
 * within the kernel's span) it is a plain convolution of dy with the flipped, channel-transposed weight,
 * which onnxruntime runs faster than ConvTranspose (vgg-small's 28x28 32->32 3x3 at batch 64: 22 vs 38 ms).
 */
export function convBackwardInputGraph(g: Conv2dGeometry): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', outShape(g));
  const w = G.input('w', weightShape(g));
  // dx[y] = sum over taps k of w[k] dy[y + pad - k*d] = sum over flipped taps k' of w[K-1-k'] dy[y + k'*d - (span - pad)]:
  // a convolution of dy, padded by span - pad before and by H - OH + pad after, with the flipped weight.
  const spanH = (g.kernelH - 1) * g.dilationH, spanW = (g.kernelW - 1) * g.dilationW;
  const pads = [spanH - g.padTop, spanW - g.padLeft, g.inH - g.outH + g.padTop, g.inW - g.outW + g.padLeft];
  if (g.strideH === 1 && g.strideW === 1 && pads.every((p) => p >= 0)) {
    // The weight transposed per group ([G, Mg, Cg] -> [G, Cg, Mg]) and flipped in both spatial axes.
    const cg = g.inChannels / g.groups, mg = g.outChannels / g.groups;
    const grouped = G.op('Reshape', [w, G.ints([g.groups, mg, cg, g.kernelH, g.kernelW])]);
    const transposed = G.op('Reshape', [G.op('Transpose', [grouped], { perm: [0, 2, 1, 3, 4] }), G.ints([g.inChannels, mg, g.kernelH, g.kernelW])]);
    const flipped = G.op('Slice', [transposed, G.ints([-1, -1]), G.ints([-(2 ** 53), -(2 ** 53)]), G.ints([2, 3]), G.ints([-1, -1])]);
    G.output(G.op('Conv', [dy, flipped], { kernel_shape: [g.kernelH, g.kernelW], dilations: [g.dilationH, g.dilationW], group: g.groups, pads }));
    return G;
  }
  // Rows and columns the forward's floor division left unread get a zero gradient: output_padding
  // (always smaller than the stride) extends the transposed convolution's output over them.
  const extent = (input: number, out: number, k: number, s: number, d: number, before: number, after: number) =>
    input + before + after - ((out - 1) * s + (k - 1) * d + 1);
  const outputPadding = [
    extent(g.inH, g.outH, g.kernelH, g.strideH, g.dilationH, g.padTop, g.padBottom),
    extent(g.inW, g.outW, g.kernelW, g.strideW, g.dilationW, g.padLeft, g.padRight),
  ];
  G.output(G.op('ConvTranspose', [dy, w], { ...convAttributes(g), output_padding: outputPadding }));
  return G;
}

/** The input windows of every kernel tap, each [N, C, OH, OW]: an im2col as a list of strided slices. */
function taps(G: OpGraph, g: Conv2dGeometry, x: string): string[] {
  const pads = [g.padTop, g.padLeft, g.padBottom, g.padRight];
  const padded = pads.some((p) => p > 0) ? G.op('Pad', [x, G.ints([0, 0, g.padTop, g.padLeft, 0, 0, g.padBottom, g.padRight])]) : x;
  const whole = g.kernelH === 1 && g.kernelW === 1 && g.strideH === 1 && g.strideW === 1 && g.outH === g.inH && g.outW === g.inW;
  if (whole && padded === x) return [x];
  const out: string[] = [];
  for (let ky = 0; ky < g.kernelH; ky++)
    for (let kx = 0; kx < g.kernelW; kx++) {
      const start = [ky * g.dilationH, kx * g.dilationW];
      const end = [start[0] + (g.outH - 1) * g.strideH + 1, start[1] + (g.outW - 1) * g.strideW + 1];
      out.push(G.op('Slice', [padded, G.ints(start), G.ints(end), G.ints([2, 3]), G.ints([g.strideH, g.strideW])]));
    }
  return out;
}

/**
 * Output positions per sample below which the batch joins the reduction (one GEMM per group over
 * N*OH*OW) rather than one GEMM per sample and group then a sum over samples: short per-sample
 * reductions leave the GEMM kernel idle.
 */
const BATCHED_MIN_POSITIONS = 256;

/**
 * Output positions per sample up to which (and for every depthwise convolution) the filter gradient is
 * a convolution itself: x with samples as channels, convolved by dy as the kernel (grouped as the
 * forward), strides and dilations swapped. Its GEMMs are only K*K wide, so it loses to the im2col on
 * large outputs (vgg-small's 28x28 32->32 3x3 at batch 64: 105 vs 36 ms) and wins on small ones and on
 * depthwise layers (LeNet-5's 10x10 conv2: 2.0 vs 5.7 ms; 64 channels 14x14 stride 2: 5.9 vs 30 ms).
 */
const AS_CONV_MAX_POSITIONS = 100;

/** The filter gradient as one convolution (see AS_CONV_MAX_POSITIONS): [M, Cg, KH, KW]. */
function filterGradientAsConv(G: OpGraph, g: Conv2dGeometry, dy: string, x: string): string {
  const n = g.batch, groups = g.groups, cg = g.inChannels / groups;
  // x [N, G, Cg, H, W] -> [Cg, G*N, H, W]: batch cg, channels (group, sample); dy [N, M, OH, OW] -> [M, N, OH, OW].
  const xt = G.op('Reshape', [G.op('Transpose', [G.op('Reshape', [x, G.ints([n, groups, cg, g.inH, g.inW])])], { perm: [2, 1, 0, 3, 4] }), G.ints([cg, groups * n, g.inH, g.inW])]);
  const dyt = G.op('Transpose', [dy], { perm: [1, 0, 2, 3] });
  // The forward's padding; bottom/right rows it never read are not padded (or are cropped from the output).
  const spanH = (g.outH - 1) * g.strideH + (g.kernelH - 1) * g.dilationH + 1, spanW = (g.outW - 1) * g.strideW + (g.kernelW - 1) * g.dilationW + 1;
  const pads = [g.padTop, g.padLeft, Math.max(spanH - g.inH - g.padTop, 0), Math.max(spanW - g.inW - g.padLeft, 0)];
  const conv = G.op('Conv', [xt, dyt], { kernel_shape: [g.outH, g.outW], strides: [g.dilationH, g.dilationW], dilations: [g.strideH, g.strideW], pads, group: groups });
  const cropped = G.op('Slice', [conv, G.ints([0, 0]), G.ints([g.kernelH, g.kernelW]), G.ints([2, 3])]);
  return G.op('Transpose', [cropped], { perm: [1, 0, 2, 3] }); // [Cg, M, KH, KW] -> [M, Cg, KH, KW]
}

/** dw = sum over samples and positions of dy x im2col(x). Inputs: dy, x. */
export function convBackwardFilterGraph(g: Conv2dGeometry): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', outShape(g));
  const x = G.input('x', inShape(g));
  const n = g.batch, groups = g.groups, cg = g.inChannels / groups, mg = g.outChannels / groups;
  const positions = g.outH * g.outW, tapCount = g.kernelH * g.kernelW;
  if (cg === 1 || positions <= AS_CONV_MAX_POSITIONS) {
    G.output(filterGradientAsConv(G, g, dy, x));
    return G;
  }
  const windows = taps(G, g, x).map((t) => G.op('Reshape', [t, G.ints([n, groups, 1, cg, positions])]));
  const col = windows.length === 1 ? windows[0] : G.op('Concat', windows, { axis: 2 }); // [N, G, T, Cg, R]
  const col4 = G.op('Reshape', [col, G.ints([n, groups, tapCount * cg, positions])]);
  const dy4 = G.op('Reshape', [dy, G.ints([n, groups, mg, positions])]);
  let sum: string;
  if (positions >= BATCHED_MIN_POSITIONS) {
    const prod = G.op('MatMul', [col4, G.op('Transpose', [dy4], { perm: [0, 1, 3, 2] })]); // [N, G, T*Cg, Mg]
    sum = G.op('ReduceSum', [prod, G.ints([0])], { keepdims: 0 });
  } else {
    const lhs = G.op('Reshape', [G.op('Transpose', [col4], { perm: [1, 2, 0, 3] }), G.ints([groups, tapCount * cg, n * positions])]);
    const rhs = G.op('Reshape', [G.op('Transpose', [dy4], { perm: [1, 0, 3, 2] }), G.ints([groups, n * positions, mg])]);
    sum = G.op('MatMul', [lhs, rhs]); // [G, T*Cg, Mg]
  }
  const dw = G.op('Transpose', [G.op('Reshape', [sum, G.ints([groups, tapCount, cg, mg])])], { perm: [0, 3, 2, 1] });
  G.output(G.op('Reshape', [dw, G.ints(weightShape(g))]));
  return G;
}

/** y = x W^T + b, then ReLU when fused. Inputs: x, w, [b]. */
export function linearGraph(batch: number, inFeatures: number, outFeatures: number, f: ConvFlags): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', [batch, inFeatures]);
  const w = G.input('w', [outFeatures, inFeatures]);
  const b = f.bias ? [G.input('b', [outFeatures])] : [];
  const y = G.op('Gemm', [x, w, ...b], { transB: 1 });
  G.output(f.relu ? G.op('Relu', [y]) : y);
  return G;
}

/** dx = dy W. Inputs: dy, w. */
export function linearBackwardInputGraph(batch: number, inFeatures: number, outFeatures: number): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', [batch, outFeatures]);
  G.output(G.op('MatMul', [dy, G.input('w', [outFeatures, inFeatures])]));
  return G;
}

/** dW = dy^T x. Inputs: dy, x. */
export function linearBackwardWeightGraph(batch: number, inFeatures: number, outFeatures: number): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', [batch, outFeatures]);
  const x = G.input('x', [batch, inFeatures]);
  G.output(G.op('Gemm', [dy, x], { transA: 1 }));
  return G;
}
