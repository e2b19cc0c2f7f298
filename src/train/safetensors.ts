// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header mapping
// tensor names to {dtype, shape, data_offsets} plus a string-valued "__metadata__", then the raw data.
// Written atomically: a temporary file in the same folder, then a rename.

export interface NamedTensor { shape: number[]; data: Float32Array }

export function encodeSafetensors(tensors: Map<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new Error(`safetensors: tensor '${name}' has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8); // the data starts 8-byte aligned
  const jsonBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + jsonBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  let at = 8 + jsonBytes.length;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, file = 'checkpoint'): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error(`${file}: not a safetensors file (${bytes.length} bytes)`);
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (length > bytes.length - 8 || length > 100 * 1024 * 1024) throw new Error(`${file}: safetensors header of ${length} bytes does not fit the ${bytes.length}-byte file (truncated?)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  } catch (e) {
    throw new Error(`${file}: corrupt safetensors header (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error(`${file}: corrupt safetensors header (a JSON object of tensors expected, got ${header === null ? 'null' : Array.isArray(header) ? 'an array' : typeof header})`);
  const dataStart = 8 + length;
  const tensors = new Map<string, NamedTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (typeof entry !== 'object' || entry === null) throw new Error(`${file}: tensor '${name}' has no description in the header`);
    const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`${file}: tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    if (e.dtype !== 'F32') throw new Error(`${file}: tensor '${name}' has dtype ${e.dtype}; only F32 is supported`);
    const [begin, end] = e.data_offsets ?? [-1, -1];
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end - begin === size * 4 && dataStart + end <= bytes.length)) {
      throw new Error(`${file}: tensor '${name}' has offsets [${begin}, ${end}] that do not match its shape [${e.shape}] or the file size (truncated?)`);
    }
    // A copy (Uint8Array's slice: a Node Buffer's own slice() is a view of the whole file's memory).
    const copy = Uint8Array.prototype.slice.call(bytes, dataStart + begin, dataStart + end);
    tensors.set(name, { shape: e.shape!, data: new Float32Array(copy.buffer) });
    spans.push([begin, end, name]);
  }
  // The data section is the tensors back to back, as the format requires: no overlap, no gap, nothing after.
  spans.sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== at) throw new Error(`${file}: tensor '${name}' starts at byte ${begin} of the data, where ${at} was expected (${begin < at ? 'it overlaps the tensor before it' : 'a gap before it'})`);
    at = end;
  }
  if (dataStart + at !== bytes.length) throw new Error(`${file}: ${bytes.length - dataStart - at} bytes after the last tensor's data`);
  const metadata = header.__metadata__;
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) throw new Error(`${file}: __metadata__ must be a JSON object of strings`);
  return { tensors, metadata: (metadata as Record<string, string> | undefined) ?? {} };
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes a file so that readers see the old or the new contents, never a half-written one. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const { writeFile, rename, mkdir, rm, lstat, readdir } = await import('node:fs/promises');
  const { basename, dirname, join } = await import('node:path');
  const existing = await lstat(path).catch(() => undefined);
  if (existing && !existing.isFile()) throw new Error(`${path}: exists and is not a regular file (a symlink, FIFO, device or directory); refusing to replace it`);
  await mkdir(dirname(path), { recursive: true });
  // Temporary files that a killed process left beside this one go (a live process's are kept).
  const leftover = new RegExp(`^${basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.tmp-(\\d+)-\\d+$`);
  for (const name of await readdir(dirname(path)).catch(() => [] as string[])) {
    const m = leftover.exec(name);
    if (m && !processAlive(Number(m[1]))) await rm(join(dirname(path), name), { force: true });
  }
  const temp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}
