// The op graphs of the native backend's memory-bound ops that run faster on onnxruntime's vectorised,
// threaded kernels than as JavaScript loops (measured here: ReLU over 300k floats 4 ms as a loop): the
// activations (every kind in ACTIVATIONS) and their gradients, add, batch norm forward and backward, per-channel sums, global average
// pooling and max pooling with its argmax. Tensors are viewed as [N, C, S] (S = H*W, 1 for [N, C]).
import type { Activation } from '../backend.js';
import type { PoolGeometry } from '../geometry.js';
import { OpGraph } from './ort.js';

/** Arithmetic on graph values with float constants inline: enough to write an activation's formula. */
function algebra(G: OpGraph) {
  const v = (x: string | number) => (typeof x === 'number' ? G.float(x) : x);
  const bin = (op: string) => (a: string | number, b: string | number) => G.op(op, [v(a), v(b)]);
  return { add: bin('Add'), sub: bin('Sub'), mul: bin('Mul'), less: bin('Less'), greater: bin('Greater'), lessEq: bin('LessOrEqual'),
    and: bin('And'), where: (c: string, a: string | number, b: string | number) => G.op('Where', [c, v(a), v(b)]), f: (op: string, x: string) => G.op(op, [x]) };
}

const SQRT1_2 = Math.SQRT1_2, INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI), GELU_K = Math.sqrt(2 / Math.PI), GELU_C = 0.044715;

/** x -> activation(x), over a flat tensor of `size` (formulas: reference.activate). */
export function activationGraph(size: number, kind: Activation, alpha: number): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', [size]);
  const { add, mul, f } = algebra(G);
  const y = {
    relu: () => G.op('Relu', [x]),
    relu6: () => G.op('Clip', [x, G.float(0), G.float(6)]),
    leakyrelu: () => G.op('LeakyRelu', [x], { alpha: { f: alpha } }),
    sigmoid: () => f('Sigmoid', x),
    hardsigmoid: () => G.op('HardSigmoid', [x], { alpha: { f: alpha }, beta: { f: 0.5 } }),
    hardswish: () => f('HardSwish', x),
    silu: () => mul(x, f('Sigmoid', x)),
    gelu: () => mul(mul(x, 0.5), add(f('Erf', mul(x, SQRT1_2)), 1)),
    'gelu-tanh': () => mul(mul(x, 0.5), add(f('Tanh', mul(add(x, mul(mul(mul(x, x), x), GELU_C)), GELU_K)), 1)),
  }[kind]();
  G.output(y);
  return G;
}

/** (dy, x) -> dy * activation'(x) (slopes: reference.activationSlope). */
export function activationBackwardGraph(size: number, kind: Activation, alpha: number): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', [size]);
  const x = G.input('x', [size]);
  const { add, sub, mul, less, greater, lessEq, and, where, f } = algebra(G);
  const slope = {
    relu: () => where(greater(x, 0), 1, 0),
    relu6: () => where(and(greater(x, 0), less(x, 6)), 1, 0),
    leakyrelu: () => where(greater(x, 0), 1, alpha),
    sigmoid: () => { const s = f('Sigmoid', x); return mul(s, sub(1, s)); },
    hardsigmoid: () => { const h = add(mul(x, alpha), 0.5); return where(and(greater(h, 0), less(h, 1)), alpha, 0); },
    hardswish: () => where(less(x, -3), 0, where(lessEq(x, 3), add(mul(x, 1 / 3), 0.5), 1)),
    silu: () => { const s = f('Sigmoid', x); return mul(s, add(mul(x, sub(1, s)), 1)); },
    gelu: () => add(mul(add(f('Erf', mul(x, SQRT1_2)), 1), 0.5), mul(mul(x, f('Exp', mul(mul(x, x), -0.5))), INV_SQRT_2PI)),
    'gelu-tanh': () => {
      const x2 = mul(x, x);
      const t = f('Tanh', mul(add(x, mul(mul(x2, x), GELU_C)), GELU_K));
      return add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, mul(t, t))), mul(add(mul(x2, 3 * GELU_C), 1), GELU_K)));
    },
  }[kind]();
  G.output(mul(dy, slope));
  return G;
}

/** (a, b) -> a + b, then ReLU when fused. */
export function addGraph(size: number, relu: boolean): OpGraph {
  const G = new OpGraph();
  const sum = G.op('Add', [G.input('a', [size]), G.input('b', [size])]);
  G.output(relu ? G.op('Relu', [sum]) : sum);
  return G;
}

/** (x [N, C, S], s [N, C]) -> x * s broadcast over S. */
export function channelScaleGraph(n: number, c: number, s: number): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', [n, c, s]);
  G.output(G.op('Mul', [x, G.input('s', [n, c, 1])]));
  return G;
}

/** (dy, x, s) -> dx = dy * s, ds [N, C] = sum over S of dy * x. */
export function channelScaleBackwardGraph(n: number, c: number, s: number): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', [n, c, s]);
  const x = G.input('x', [n, c, s]);
  G.output(G.op('Mul', [dy, G.input('s', [n, c, 1])]));
  G.output(G.op('ReduceSum', [G.op('Mul', [dy, x]), G.ints([2])], { keepdims: 0 }));
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

/**
 * Max pooling: x -> y, argmax (the first maximum's flat index in its input plane, as float). onnxruntime
 * scans each window in row-major order and keeps a strictly greater value, so its first maximum is the
 * reference's; its indices count from the start of the tensor, hence the modulo the plane size. Without
 * `indices`, the values alone (inference).
 */
export function maxPoolGraph(g: PoolGeometry, indices = true): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', [g.batch, g.channels, g.inH, g.inW]);
  const attrs = {
    kernel_shape: [g.kernelH, g.kernelW], strides: [g.strideH, g.strideW], dilations: [g.dilationH, g.dilationW],
    pads: [g.padTop, g.padLeft, g.padBottom, g.padRight],
  };
  if (!indices) {
    G.output(G.op('MaxPool', [x], attrs));
    return G;
  }
  const [y, argmax] = G.ops('MaxPool', [x], 2, attrs);
  G.output(y);
  G.output(G.op('Cast', [G.op('Mod', [argmax, G.ints([g.inH * g.inW])])], { to: 1 }));
  return G;
}

/**
 * Layer norm over channels (reference.layerNorm): (x [N, C, S], gamma, beta, mask [C]) -> y, mean
 * [N, S], invStd [N, S]; statistics over the channels where mask is 1.
 */
export function layerNormGraph(n: number, c: number, s: number, epsilon: number): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', [n, c, s]);
  const [gamma, beta, mask] = ['gamma', 'beta', 'mask'].map((name) => perChannel(G, G.input(name, [c]), c));
  const axis = G.ints([1]);
  const count = G.op('Max', [G.op('ReduceSum', [mask, axis], { keepdims: 1 }), G.float(1)]);
  const mean = G.op('Div', [G.op('ReduceSum', [G.op('Mul', [x, mask]), axis], { keepdims: 1 }), count]);
  const centered = G.op('Sub', [x, mean]);
  const variance = G.op('Div', [G.op('ReduceSum', [G.op('Mul', [G.op('Mul', [centered, centered]), mask]), axis], { keepdims: 1 }), count]);
  const invStd = G.op('Reciprocal', [G.op('Sqrt', [G.op('Add', [variance, G.float(epsilon)])])]);
  G.output(G.op('Mul', [G.op('Add', [G.op('Mul', [G.op('Mul', [centered, invStd]), gamma]), beta]), mask]));
  G.output(G.op('Reshape', [mean, G.ints([n, s])]));
  G.output(G.op('Reshape', [invStd, G.ints([n, s])]));
  return G;
}

/** (dy, x, gamma, mean, invStd, mask) -> dx, dGamma [C], dBeta [C] (see reference.layerNormBackward). */
export function layerNormBackwardGraph(n: number, c: number, s: number): OpGraph {
  const G = new OpGraph();
  const dy = G.input('dy', [n, c, s]);
  const x = G.input('x', [n, c, s]);
  const gamma = perChannel(G, G.input('gamma', [c]), c);
  const [mean, invStd] = ['mean', 'invStd'].map((name) => G.op('Reshape', [G.input(name, [n, s]), G.ints([n, 1, s])]));
  const mask = perChannel(G, G.input('mask', [c]), c);
  const axis = G.ints([1]);
  const count = G.op('Max', [G.op('ReduceSum', [mask, axis], { keepdims: 1 }), G.float(1)]);
  const xHat = G.op('Mul', [G.op('Sub', [x, mean]), invStd]);
  const maskedDy = G.op('Mul', [dy, mask]);
  const g = G.op('Mul', [maskedDy, gamma]);
  const meanG = G.op('Div', [G.op('ReduceSum', [g, axis], { keepdims: 1 }), count]);
  const meanGx = G.op('Div', [G.op('ReduceSum', [G.op('Mul', [g, xHat]), axis], { keepdims: 1 }), count]);
  const inner = G.op('Sub', [G.op('Sub', [g, meanG]), G.op('Mul', [xHat, meanGx])]);
  G.output(G.op('Mul', [G.op('Mul', [inner, invStd]), mask]));
  const overNS = G.ints([0, 2]);
  G.output(G.op('ReduceSum', [G.op('Mul', [maskedDy, xHat]), overNS], { keepdims: 0 }));
  G.output(G.op('ReduceSum', [maskedDy, overNS], { keepdims: 0 }));
  return G;
}

/** (x [P, H, W], rows [outH, H], cols [outW, W]) -> rows x cols^T per plane, [P, outH, outW]. */
export function resampleGraph(planes: number, h: number, w: number, outH: number, outW: number): OpGraph {
  const G = new OpGraph();
  const x = G.input('x', [planes, h, w]);
  const rows = G.input('rows', [outH, h]);
  const cols = G.input('cols', [outW, w]);
  G.output(G.op('MatMul', [G.op('MatMul', [rows, x]), G.op('Transpose', [cols], { perm: [1, 0] })]));
  return G;
}
