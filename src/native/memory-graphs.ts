// The op graphs of the native backend's memory-bound ops that run faster on onnxruntime's vectorised,
// threaded kernels than as JavaScript loops (measured here: ReLU over 300k floats 4 ms as a loop): the
// activations and their gradients, add, batch norm forward and backward, per-channel sums, global average
// pooling and max pooling with its argmax. Tensors are viewed as [N, C, S] (S = H*W, 1 for [N, C]).
import type { Activation } from '../backend.js';
import type { PoolGeometry } from '../geometry.js';
import { OpGraph } from './ort.js';

/** x -> activation(x), over a flat tensor of `size`. */
export function activationGraph(size: number, kind: Activation, alpha: number): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', [size]);
  G.output(kind === 'relu' ? G.op('Relu', [x]) : kind === 'relu6' ? G.op('Clip', [x, G.float(0), G.float(6)]) : G.op('LeakyRelu', [x], { alpha: { f: alpha } }));
  return G;
}

/** (dy, x) -> dy where the activation is not flat at x (x > 0, and x < 6 for relu6), alpha * dy below 0 for leaky relu. */
export function activationBackwardGraph(size: number, kind: Activation, alpha: number): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', [size]);
  const x = G.input('x', [size]);
  const positive = G.op('Greater', [x, G.float(0)]);
  if (kind === 'relu') G.output(G.op('Where', [positive, dy, G.float(0)]));
  else if (kind === 'relu6') G.output(G.op('Where', [G.op('And', [positive, G.op('Less', [x, G.float(6)])]), dy, G.float(0)]));
  else G.output(G.op('Where', [positive, dy, G.op('Mul', [dy, G.float(alpha)])]));
  return G;
}

/** (a, b) -> a + b, then ReLU when fused. */
export function addGraph(size: number, relu: boolean): OpGraph {
  const G = new OpGraph();
  const sum = G.op('Add', [G.input('a', [size]), G.input('b', [size])]);
  G.output(relu ? G.op('Relu', [sum]) : sum);
  return G;
}

/** x [N, C, S] -> per-channel sum [C]. */
export function channelSumGraph(n: number, c: number, s: number): OpGraph {
  const G = new OpGraph();
  G.output(G.op('ReduceSum', [G.input('x', [n, c, s]), G.ints([0, 2])], { keepdims: 0 }));
  return G;
}

const perChannel = (G: OpGraph, v: string, c: number) => G.op('Reshape', [v, G.ints([1, c, 1])]);

/**
 * Training batch norm: (x, gamma, beta) -> y, mean [C], invStd [C], biased variance [C] (the running
 * averages are updated on the host from mean and variance). Two passes, as the CPU reference.
 */
export function batchNormTrainingGraph(n: number, c: number, s: number, epsilon: number): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', [n, c, s]);
  const gamma = G.input('gamma', [c]), beta = G.input('beta', [c]);
  const mean = G.op('ReduceMean', [x, G.ints([0, 2])], { keepdims: 1 });
  const centered = G.op('Sub', [x, mean]);
  const variance = G.op('ReduceMean', [G.op('Mul', [centered, centered]), G.ints([0, 2])], { keepdims: 1 });
  const invStd = G.op('Reciprocal', [G.op('Sqrt', [G.op('Add', [variance, G.float(epsilon)])])]);
  G.output(G.op('Add', [G.op('Mul', [centered, G.op('Mul', [invStd, perChannel(G, gamma, c)])]), perChannel(G, beta, c)]));
  const flat = (v: string) => G.op('Reshape', [v, G.ints([c])]);
  G.output(flat(mean));
  G.output(flat(invStd));
  G.output(flat(variance));
  return G;
}

/** Per-channel affine map (x, scale, shift) -> x * scale + shift: inference batch norm with scale and shift folded on the host. */
export function channelAffineGraph(n: number, c: number, s: number): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', [n, c, s]);
  const scale = G.input('scale', [c]), shift = G.input('shift', [c]);
  G.output(G.op('Add', [G.op('Mul', [x, perChannel(G, scale, c)]), perChannel(G, shift, c)]));
  return G;
}

/** (dy, x, gamma, mean, invStd) -> dx, dGamma [C], dBeta [C] (see reference.batchNormBackward). */
export function batchNormBackwardGraph(n: number, c: number, s: number): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', [n, c, s]);
  const x = G.input('x', [n, c, s]);
  const [gamma, mean, invStd] = ['gamma', 'mean', 'invStd'].map((name) => perChannel(G, G.input(name, [c]), c));
  const xHat = G.op('Mul', [G.op('Sub', [x, mean]), invStd]);
  const axes = G.ints([0, 2]);
  const dBeta = G.op('ReduceSum', [dy, axes], { keepdims: 1 });
  const dGamma = G.op('ReduceSum', [G.op('Mul', [dy, xHat]), axes], { keepdims: 1 });
  const count = G.float(n * s);
  const centered = G.op('Sub', [G.op('Sub', [dy, G.op('Div', [dBeta, count])]), G.op('Mul', [xHat, G.op('Div', [dGamma, count])])]);
  G.output(G.op('Mul', [centered, G.op('Mul', [gamma, invStd])]));
  G.output(G.op('Reshape', [dGamma, G.ints([c])]));
  G.output(G.op('Reshape', [dBeta, G.ints([c])]));
  return G;
}

/** x [N, C, S] -> mean over S, [N, C]. */
export function globalAvgPoolGraph(n: number, c: number, s: number): OpGraph {
  const G = new OpGraph();
  G.output(G.op('ReduceMean', [G.input('x', [n, c, s]), G.ints([2])], { keepdims: 0 }));
  return G;
}

/** dy [N, C] -> dy / S spread over [N, C, S]. */
export function globalAvgPoolBackwardGraph(n: number, c: number, s: number): OpGraph {
  const G = new OpGraph();
  const dy = G.op('Reshape', [G.input('dy', [n, c]), G.ints([n, c, 1])]);
  G.output(G.op('Expand', [G.op('Div', [dy, G.float(s)]), G.ints([n, c, s])]));
  return G;
}

/**
 * Max pooling: x -> y, argmax (the first maximum's flat index in its input plane, as float). onnxruntime
 * scans each window in row-major order and keeps a strictly greater value, so its first maximum is the
 * reference's; its indices count from the start of the tensor, hence the modulo the plane size.
 */
export function maxPoolGraph(g: PoolGeometry): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', [g.batch, g.channels, g.inH, g.inW]);
  const [y, indices] = G.ops('MaxPool', [x], 2, {
    kernel_shape: [g.kernelH, g.kernelW], strides: [g.strideH, g.strideW], dilations: [g.dilationH, g.dilationW],
    pads: [g.padTop, g.padLeft, g.padBottom, g.padRight],
  });
  G.output(y);
  G.output(G.op('Cast', [G.op('Mod', [indices, G.ints([g.inH * g.inW])])], { to: 1 }));
  return G;
}
