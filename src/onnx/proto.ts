// The ONNX protobuf schema (onnx-proto's generated protobufjs code) and the few conversions the
// importer and exporter share.
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;

/** int64 fields decode as numbers or Long objects. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** Decodes a model; a damaged or non-ONNX file gives an error naming the file. */
export function decodeModel(bytes: Uint8Array, file: string): ModelProto {
  if (bytes.length === 0) throw new Error(`${file}: empty file, not an ONNX model`);
  let m: ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${file}: not a valid ONNX model (truncated or corrupted protobuf: ${(e as Error).message})`);
  }
  if (!m.graph) throw new Error(`${file}: not an ONNX model (no graph)`);
  return m;
}

/** The metadata key holding a model's input normalisation as JSON ({ mean, std } of pixels in [0, 1]). */
export const NORMALIZATION_KEY = 'wgprune.input_normalization';
/** Metadata key of a stated task (graph.ts's Task: an embedding net's, which its output shape does not say). */
export const TASK_KEY = 'wgprune.task';
