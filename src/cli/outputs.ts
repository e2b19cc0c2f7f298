// Where a command writes, checked before any work: a directory (prune's --out) or a file (train's and
// export's --out) that exists as that kind or can be created, on a file system that takes files. A
// usage error (exit 2) names the option and the path. (Node 20's recursive mkdir loops forever under
// /proc; the atomic write would replace a symlink, FIFO or device with a plain file.)
import { accessSync, constants, lstatSync, statSync, statfsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './inputs.js';

/** statfs types of kernel file systems that hold no user files (linux/magic.h). */
const VIRTUAL_FILE_SYSTEMS = new Map([[0x9fa0, 'procfs'], [0x62656572, 'sysfs'], [0x64626720, 'debugfs'], [0x27e0eb, 'cgroupfs'], [0x63677270, 'cgroup2fs']]);

/** What is at `path`: 'file', 'directory', 'symbolic link', ... (through links when `follow`: a linked directory is a directory). */
function kindOf(path: string, follow = false): string | undefined {
  try {
    const s = follow ? statSync(path) : lstatSync(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symbolic link' : s.isFIFO() ? 'FIFO' : s.isSocket() ? 'socket' : 'device';
  } catch {
    return undefined;
  }
}

/** The nearest existing ancestor of a path must be a writable directory on a real file system. */
function checkCreatable(option: string, path: string): void {
  let dir = dirname(path);
  while (kindOf(dir, true) === undefined && dirname(dir) !== dir) dir = dirname(dir);
  if (kindOf(dir, true) !== 'directory') throw new UsageError(`${option} '${path}': '${dir}' is not a directory`);
  const type = VIRTUAL_FILE_SYSTEMS.get(statfsSync(dir).type);
  if (type) throw new UsageError(`${option} '${path}': '${dir}' is on ${type}, which holds no files; choose a path on a disk`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`${option} '${path}': '${dir}' is not writable`);
  }
}

/** The files each run command writes into its --out folder (resume.safetensors while stopped). */
export const RUN_OUTPUTS: Record<string, string[]> = {
  prune: ['pruned.onnx', 'pruned.safetensors', 'report.json', 'report.html', 'pareto.json', 'pareto.svg', 'resume.safetensors'],
  decompose: ['decomposed.onnx', 'decomposed.safetensors', 'report.json', 'report.html', 'resume.safetensors'],
  quantize: ['quantized.onnx', 'quantized.safetensors', 'report.json', 'report.html', 'resume.safetensors'],
};

/**
 * A directory to write `names` into: an existing directory (a symbolic link to one is fine) or a path
 * where one can be made; any of `names` already there must be a regular file, so that nothing is found
 * out only after the work.
 */
export function checkOutputDir(option: string, dir: string, names: string[] = []): void {
  const path = resolve(dir);
  const kind = kindOf(path, true);
  if (kind === 'directory') {
    for (const name of names) {
      const k = kindOf(join(path, name));
      if (k && k !== 'file') throw new UsageError(`${option} '${dir}': '${name}' there is a ${k}, not a regular file; the run would not replace it: remove it or choose another folder`);
    }
    return checkCreatable(option, `${path}/x`);
  }
  if (kind) throw new UsageError(`${option} '${dir}': exists and is a ${kind}, not a directory`);
  checkCreatable(option, path);
}

/** A file to write: a regular file or a new path; symlinks, FIFOs, sockets and devices are refused. */
export function checkOutputFile(option: string, file: string): void {
  const path = resolve(file);
  const kind = kindOf(path);
  if (kind && kind !== 'file') throw new UsageError(`${option} '${file}': exists and is a ${kind}; give the path of a regular file`);
  checkCreatable(option, path);
}

/**
 * A run's output files, all or none: written into a staging folder inside `dir`, then each previous file
 * moved aside and the new one moved into place (each rename atomic); when any step fails, the new files
 * already placed are removed and the previous ones put back, so the folder holds the old set or the new.
 */
export async function writeOutputs(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const names = Object.keys(files);
  for (const name of names) {
    const kind = kindOf(join(dir, name));
    if (kind && kind !== 'file') throw new Error(`${join(dir, name)}: exists and is a ${kind}; refusing to replace it`);
  }
  const staging = join(dir, `.staging-${process.pid}-${Date.now()}`);
  const previous = join(staging, '.previous');
  await mkdir(previous, { recursive: true });
  const placed: string[] = [], movedAside: string[] = [];
  try {
    for (const [name, data] of Object.entries(files)) await writeFile(join(staging, name), data);
    for (const name of names) {
      if (kindOf(join(dir, name)) === 'file') {
        await rename(join(dir, name), join(previous, name));
        movedAside.push(name);
      }
      await rename(join(staging, name), join(dir, name));
      placed.push(name);
    }
  } catch (e) {
    for (const name of placed) await rm(join(dir, name), { force: true });
    for (const name of movedAside) await rename(join(previous, name), join(dir, name));
    throw new Error(`${dir}: the outputs could not be written (${(e as Error).message}); the folder keeps its previous files`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
