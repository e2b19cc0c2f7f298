// Checkpoints: a model's parameters, masks and optimizer state in one safetensors file, with the
// architecture and the training position in its metadata, so a run resumes exactly where it stopped.
import { type ModelSpec, checkSpecShape, inferShapes } from '../model/graph.js';
import { type Model, paramList } from '../model/model.js';
import { type NamedTensor, decodeSafetensors, encodeSafetensors, writeFileAtomic } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'wgprune-checkpoint-1';

export interface TrainingPosition {
  /** Optimizer steps taken. */
  step: number;
  epoch: number;
  /** Batches of `epoch` already consumed. */
  batchInEpoch: number;
  /** The options the run was started with (JSON), so a resume continues the same schedule. */
  options: unknown;
}

export interface Checkpoint {
  model: Model;
  /** Optimizer state by name (`${param}.velocity`, `${param}.m`, `${param}.v`). */
  optimizer: Map<string, Float32Array>;
  position?: TrainingPosition;
  info?: Record<string, unknown>;
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const tensors = new Map<string, NamedTensor>();
  const shapes = new Map(paramList(c.model.spec).map((p) => [p.name, p.shape]));
  for (const [name, data] of c.model.params) tensors.set(`param/${name}`, { shape: shapes.get(name)!, data });
  for (const [name, data] of c.model.masks) tensors.set(`mask/${name}`, { shape: shapes.get(name)!, data });
  for (const [name, data] of c.optimizer) tensors.set(`optimizer/${name}`, { shape: [data.length], data });
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, architecture: JSON.stringify(c.model.spec) };
  if (c.position) metadata.position = JSON.stringify(c.position);
  if (c.info) metadata.info = JSON.stringify(c.info);
  return encodeSafetensors(tensors, metadata);
}

export function decodeCheckpoint(bytes: Uint8Array, file = 'checkpoint'): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new Error(`${file}: not a wgprune checkpoint (metadata format '${metadata.format ?? 'missing'}')`);
  const json = (key: string, value: string | undefined) => {
    try {
      return value === undefined ? undefined : JSON.parse(value);
    } catch {
      throw new Error(`${file}: the ${key} in the metadata is not valid JSON`);
    }
  };
  const spec: ModelSpec = json('architecture', metadata.architecture);
  try {
    checkSpecShape(spec);
    inferShapes(spec);
  } catch (e) {
    throw new Error(`${file}: the architecture in the metadata is not a valid model: ${(e as Error).message}`);
  }
  const model: Model = { spec, params: new Map(), masks: new Map() };
  const optimizer = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    const [kind, ...rest] = name.split('/');
    const key = rest.join('/');
    if (kind === 'param') model.params.set(key, t.data);
    else if (kind === 'mask') model.masks.set(key, t.data);
    else if (kind === 'optimizer') optimizer.set(key, t.data);
  }
  for (const p of paramList(spec)) {
    const data = model.params.get(p.name);
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (!data) throw new Error(`${file}: parameter '${p.name}' of the architecture is missing`);
    if (data.length !== size) throw new Error(`${file}: parameter '${p.name}' has ${data.length} values, its shape [${p.shape}] needs ${size}`);
  }
  // A mask keeps (1) or prunes (0) each weight of its parameter: anything else would scale weights or spread NaN.
  const sizes = new Map(paramList(spec).map((p) => [p.name, p.shape.reduce((a, b) => a * b, 1)]));
  for (const [name, mask] of model.masks) {
    if (!sizes.has(name)) throw new Error(`${file}: mask '${name}' belongs to no parameter of the architecture`);
    if (mask.length !== sizes.get(name)) throw new Error(`${file}: mask '${name}' has ${mask.length} values, its parameter has ${sizes.get(name)}`);
    const bad = mask.findIndex((v) => v !== 0 && v !== 1);
    if (bad >= 0) throw new Error(`${file}: mask '${name}' holds ${mask[bad]} at index ${bad}; masks hold 0 (pruned) or 1 (kept)`);
  }
  return {
    model, optimizer,
    position: json('position', metadata.position),
    info: json('info', metadata.info),
  };
}

export async function saveCheckpoint(path: string, c: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(c));
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const { readFile, stat } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    // A FIFO or device would block the read or never end: only regular files are read.
    if (!(await stat(path)).isFile()) throw new Error('not a regular file');
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new Error(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return decodeCheckpoint(bytes, path);
}
