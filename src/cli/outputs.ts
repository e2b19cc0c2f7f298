// Where a command writes, checked before any work: a directory (prune's --out) or a file (train's and
// export's --out) that exists as that kind or can be created, on a file system that takes files. A
// usage error (exit 2) names the option and the path. (Node 20's recursive mkdir loops forever under
// /proc; the atomic write would replace a symlink, FIFO or device with a plain file.)
import { accessSync, constants, lstatSync, statfsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './inputs.js';

/** statfs types of kernel file systems that hold no user files (linux/magic.h). */
const VIRTUAL_FILE_SYSTEMS = new Map([[0x9fa0, 'procfs'], [0x62656572, 'sysfs'], [0x64626720, 'debugfs'], [0x27e0eb, 'cgroupfs'], [0x63677270, 'cgroup2fs']]);

function kindOf(path: string): string | undefined {
  try {
    const s = lstatSync(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symbolic link' : s.isFIFO() ? 'FIFO' : s.isSocket() ? 'socket' : 'device';
  } catch {
    return undefined;
  }
}

/** The nearest existing ancestor of a path must be a writable directory on a real file system. */
function checkCreatable(option: string, path: string): void {
  let dir = dirname(path);
  while (kindOf(dir) === undefined && dirname(dir) !== dir) dir = dirname(dir);
  if (kindOf(dir) !== 'directory') throw new UsageError(`${option} '${path}': '${dir}' is not a directory`);
  const type = VIRTUAL_FILE_SYSTEMS.get(statfsSync(dir).type);
  if (type) throw new UsageError(`${option} '${path}': '${dir}' is on ${type}, which holds no files; choose a path on a disk`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`${option} '${path}': '${dir}' is not writable`);
  }
}

/** A directory to write into: an existing directory or a path where one can be made. */
export function checkOutputDir(option: string, dir: string): void {
  const path = resolve(dir);
  const kind = kindOf(path);
  if (kind === 'directory') return checkCreatable(option, `${path}/x`);
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
 * A run's output files, all or none: written into a staging folder inside `dir`, then moved into place
 * (each rename atomic), so a failure part-way leaves the previous run's outputs as they were.
 */
export async function writeOutputs(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of Object.keys(files)) {
    const kind = kindOf(join(dir, name));
    if (kind && kind !== 'file') throw new Error(`${join(dir, name)}: exists and is a ${kind}; refusing to replace it`);
  }
  const staging = join(dir, `.staging-${process.pid}-${Date.now()}`);
  await mkdir(staging);
  try {
    for (const [name, data] of Object.entries(files)) await writeFile(join(staging, name), data);
    for (const name of Object.keys(files)) await rename(join(staging, name), join(dir, name));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

