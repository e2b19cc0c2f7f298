// A stopped run's state in `<out>/resume.safetensors`: the checkpoint, the options the run was started
// with (`--resume` continues with those and refuses options that would change it), and whatever the
// command records beside them.
import type { ComputeBackend } from '../open-backend.js';
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { type Context, output } from './context.js';
import { UsageError } from './inputs.js';
import { type Values, str } from './options.js';
import { RUN_OUTPUTS, checkOutputDir } from './outputs.js';
import { join } from 'node:path';

/** Options of the command line, not of the run: a stopped run does not save them, --resume may differ in them (and in --out and --backend). */
const NOT_SAVED_WITH_A_RUN = ['resume', 'help', 'config', 'json', 'verbose'];

/** The options a stopped run saves. */
export const savedOptions = (v: Values): Values => Object.fromEntries(Object.entries(v).filter(([k]) => !NOT_SAVED_WITH_A_RUN.includes(k)));

/** Loads a stopped `command` run; its options (with --out) replace the given ones, which must not change it. */
export async function resumedRun<T extends object>(file: string, given: Values, command: string, outDir: string): Promise<{ saved: Checkpoint; info: T; values: Values }> {
  const saved = await loadCheckpoint(file);
  const info = saved.info as (T & { options?: Values; command?: string }) | undefined;
  if (!info?.options || (info.command ?? 'prune') !== command) throw new Error(`${file}: not a stopped ${command} run`);
  const changed = Object.entries(given).filter(([k, x]) => ![...NOT_SAVED_WITH_A_RUN, 'out', 'backend'].includes(k) && x !== undefined && info.options![k] !== x);
  if (changed.length) {
    const list = changed.map(([k, x]) => `--${k}${x === true ? '' : ` ${x}`} (the run has ${info.options![k] ?? 'none'})`);
    throw new UsageError(`--resume continues the stopped run with its own options; ${list.join(', ')} would change it. Drop them, or start a new run in another --out`);
  }
  return { saved, info, values: { ...info.options, out: outDir } };
}

/** A `command` run stopped with Ctrl-C: its checkpoint and options saved in `file`, the backend closed; exit 130. */
export async function saveStopped(c: Context, be: ComputeBackend, command: string, file: string, outDir: string, stopped: Checkpoint, v: Values): Promise<number> {
  await saveCheckpoint(file, { ...stopped, info: { command, options: savedOptions(v) } });
  output(c, { stopped: true, resume: file }, `stopped; the run is saved in ${file}. Continue with: wgprune ${command} --resume --out ${outDir}`);
  be.destroy();
  return 130;
}

/**
 * A single-phase command's output folder and resume file, and with --resume the stopped run's options
 * (replacing the given ones) and checkpoint.
 */
export async function resumableRun(c: Context, command: string): Promise<{ outDir: string; resumeFile: string; values: Values; resume?: Checkpoint }> {
  const outDir = str(c.values, 'out') ?? 'out';
  checkOutputDir('--out', outDir, RUN_OUTPUTS[command] ?? ['resume.safetensors']);
  const resumeFile = join(outDir, 'resume.safetensors');
  if (!c.values.resume) return { outDir, resumeFile, values: c.values };
  const r = await resumedRun<object>(resumeFile, c.values, command, outDir);
  return { outDir, resumeFile, values: r.values, resume: r.saved };
}
