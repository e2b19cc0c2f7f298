// ONNX import of PReLU (a slope per channel, or one for all), of the smooth activations and of
// elementwise products, as ops and as the patterns PyTorch writes them in at opsets 11-18: Sigmoid;
// HardSigmoid (beta 0.5); HardSwish, or HardSigmoid(alpha 1/6) * x below opset 14; SiLU as
// Sigmoid(x) * x; GELU as Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5, and its tanh form as
// x * x * x -> Mul 0.044715 -> Add x -> Mul sqrt(2/pi) -> Tanh -> Add 1 -> Mul x -> Mul 0.5; squeeze-excitation's Mul of a [C, H, W] map by a [C, 1, 1] scale; a Mul by a per-channel
// constant (ConvNeXt's layer scale) as a 1x1 depthwise conv. The arithmetic ops handle those and leave
// constant folding to the core handlers they wrap.
import type { Node } from '../model/graph.js';
import { type Importer, type PatternValue, type Runtime, type Value, float, only, perChannelValues } from './importer.js';
import type { NodeProto } from './proto.js';

type Handler = (c: Importer, n: NodeProto) => void;

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
/** A scalar constant input equal to `value`. */
const isScalar = (v: Value | undefined, value: number) => v?.kind === 'const' && v.data.length === 1 && close(v.data[0], value);
/** A pattern matched up to `stage`. */
const matchedTo = (v: Value | undefined, stage: string): v is PatternValue => v?.kind === 'partial' && v.stage === stage;

function activation(c: Importer, n: NodeProto, node: { op: string; alpha?: number; approximate?: 'tanh' }, x: Runtime): void {
  c.add({ ...node, name: c.name(n, `${node.op}${c.nodes.length}`), input: x.node } as Node, n.output![0]);
}

/** The node that makes runtime value `name`, if only one node reads that value. */
function soleProducer(c: Importer, name: string): Node | undefined {
  const v = c.values.get(name);
  if (v?.kind !== 'tensor' || c.consumers.get(name) !== 1) return undefined;
  return c.nodes.find((m) => m.name === v.node);
}

/** x * gate(x): SiLU for a sigmoid gate, hard swish for a hard sigmoid of slope 1/6. */
function gatedProduct(c: Importer, n: NodeProto): boolean {
  for (const [xi, gi] of [[0, 1], [1, 0]]) {
    const x = c.values.get(n.input![xi]);
    const gate = soleProducer(c, n.input![gi]);
    if (x?.kind !== 'tensor' || !gate || !('input' in gate) || gate.input !== x.node) continue;
    const op = gate.op === 'sigmoid' ? 'silu' : gate.op === 'hardsigmoid' && close(gate.alpha, 1 / 6) ? 'hardswish' : undefined;
    if (!op) continue;
    c.nodes.splice(c.nodes.indexOf(gate), 1); // the gate feeds only this product
    activation(c, n, { op }, x);
    return true;
  }
  return false;
}

/** A [C, H, W] map times a [C, 1, 1] scale, in either order: squeeze-excitation. */
function channelScale(c: Importer, n: NodeProto): boolean {
  const [a, b] = [c.values.get(n.input?.[0] ?? ''), c.values.get(n.input?.[1] ?? '')];
  if (a?.kind !== 'tensor' || b?.kind !== 'tensor') return false;
  const isScale = (m: Runtime, s: Runtime) => m.shape.length === 3 && s.shape.join() === [m.shape[0], 1, 1].join();
  const [map, scale] = isScale(a, b) ? [a, b] : isScale(b, a) ? [b, a] : [undefined, undefined];
  if (!map || !scale) c.fail(n, `multiplies [${a.shape}] by [${b.shape}]; only a [C, H, W] map by a [C, 1, 1] scale (squeeze-excitation) is supported`);
  c.add({ op: 'mul', name: c.name(n, `mul${c.nodes.length}`), inputs: [map.node, scale.node] }, n.output![0]);
  return true;
}

/** A [C, H, W] map times a constant with one value per channel ([C, 1, 1]; [C] when channels-last): a 1x1 depthwise conv. */
function constantChannelScale(c: Importer, n: NodeProto): boolean {
  for (const [xi, ki] of [[0, 1], [1, 0]]) {
    const [x, k] = [c.values.get(n.input?.[xi] ?? ''), c.values.get(n.input?.[ki] ?? '')];
    if (x?.kind !== 'tensor' || k?.kind !== 'const' || x.shape.length !== 3) continue;
    const dims = k.dims.slice(k.dims.findIndex((d) => d !== 1));
    const channels = x.shape[0];
    const expected = x.channelsLast ? [channels] : [channels, 1, 1];
    if (dims.join() !== expected.join()) c.fail(n, `multiplies a ${x.channelsLast ? 'channels-last ' : ''}tensor of ${channels} channels by a constant of shape [${k.dims}]; only a per-channel constant ([${expected}]) is supported`);
    const name = c.name(n, `scale${c.nodes.length}`, n.input![ki]);
    c.params.set(`${name}.weight`, Float32Array.from(k.data));
    c.add({ op: 'conv2d', name, input: x.node, outChannels: channels, kernel: [1, 1], groups: channels, bias: false }, n.output![0]);
    return true;
  }
  return false;
}

/** Constants of GELU's tanh form: sqrt(2 / pi) and the cubic coefficient (Hendrycks & Gimpel 2016). */
const GELU_TANH_SCALE = Math.sqrt(2 / Math.PI), GELU_TANH_CUBIC = 0.044715;

/** The next step of a GELU written out in ops (erf or tanh form), or false when `n` is not one. */
function geluStep(c: Importer, n: NodeProto): boolean {
  const [a, b] = [c.values.get(n.input?.[0] ?? ''), c.values.get(n.input?.[1] ?? '')];
  const set = (stage: string, x: Runtime, approximate?: 'tanh') => c.values.set(n.output![0], { kind: 'partial', pattern: 'GELU', stage, x, approximate });
  switch (n.opType) {
    case 'Div':
      if (a?.kind === 'tensor' && isScalar(b, Math.SQRT2)) { set('Div', a); return true; }
      return false;
    case 'Erf':
      if (matchedTo(a, 'Div')) { set('Erf', a.x); return true; }
      return false;
    case 'Tanh':
      if (matchedTo(a, 'InnerScaled')) { set('Tanh', a.x, 'tanh'); return true; }
      return false;
    case 'Add':
      for (const [p, k] of [[a, b], [b, a]]) {
        if (matchedTo(p, 'Erf') && isScalar(k, 1)) { set('Add', p.x); return true; }
        if (matchedTo(p, 'Tanh') && isScalar(k, 1)) { set('Add', p.x, 'tanh'); return true; }
        if (matchedTo(p, 'CubeScaled') && k?.kind === 'tensor' && k.node === p.x.node) { set('Inner', k, 'tanh'); return true; }
      }
      return false;
    case 'Mul':
      if (a?.kind === 'tensor' && b?.kind === 'tensor' && a.node === b.node && !a.channelsLast === !b.channelsLast) { set('Square', a, 'tanh'); return true; }
      for (const [p, k] of [[a, b], [b, a]]) {
        if (matchedTo(p, 'Add') && k?.kind === 'tensor' && k.node === p.x.node) { set('Mul', k, p.approximate); return true; }
        if (matchedTo(p, 'Mul') && isScalar(k, 0.5)) { activation(c, n, p.approximate ? { op: 'gelu', approximate: 'tanh' } : { op: 'gelu' }, p.x); return true; }
        if (matchedTo(p, 'Square') && k?.kind === 'tensor' && k.node === p.x.node) { set('Cube', k, 'tanh'); return true; }
        if (matchedTo(p, 'Cube') && isScalar(k, GELU_TANH_CUBIC)) { set('CubeScaled', p.x, 'tanh'); return true; }
        if (matchedTo(p, 'Inner') && isScalar(k, GELU_TANH_SCALE)) { set('InnerScaled', p.x, 'tanh'); return true; }
      }
      return false;
    default:
      return false;
  }
}

/** Handlers for the activation ops, and Mul/Div/Add/Erf wrapping the core ones (`core`) for the patterns. */
export function activationHandlers(core: Record<'Mul' | 'Div' | 'Add', Handler>): Record<string, Handler> {
  const withPatterns = (next: Handler): Handler => (c, n) => {
    if (geluStep(c, n)) return;
    if (n.opType === 'Mul' && (gatedProduct(c, n) || constantChannelScale(c, n) || channelScale(c, n))) return;
    next(c, n);
  };
  return {
    PRelu(c, n) {
      only(c, n, []);
      const x = c.tensor(n, 0);
      const slope = c.constant(n, 1, 'slope');
      const perChannel = perChannelValues(slope, x) ?? c.fail(n, `slope has shape [${slope.dims}]: only one slope per channel (of ${x.shape[0]}) or one for all is supported`);
      const name = c.name(n, `prelu${c.nodes.length}`, n.input![1]);
      c.params.set(`${name}.slope`, Float32Array.from(perChannel));
      c.add({ op: 'prelu', name, input: x.node }, n.output![0]);
    },
    Sigmoid(c, n) {
      only(c, n, []);
      activation(c, n, { op: 'sigmoid' }, c.tensor(n, 0));
    },
    HardSigmoid(c, n) {
      only(c, n, ['alpha', 'beta']);
      const beta = float(n, 'beta', 0.5);
      if (!close(beta, 0.5)) c.fail(n, `beta = ${beta} is not supported; only 0.5 (PyTorch's hardsigmoid and the ONNX default)`);
      activation(c, n, { op: 'hardsigmoid', alpha: float(n, 'alpha', 0.2) }, c.tensor(n, 0));
    },
    HardSwish(c, n) {
      only(c, n, []);
      activation(c, n, { op: 'hardswish' }, c.tensor(n, 0));
    },
    Erf(c, n) {
      if (!geluStep(c, n)) c.fail(n, 'Erf is supported only inside GELU (x / sqrt(2) -> Erf -> + 1 -> * x -> * 0.5)');
    },
    Tanh(c, n) {
      if (!geluStep(c, n)) c.fail(n, "Tanh is supported only inside GELU's tanh form (x + 0.044715 x^3 -> * sqrt(2/pi) -> Tanh -> + 1 -> * x -> * 0.5)");
    },
    Mul: withPatterns(core.Mul),
    Div: withPatterns(core.Div),
    Add: withPatterns(core.Add),
  };
}
