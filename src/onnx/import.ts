// ONNX import: a CNN graph (opsets 11 to 18) becomes a ModelSpec with its parameters, so it goes through
// the same dependency analysis, pruning and accelerator model as zoo models. An op is a handler in
// the HANDLERS table (validate its inputs and attributes, then add nodes); constant shape subgraphs
// (Shape, Gather, Unsqueeze, Concat, ... as PyTorch emits them around flatten and reshape) are folded.
// Every error names the file, the node and the op.
import { transposed } from '../geometry.js';
import { type ModelSpec, type Node, type Task, inferShapes } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { channelHandlers } from './import-channels.js';
import { channelsLastHandlers, propagateLayout } from './import-channels-last.js';
import { constantHandlers, foldBinary, tensorValues } from './import-constants.js';
import { activationHandlers } from './import-elementwise.js';
import { convTransposeHandlers } from './import-conv-transpose.js';
import { groupNormHandlers } from './import-group-norm.js';
import { resizeHandlers } from './import-resize.js';
import { type Const, Importer, type Runtime, float, inputNormalization, int, ints, only, pair2, statedTask, text } from './importer.js';
import { type ModelProto, type NodeProto, decodeModel, toNumber } from './proto.js';

export const OPSETS = { min: 11, max: 18 };

// ---- helpers for spatial ops ----

type Pads = [number, number, number, number];

/** ONNX pads [top, left, bottom, right] from `pads` or `auto_pad`, for a 2-D window. */
function spatialPads(c: Importer, n: NodeProto, inHW: number[], kernel: number[], strides: number[], dilations: number[]): Pads {
  const auto = text(n, 'auto_pad', 'NOTSET');
  if (auto === 'NOTSET') {
    const p = ints(n, 'pads') ?? [0, 0, 0, 0];
    if (p.length !== 4 || p.some((v) => !Number.isInteger(v) || v < 0)) c.fail(n, `pads must be four non-negative integers, got [${p}]`);
    return p as Pads;
  }
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto !== 'SAME_UPPER' && auto !== 'SAME_LOWER') c.fail(n, `auto_pad '${auto}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  const out: number[] = [];
  for (let d = 0; d < 2; d++) {
    const total = Math.max(0, (Math.ceil(inHW[d] / strides[d]) - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - inHW[d]);
    const small = Math.floor(total / 2);
    out.push(auto === 'SAME_UPPER' ? small : total - small, auto === 'SAME_UPPER' ? total - small : small);
  }
  return [out[0], out[2], out[1], out[3]];
}

/**
 * ceil_mode rounds the output size up: one more window per spatial axis where the floor leaves input
 * unread, as long as it starts inside the input or its leading padding (ONNX's and PyTorch's rule). That
 * is the floor rounding over more trailing padding, exact for max pooling (padding never wins) and for
 * average pooling that divides by the taps inside the input; count_include_pad would also count the
 * added padding, which PyTorch does not, so that combination is refused.
 */
function ceilModePads(c: Importer, n: NodeProto, x: Runtime, kernel: number[], strides: number[], pads: Pads, dilations: number[], countsPadding: boolean): Pads {
  if (int(n, 'ceil_mode', 0) === 0) return pads;
  const out: Pads = [...pads];
  for (let d = 0; d < 2; d++) {
    const extent = x.shape[d + 1] + pads[d] + pads[d + 2];
    const span = (kernel[d] - 1) * dilations[d] + 1;
    let windows = Math.ceil((extent - span) / strides[d]) + 1;
    if ((windows - 1) * strides[d] >= x.shape[d + 1] + pads[d]) windows--;
    const extra = (windows - 1) * strides[d] + span - extent;
    if (extra <= 0) continue;
    if (countsPadding) c.fail(n, 'ceil_mode = 1 with count_include_pad = 1 changes the output size here; not supported (PyTorch divides the extra windows by the taps inside the padded input only)');
    out[d + 2] += extra;
  }
  return out;
}

function linearFrom(c: Importer, n: NodeProto, x: Runtime, weight: Float32Array, inFeatures: number, outFeatures: number, bias?: Float32Array, weightName?: string): void {
  if (x.shape.length !== 1) c.fail(n, `needs a flat input (flatten first), got per-sample shape [${x.shape}]`);
  if (x.shape[0] !== inFeatures) c.fail(n, `input has ${x.shape[0]} features, the weight expects ${inFeatures}`);
  const name = c.name(n, `linear${c.nodes.length}`, weightName);
  c.params.set(`${name}.weight`, weight);
  if (bias) c.params.set(`${name}.bias`, bias);
  c.add({ op: 'linear', name, input: x.node, outFeatures, bias: bias !== undefined }, n.output![0]);
}

/** [out, in] from a row-major [rows, cols] matrix, transposed when `transpose`, times `scale`. */
function matrix(data: Float32Array, rows: number, cols: number, transpose: boolean, scale = 1): Float32Array {
  const out = transpose ? transposed(data, rows, cols) : data;
  return scale === 1 ? out : out.map((v) => scale * v);
}

// ---- the op table ----

type Handler = (c: Importer, n: NodeProto) => void;

const passThrough: Handler = (c, n) => {
  if (n.opType === 'Dropout' && n.output!.length > 1 && n.output![1]) c.fail(n, 'the mask output of Dropout is not supported');
  c.alias(n, 0);
};

const CORE_HANDLERS: Record<string, Handler> = {
  Conv(c, n) {
    only(c, n, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
    const x = c.tensor(n, 0);
    if (x.shape.length !== 3) c.fail(n, `needs a [C, H, W] input, got [${x.shape}]`);
    const w = c.constant(n, 1, 'the weight');
    if (w.dims.length !== 4) c.fail(n, `only 2-D convolutions are supported; the weight has shape [${w.dims}]`);
    const groups = int(n, 'group', 1);
    const [out, perGroup, kh, kw] = w.dims;
    if (groups < 1 || x.shape[0] !== perGroup * groups || out % groups !== 0) c.fail(n, `weight [${w.dims}] with group ${groups} does not fit ${x.shape[0]} input channels`);
    const kernel = ints(n, 'kernel_shape') ?? [kh, kw];
    if (kernel.join() !== [kh, kw].join()) c.fail(n, `kernel_shape [${kernel}] does not match the weight [${w.dims}]`);
    const strides = pair2(c, n, 'strides', [1, 1]);
    const dilations = pair2(c, n, 'dilations', [1, 1]);
    const pads = spatialPads(c, n, x.shape.slice(1), kernel, strides, dilations);
    if (x.pad) pads.forEach((p, i) => { pads[i] = p + x.pad![i]; });
    const name = c.name(n, `conv${c.nodes.length}`, n.input![1]);
    c.params.set(`${name}.weight`, Float32Array.from(w.data));
    const b = c.optionalConstant(n, 2, 'the bias');
    if (b) {
      if (b.dims.join() !== String(out)) c.fail(n, `bias has shape [${b.dims}], expected [${out}]`);
      c.params.set(`${name}.bias`, Float32Array.from(b.data));
    }
    c.add({ op: 'conv2d', name, input: x.node, outChannels: out, kernel: [kh, kw], stride: strides as [number, number], padding: pads, dilation: dilations as [number, number], groups, bias: b !== undefined }, n.output![0]);
  },

  BatchNormalization(c, n) {
    only(c, n, ['epsilon', 'momentum', 'spatial', 'training_mode']);
    if (int(n, 'training_mode', 0) !== 0) c.fail(n, 'training_mode = 1 is not supported (export the model in eval mode)');
    if (n.output!.slice(1).some((o) => o)) c.fail(n, 'the running-statistics outputs (training mode) are not supported');
    const x = c.tensor(n, 0);
    const channels = x.shape[0];
    const name = c.name(n, `bn${c.nodes.length}`, n.input![1]);
    (['gamma', 'beta', 'runningMean', 'runningVar'] as const).forEach((kind, i) => {
      c.params.set(`${name}.${kind}`, c.weights(n, i + 1, ['scale', 'bias', 'mean', 'var'][i], [channels]));
    });
    c.add({ op: 'batchnorm', name, input: x.node, epsilon: float(n, 'epsilon', 1e-5) }, n.output![0]);
  },

  Relu(c, n) {
    only(c, n, []);
    c.add({ op: 'relu', name: c.name(n, `relu${c.nodes.length}`), input: c.tensor(n, 0).node }, n.output![0]);
  },

  LeakyRelu(c, n) {
    only(c, n, ['alpha']);
    c.add({ op: 'leakyrelu', name: c.name(n, `leakyrelu${c.nodes.length}`), input: c.tensor(n, 0).node, alpha: float(n, 'alpha', 0.01) }, n.output![0]);
  },

  Clip(c, n) {
    only(c, n, ['min', 'max']);
    const bound = (i: number, attr: string, fallback: number) => {
      const k = c.optionalConstant(n, i, attr);
      return k ? k.data[0] : float(n, attr, fallback);
    };
    const [lo, hi] = [bound(1, 'min', -Infinity), bound(2, 'max', Infinity)];
    const op = lo === 0 && hi === 6 ? 'relu6' : lo === 0 && hi === Infinity ? 'relu' : undefined;
    if (!op) return c.fail(n, `Clip to [${lo}, ${hi}] is not supported; only [0, 6] (ReLU6) and [0, inf) (ReLU)`);
    c.add({ op, name: c.name(n, `${op}${c.nodes.length}`), input: c.tensor(n, 0).node }, n.output![0]);
  },

  MaxPool(c, n) { pool(c, n, 'maxpool'); },
  AveragePool(c, n) { pool(c, n, 'avgpool'); },

  GlobalAveragePool(c, n) {
    const x = c.tensor(n, 0);
    c.add({ op: 'gap', name: c.name(n, `gap${c.nodes.length}`), input: x.node }, n.output![0]);
  },

  /** A mean over both spatial axes (PyTorch's x.mean([2, 3])): global average pooling, flattened without keepdims. */
  ReduceMean(c, n) {
    only(c, n, ['axes', 'keepdims', 'noop_with_empty_axes']);
    const x = c.tensor(n, 0);
    const axes = (ints(n, 'axes') ?? c.optionalConstant(n, 1, 'axes')?.data ?? []).map((a) => (a < 0 ? a + 4 : a)).sort();
    if (x.shape.length !== 3 || axes.join() !== '2,3') c.fail(n, `only a mean over the two spatial axes of [N, C, H, W] is supported, got axes [${axes}] of [N, ${x.shape}]`);
    const gap = c.add({ op: 'gap', name: c.name(n, `gap${c.nodes.length}`), input: x.node }, int(n, 'keepdims', 1) ? n.output![0] : `${n.output![0]}:4d`);
    if (!int(n, 'keepdims', 1)) c.add({ op: 'flatten', name: c.name(n, `flatten${c.nodes.length}`), input: gap.node }, n.output![0]);
  },

  Add(c, n) {
    const [a, b] = [c.values.get(n.input![0]), c.values.get(n.input![1])];
    if (a?.kind === 'const' && b?.kind === 'const') return foldBinary(c, n, (x, y) => x + y);
    if (a?.kind === 'tensor' && b?.kind === 'const') {
      // A bias after MatMul: y = x W + b.
      const producer = c.nodes.find((m) => m.name === a.node);
      if (producer?.op === 'linear' && producer.bias === false && b.data.length === producer.outFeatures && c.consumers.get(n.input![0]) === 1) {
        producer.bias = true;
        c.params.set(`${producer.name}.bias`, Float32Array.from(b.data));
        c.values.set(n.output![0], a);
        return;
      }
      c.fail(n, 'adding a constant is only supported as the bias of a MatMul');
    }
    const x = c.tensor(n, 0);
    const y = c.tensor(n, 1);
    if (x.shape.join() !== y.shape.join()) c.fail(n, `inputs have shapes [${x.shape}] and [${y.shape}]; broadcasting is not supported`);
    c.add({ op: 'add', name: c.name(n, `add${c.nodes.length}`), inputs: [x.node, y.node] }, n.output![0]);
  },

  Sum(c, n) {
    only(c, n, []);
    const xs = n.input!.map((_, i) => c.tensor(n, i));
    if (xs.some((x) => x.shape.join() !== xs[0].shape.join())) c.fail(n, `inputs have shapes ${xs.map((x) => `[${x.shape}]`).join(', ')}; broadcasting is not supported`);
    if (xs.length === 1) return c.alias(n, 0);
    c.add({ op: 'add', name: c.name(n, `add${c.nodes.length}`), inputs: xs.map((x) => x.node) }, n.output![0]);
  },

  Concat(c, n) {
    only(c, n, ['axis']);
    const inputs = n.input!.map((i) => c.values.get(i));
    const axis = int(n, 'axis', 1);
    if (inputs.every((v) => v?.kind === 'const')) {
      const cs = inputs as Const[];
      if (cs.some((v) => v.dims.length !== 1) || (axis !== 0 && axis !== -1)) c.fail(n, 'constant Concat is folded for 1-D shapes only');
      return c.setConst(n, [cs.reduce((s, v) => s + v.data.length, 0)], cs.flatMap((v) => v.data));
    }
    const xs = n.input!.map((_, i) => c.tensor(n, i));
    if (axis !== 1 && axis !== -3) c.fail(n, `only channel concat (axis 1) is supported, got axis ${axis}`);
    c.add({ op: 'concat', name: c.name(n, `concat${c.nodes.length}`), inputs: xs.map((x) => x.node) }, n.output![0]);
  },

  Flatten(c, n) {
    only(c, n, ['axis']);
    if (int(n, 'axis', 1) !== 1) c.fail(n, `only axis 1 (keep the batch) is supported, got ${int(n, 'axis', 1)}`);
    flatten(c, n);
  },

  Reshape(c, n) {
    only(c, n, ['allowzero']);
    const x = c.tensor(n, 0);
    const target = c.constant(n, 1, 'the target shape').data;
    const features = x.shape.reduce((a, b) => a * b, 1);
    // The batch: from Shape, 0 (copy), -1 (infer), or 1 as a static-batch export writes it.
    const batchFirst = Number.isNaN(target[0]) || target[0] === 0 || target[0] === -1 || target[0] === 1;
    const rest = target[1];
    if (target.length !== 2 || !batchFirst || !(rest === -1 || rest === features) || (target[0] === -1 && rest === -1)) {
      c.fail(n, `only reshapes to [batch, features] (a flatten) are supported; target [${target.map((v) => (Number.isNaN(v) ? 'batch' : v))}] for per-sample shape [${x.shape}]`);
    }
    flatten(c, n);
  },

  Gemm(c, n) {
    only(c, n, ['alpha', 'beta', 'transA', 'transB']);
    if (int(n, 'transA', 0) !== 0) c.fail(n, 'transA = 1 is not supported');
    const x = c.tensor(n, 0);
    const w = c.constant(n, 1, 'B (the weight)');
    if (w.dims.length !== 2) c.fail(n, `B must be 2-D, got [${w.dims}]`);
    const transB = int(n, 'transB', 0) === 1;
    const [outF, inF] = transB ? w.dims : [w.dims[1], w.dims[0]];
    const weight = matrix(Float32Array.from(w.data), w.dims[0], w.dims[1], !transB, float(n, 'alpha', 1));
    const b = c.optionalConstant(n, 2, 'C (the bias)');
    if (b && b.data.length !== outF && b.data.length !== 1) c.fail(n, `C has shape [${b.dims}], expected [${outF}]`);
    const beta = float(n, 'beta', 1);
    const bias = b ? Float32Array.from({ length: outF }, (_, i) => beta * b.data[b.data.length === 1 ? 0 : i]) : undefined;
    linearFrom(c, n, x, weight, inF, outF, bias, n.input![1]);
  },

  MatMul(c, n) {
    only(c, n, []);
    const x = c.tensor(n, 0);
    const w = c.constant(n, 1, 'the second input (the weight)');
    if (w.dims.length !== 2) c.fail(n, `the weight must be 2-D, got [${w.dims}]`);
    linearFrom(c, n, x, matrix(Float32Array.from(w.data), w.dims[0], w.dims[1], true), w.dims[0], w.dims[1], undefined, n.input![1]);
  },

  Softmax(c, n) {
    only(c, n, ['axis']);
    const x = c.tensor(n, 0);
    const axis = int(n, 'axis', -1);
    if (x.shape.length !== 1 || (axis !== 1 && axis !== -1)) c.fail(n, 'only a softmax over the class scores of a flat output is supported');
    c.values.set(n.output![0], { ...x, softmax: true });
  },

  Pad(c, n) {
    only(c, n, ['mode', 'pads', 'value']);
    if (text(n, 'mode', 'constant') !== 'constant') c.fail(n, `only constant padding is supported, got mode '${text(n, 'mode', '')}'`);
    const x = c.tensor(n, 0);
    const pads = n.input!.length > 1 && n.input![1] ? c.constant(n, 1, 'pads').data : ints(n, 'pads') ?? [];
    const value = n.input!.length > 2 && n.input![2] ? c.constant(n, 2, 'the pad value').data[0] : float(n, 'value', 0);
    if (pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5]) c.fail(n, `only spatial padding of a 4-D tensor is supported, got pads [${pads}]`);
    const spatial: Pads = [pads[2], pads[3], pads[6], pads[7]];
    if (spatial.some((p) => p < 0)) c.fail(n, `negative pads [${pads}] are not supported`);
    if (spatial.every((p) => p === 0)) return c.alias(n, 0);
    if (value !== 0) c.fail(n, `padding with ${value} is not supported (only 0, folded into the next Conv)`);
    c.values.set(n.output![0], { ...x, pad: spatial });
  },

  Identity: passThrough,
  Dropout: passThrough,

};
const ACTIVATION_HANDLERS = activationHandlers({ Mul: constantHandlers.Mul, Div: constantHandlers.Div, Add: CORE_HANDLERS.Add });
const CHANNEL_HANDLERS = channelHandlers({ Reshape: CORE_HANDLERS.Reshape, Gather: constantHandlers.Gather });
const BASE_HANDLERS: Record<string, Handler> = {
  ...CORE_HANDLERS,
  ...constantHandlers,
  ...ACTIVATION_HANDLERS,
  ...CHANNEL_HANDLERS,
  ...resizeHandlers,
  ...convTransposeHandlers,
  ...channelsLastHandlers({
    Transpose: CHANNEL_HANDLERS.Transpose, MatMul: CORE_HANDLERS.MatMul, ReduceMean: CORE_HANDLERS.ReduceMean,
    Add: ACTIVATION_HANDLERS.Add, Mul: ACTIVATION_HANDLERS.Mul, Div: ACTIVATION_HANDLERS.Div,
  }),
};
const HANDLERS: Record<string, Handler> = {
  ...BASE_HANDLERS,
  ...groupNormHandlers({ Reshape: BASE_HANDLERS.Reshape, Mul: BASE_HANDLERS.Mul, Add: BASE_HANDLERS.Add }),
};

function flatten(c: Importer, n: NodeProto) {
  const x = c.tensor(n, 0);
  if (x.shape.length === 1) return c.alias(n, 0);
  c.add({ op: 'flatten', name: c.name(n, `flatten${c.nodes.length}`), input: x.node }, n.output![0]);
}

function pool(c: Importer, n: NodeProto, op: 'maxpool' | 'avgpool') {
  only(c, n, ['auto_pad', 'ceil_mode', 'count_include_pad', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides']);
  if (n.output!.length > 1 && n.output![1]) c.fail(n, 'the indices output of MaxPool is not supported');
  const x = c.tensor(n, 0);
  if (x.shape.length !== 3) c.fail(n, `needs a [C, H, W] input, got [${x.shape}]`);
  // A zero Pad before an average pool (PyTorch's avg_pool2d with padding at opset 11+) is its padding, counted in the divisor.
  if (x.pad && (ints(n, 'pads')?.some((p) => p !== 0) || text(n, 'auto_pad', 'NOTSET') !== 'NOTSET' || int(n, 'ceil_mode', 0) !== 0)) {
    c.fail(n, 'a zero Pad folds into an AveragePool without padding or ceil_mode of its own only');
  }
  const kernel = pair2(c, n, 'kernel_shape', []);
  const strides = pair2(c, n, 'strides', [1, 1]);
  const dilations = pair2(c, n, 'dilations', [1, 1]);
  if (dilations.some((d) => d !== 1)) c.fail(n, `dilated pooling is not supported, got dilations [${dilations}]`);
  const pads = ceilModePads(c, n, x, kernel, strides, spatialPads(c, n, x.shape.slice(1), kernel, strides, dilations), dilations,
    op === 'avgpool' && int(n, 'count_include_pad', 0) === 1);
  if (x.pad) pads.forEach((p, i) => { pads[i] = p + x.pad![i]; });
  const node: Node = { op, name: c.name(n, `${op}${c.nodes.length}`), input: x.node, kernel: kernel as [number, number], stride: strides as [number, number], padding: pads };
  if (op === 'avgpool') (node as { countIncludePad?: boolean }).countIncludePad = x.pad !== undefined || int(n, 'count_include_pad', 0) === 1;
  c.add(node, n.output![0]);
}

export const SUPPORTED_OPS = Object.keys(HANDLERS).sort();

export interface ImportOptions {
  /** Used in error messages. */
  file?: string;
  /** The model's name (default: the graph's name). */
  name?: string;
  /** What the outputs are, where their shapes do not say it (an embedding net's features: 'embed'). */
  task?: Task;
}

/** An ONNX model (bytes) as a wgprune Model. Throws a clear error for anything it cannot represent. */
export function importOnnx(bytes: Uint8Array, o: ImportOptions = {}): Model {
  const file = o.file ?? 'model.onnx';
  const m: ModelProto = decodeModel(bytes, file);
  const opset = m.opsetImport?.find((x) => !x.domain || x.domain === 'ai.onnx');
  const version = toNumber(opset?.version);
  if (!(version >= OPSETS.min && version <= OPSETS.max)) throw new Error(`${file}: opset ${version || 'missing'} is not supported (opsets ${OPSETS.min} to ${OPSETS.max})`);
  const other = m.opsetImport?.find((x) => x.domain && x.domain !== 'ai.onnx');
  const graph = m.graph!;
  const c = new Importer(file);
  for (const n of graph.node ?? []) for (const i of n.input ?? []) c.consumers.set(i, (c.consumers.get(i) ?? 0) + 1);
  for (const t of graph.initializer ?? []) c.values.set(t.name ?? '', tensorValues(t, file));

  const inputs = (graph.input ?? []).filter((i) => !c.values.has(i.name ?? ''));
  if (inputs.length !== 1) throw new Error(`${file}: expected one graph input (besides initializers), found ${inputs.length}: ${inputs.map((i) => i.name).join(', ')}`);
  const dims = inputs[0].type?.tensorType?.shape?.dim ?? [];
  const shape = dims.slice(1).map((d) => toNumber(d.dimValue));
  if (dims.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1 || d > 1 << 16)) {
    throw new Error(`${file}: input '${inputs[0].name}' must be [batch, C, H, W] with known C, H, W; got [${dims.map((d) => d.dimParam || toNumber(d.dimValue))}]`);
  }
  c.inputShape = shape as [number, number, number];
  c.values.set(inputs[0].name ?? '', { kind: 'tensor', node: 'input', shape });

  for (const n of graph.node ?? []) {
    if (n.domain && n.domain !== 'ai.onnx') c.fail(n, `custom domain '${n.domain}' is not supported`);
    const handler = HANDLERS[n.opType ?? ''];
    if (!handler) c.fail(n, `op not supported; supported ops: ${SUPPORTED_OPS.join(', ')}`);
    if (!n.output?.length) c.fail(n, 'has no outputs');
    handler(c, n);
    propagateLayout(c, n);
  }
  if (other && c.nodes.length === 0) throw new Error(`${file}: uses domain '${other.domain}' only`);

  const outputs = graph.output ?? [];
  if (outputs.length === 0) throw new Error(`${file}: the graph has no output`);
  const outs = outputs.map((output) => {
    const out = c.values.get(output.name ?? '');
    if (!out || out.kind !== 'tensor') throw new Error(`${file}: output '${output.name}' is not computed by the graph`);
    if (out.channelsLast) throw new Error(`${file}: output '${output.name}' is channels-last; outputs must be [batch, features] or [batch, C, H, W]`);
    if (out.shape.length !== 1 && out.shape.length !== 3) throw new Error(`${file}: output '${output.name}' must be [batch, features] or [batch, C, H, W], got per-sample [${out.shape}]`);
    if (out.node === 'input') throw new Error(`${file}: output '${output.name}' is the graph's input`);
    return out;
  });
  const out = outs[0];
  if (new Set(outs.map((o) => o.node)).size < outs.length) throw new Error(`${file}: two graph outputs are the same tensor (${outputs.map((o) => o.name).join(', ')})`);
  if (outs.slice(1).some((o) => o.softmax)) throw new Error(`${file}: a Softmax is only supported as the first output's last op`);
  const softmaxes = (graph.node ?? []).filter((n) => n.opType === 'Softmax').length;
  if (softmaxes > (out.softmax ? 1 : 0)) throw new Error(`${file}: a Softmax is only supported as the graph's last op`);
  // Keep only the nodes the outputs need.
  const needed = new Set<string>(outs.map((x) => x.node));
  for (const node of [...c.nodes].reverse()) if (needed.has(node.name)) for (const i of 'inputs' in node ? node.inputs : 'input' in node ? [node.input] : []) needed.add(i);
  const nodes = c.nodes.filter((x) => needed.has(x.name) || x.op === 'input');
  const task = o.task ?? statedTask(m, file);
  const spec: ModelSpec = { name: o.name ?? (graph.name || 'onnx-model'), inputShape: shape as [number, number, number], classes: out.shape[0], nodes, output: out.node, ...(outs.length > 1 ? { outputs: outs.map((x) => x.node) } : {}), ...(task ? { task } : {}), ...(out.softmax ? { outputActivation: 'softmax' as const } : {}) };
  const params = new Map([...c.params].filter(([k]) => needed.has(k.slice(0, k.lastIndexOf('.')))));
  const normalization = inputNormalization(m, file);
  if (normalization) spec.inputNormalization = normalization;
  inferShapes(spec); // the stated task fits the outputs
  return { spec, params, masks: new Map() };
}
