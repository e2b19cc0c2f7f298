// onnxruntime's CPU kernels, called synchronously: small ONNX graphs built per op and shape, one cached
// session each. onnxruntime-node's public `InferenceSession.run` is a promise around its binding's
// synchronous `run` (one setImmediate per call); the binding itself is documented in the package's
// dist/binding.d.ts ("a simple synchronized inference session object wrap") and is what we call, so that
// a backend op returns its tensor at once like every other backend's.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { type AttributeProto, DataType, type NodeProto, type TensorProto, onnx } from '../onnx/proto.js';

/** The opset the op graphs use (every op below exists there with the attributes used). */
const OPSET = 18;

interface OrtTensor { readonly data: Float32Array; readonly dims: readonly number[] }
interface BindingSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Record<string, unknown>): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: Record<string, unknown>): Record<string, OrtTensor>;
  readonly outputMetadata: { name: string }[];
  dispose(): void;
}
interface Ort {
  binding: { InferenceSession: new () => BindingSession };
  initOrt(): void;
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

let loaded: Ort | undefined;

/** Loads onnxruntime-node (Node only); throws with the reason when it cannot. */
export function loadOrt(): Ort {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const { binding, initOrt } = require('onnxruntime-node/dist/binding.js') as Pick<Ort, 'binding' | 'initOrt'>;
  const { Tensor } = require('onnxruntime-node') as Pick<Ort, 'Tensor'>;
  initOrt();
  loaded = { binding, initOrt, Tensor };
  return loaded;
}

/** Every core, or WGPRUNE_THREADS (shards of a sweep sharing a machine give each its share: spinning OpenMP workers of several processes on the same cores cost far more than they save). */
export function defaultThreads(): number {
  const text = process.env.WGPRUNE_THREADS;
  if (text === undefined || text === '') return Math.max(1, availableParallelism());
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`WGPRUNE_THREADS must be a positive integer, got '${text}'`);
  return n;
}

/** Integer attributes as numbers (INT) or arrays (INTS); float attributes as { f }. */
type Attr = number | number[] | { f: number };

/** A small ONNX graph: float32 inputs of fixed shapes, nodes, int64 constants, one or more outputs. */
export class OpGraph {
  private nodes: NodeProto[] = [];
  private initializers: TensorProto[] = [];
  readonly inputs: { name: string; dims: number[] }[] = [];
  readonly outputs: string[] = [];
  private count = 0;

  input(name: string, dims: readonly number[]): string {
    this.inputs.push({ name, dims: [...dims] });
    return name;
  }

  /** An int64 constant (shapes, axes, pads, slice bounds). */
  ints(values: readonly number[]): string {
    const name = `c${this.count++}`;
    this.initializers.push({ name, dims: [values.length], dataType: DataType.INT64, int64Data: [...values] });
    return name;
  }

  /** A float scalar constant (Clip bounds). */
  float(value: number): string {
    const name = `c${this.count++}`;
    this.initializers.push({ name, dims: [], dataType: DataType.FLOAT, floatData: [value] });
    return name;
  }

  /** Adds a node. Returns its output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, output = `v${this.count++}`): string {
    const type = onnx.AttributeProto.AttributeType;
    const attribute: AttributeProto[] = Object.entries(attrs).map(([name, v]) => (Array.isArray(v)
      ? { name, ints: v, type: type.INTS }
      : typeof v === 'number' ? { name, i: v, type: type.INT } : { name, f: v.f, type: type.FLOAT }));
    this.nodes.push({ opType, input: inputs, output: [output], attribute });
    return output;
  }

  /** A node with several outputs (MaxPool's values and indices); returns their names. */
  ops(opType: string, inputs: string[], outputs: number, attrs: Record<string, Attr> = {}): string[] {
    const names = Array.from({ length: outputs }, () => `v${this.count++}`);
    const first = this.op(opType, inputs, attrs, names[0]);
    this.nodes.at(-1)!.output = [first, ...names.slice(1)];
    return names;
  }

  output(name: string): void { this.outputs.push(name); }

  encode(): Uint8Array {
    const used = new Set(this.nodes.flatMap((n) => n.input ?? []));
    const unused = this.initializers.filter((i) => !used.has(i.name!));
    if (unused.length) throw new Error(`op graph: constants ${unused.map((i) => i.name).join(', ')} feed no node`);
    const info = (name: string, dims?: number[]) => ({
      name, type: { tensorType: { elemType: DataType.FLOAT, shape: dims ? { dim: dims.map((d) => ({ dimValue: d })) } : undefined } },
    });
    return onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8, producerName: 'wgprune', opsetImport: [{ domain: '', version: OPSET }],
      graph: { name: 'op', node: this.nodes, initializer: this.initializers, input: this.inputs.map((i) => info(i.name, i.dims)), output: this.outputs.map((o) => info(o)) },
    })).finish();
  }
}

/** One compiled op graph: run it on float32 arrays, get float32 arrays back. */
export class OpSession {
  constructor(private ort: Ort, private session: BindingSession, private inputs: { name: string; dims: number[] }[], private outputs: string[]) {}

  run(values: Float32Array[]): Float32Array[] {
    const feeds: Record<string, OrtTensor> = {};
    this.inputs.forEach((input, i) => { feeds[input.name] = new this.ort.Tensor('float32', values[i], input.dims); });
    const fetches: Record<string, null> = {};
    for (const o of this.outputs) fetches[o] = null;
    const result = this.session.run(feeds, fetches, {});
    return this.outputs.map((o) => result[o].data);
  }

  dispose(): void { this.session.dispose(); }
}

/** ONNX bytes loaded into a session with `threads` intra-op threads, graph optimizations all on. */
function load(ort: Ort, bytes: Uint8Array, threads: number, spinning: boolean): BindingSession {
  const s = new ort.binding.InferenceSession();
  s.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
  });
  return s;
}

/**
 * Compiles `g` into a session using `threads` intra-op threads. Spinning off: each session has its own
 * thread pool, and spinning workers of idle sessions would take the cores from the running one.
 */
export function compile(ort: Ort, g: OpGraph, threads: number): OpSession {
  return new OpSession(ort, load(ort, g.encode(), threads, false), g.inputs, g.outputs);
}

/** A whole model in one session: its input 'input' at any batch, every graph output with its shape. */
export class ModelSession {
  private readonly outputs: string[];
  constructor(private ort: Ort, private session: BindingSession) { this.outputs = session.outputMetadata.map((o) => o.name); }

  run(x: Float32Array, dims: readonly number[]): { data: Float32Array; dims: readonly number[] }[] {
    const fetches: Record<string, null> = {};
    for (const o of this.outputs) fetches[o] = null;
    const result = this.session.run({ input: new this.ort.Tensor('float32', x, dims) }, fetches, {});
    return this.outputs.map((o) => result[o]);
  }

  dispose(): void { this.session.dispose(); }
}

/**
 * An exported model compiled for inference: onnxruntime fuses batch norms and activations into the
 * convolutions and runs them in its blocked NCHWc layout across layers (no per-layer reorders).
 * Spinning off, as for the op sessions: the ops that follow it (a student's training step after a
 * teacher's forward pass) run on the same cores.
 */
export function compileModel(ort: Ort, bytes: Uint8Array, threads: number): ModelSession {
  return new ModelSession(ort, load(ort, bytes, threads, false));
}
