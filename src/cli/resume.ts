// A stopped run's state in `<out>/resume.safetensors`: the checkpoint, the options the run was started
// with (`--resume` continues with those and refuses options that would change it), and whatever the
// command records beside them.
import type { Checkpoint } from '../train/checkpoint.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { UsageError } from './inputs.js';
import type { Values } from './options.js';

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
