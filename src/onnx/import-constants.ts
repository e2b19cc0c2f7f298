// ONNX import of constants: initializers and Constant nodes as values, and the constant shape
// arithmetic PyTorch writes around Reshape and Resize (Shape, Gather, Unsqueeze, Squeeze, Cast, Mul,
// Div, and Add, Concat and Slice in their own handlers) folded at import time.
import { type Const, type Importer, MAX_ELEMENTS, attribute, int, ints, only } from './importer.js';
import { DataType, type NodeProto, type TensorProto, toNumber } from './proto.js';

type Handler = (c: Importer, n: NodeProto) => void;

export function tensorValues(t: TensorProto, file: string): Const {
  const dims = (t.dims ?? []).map(toNumber);
  const name = t.name ?? '?';
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`${file}: tensor '${name}' has invalid dims [${dims}]`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > MAX_ELEMENTS) throw new Error(`${file}: tensor '${name}' has ${count} elements, more than the ${MAX_ELEMENTS} supported`);
  if (t.dataLocation === 1) {
    const location = t.externalData?.find((e) => e.key === 'location')?.value ?? '?';
    throw new Error(`${file}: tensor '${name}' keeps its data in the external file '${location}'; external-data models are not supported (save the model with its weights inside, e.g. onnx.save(model, path, save_as_external_data=False))`);
  }
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const type = t.dataType ?? 0;
  const bytes = type === DataType.FLOAT || type === DataType.INT32 ? 4 : type === DataType.INT64 || type === DataType.DOUBLE ? 8 : 0;
  if (!bytes) throw new Error(`${file}: tensor '${name}' has data type ${type}; only float32 weights (and int32/int64/double constants) are supported`);
  let data: number[];
  if (view) {
    if (raw!.length !== count * bytes) throw new Error(`${file}: tensor '${name}' holds ${raw!.length} bytes of raw data; its shape [${dims}] needs ${count * bytes}`);
    data = new Array(count);
    for (let i = 0; i < count; i++) {
      data[i] = type === DataType.FLOAT ? view.getFloat32(4 * i, true) : type === DataType.INT32 ? view.getInt32(4 * i, true)
        : type === DataType.DOUBLE ? view.getFloat64(8 * i, true) : Number(view.getBigInt64(8 * i, true));
    }
  } else {
    const list = type === DataType.FLOAT ? t.floatData : type === DataType.INT32 ? t.int32Data : type === DataType.DOUBLE ? t.doubleData : t.int64Data;
    data = (list ?? []).map((v) => toNumber(v as number));
    if (data.length !== count) throw new Error(`${file}: tensor '${name}' holds ${data.length} values; its shape [${dims}] needs ${count}`);
  }
  return { kind: 'const', dims, data };
}


export function foldBinary(c: Importer, n: NodeProto, f: (a: number, b: number) => number) {
  const [a, b] = [c.constant(n, 0, 'input 0 of constant arithmetic'), c.constant(n, 1, 'input 1 of constant arithmetic')];
  if (a.data.length !== b.data.length && a.data.length !== 1 && b.data.length !== 1) c.fail(n, 'constant arithmetic needs equal lengths or a scalar');
  const len = Math.max(a.data.length, b.data.length);
  c.setConst(n, a.data.length >= b.data.length ? a.dims : b.dims, Array.from({ length: len }, (_, i) => f(a.data[a.data.length === 1 ? 0 : i], b.data[b.data.length === 1 ? 0 : i])));
}

export const constantHandlers: Record<string, Handler> = {
  Constant(c, n) {
    const a = attribute(n, 'value');
    if (a?.t) return void c.values.set(n.output![0], tensorValues(a.t, c.file));
    const v = attribute(n, 'value_ints')?.ints?.map(toNumber) ?? (attribute(n, 'value_int') ? [toNumber(attribute(n, 'value_int')!.i)] : undefined);
    const f = attribute(n, 'value_floats')?.floats ?? (attribute(n, 'value_float') ? [attribute(n, 'value_float')!.f ?? 0] : undefined);
    if (v) return c.setConst(n, attribute(n, 'value_int') ? [] : [v.length], v);
    if (f) return c.setConst(n, attribute(n, 'value_float') ? [] : [f.length], f);
    c.fail(n, 'only tensor, int and float constants are supported');
  },
  Shape(c, n) {
    const x = c.tensor(n, 0);
    const full = [NaN, ...x.shape];
    const start = int(n, 'start', 0);
    const end = int(n, 'end', full.length);
    const norm = (i: number) => Math.min(full.length, Math.max(0, i < 0 ? i + full.length : i));
    const data = full.slice(norm(start), norm(end));
    c.setConst(n, [data.length], data);
  },
  Gather(c, n) {
    only(c, n, ['axis']);
    const d = c.constant(n, 0, 'the data');
    const idx = c.constant(n, 1, 'the indices');
    if (d.dims.length !== 1 || int(n, 'axis', 0) !== 0) c.fail(n, 'constant Gather is folded for 1-D data on axis 0 only');
    const data = idx.data.map((i) => {
      const j = i < 0 ? i + d.data.length : i;
      if (!(j >= 0 && j < d.data.length)) c.fail(n, `index ${i} is out of range for ${d.data.length} values`);
      return d.data[j];
    });
    c.setConst(n, idx.dims, data);
  },
  Unsqueeze(c, n) {
    const v = c.constant(n, 0, 'the data');
    const axes = ints(n, 'axes') ?? c.constant(n, 1, 'axes').data;
    if (v.dims.length !== 0 || axes.length !== 1) c.fail(n, 'constant Unsqueeze is folded for a scalar only');
    c.setConst(n, [1], v.data);
  },
  Squeeze(c, n) {
    const v = c.constant(n, 0, 'the data');
    c.setConst(n, v.data.length === 1 ? [] : [v.data.length], v.data);
  },
  Cast(c, n) {
    const v = c.constant(n, 0, 'the data');
    c.setConst(n, v.dims, v.data);
  },
  Mul(c, n) { foldBinary(c, n, (x, y) => x * y); },
  Div(c, n) { foldBinary(c, n, (x, y) => Math.trunc(x / y)); },
};
