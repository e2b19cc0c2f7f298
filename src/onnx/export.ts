// ONNX export (opset 13): dense, masked (weights multiplied by their masks) or compacted models, with
// float32 initializers in raw_data; quantized layers in QDQ form (export-qdq.ts). The input and output have a symbolic batch dimension.
import { groupCount, inferShapes, type Node, outputNames } from '../model/graph.js';
import { type Model, paramList } from '../model/model.js';
import { qdqOperands } from './export-qdq.js';
import { type AttributeProto, DataType, NORMALIZATION_KEY, type NodeProto, TASK_KEY, type TensorProto, onnx } from './proto.js';

export const EXPORT_OPSET = 13;

function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
  return { name, dims, dataType: DataType.FLOAT, rawData: bytes };
}

function int64Tensor(name: string, data: number[]): TensorProto {
  const bytes = new Uint8Array(data.length * 8);
  const view = new DataView(bytes.buffer);
  data.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return { name, dims: [data.length], dataType: DataType.INT64, rawData: bytes };
}

const ints = (name: string, v: number[]): AttributeProto => ({ name, ints: v, type: onnx.AttributeProto.AttributeType.INTS });
const int = (name: string, v: number): AttributeProto => ({ name, i: v, type: onnx.AttributeProto.AttributeType.INT });
const float = (name: string, v: number): AttributeProto => ({ name, f: v, type: onnx.AttributeProto.AttributeType.FLOAT });
const pairOf = (v: number | readonly number[] | undefined, fallback: number): number[] => (v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : [...v]);
/** Our padding (number, [v, h] or [top, left, bottom, right]) as ONNX pads [top, left, bottom, right]. */
function padsOf(p: number | readonly number[] | undefined): number[] {
  if (p === undefined) return [0, 0, 0, 0];
  if (typeof p === 'number') return [p, p, p, p];
  return p.length === 2 ? [p[0], p[1], p[0], p[1]] : [...p];
}

export interface ExportOptions {
  /** The graph's name (default: the model's). */
  name?: string;
  /** The model's output softmax, where it has one (default true); false exports the logits as 'output'. */
  outputActivation?: boolean;
}

/** The model as ONNX bytes; masked weights are exported as zeros. */
export function exportOnnx(model: Model, o: ExportOptions = {}): Uint8Array {
  const spec = o.outputActivation === false ? { ...model.spec, outputActivation: undefined } : model.spec;
  const shapes = inferShapes(spec);
  const params = new Map(paramList(spec).map((p) => [p.name, p]));
  const initializers: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  /** A parameter's values, masked weights as zeros. */
  const values = (name: string): Float32Array => {
    const data = model.params.get(name);
    if (!data) throw new Error(`export: parameter '${name}' is missing`);
    const mask = model.masks.get(name);
    return mask ? data.map((v, i) => (mask[i] ? v : 0)) : data;
  };
  const param = (name: string): string => {
    initializers.push(floatTensor(name, params.get(name)!.shape, values(name)));
    return name;
  };
  /** A conv's or linear layer's input, weight and bias: float initializers, or their QDQ form where the layer is quantized. */
  const operands = (n: Extract<Node, { op: 'conv2d' | 'linear' }>): string[] => {
    const q = spec.quantization?.[n.name];
    const hasBias = n.bias !== false;
    if (!q) return [ref(n.input), param(`${n.name}.weight`), ...(hasBias ? [param(`${n.name}.bias`)] : [])];
    const weight = `${n.name}.weight`;
    const r = qdqOperands(n, q, ref(n.input), values(weight), model.masks.get(weight), params.get(weight)!.shape, hasBias ? values(`${n.name}.bias`) : undefined, { initializers, nodes });
    return [r.input, r.weight, ...(r.bias ? [r.bias] : [])];
  };
  const constant = (name: string, value: number) => {
    initializers.push(floatTensor(name, [], Float32Array.of(value)));
    return name;
  };
  // Graph outputs are 'output' (the first, after its softmax where it has one), 'output1', 'output2', ...
  const graphOutputs = outputNames(spec).map((name, i) => ({ node: name, name: i === 0 ? 'output' : `output${i}` }));
  const tensorOf = (node: string) => graphOutputs.find((o) => o.node === node && !(o.name === 'output' && spec.outputActivation))?.name ?? node;
  const out = (n: Node) => tensorOf(n.name);
  const emit = (n: Node, opType: string, inputs: string[], attribute: AttributeProto[] = []) => nodes.push({ name: n.name, opType, input: inputs, output: [out(n)], attribute });
  const ref = tensorOf;
  /** An intermediate node of a multi-node form of `n`, named after it. */
  const stepper = (n: Node) => (op: string, inputs: string[], suffix: string, attribute: AttributeProto[] = []) => {
    nodes.push({ name: `${n.name}.${suffix}`, opType: op, input: inputs, output: [`${n.name}.${suffix}`], attribute });
    return `${n.name}.${suffix}`;
  };

  for (const n of spec.nodes) {
    switch (n.op) {
      case 'input': break;
      case 'conv2d': {
        const k = pairOf(n.kernel, 1);
        emit(n, 'Conv', operands(n), [
          ints('kernel_shape', k), ints('strides', pairOf(n.stride, 1)), ints('pads', padsOf(n.padding)), ints('dilations', pairOf(n.dilation, 1)), int('group', n.groups ?? 1),
        ]);
        break;
      }
      case 'convtranspose': {
        const pads = padsOf(n.padding);
        emit(n, 'ConvTranspose', [ref(n.input), param(`${n.name}.weight`), ...(n.bias !== false ? [param(`${n.name}.bias`)] : [])], [
          ints('kernel_shape', pairOf(n.kernel, 1)), ints('strides', pairOf(n.stride, 1)), ints('pads', pads), ints('dilations', pairOf(n.dilation, 1)),
          int('group', n.groups ?? 1), ints('output_padding', pairOf(n.outputPadding, 0)),
        ]);
        break;
      }
      case 'batchnorm':
        emit(n, 'BatchNormalization', [ref(n.input), ...['gamma', 'beta', 'runningMean', 'runningVar'].map((k) => param(`${n.name}.${k}`))], [float('epsilon', n.epsilon ?? 1e-5)]);
        break;
      case 'relu': emit(n, 'Relu', [ref(n.input)]); break;
      case 'prelu': {
        // The slopes as [C, 1, 1] for a [C, H, W] input (ONNX broadcasts from the right), [C] for features.
        const x = shapes.get(n.input)!;
        const slope = `${n.name}.slope`;
        initializers.push(floatTensor(slope, [x[0], ...x.slice(1).map(() => 1)], model.params.get(slope)!));
        emit(n, 'PRelu', [ref(n.input), slope]);
        break;
      }
      case 'relu6': emit(n, 'Clip', [ref(n.input), constant(`${n.name}.min`, 0), constant(`${n.name}.max`, 6)]); break;
      case 'leakyrelu': emit(n, 'LeakyRelu', [ref(n.input)], [float('alpha', n.alpha)]); break;
      case 'sigmoid': emit(n, 'Sigmoid', [ref(n.input)]); break;
      case 'hardsigmoid': emit(n, 'HardSigmoid', [ref(n.input)], [float('alpha', n.alpha), float('beta', 0.5)]); break;
      // Opset 13 has no HardSwish, SiLU or Gelu op: written as PyTorch writes them (the importer reads them back).
      case 'hardswish': case 'silu': {
        const gate = `${n.name}.gate`;
        nodes.push({ name: gate, opType: n.op === 'silu' ? 'Sigmoid' : 'HardSigmoid', input: [ref(n.input)], output: [gate], attribute: n.op === 'silu' ? [] : [float('alpha', 1 / 6), float('beta', 0.5)] });
        emit(n, 'Mul', [ref(n.input), gate]);
        break;
      }
      case 'gelu': {
        const step = stepper(n);
        const x = ref(n.input);
        // 1 + erf(x / sqrt 2), or 1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)) (the forms PyTorch exports).
        const onePlus = n.approximate === 'tanh'
          ? step('Add', [step('Tanh', [step('Mul', [step('Add', [x, step('Mul', [step('Mul', [x, step('Mul', [x, x], 'square')], 'cube'), constant(`${n.name}.cubic_coefficient`, 0.044715)], 'cubic')], 'inner'), constant(`${n.name}.tanh_scale`, Math.sqrt(2 / Math.PI))], 'scaled')], 'tanh'), constant(`${n.name}.one`, 1)], 'add')
          : step('Add', [step('Erf', [step('Div', [x, constant(`${n.name}.sqrt2`, Math.SQRT2)], 'div')], 'erf'), constant(`${n.name}.one`, 1)], 'add');
        emit(n, 'Mul', [step('Mul', [x, onePlus], 'mul'), constant(`${n.name}.half`, 0.5)]);
        break;
      }
      case 'layernorm': {
        // Over the channel axis, written out as PyTorch writes LayerNorm below opset 17.
        const mask = model.masks.get(`${n.name}.gamma`);
        if (mask?.includes(0)) throw new Error(`export: layer norm '${n.name}' has pruned channels, which a masked ONNX model would still count in its statistics; export the compacted model`);
        const step = stepper(n);
        const mean = (x: string, suffix: string) => step('ReduceMean', [x], suffix, [ints('axes', [1])]);
        const centered = step('Sub', [ref(n.input), mean(ref(n.input), 'mean')], 'centered');
        const variance = mean(step('Pow', [centered, constant(`${n.name}.two`, 2)], 'squared'), 'variance');
        const std = step('Sqrt', [step('Add', [variance, constant(`${n.name}.epsilon`, n.epsilon ?? 1e-5)], 'variance_eps')], 'std');
        const perChannel = (kind: string) => { const name = `${n.name}.${kind}`; initializers.push(floatTensor(name, [shapes.get(n.input)![0], ...shapes.get(n.input)!.slice(1).map(() => 1)], model.params.get(name)!)); return name; };
        emit(n, 'Add', [step('Mul', [step('Div', [centered, std], 'normalized'), perChannel('gamma')], 'scaled'), perChannel('beta')]);
        break;
      }
      case 'groupnorm': {
        // As PyTorch writes GroupNorm below opset 18: Reshape [N, G, -1] -> InstanceNormalization (unit
        // scale, zero bias) -> Reshape back to the input's shape -> Mul gamma -> Add beta.
        const step = stepper(n);
        const x = shapes.get(n.input)!;
        const perChannel = (kind: string) => { const name = `${n.name}.${kind}`; initializers.push(floatTensor(name, [x[0], ...x.slice(1).map(() => 1)], model.params.get(name)!)); return name; };
        const groups = groupCount(n, x[0]);
        initializers.push(int64Tensor(`${n.name}.grouped`, [0, groups, -1]));
        initializers.push(floatTensor(`${n.name}.unit_scale`, [groups], new Float32Array(groups).fill(1)), floatTensor(`${n.name}.unit_bias`, [groups], new Float32Array(groups)));
        const grouped = step('Reshape', [ref(n.input), `${n.name}.grouped`], 'reshape');
        const normalized = step('InstanceNormalization', [grouped, `${n.name}.unit_scale`, `${n.name}.unit_bias`], 'normalize', [float('epsilon', n.epsilon ?? 1e-5)]);
        const back = step('Reshape', [normalized, step('Shape', [ref(n.input)], 'shape')], 'reshape_back');
        emit(n, 'Add', [step('Mul', [back, perChannel('gamma')], 'scaled'), perChannel('beta')]);
        break;
      }
      case 'maxpool': case 'avgpool': {
        const attrs = [ints('kernel_shape', pairOf(n.kernel, 1)), ints('strides', pairOf(n.stride ?? n.kernel, 1)), ints('pads', padsOf(n.padding))];
        if (n.op === 'avgpool') attrs.push(int('count_include_pad', n.countIncludePad === false ? 0 : 1));
        emit(n, n.op === 'maxpool' ? 'MaxPool' : 'AveragePool', [ref(n.input)], attrs);
        break;
      }
      case 'gap': emit(n, 'GlobalAveragePool', [ref(n.input)]); break;
      case 'resize': {
        // sizes = [batch, C] of the input (the batch is symbolic) then [H, W], as PyTorch writes it.
        const step = stepper(n);
        initializers.push(int64Tensor(`${n.name}.from`, [0]), int64Tensor(`${n.name}.to`, [2]), int64Tensor(`${n.name}.size`, n.size));
        const sizes = step('Concat', [step('Slice', [step('Shape', [ref(n.input)], 'shape'), `${n.name}.from`, `${n.name}.to`], 'batch_channels'), `${n.name}.size`], 'sizes', [int('axis', 0)]);
        const text = (name: string, v: string): AttributeProto => ({ name, s: new TextEncoder().encode(v), type: onnx.AttributeProto.AttributeType.STRING });
        emit(n, 'Resize', [ref(n.input), '', '', sizes], [text('mode', n.mode), text('coordinate_transformation_mode', n.coordinates), text('nearest_mode', n.nearest ?? 'round_prefer_floor')]);
        break;
      }
      case 'add': emit(n, 'Sum', n.inputs.map(ref)); break;
      case 'mul': emit(n, 'Mul', n.inputs.map(ref)); break;
      case 'concat': emit(n, 'Concat', n.inputs.map(ref), [int('axis', 1)]); break;
      case 'gather':
        initializers.push(int64Tensor(`${n.name}.channels`, n.channels));
        emit(n, 'Gather', [ref(n.input), `${n.name}.channels`], [int('axis', 1)]);
        break;
      case 'flatten': emit(n, 'Flatten', [ref(n.input)], [int('axis', 1)]); break;
      case 'linear':
        emit(n, 'Gemm', operands(n), [int('transB', 1)]);
        break;
      default: throw new Error(`export: node '${(n as Node).name}' (${(n as Node).op}) has no ONNX form`);
    }
  }
  if (spec.outputActivation === 'softmax') nodes.push({ name: 'softmax', opType: 'Softmax', input: [ref(spec.output)], output: ['output'], attribute: [int('axis', 1)] });

  const dim = (v: number | string) => (typeof v === 'number' ? { dimValue: v } : { dimParam: v });
  const valueInfo = (name: string, d: (number | string)[]) => ({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: d.map(dim) } } } });
  const proto = onnx.ModelProto.create({
    irVersion: 7, producerName: 'wgprune', producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: EXPORT_OPSET }],
    metadataProps: [
      ...(spec.inputNormalization ? [{ key: NORMALIZATION_KEY, value: JSON.stringify(spec.inputNormalization) }] : []),
      ...(spec.task ? [{ key: TASK_KEY, value: spec.task }] : []),
    ],
    graph: {
      name: o.name ?? spec.name, node: nodes, initializer: initializers,
      input: [valueInfo('input', ['batch', ...spec.inputShape])],
      output: graphOutputs.map((o) => valueInfo(o.name, ['batch', ...shapes.get(o.node)!])),
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}
