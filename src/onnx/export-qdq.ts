// QDQ form of a quantized conv or linear layer (onnxruntime's quantization format, opset 13): the input
// through QuantizeLinear → DequantizeLinear with its calibrated scale and zero point (a Clip first when
// the grid is narrower than 8 bits, since QuantizeLinear saturates to the whole 8-bit type); the weights
// stored as int8 with per-axis (or one) scales and a DequantizeLinear; the bias as int32 with scale =
// weight scale × input scale and zero point 0, as onnxruntime's quantizer writes it. Binary weights are int8
// ±1 with their mean-|w| scales; a binary input is Where(x ≥ 0, scale, −scale) (QuantizeLinear cannot
// take a sign); a layer with a one-bit operand keeps a float bias.
import { roundHalfEven } from '../geometry.js';
import type { Node } from '../model/graph.js';
import { type LayerQuant, SCALE_FLOOR, grid, weightScales } from '../model/quantization.js';
import { type AttributeProto, DataType, type NodeProto, type TensorProto, onnx } from './proto.js';

/** TensorProto data types of the quantized tensors. */
const QType = { UINT8: 2, INT8: 3 } as const;

function tensor(name: string, dims: number[], dataType: number, data: ArrayLike<number>): TensorProto {
  const width = dataType === DataType.FLOAT || dataType === DataType.INT32 ? 4 : 1;
  const bytes = new Uint8Array(data.length * width);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) {
    if (dataType === DataType.FLOAT) view.setFloat32(4 * i, data[i], true);
    else if (dataType === DataType.INT32) view.setInt32(4 * i, data[i], true);
    else if (dataType === QType.INT8) view.setInt8(i, data[i]);
    else view.setUint8(i, data[i]);
  }
  return { name, dims, dataType, rawData: bytes };
}

export interface QdqOperands { input: string; weight: string; bias?: string }

/**
 * Emits the QDQ nodes and initializers of layer `n` quantized as `q` and returns the names of its
 * dequantized input, weight and bias. `w` holds the float weights of shape `shape`, `mask` their mask
 * (pruned weights are zeros after quantization, as the layer computes them).
 */
export function qdqOperands(
  n: Extract<Node, { op: 'conv2d' | 'linear' }>, q: LayerQuant, input: string, w: Float32Array, mask: Float32Array | undefined, shape: number[], bias: Float32Array | undefined,
  out: { initializers: TensorProto[]; nodes: NodeProto[] },
): QdqOperands {
  const bits = [q.weightBits, ...(q.input ? [q.input.bits] : [])];
  if (bits.some((b) => b > 8)) throw new Error(`export: layer '${n.name}' is quantized to ${Math.max(...bits)} bits; QDQ at opset 13 holds 8-bit integers at most`);
  const node = (opType: string, inputs: string[], suffix: string, attribute: AttributeProto[] = []) => {
    const name = `${n.name}.${suffix}`;
    out.nodes.push({ name, opType, input: inputs, output: [name], attribute });
    return name;
  };
  const axis: AttributeProto = { name: 'axis', i: 0, type: onnx.AttributeProto.AttributeType.INT };

  let x = input;
  let inputScale: number | undefined;
  if (q.input?.bits === 1 && q.input.symmetric) {
    const a = q.input;
    out.initializers.push(tensor(`${n.name}.input_zero`, [], DataType.FLOAT, [0]), tensor(`${n.name}.input_plus`, [], DataType.FLOAT, [a.scale]), tensor(`${n.name}.input_minus`, [], DataType.FLOAT, [-a.scale]));
    x = node('Where', [node('GreaterOrEqual', [x, `${n.name}.input_zero`], 'input_sign'), `${n.name}.input_plus`, `${n.name}.input_minus`], 'input_binary');
    inputScale = a.scale;
  } else if (q.input) {
    const a = q.input;
    const g = grid(a.bits, a.symmetric);
    const type = a.symmetric ? QType.INT8 : QType.UINT8;
    out.initializers.push(tensor(`${n.name}.input_scale`, [], DataType.FLOAT, [a.scale]), tensor(`${n.name}.input_zero_point`, [], type, [a.zeroPoint]));
    const full = a.symmetric ? { qmin: -128, qmax: 127 } : { qmin: 0, qmax: 255 };
    if (g.qmin !== full.qmin || g.qmax !== full.qmax) {
      // The float range of the narrower grid: QuantizeLinear would otherwise saturate at the 8-bit ends.
      out.initializers.push(
        tensor(`${n.name}.input_min`, [], DataType.FLOAT, [Math.fround((g.qmin - a.zeroPoint) * a.scale)]),
        tensor(`${n.name}.input_max`, [], DataType.FLOAT, [Math.fround((g.qmax - a.zeroPoint) * a.scale)]),
      );
      x = node('Clip', [x, `${n.name}.input_min`, `${n.name}.input_max`], 'input_clipped');
    }
    const quantized = node('QuantizeLinear', [x, `${n.name}.input_scale`, `${n.name}.input_zero_point`], 'input_quantized');
    x = node('DequantizeLinear', [quantized, `${n.name}.input_scale`, `${n.name}.input_zero_point`], 'input_dequantized');
    inputScale = a.scale;
  }

  // An all-zero (pruned) filter quantizes to zeros (binary too: ± the floor scale) at any scale: 1 keeps its int32 bias in range.
  const floored = weightScales(w, shape[0], q, mask);
  const scales = floored.map((s) => (s === Math.fround(SCALE_FLOOR) ? 1 : s));
  const g = grid(q.weightBits, true);
  const per = w.length / scales.length;
  const wq = Int8Array.from(w, (v, i) => {
    if (mask?.[i] === 0 || floored[Math.floor(i / per)] === Math.fround(SCALE_FLOOR)) return 0;
    return g.binary ? (v >= 0 ? 1 : -1) : Math.min(g.qmax, Math.max(g.qmin, roundHalfEven(v / scales[Math.floor(i / per)])));
  });
  const scaleDims = q.perChannel ? [scales.length] : [];
  out.initializers.push(
    tensor(`${n.name}.weight_quantized`, shape, QType.INT8, wq),
    tensor(`${n.name}.weight_scale`, scaleDims, DataType.FLOAT, scales),
    tensor(`${n.name}.weight_zero_point`, scaleDims, QType.INT8, new Int8Array(scales.length)),
  );
  const weight = node('DequantizeLinear', [`${n.name}.weight_quantized`, `${n.name}.weight_scale`, `${n.name}.weight_zero_point`], 'weight_dequantized', q.perChannel ? [axis] : []);

  if (!bias) return { input: x, weight };
  if (inputScale === undefined || q.weightBits === 1 || q.input?.bits === 1) {
    // Float where the accumulator's grid is coarse (one-bit operands: the step weight scale × input scale
    // is a sizeable share of the bias) or undefined (a float input), as the fake-quantized layer computes it.
    out.initializers.push(tensor(`${n.name}.bias`, [bias.length], DataType.FLOAT, bias));
    return { input: x, weight, bias: `${n.name}.bias` };
  }
  // int32 bias on the accumulator's grid: scale = weight scale × input scale per output channel.
  const biasScales = Float32Array.from(bias, (_, c) => Math.fround(scales[q.perChannel ? c : 0] * inputScale!));
  out.initializers.push(
    tensor(`${n.name}.bias_quantized`, [bias.length], DataType.INT32, Array.from(bias, (b, c) => {
      const v = roundHalfEven(b / biasScales[c]);
      if (Math.abs(v) >= 2 ** 31) throw new Error(`export: layer '${n.name}' channel ${c}: bias ${b} is ${v} steps of the accumulator (weight scale × input scale ${biasScales[c]}), beyond int32`);
      return v;
    })),
    tensor(`${n.name}.bias_scale`, [bias.length], DataType.FLOAT, biasScales),
    tensor(`${n.name}.bias_zero_point`, [bias.length], DataType.INT32, new Int32Array(bias.length)),
  );
  return { input: x, weight, bias: node('DequantizeLinear', [`${n.name}.bias_quantized`, `${n.name}.bias_scale`, `${n.name}.bias_zero_point`], 'bias_dequantized', [axis]) };
}
