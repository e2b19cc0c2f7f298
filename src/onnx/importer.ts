// The importer's state and the helpers every op handler uses: values (constants, runtime tensors and
// partly matched patterns), the nodes built so far, parameters, attribute readers. Errors name the file,
// the node and the op.
import { TASKS, type Node, type Normalization, type Task, inferShapes } from '../model/graph.js';
import { type AttributeProto, type ModelProto, NORMALIZATION_KEY, type NodeProto, TASK_KEY, toNumber } from './proto.js';

/** A value known at import time: initializers, Constant outputs, folded shapes (NaN = the batch size). */
export interface Const { kind: 'const'; dims: number[]; data: number[] }
/** A runtime tensor: the node that makes it and its per-sample shape. */
export interface Runtime {
  kind: 'tensor'; node: string; shape: number[];
  /** A constant zero Pad not yet applied: [top, left, bottom, right], folded into the next Conv. */
  pad?: [number, number, number, number];
  /** A Softmax over the class scores follows (allowed only at the output). */
  softmax?: boolean;
  /** ONNX holds it as [N, H, W, C] (after Transpose [0, 2, 3, 1]); the node computing it is channel-first. */
  channelsLast?: boolean;
}
/**
 * Part of a multi-node pattern being matched (GELU written as x/sqrt(2) -> Erf -> +1 -> *x -> *0.5):
 * `stage` is the last op matched, `x` the pattern's input. Only the pattern's next op may consume it.
 */
export interface PatternValue {
  kind: 'partial'; pattern: string; stage: string; x: Runtime;
  /** A channel shuffle's group count. */
  groups?: number;
  /** A layer norm's epsilon, gamma and gamma's initializer name; GELU's tanh form. */
  epsilon?: number;
  gamma?: number[];
  weight?: string;
  approximate?: 'tanh';
}
export type Value = Const | Runtime | PatternValue;

export const MAX_ELEMENTS = 1 << 28;

/** Ops that compute the same on a channels-last tensor as on its channel-first node (elementwise, or layout-aware handlers). */
const LAYOUT_FREE = new Set(['Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Add', 'Sum', 'Mul', 'Div', 'LayerNormalization']);

export class Importer {
  readonly values = new Map<string, Value>();
  readonly nodes: Node[] = [{ op: 'input', name: 'input' }];
  readonly params = new Map<string, Float32Array>();
  private names = new Set(['input']);
  /** How many nodes read each value. */
  readonly consumers = new Map<string, number>();
  inputShape: [number, number, number] = [1, 1, 1];
  constructor(readonly file: string) {}

  fail(n: NodeProto, msg: string): never {
    throw new Error(`${this.file}: node '${n.name || n.output?.[0] || '?'}' (${n.opType}): ${msg}`);
  }

  /** A unique node name from the ONNX weight name (`layer1.conv.weight` -> `layer1.conv`) or node name. */
  name(n: NodeProto, fallback: string, weight?: string): string {
    const base = (weight?.replace(/\.(weight|scale|gamma)$/, '') ?? '').replace(/^onnx::.*/, '') || (n.name ?? '').replace(/^\//, '').replace(/\//g, '.') || fallback;
    let name = base;
    for (let k = 2; this.names.has(name); k++) name = `${base}_${k}`;
    this.names.add(name);
    return name;
  }

  tensor(n: NodeProto, i: number): Runtime {
    const v = this.values.get(n.input?.[i] ?? '');
    if (!v) this.fail(n, `input ${i} '${n.input?.[i] ?? ''}' is not produced by an earlier node, an initializer or the graph input`);
    if (v.kind === 'partial') this.fail(n, `input ${i} '${n.input![i]}' is part of a ${v.pattern} written out in ops (after its ${v.stage}), but ${n.opType} is not that pattern's next step`);
    if (v.kind !== 'tensor') this.fail(n, `input ${i} '${n.input![i]}' is a constant; only runtime tensors are supported there`);
    if (v.pad && !((n.opType === 'Conv' || n.opType === 'AveragePool') && i === 0)) this.fail(n, `a non-zero Pad can only be folded into a following Conv or AveragePool; it feeds ${n.opType}`);
    if (v.channelsLast && !LAYOUT_FREE.has(n.opType ?? '')) {
      this.fail(n, `input ${i} '${n.input![i]}' is channels-last (after Transpose [0, 2, 3, 1]); there only elementwise ops, layer norm, MatMul by a [C, F] weight (a per-position Linear) and Transpose [0, 3, 1, 2] back are supported`);
    }
    return v;
  }

  constant(n: NodeProto, i: number, what: string): Const {
    const v = this.values.get(n.input?.[i] ?? '');
    if (!v || v.kind !== 'const') this.fail(n, `${what} (input ${i} '${n.input?.[i] ?? ''}') must be an initializer or a constant`);
    return v;
  }

  optionalConstant(n: NodeProto, i: number, what: string): Const | undefined {
    return n.input?.[i] ? this.constant(n, i, what) : undefined;
  }

  weights(n: NodeProto, i: number, what: string, dims?: number[]): Float32Array {
    const c = this.constant(n, i, what);
    if (dims && c.dims.join() !== dims.join()) this.fail(n, `${what} has shape [${c.dims}], expected [${dims}]`);
    return Float32Array.from(c.data);
  }

  add(node: Node, output: string, shape?: number[]): Runtime {
    this.nodes.push(node);
    let s = shape;
    if (!s) {
      try {
        s = inferShapes({ name: 'import', inputShape: this.inputShape, classes: 0, nodes: this.nodes, output: node.name }, { partial: true }).get(node.name)!;
      } catch (e) {
        throw new Error(`${this.file}: node '${node.name}' (${node.op}): ${(e as Error).message.replace(/^model 'import', node '[^']*' \([^)]*\): /, '')}`);
      }
    }
    const elements = s.reduce((a, b) => a * b, 1);
    if (elements > MAX_ELEMENTS) throw new Error(`${this.file}: node '${node.name}' (${node.op}): its output of [${s}] per sample (${elements} values) exceeds the ${MAX_ELEMENTS} supported`);
    const v: Runtime = { kind: 'tensor', node: node.name, shape: s };
    this.values.set(output, v);
    return v;
  }

  alias(n: NodeProto, input: number, output = 0): void {
    const v = this.values.get(n.input?.[input] ?? '');
    if (!v) this.fail(n, `input '${n.input?.[input] ?? ''}' is not defined before it`);
    this.values.set(n.output![output], v);
  }

  setConst(n: NodeProto, dims: number[], data: number[]): void {
    this.values.set(n.output![0], { kind: 'const', dims, data });
  }
}

// ---- attributes ----

export function attribute(n: NodeProto, name: string): AttributeProto | undefined {
  return n.attribute?.find((a) => a.name === name);
}
export const ints = (n: NodeProto, name: string): number[] | undefined => attribute(n, name)?.ints?.map(toNumber);
export const int = (n: NodeProto, name: string, fallback: number): number => {
  const a = attribute(n, name);
  return a ? toNumber(a.i) : fallback;
};
export const float = (n: NodeProto, name: string, fallback: number): number => attribute(n, name)?.f ?? fallback;
export const text = (n: NodeProto, name: string, fallback: string): string => {
  const a = attribute(n, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
};

/**
 * A constant's value per channel of x, as ONNX broadcasts it from the right: one value for all channels,
 * or a constant of shape [C, 1, 1] for a [C, H, W] x ([C] for features; leading 1s, such as a batch axis,
 * allowed). Undefined for any other shape (a [C] constant on a map would broadcast along its width).
 */
export function perChannelValues(k: Const, x: Runtime): number[] | undefined {
  const channels = x.shape[0];
  if (k.data.length === 1) return new Array(channels).fill(k.data[0]);
  const rank = x.shape.length;
  const extra = k.dims.length - rank;
  if (extra > 0 && k.dims.slice(0, extra).some((d) => d !== 1)) return undefined;
  const aligned = extra >= 0 ? k.dims.slice(extra) : [...new Array(-extra).fill(1), ...k.dims];
  return aligned.join() === [channels, ...x.shape.slice(1).map(() => 1)].join() ? k.data : undefined;
}

/** A 2-D attribute (strides, dilations, kernel_shape, output_padding): two integers of at least `min` (1 or 0). */
export function pair2(c: Importer, n: NodeProto, name: string, fallback: number[], min: 0 | 1 = 1): [number, number] {
  const v = ints(n, name) ?? fallback;
  if (v.length !== 2 || v.some((x) => !Number.isInteger(x) || x < min)) c.fail(n, `${name} must be two ${min ? 'positive' : 'non-negative'} integers (2-D only), got [${v}]`);
  return [v[0], v[1]];
}

/** Attributes a handler does not read must hold their defaults; anything else is unsupported. */
export function only(c: Importer, n: NodeProto, known: string[]): void {
  for (const a of n.attribute ?? []) if (!known.includes(a.name ?? '')) c.fail(n, `attribute '${a.name}' is not supported (supported: ${known.join(', ') || 'none'})`);
}

/** The task our export records in the model's metadata, if any (checked against the outputs by inferShapes). */
export function statedTask(m: ModelProto, file: string): Task | undefined {
  const text = m.metadataProps?.find((p) => p.key === TASK_KEY)?.value;
  if (text === undefined || text === null) return undefined;
  if (!(TASKS as readonly string[]).includes(text)) throw new Error(`${file}: metadata '${TASK_KEY}' is '${text.slice(0, 40)}', not one of ${TASKS.join(', ')}`);
  return text as Task;
}

/** The input normalisation our export records in the model's metadata, if any. */
export function inputNormalization(m: ModelProto, file: string): Normalization | undefined {
  const text = m.metadataProps?.find((p) => p.key === NORMALIZATION_KEY)?.value;
  if (text === undefined || text === null) return undefined;
  let v: { mean?: unknown; std?: unknown };
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${file}: metadata '${NORMALIZATION_KEY}' is not JSON: ${text.slice(0, 80)}`);
  }
  if (typeof v.mean !== 'number' || !Number.isFinite(v.mean) || typeof v.std !== 'number' || !(v.std > 0) || !Number.isFinite(v.std)) {
    throw new Error(`${file}: metadata '${NORMALIZATION_KEY}' must be { mean, std } with std > 0, got ${text.slice(0, 80)}`);
  }
  return { mean: v.mean, std: v.std };
}
