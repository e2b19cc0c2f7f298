// The model definition: a graph of layers in topological order, each naming its inputs. Plain data
// (JSON-serialisable), so a checkpoint carries its architecture and any tool can walk it.
import type { Activation } from '../backend.js';
import { type Padding, type Pair, conv2dGeometry, poolGeometry, transposedConvGeometry } from '../geometry.js';
import { type Quantization, checkQuantization } from './quantization.js';
import { COORDINATE_MODES, NEAREST_MODES, type CoordinateMode, type NearestMode, type ResizeMode } from './resize.js';

export type Node =
  | { op: 'input'; name: string }
  | { op: 'conv2d'; name: string; input: string; outChannels: number; kernel: Pair; stride?: Pair; padding?: Padding; dilation?: Pair; groups?: number; bias?: boolean }
  /** Transposed convolution (a decoder's upsampling): weight [C_in, outChannels / groups, KH, KW] (geometry.ts, transposedConvGeometry). */
  | { op: 'convtranspose'; name: string; input: string; outChannels: number; kernel: Pair; stride?: Pair; padding?: Padding; outputPadding?: Pair; dilation?: Pair; groups?: number; bias?: boolean }
  | { op: 'batchnorm'; name: string; input: string; epsilon?: number; momentum?: number }
  /** Layer normalisation over the channels at each position (ConvNeXt's LayerNorm2d; a flat input's features). */
  | { op: 'layernorm'; name: string; input: string; epsilon?: number }
  /**
   * Group normalisation (Wu & He 2018): statistics per sample over each of `groups` equal channel groups
   * (and positions), then gamma and beta per channel. `perChannel`: one channel per group whatever their
   * number (instance normalisation), so that channels can be pruned (`groups` is then ignored).
   */
  | { op: 'groupnorm'; name: string; input: string; groups: number; perChannel?: boolean; epsilon?: number }
  /** PReLU: x where x > 0, else slope[c] · x, one learned slope per channel (a scalar slope is every channel's). */
  | { op: 'prelu'; name: string; input: string }
  | { op: 'relu' | 'relu6' | 'sigmoid' | 'hardswish' | 'silu'; name: string; input: string }
  | { op: 'leakyrelu' | 'hardsigmoid'; name: string; input: string; alpha: number }
  | { op: 'gelu'; name: string; input: string; approximate?: 'tanh' }
  | { op: 'maxpool' | 'avgpool'; name: string; input: string; kernel: Pair; stride?: Pair; padding?: Padding; countIncludePad?: boolean }
  | { op: 'gap'; name: string; input: string }
  /** Nearest or bilinear resizing of each channel to `size` [H, W], as ONNX's Resize (see resize.ts). */
  | { op: 'resize'; name: string; input: string; size: [number, number]; mode: ResizeMode; coordinates: CoordinateMode; nearest?: NearestMode }
  | { op: 'add'; name: string; inputs: string[] }
  /** inputs[0] [C, H, W] times inputs[1] [C, 1, 1] per channel: squeeze-excitation's scale. */
  | { op: 'mul'; name: string; inputs: [string, string] }
  | { op: 'concat'; name: string; inputs: string[] }
  /** Output channel j is input channel channels[j] (distinct): a channel split, slice or shuffle. */
  | { op: 'gather'; name: string; input: string; channels: number[] }
  | { op: 'flatten'; name: string; input: string }
  | { op: 'linear'; name: string; input: string; outFeatures: number; bias?: boolean };

export type Op = Node['op'];

/** The elementwise activation ops: each keeps its input's shape and channels. */
const ACTIVATION_OPS = ['relu', 'relu6', 'leakyrelu', 'sigmoid', 'hardsigmoid', 'hardswish', 'silu', 'gelu'] as const satisfies readonly Op[];
export type ActivationNode = Extract<Node, { op: (typeof ACTIVATION_OPS)[number] }>;
export const isActivation = (n: Node): n is ActivationNode => (ACTIVATION_OPS as readonly Op[]).includes(n.op);

/** The backend activation an activation node computes. */
export function activationOf(n: ActivationNode): { kind: Activation; alpha?: number } {
  switch (n.op) {
    case 'leakyrelu': case 'hardsigmoid': return { kind: n.op, alpha: n.alpha };
    case 'gelu': return { kind: n.approximate === 'tanh' ? 'gelu-tanh' : 'gelu' };
    default: return { kind: n.op };
  }
}

/** A batch norm's or layer norm's epsilon when its node names none (PyTorch's default for both). */
export const BN_EPSILON = 1e-5;

/** An input normalisation: (pixel scaled to [0, 1] - mean) / std. */
export type Normalization = { mean: number; std: number };

export interface ModelSpec {
  name: string;
  /** [channels, height, width] of one sample. */
  inputShape: [number, number, number];
  classes: number;
  nodes: Node[];
  /** The node whose output is the logits, or a map's or embedding's (the first output where there are several). */
  output: string;
  /** Every graph output in order where there are several (a detector's heads); the first is `output`. */
  outputs?: string[];
  /** What the outputs are, where their shapes do not say it (see taskOf): an embedding net's features. */
  task?: Task;
  /** Applied to the logits at inference only (an imported model's trailing Softmax); training uses the logits. */
  outputActivation?: 'softmax';
  /** The inputs the model was trained on: (pixel scaled to [0, 1] - mean) / std. Any data fed to it gets this. */
  inputNormalization?: Normalization;
  /** Quantized conv and linear layers (see quantization.ts); absent: float32 throughout. */
  quantization?: Quantization;
}

/**
 * What a model computes, which decides its loss and metrics: class logits [K] (classify), per-pixel class
 * logits [K, H, W] (segment), an embedding [D] (embed), or any outputs, one or several (detect: heads
 * matched to the dense model's only, there being no labels to train them on here).
 */
export const TASKS = ['classify', 'segment', 'detect', 'embed'] as const;
export type Task = (typeof TASKS)[number];

/** The graph's outputs in order. */
export const outputNames = (spec: ModelSpec): string[] => spec.outputs ?? [spec.output];

/** The output fields of a spec whose node `from` is now `to` (a node removed, its consumers reading another). */
export function renameOutputs(spec: ModelSpec, from: string, to: string): Pick<ModelSpec, 'output' | 'outputs'> {
  const r = (name: string) => (name === from ? to : name);
  return { output: r(spec.output), ...(spec.outputs ? { outputs: spec.outputs.map(r) } : {}) };
}

/** Is node `name` one of the graph's outputs? */
export const isOutput = (spec: ModelSpec, name: string): boolean => outputNames(spec).includes(name);

/** The task a model's outputs imply: its stated one, else several outputs detect, [K] classifies and [K, H, W] segments. */
export function taskOf(spec: ModelSpec, shapes: Shapes): Task {
  if (spec.task) return spec.task;
  if (outputNames(spec).length > 1) return 'detect';
  return shapes.get(spec.output)!.length === 1 ? 'classify' : 'segment';
}

/** Per-sample output shape of each node: [C, H, W] or [features]. */
export type Shapes = Map<string, number[]>;

/** A group norm's group count over `channels` input channels (one per channel when `perChannel`). */
export const groupCount = (n: Extract<Node, { op: 'groupnorm' }>, channels: number): number => (n.perChannel ? channels : n.groups);

export const inputsOf = (n: Node): string[] => ('inputs' in n ? n.inputs : 'input' in n ? [n.input] : []);

/** Parameters a node owns: name suffix and per-sample shape. */
export function paramShapes(n: Node, shapes: Shapes): Record<string, number[]> {
  const inShape = inputsOf(n).map((i) => shapes.get(i)!)[0];
  switch (n.op) {
    case 'conv2d': case 'convtranspose': {
      const k = typeof n.kernel === 'number' ? [n.kernel, n.kernel] : n.kernel;
      const groups = n.groups ?? 1;
      // A transposed convolution's weight is the transposed layout: [C_in, C_out / groups, KH, KW].
      const w = n.op === 'conv2d' ? [n.outChannels, inShape[0] / groups, k[0], k[1]] : [inShape[0], n.outChannels / groups, k[0], k[1]];
      return n.bias === false ? { weight: w } : { weight: w, bias: [n.outChannels] };
    }
    case 'linear': return n.bias === false ? { weight: [n.outFeatures, inShape[0]] } : { weight: [n.outFeatures, inShape[0]], bias: [n.outFeatures] };
    case 'batchnorm': return { gamma: [inShape[0]], beta: [inShape[0]], runningMean: [inShape[0]], runningVar: [inShape[0]] };
    case 'layernorm': return { gamma: [inShape[0]], beta: [inShape[0]] };
    case 'prelu': return { slope: [inShape[0]] };
    case 'groupnorm': return { gamma: [inShape[0]], beta: [inShape[0]] };
    default: return {};
  }
}

/** The JSON shape of a spec from an untrusted file (checkpoint metadata): fields of the right types, before shape inference. */
export function checkSpecShape(spec: unknown): asserts spec is ModelSpec {
  const s = spec as Partial<ModelSpec> | null;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new Error('a model spec must be a JSON object');
  if (typeof s.name !== 'string' || typeof s.output !== 'string') throw new Error('a model spec needs a name and an output node name');
  if (s.outputs !== undefined && (!Array.isArray(s.outputs) || s.outputs.some((x) => typeof x !== 'string'))) throw new Error('outputs must be a list of node names');
  if (!Array.isArray(s.inputShape) || s.inputShape.length !== 3 || s.inputShape.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`inputShape must be [C, H, W] of positive integers, got ${JSON.stringify(s.inputShape)}`);
  if (!Number.isInteger(s.classes) || s.classes! < 1) throw new Error(`classes must be a positive integer, got ${JSON.stringify(s.classes)}`);
  if (!Array.isArray(s.nodes)) throw new Error('nodes must be a list');
  const norm = s.inputNormalization;
  if (norm !== undefined && (typeof norm !== 'object' || norm === null || !Number.isFinite(norm.mean) || !(norm.std > 0) || !Number.isFinite(norm.std))) {
    throw new Error(`inputNormalization must be { mean, std } with a finite mean and std > 0, got ${JSON.stringify(norm)}`);
  }
  const pair = (v: unknown) => (Number.isInteger(v) && (v as number) >= 0) || (Array.isArray(v) && (v.length === 2 || v.length === 4) && v.every((x) => Number.isInteger(x) && x >= 0));
  s.nodes.forEach((n: Record<string, unknown>, i: number) => {
    const where = `node ${i}`;
    if (typeof n !== 'object' || n === null || typeof n.op !== 'string' || typeof n.name !== 'string') throw new Error(`${where}: needs an op and a name`);
    if ('input' in n && typeof n.input !== 'string') throw new Error(`${where} '${n.name}': input must be a node name`);
    if ('inputs' in n && (!Array.isArray(n.inputs) || n.inputs.some((x) => typeof x !== 'string'))) throw new Error(`${where} '${n.name}': inputs must be node names`);
    for (const k of ['outChannels', 'outFeatures', 'groups']) if (k in n && (!Number.isInteger(n[k]) || (n[k] as number) < 1)) throw new Error(`${where} '${n.name}': ${k} must be a positive integer`);
    for (const k of ['kernel', 'stride', 'padding', 'outputPadding', 'dilation']) if (k in n && !pair(n[k])) throw new Error(`${where} '${n.name}': ${k} must be a non-negative integer or a list of them`);
    if ('channels' in n && (!Array.isArray(n.channels) || n.channels.some((x) => !Number.isInteger(x)))) throw new Error(`${where} '${n.name}': channels must be a list of integers`);
  });
  if (s.quantization !== undefined) checkQuantization(s.quantization, new Map(s.nodes.map((n: Node) => [n.name, n.op])));
}

/** Checks the graph and infers every node's output shape; errors name the node. `partial`: a graph under construction (no output check). */
export function inferShapes(spec: ModelSpec, o: { partial?: boolean } = {}): Shapes {
  const shapes: Shapes = new Map();
  const fail = (n: Node, msg: string): never => { throw new Error(`model '${spec.name}', node '${n.name}' (${n.op}): ${msg}`); };
  for (const n of spec.nodes) {
    if (shapes.has(n.name)) fail(n, 'duplicate node name');
    const ins = inputsOf(n).map((i) => shapes.get(i) ?? fail(n, `input '${i}' is not defined before it`));
    const x = ins[0];
    const spatial = (what: string) => { if (x.length !== 3) fail(n, `${what} needs a [C, H, W] input, got [${x.join(', ')}]`); };
    try {
      if (isActivation(n)) shapes.set(n.name, [...x]);
      else switch (n.op) {
        case 'input': shapes.set(n.name, [...spec.inputShape]); break;
        case 'conv2d': {
          spatial('conv2d');
          const w = paramShapes(n, shapes).weight;
          const g = conv2dGeometry([1, ...x], w, n);
          shapes.set(n.name, [g.outChannels, g.outH, g.outW]);
          break;
        }
        case 'convtranspose': {
          spatial('convtranspose');
          if (!Number.isInteger(n.outChannels / (n.groups ?? 1))) fail(n, `groups=${n.groups} must divide ${n.outChannels} output channels`);
          const g = transposedConvGeometry([1, ...x], paramShapes(n, shapes).weight, n);
          shapes.set(n.name, [n.outChannels, g.inH, g.inW]);
          break;
        }
        case 'batchnorm': case 'layernorm': case 'prelu': shapes.set(n.name, [...x]); break;
        case 'groupnorm':
          if (!n.perChannel && (!Number.isInteger(n.groups) || n.groups < 1 || x[0] % n.groups !== 0)) fail(n, `${n.groups} groups do not divide ${x[0]} channels`);
          shapes.set(n.name, [...x]);
          break;
        case 'maxpool': case 'avgpool': {
          spatial(n.op);
          const g = poolGeometry(n.op, [1, ...x], n);
          shapes.set(n.name, [x[0], g.outH, g.outW]);
          break;
        }
        case 'gap': spatial('gap'); shapes.set(n.name, [x[0], 1, 1]); break;
        case 'resize':
          spatial('resize');
          if (!Array.isArray(n.size) || n.size.length !== 2 || n.size.some((d) => !Number.isInteger(d) || d < 1)) fail(n, `size must be [H, W] of positive integers, got ${JSON.stringify(n.size)}`);
          if (n.mode !== 'nearest' && n.mode !== 'linear') fail(n, `mode must be nearest or linear, got '${n.mode}'`);
          if (!COORDINATE_MODES.includes(n.coordinates)) fail(n, `coordinates must be one of ${COORDINATE_MODES.join(', ')}, got '${n.coordinates}'`);
          if (n.nearest !== undefined && !NEAREST_MODES.includes(n.nearest)) fail(n, `nearest must be one of ${NEAREST_MODES.join(', ')}, got '${n.nearest}'`);
          shapes.set(n.name, [x[0], ...n.size]);
          break;
        case 'add':
          if (ins.length < 2) fail(n, 'needs at least two inputs');
          ins.forEach((s, i) => { if (s.join() !== x.join()) fail(n, `input ${i} has shape [${s}], input 0 [${x}]`); });
          shapes.set(n.name, [...x]);
          break;
        case 'mul':
          if (ins.length !== 2 || x.length !== 3 || ins[1].join() !== [x[0], 1, 1].join()) fail(n, `multiplies a [C, H, W] input by a [C, 1, 1] scale; got [${x}] and [${ins[1] ?? ''}]`);
          shapes.set(n.name, [...x]);
          break;
        case 'concat':
          ins.forEach((s, i) => { if (s.length !== 3 || s.slice(1).join() !== x.slice(1).join()) fail(n, `input ${i} has shape [${s}], which differs from [${x}] outside the channels`); });
          shapes.set(n.name, [ins.reduce((c, s) => c + s[0], 0), x[1], x[2]]);
          break;
        case 'gather': {
          spatial('gather');
          const seen = new Set<number>();
          for (const c of n.channels) {
            if (!Number.isInteger(c) || c < 0 || c >= x[0] || seen.has(c)) fail(n, `channel ${c} is not a new channel index below ${x[0]}`);
            seen.add(c);
          }
          if (n.channels.length === 0) fail(n, 'gathers no channel');
          shapes.set(n.name, [n.channels.length, x[1], x[2]]);
          break;
        }
        case 'flatten': shapes.set(n.name, [x.reduce((a, b) => a * b, 1)]); break;
        case 'linear':
          if (x.length !== 1) fail(n, `linear needs a flat input (add a flatten), got [${x.join(', ')}]`);
          shapes.set(n.name, [n.outFeatures]);
          break;
        default: fail(n, `unknown op '${(n as { op: string }).op}'`);
      }
    } catch (e) {
      const message = (e as Error).message;
      throw message.startsWith(`model '${spec.name}'`) ? e : new Error(`model '${spec.name}', node '${n.name}' (${n.op}): ${message}`);
    }
  }
  if (o.partial) return shapes;
  checkOutputs(spec, shapes);
  return shapes;
}

/** The outputs exist, the first is `output`, and the task fits their shapes; `classes` is the first output's channel count. */
function checkOutputs(spec: ModelSpec, shapes: Shapes): void {
  const names = outputNames(spec);
  const where = `model '${spec.name}'`;
  if (names[0] !== spec.output) throw new Error(`${where}: outputs [${names.join(', ')}] must start with the output node '${spec.output}'`);
  if (new Set(names).size !== names.length) throw new Error(`${where}: outputs [${names.join(', ')}] name a node twice`);
  for (const name of names) if (!shapes.has(name)) throw new Error(`${where}: output node '${name}' does not exist`);
  const out = shapes.get(spec.output)!;
  if ((out.length !== 1 && out.length !== 3) || out[0] !== spec.classes) throw new Error(`${where}: output '${spec.output}' has shape [${out}], expected [${spec.classes}] logits or features, or a [${spec.classes}, H, W] map`);
  if (spec.task !== undefined && !(TASKS as readonly string[]).includes(spec.task)) throw new Error(`${where}: task '${spec.task}' is not one of ${TASKS.join(', ')}`);
  const single = names.length === 1;
  const fits = { classify: single && out.length === 1, embed: single && out.length === 1, segment: single && out.length === 3, detect: true }[taskOf(spec, shapes)];
  if (!fits) throw new Error(`${where}: task '${spec.task}' needs ${spec.task === 'segment' ? 'one [K, H, W] output' : 'one flat output'}, the model has ${names.map((n) => `[${shapes.get(n)}]`).join(', ')}`);
}

/**
 * The channel order after ShuffleNet's shuffle of `count` channels in `groups` groups (a [groups,
 * count/groups] view transposed): output channel o is input channel (o mod groups) * count/groups + floor(o / groups).
 */
export function shuffledChannels(count: number, groups: number): number[] {
  if (!Number.isInteger(count / groups)) throw new Error(`channel shuffle: ${count} channels do not split into ${groups} groups`);
  return Array.from({ length: count }, (_, o) => (o % groups) * (count / groups) + Math.floor(o / groups));
}

/** A small builder so zoo definitions read like the papers' tables. */
export class GraphBuilder {
  readonly nodes: Node[] = [{ op: 'input', name: 'input' }];
  private counts = new Map<string, number>();
  constructor(readonly name: string, readonly inputShape: [number, number, number], readonly classes: number) {}

  /** Appends a node, named `op1`, `op2`, ... unless named; undefined options are dropped. */
  private add(node: { op: Op; name?: string; [option: string]: unknown }): string {
    const base = node.name ?? node.op;
    const k = (this.counts.get(base) ?? 0) + 1;
    this.counts.set(base, k);
    const name = node.name ?? `${base}${k}`;
    const defined = Object.fromEntries(Object.entries(node).filter(([, v]) => v !== undefined));
    this.nodes.push({ ...defined, name } as Node);
    return name;
  }

  conv(input: string, o: { out: number; kernel: Pair; stride?: Pair; padding?: Padding; groups?: number; bias?: boolean; name?: string }): string {
    return this.add({ op: 'conv2d', input, outChannels: o.out, kernel: o.kernel, stride: o.stride, padding: o.padding, groups: o.groups, bias: o.bias, name: o.name });
  }
  bn(input: string, name?: string): string { return this.add({ op: 'batchnorm', input, name }); }
  layerNorm(input: string, epsilon?: number, name?: string): string { return this.add({ op: 'layernorm', input, epsilon, name }); }
  prelu(input: string, name?: string): string { return this.add({ op: 'prelu', input, name }); }
  /** A group norm of `groups` equal channel groups, or 'per-channel' (instance norm: prunable channels). */
  groupNorm(input: string, groups: number | 'per-channel', name?: string): string {
    return this.add(groups === 'per-channel' ? { op: 'groupnorm', input, groups: 1, perChannel: true, name } : { op: 'groupnorm', input, groups, name });
  }
  convTranspose(input: string, o: { out: number; kernel: Pair; stride?: Pair; padding?: Padding; outputPadding?: Pair; groups?: number; bias?: boolean; name?: string }): string {
    return this.add({ op: 'convtranspose', input, outChannels: o.out, kernel: o.kernel, stride: o.stride, padding: o.padding, outputPadding: o.outputPadding, groups: o.groups, bias: o.bias, name: o.name });
  }
  relu(input: string, name?: string): string { return this.add({ op: 'relu', input, name }); }
  relu6(input: string, name?: string): string { return this.add({ op: 'relu6', input, name }); }
  leakyrelu(input: string, alpha: number, name?: string): string { return this.add({ op: 'leakyrelu', input, alpha, name }); }
  sigmoid(input: string, name?: string): string { return this.add({ op: 'sigmoid', input, name }); }
  gelu(input: string, name?: string): string { return this.add({ op: 'gelu', input, name }); }
  /** map [C, H, W] times scale [C, 1, 1]. */
  scale(map: string, scale: string, name?: string): string { return this.add({ op: 'mul', inputs: [map, scale], name }); }
  maxpool(input: string, kernel: Pair, stride?: Pair, padding?: Padding): string { return this.add({ op: 'maxpool', input, kernel, stride, padding }); }
  avgpool(input: string, kernel: Pair, stride?: Pair): string { return this.add({ op: 'avgpool', input, kernel, stride }); }
  gap(input: string): string { return this.add({ op: 'gap', input }); }
  resize(input: string, size: [number, number], mode: ResizeMode, coordinates: CoordinateMode, nearest?: NearestMode): string {
    return this.add({ op: 'resize', input, size, mode, coordinates, nearest });
  }
  sum(inputs: string[], name?: string): string { return this.add({ op: 'add', inputs, name }); }
  concat(inputs: string[], name?: string): string { return this.add({ op: 'concat', inputs, name }); }
  flatten(input: string): string { return this.add({ op: 'flatten', input }); }
  gather(input: string, channels: number[], name?: string): string { return this.add({ op: 'gather', input, channels, name }); }
  linear(input: string, out: number, name?: string): string { return this.add({ op: 'linear', input, outFeatures: out, name }); }

  /** The spec with its output node, or its outputs in order (a detector's heads). */
  build(output: string | string[], task?: Task): ModelSpec {
    const outputs = typeof output === 'string' ? [output] : output;
    const spec: ModelSpec = { name: this.name, inputShape: this.inputShape, classes: this.classes, nodes: this.nodes, output: outputs[0], ...(outputs.length > 1 ? { outputs } : {}), ...(task ? { task } : {}) };
    inferShapes(spec);
    return spec;
  }
}
