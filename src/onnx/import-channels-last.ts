// ONNX import of layer normalisation over channels and of ConvNeXt's channels-last blocks, as
// channel-first ops where that is exact. Transpose [0, 2, 3, 1] marks a tensor channels-last (the node
// holding it stays channel-first) and Transpose [0, 3, 1, 2] marks it back; in between, a per-position
// Linear (MatMul by a [C, F] weight, then Add of a [F] bias) is a 1x1 conv, elementwise ops keep the
// layout, and every other op refuses it. Layer norm over the channel axis arrives as LayerNormalization
// (opset 17) or written out in ops (ReduceMean -> Sub -> Pow 2 -> ReduceMean -> Add eps -> Sqrt -> Div
// -> Mul gamma -> Add beta, as PyTorch exports it below opset 17); either way it becomes one layernorm node.
import { transposed } from '../geometry.js';
import { type Importer, type PatternValue, type Runtime, type Value, float, int, ints, only } from './importer.js';
import type { NodeProto } from './proto.js';

type Handler = (c: Importer, n: NodeProto) => void;

const PATTERN = 'LayerNorm';
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
const isScalar = (v: Value | undefined, value: number) => v?.kind === 'const' && v.data.length === 1 && close(v.data[0], value);
const matchedTo = (v: Value | undefined, stage: string): v is PatternValue => v?.kind === 'partial' && v.pattern === PATTERN && v.stage === stage;

/** The runtime tensor a value stands for (a partial pattern's input), if any. */
export const runtimeOf = (v: Value | undefined): Runtime | undefined => (v?.kind === 'tensor' ? v : v?.kind === 'partial' ? v.x : undefined);

/** The ONNX dims of x with the batch first: [N, C, H, W], [N, H, W, C] when channels-last, or [N, C]. */
function onnxDims(x: Runtime): { dims: number[]; channel: number } {
  if (x.shape.length !== 3) return { dims: [NaN, ...x.shape], channel: 1 };
  const [ch, h, w] = x.shape;
  return x.channelsLast ? { dims: [NaN, h, w, ch], channel: 3 } : { dims: [NaN, ch, h, w], channel: 1 };
}

/** Whether reducing over `axes` of x is a reduction over its channels alone (other axes of size 1). */
function overChannels(x: Runtime, axes: number[]): boolean {
  const { dims, channel } = onnxDims(x);
  const norm = axes.map((a) => (a < 0 ? a + dims.length : a));
  return norm.includes(channel) && norm.every((a) => a === channel || dims[a] === 1);
}

function reduceAxes(c: Importer, n: NodeProto): number[] {
  return ints(n, 'axes') ?? c.optionalConstant(n, 1, 'axes')?.data ?? [];
}

function addLayerNorm(c: Importer, n: NodeProto, x: Runtime, gamma: number[], beta: number[], epsilon: number, weightName?: string): void {
  const channels = x.shape[0];
  if (gamma.length !== channels || beta.length !== channels) c.fail(n, `layer norm parameters have ${gamma.length} and ${beta.length} values for ${channels} channels`);
  const name = c.name(n, `layernorm${c.nodes.length}`, weightName);
  c.params.set(`${name}.gamma`, Float32Array.from(gamma));
  c.params.set(`${name}.beta`, Float32Array.from(beta));
  c.add({ op: 'layernorm', name, input: x.node, epsilon }, n.output![0]);
}

/** The next step of a layer norm written out in ops, or false when `n` is not one. */
function layerNormStep(c: Importer, n: NodeProto): boolean {
  const [a, b] = [c.values.get(n.input?.[0] ?? ''), c.values.get(n.input?.[1] ?? '')];
  const set = (stage: string, p: Omit<PatternValue, 'kind' | 'pattern' | 'stage'>) => c.values.set(n.output![0], { kind: 'partial', pattern: PATTERN, stage, ...p });
  switch (n.opType) {
    case 'ReduceMean': {
      if (int(n, 'keepdims', 1) !== 1) return false;
      if (a?.kind === 'tensor' && overChannels(a, reduceAxes(c, n))) { set('Mean', { x: a }); return true; }
      if (matchedTo(a, 'Squared') && overChannels(a.x, reduceAxes(c, n))) { set('Variance', { x: a.x }); return true; }
      return false;
    }
    case 'Sub':
      if (a?.kind === 'tensor' && matchedTo(b, 'Mean') && b.x.node === a.node) { set('Centered', { x: a }); return true; }
      return false;
    case 'Pow':
      if (matchedTo(a, 'Centered') && isScalar(b, 2)) { set('Squared', { x: a.x }); return true; }
      return false;
    case 'Sqrt':
      if (matchedTo(a, 'VarianceEps')) { set('Std', { x: a.x, epsilon: a.epsilon }); return true; }
      return false;
    case 'Div':
      if (matchedTo(a, 'Centered') && matchedTo(b, 'Std') && a.x.node === b.x.node) { set('Normalized', { x: a.x, epsilon: b.epsilon }); return true; }
      return false;
    case 'Mul':
      for (const [p, k, i] of [[a, b, 1], [b, a, 0]] as const) {
        if (matchedTo(p, 'Normalized') && k?.kind === 'const' && k.data.length === p.x.shape[0]) { set('Scaled', { x: p.x, epsilon: p.epsilon, gamma: k.data, weight: n.input![i] }); return true; }
      }
      return false;
    case 'Add':
      for (const [p, k] of [[a, b], [b, a]]) {
        if (matchedTo(p, 'Variance') && k?.kind === 'const' && k.data.length === 1) { set('VarianceEps', { x: p.x, epsilon: k.data[0] }); return true; }
        if (matchedTo(p, 'Scaled') && k?.kind === 'const' && k.data.length === p.x.shape[0]) { addLayerNorm(c, n, p.x, p.gamma!, k.data, p.epsilon!, p.weight); return true; }
      }
      return false;
    default:
      return false;
  }
}

/** A per-position Linear on a channels-last tensor: a 1x1 conv (weight [C, F] transposed to [F, C, 1, 1]). */
function pointwiseLinear(c: Importer, n: NodeProto, x: Runtime): void {
  only(c, n, []);
  const w = c.constant(n, 1, 'the second input (the weight)');
  if (w.dims.length !== 2 || w.dims[0] !== x.shape[0]) c.fail(n, `the weight must be [${x.shape[0]}, features] for ${x.shape[0]} channels, got [${w.dims}]`);
  const [inC, outC] = w.dims;
  const weight = transposed(Float32Array.from(w.data), inC, outC);
  const name = c.name(n, `conv${c.nodes.length}`, n.input![1]);
  c.params.set(`${name}.weight`, weight);
  c.add({ op: 'conv2d', name, input: x.node, outChannels: outC, kernel: [1, 1], bias: false }, n.output![0]);
}

/** Add of a [F] constant to a channels-last 1x1 conv without bias (read by nothing else): its bias. */
function pointwiseBias(c: Importer, n: NodeProto): boolean {
  for (const [ti, ki] of [[0, 1], [1, 0]]) {
    const [t, k] = [c.values.get(n.input![ti]), c.values.get(n.input![ki])];
    if (t?.kind !== 'tensor' || !t.channelsLast || k?.kind !== 'const') continue;
    const producer = c.nodes.find((m) => m.name === t.node);
    if (producer?.op !== 'conv2d' || producer.bias !== false || k.data.length !== producer.outChannels || c.consumers.get(n.input![ti]) !== 1) continue;
    producer.bias = true;
    c.params.set(`${producer.name}.bias`, Float32Array.from(k.data));
    c.values.set(n.output![0], t);
    return true;
  }
  return false;
}

export function channelsLastHandlers(next: Record<'Transpose' | 'MatMul' | 'Add' | 'Mul' | 'Div' | 'ReduceMean', Handler>): Record<string, Handler> {
  const withSteps = (op: keyof typeof next | 'Sub' | 'Pow' | 'Sqrt'): Handler => (c, n) => {
    if (layerNormStep(c, n)) return;
    if (op === 'Add' && pointwiseBias(c, n)) return;
    if (op === 'ReduceMean' && c.values.get(n.input?.[0] ?? '')?.kind === 'tensor' && (c.values.get(n.input![0]) as Runtime).channelsLast) {
      c.fail(n, 'a mean of a channels-last tensor is supported only over its channels, inside a layer norm');
    }
    if (op === 'Sub' || op === 'Pow' || op === 'Sqrt') return c.fail(n, `${op} is supported only inside a layer norm written out in ops (ReduceMean -> Sub -> Pow -> ReduceMean -> Add -> Sqrt -> Div -> Mul -> Add)`);
    next[op](c, n);
  };
  return {
    ReduceMean: withSteps('ReduceMean'), Sub: withSteps('Sub'), Pow: withSteps('Pow'), Sqrt: withSteps('Sqrt'),
    Div: withSteps('Div'), Mul: withSteps('Mul'), Add: withSteps('Add'),

    LayerNormalization(c, n) {
      only(c, n, ['axis', 'epsilon', 'stash_type']);
      if (n.output!.slice(1).some((o) => o)) c.fail(n, 'the Mean and InvStdDev outputs are not supported');
      const x = c.tensor(n, 0);
      const axis = int(n, 'axis', -1);
      const rank = onnxDims(x).dims.length;
      const from = axis < 0 ? axis + rank : axis;
      if (!overChannels(x, Array.from({ length: rank - from }, (_, i) => from + i))) {
        c.fail(n, `normalises axes ${from}..${rank - 1} of [N, ${onnxDims(x).dims.slice(1)}]; only a layer norm over the channels is supported (channels-last with axis -1, or channels alone)`);
      }
      const gamma = c.constant(n, 1, 'the scale').data;
      const beta = c.optionalConstant(n, 2, 'the bias')?.data ?? new Array<number>(gamma.length).fill(0);
      addLayerNorm(c, n, x, gamma, beta, float(n, 'epsilon', 1e-5), n.input![1]);
    },

    MatMul(c, n) {
      const x = c.values.get(n.input?.[0] ?? '');
      if (x?.kind === 'tensor' && x.channelsLast) return pointwiseLinear(c, n, x);
      next.MatMul(c, n);
    },

    Transpose(c, n) {
      const v = c.values.get(n.input?.[0] ?? '');
      const perm = ints(n, 'perm')?.join();
      if (v?.kind === 'tensor' && v.shape.length === 3) {
        only(c, n, ['perm']);
        if (!v.channelsLast && perm === '0,2,3,1') return void c.values.set(n.output![0], { ...v, channelsLast: true });
        if (v.channelsLast && perm === '0,3,1,2') return void c.values.set(n.output![0], { ...v, channelsLast: false });
        c.fail(n, `only Transpose [0, 2, 3, 1] to channels-last and [0, 3, 1, 2] back are supported here; got perm [${perm ?? 'reversed'}] of a ${v.channelsLast ? 'channels-last' : 'channel-first'} tensor`);
      }
      next.Transpose(c, n);
    },
  };
}

/**
 * After a handler: outputs computed from channels-last inputs are channels-last too (elementwise ops
 * keep the layout; Transpose sets its own), and inputs may not mix the two layouts.
 */
export function propagateLayout(c: Importer, n: NodeProto): void {
  if (n.opType === 'Transpose') return;
  const layouts = new Set((n.input ?? []).map((i) => runtimeOf(c.values.get(i))).filter((r) => r !== undefined).map((r) => r.channelsLast === true));
  if (layouts.size > 1) c.fail(n, 'mixes a channels-last input (after Transpose [0, 2, 3, 1]) with a channel-first one');
  if (!layouts.has(true)) return;
  for (const o of n.output ?? []) {
    const v = c.values.get(o);
    if (v?.kind === 'tensor' && !v.channelsLast) c.values.set(o, { ...v, channelsLast: true });
  }
}
