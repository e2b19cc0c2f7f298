// The op graphs of convolution and linear layers on onnxruntime's CPU kernels, forward and backward.
// Inputs are declared in the order the backend feeds them: data, weight, then the optional bias and mask.
//  - forward: Conv (bias, fused Relu) on the masked weight;
//  - input gradient: ConvTranspose of dy with the same weight, pads, strides, dilations and groups;
//  - filter gradient: an im2col built from Slice nodes (one per kernel tap) and a batched MatMul with dy
//    per group; depthwise convolutions multiply and reduce instead. Measured here (2 cores, conv N32
//    28x28 32->64 3x3): 50 GFLOP/s, against 22 GFLOP/s for the usual trick of a Conv over batch-
//    transposed tensors (one 28x28 "kernel" per sample, a 3x3 output: a GEMM 9 columns wide).
import type { Conv2dGeometry } from '../geometry.js';
import { OpGraph } from './ort.js';

export interface ConvFlags { bias?: boolean; mask?: boolean; relu?: boolean }

const inShape = (g: Conv2dGeometry) => [g.batch, g.inChannels, g.inH, g.inW];
const outShape = (g: Conv2dGeometry) => [g.batch, g.outChannels, g.outH, g.outW];
const weightShape = (g: Conv2dGeometry) => [g.outChannels, g.inChannels / g.groups, g.kernelH, g.kernelW];

function convAttributes(g: Conv2dGeometry): Record<string, number | number[]> {
  return {
    kernel_shape: [g.kernelH, g.kernelW], strides: [g.strideH, g.strideW], dilations: [g.dilationH, g.dilationW],
    pads: [g.padTop, g.padLeft, g.padBottom, g.padRight], group: g.groups,
  };
}

/** The weight input, multiplied by its mask input when there is one. */
function weight(G: OpGraph, dims: number[], masked: boolean | undefined): string {
  const w = G.input('w', dims);
  return masked ? G.op('Mul', [w, G.input('mask', dims)]) : w;
}

/** y = conv(x, w * mask) + b, then ReLU when fused. Inputs: x, w, [b], [mask]. */
export function convForwardGraph(g: Conv2dGeometry, f: ConvFlags): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', inShape(g));
  const wDims = weightShape(g);
  const w = G.input('w', wDims);
  const b = f.bias ? [G.input('b', [g.outChannels])] : [];
  const wm = f.mask ? G.op('Mul', [w, G.input('mask', wDims)]) : w;
  const y = G.op('Conv', [x, wm, ...b], convAttributes(g));
  G.output(f.relu ? G.op('Relu', [y]) : y);
  return G;
}

/** dx = the transposed convolution of dy with w * mask. Inputs: dy, w, [mask]. */
export function convBackwardInputGraph(g: Conv2dGeometry, f: ConvFlags): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', outShape(g));
  const w = weight(G, weightShape(g), f.mask);
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

/** dw = sum over samples and positions of dy x im2col(x), masked. Inputs: dy, x, [mask]. */
export function convBackwardFilterGraph(g: Conv2dGeometry, f: ConvFlags): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', outShape(g));
  const x = G.input('x', inShape(g));
  const mask = f.mask ? G.input('mask', weightShape(g)) : undefined;
  const n = g.batch, groups = g.groups, cg = g.inChannels / groups, mg = g.outChannels / groups;
  const positions = g.outH * g.outW, tapCount = g.kernelH * g.kernelW;
  const windows = taps(G, g, x).map((t) => G.op('Reshape', [t, G.ints([n, groups, 1, cg, positions])]));
  const col = windows.length === 1 ? windows[0] : G.op('Concat', windows, { axis: 2 }); // [N, G, T, Cg, R]
  let dw: string;
  if (cg === 1 && mg === 1) {
    // Depthwise: each channel's gradient is its own dot product per tap.
    const prod = G.op('Mul', [G.op('Reshape', [col, G.ints([n, groups, tapCount, positions])]), G.op('Reshape', [dy, G.ints([n, groups, 1, positions])])]);
    dw = G.op('ReduceSum', [prod, G.ints([0, 3])], { keepdims: 0 });
  } else {
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
    dw = G.op('Transpose', [G.op('Reshape', [sum, G.ints([groups, tapCount, cg, mg])])], { perm: [0, 3, 2, 1] });
  }
  const shaped = G.op('Reshape', [dw, G.ints(weightShape(g))]);
  G.output(mask ? G.op('Mul', [shaped, mask]) : shaped);
  return G;
}

/** y = x (W * mask)^T + b, then ReLU when fused. Inputs: x, w, [b], [mask]. */
export function linearGraph(batch: number, inFeatures: number, outFeatures: number, f: ConvFlags): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', [batch, inFeatures]);
  const w = G.input('w', [outFeatures, inFeatures]);
  const b = f.bias ? [G.input('b', [outFeatures])] : [];
  const wm = f.mask ? G.op('Mul', [w, G.input('mask', [outFeatures, inFeatures])]) : w;
  const y = G.op('Gemm', [x, wm, ...b], { transB: 1 });
  G.output(f.relu ? G.op('Relu', [y]) : y);
  return G;
}

/** dx = dy (W * mask). Inputs: dy, w, [mask]. */
export function linearBackwardInputGraph(batch: number, inFeatures: number, outFeatures: number, f: ConvFlags): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', [batch, outFeatures]);
  G.output(G.op('MatMul', [dy, weight(G, [outFeatures, inFeatures], f.mask)]));
  return G;
}

/** dW = dy^T x, masked. Inputs: dy, x, [mask]. */
export function linearBackwardWeightGraph(batch: number, inFeatures: number, outFeatures: number, f: ConvFlags): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', [batch, outFeatures]);
  const x = G.input('x', [batch, inFeatures]);
  const dw = G.op('Gemm', [dy, x], { transA: 1 });
  G.output(f.mask ? G.op('Mul', [dw, G.input('mask', [outFeatures, inFeatures])]) : dw);
  return G;
}
