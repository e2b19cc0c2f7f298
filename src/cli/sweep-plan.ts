// A sweep plan (JSON or YAML): axes of `wgprune prune` runs whose cross product is the rows. Each axis
// is a list of entries, an entry either a value of the axis's flag (`models: [default, resnet20]`) or an
// object of prune flags (`models: [{ model: out/lenet-fashion.safetensors, data: fashion-mnist }]`), so
// that a model can carry its own data; `options` are flags every row takes. Rows have stable ids (plan
// order), a cost estimate for balancing shards, and are split into shards deterministically.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { flagValue, optionNamed } from './config-file.js';
import { UsageError } from './inputs.js';
import type { Options, Values } from './options.js';

/** The plan's axes, outermost first, and the prune flag a plain entry sets. */
export const AXES = [['models', 'model'], ['data', 'data'], ['accelerators', 'accel'], ['budgets', 'budget'], ['criteria', 'criterion'], ['fine-tune', undefined], ['seeds', 'seed']] as const;
const AXIS_NAMES: readonly string[] = [...AXES.map(([a]) => a), 'options'];

export interface SweepRow {
  id: string;
  /** The prune flags of this row (without --out). */
  values: Values;
  /** Estimated work (see estimateCost), for balancing shards. */
  cost?: number;
}

/** Flags a row may not set: the sweep owns where rows go and how they resume. */
const SWEEP_OWNED = ['out', 'resume', 'config', 'json', 'help', 'verbose', 'checkpoint-every'];

/** One plan entry's flags, checked against prune's options (a name and a type the flag takes). */
function entryValues(file: string, where: string, entry: unknown, flag: string | undefined, pruneOptions: Options): Values {
  const raw: Record<string, unknown> = entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? { ...(entry as object) } : flag ? { [flag]: entry } : {};
  if (!Object.keys(raw).length) throw new UsageError(`${file}: ${where}: an entry of this axis is an object of prune flags, got ${JSON.stringify(entry)}`);
  delete raw.name;
  const out: Values = {};
  for (const [key, x] of Object.entries(raw)) {
    const option = optionNamed(pruneOptions, key);
    if (!option || SWEEP_OWNED.includes(key)) throw new UsageError(`${file}: ${where}: '${key}' is not a prune flag a sweep row can set${SWEEP_OWNED.includes(key) ? ' (the sweep sets it)' : ''}`);
    const value = flagValue(option, x);
    if (value === undefined) throw new UsageError(`${file}: ${where}: '${key}' ${option.type === 'boolean' ? 'is a switch: true or false' : 'takes a string or number'}, got ${JSON.stringify(x)}`);
    if (value !== false) out[key] = value; // a switch set false is a flag not given
  }
  return out;
}

/** A readable part of a row id from an entry: its `name`, else its value. */
const slug = (entry: unknown, values: Values): string => {
  const named = entry !== null && typeof entry === 'object' ? (entry as { name?: unknown }).name : undefined;
  const text = String(named ?? (typeof entry === 'object' ? Object.values(values).join('-') : entry));
  return text.replace(/^.*\//, '').replace(/\.(safetensors|onnx|cfg|json)$/i, '').replace(/[^\w.=-]+/g, '_').slice(0, 40) || 'x';
};

/** The plan file's rows, in plan order (the last axis varies fastest). */
export function readPlan(file: string, pruneOptions: Options): SweepRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--plan ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let plan: unknown;
  try {
    plan = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'} (${(e as Error).message.split('\n')[0]})`);
  }
  if (plan === null || typeof plan !== 'object' || Array.isArray(plan)) throw new UsageError(`${file}: a plan is an object of axes (${AXIS_NAMES.join(', ')})`);
  const p = plan as Record<string, unknown>;
  const unknown = Object.keys(p).filter((k) => !AXIS_NAMES.includes(k));
  if (unknown.length) throw new UsageError(`${file}: unknown key '${unknown[0]}'; a plan has ${AXIS_NAMES.join(', ')}`);
  const common = p.options === undefined ? {} : entryValues(file, 'options', p.options, undefined, pruneOptions);
  let rows: { parts: string[]; values: Values }[] = [{ parts: [], values: common }];
  for (const [axis, flag] of AXES) {
    const list = p[axis];
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.length) throw new UsageError(`${file}: '${axis}' must be a non-empty list`);
    const entries = list.map((e, i) => {
      const values = entryValues(file, `${axis}[${i}]`, e, flag, pruneOptions);
      return { values, part: slug(e, values) };
    });
    rows = rows.flatMap((r) => entries.map((e) => ({ parts: [...r.parts, e.part], values: { ...r.values, ...e.values } })));
  }
  const width = String(rows.length - 1).length;
  return rows.map((r, i) => ({ id: `${String(i).padStart(width, '0')}-${r.parts.join('-') || 'row'}`, values: r.values }));
}

/**
 * The rows of shard `index` of `count`: rows by estimated cost, largest first (ties in plan order), each
 * to the shard with the least cost so far (ties: the lowest index); returned in plan order. Deterministic
 * for a plan, and every row in exactly one shard.
 */
export function shardRows(rows: SweepRow[], index: number, count: number): SweepRow[] {
  const load = new Array<number>(count).fill(0);
  const owner = new Map<string, number>();
  const order = rows.map((r, i) => ({ r, i })).sort((a, b) => (b.r.cost ?? 1) - (a.r.cost ?? 1) || a.i - b.i);
  for (const { r } of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s] < load[best]) best = s;
    load[best] += r.cost ?? 1;
    owner.set(r.id, best);
  }
  return rows.filter((r) => owner.get(r.id) === index);
}

/** --shard I/N, or --shards N with I from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's pod); 0/1 without either. */
export function shardOf(shard: string | undefined, shards: string | undefined, env: NodeJS.ProcessEnv): { index: number; count: number } {
  if (shard !== undefined && shards !== undefined) throw new UsageError('give --shard I/N, or --shards N (the index from JOB_COMPLETION_INDEX), not both');
  if (shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(shard);
    if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard must be I/N with 0 <= I < N, got '${shard}'`);
    return { index: Number(m[1]), count: Number(m[2]) };
  }
  if (shards !== undefined) {
    const count = Number(shards);
    if (!Number.isInteger(count) || count < 1) throw new UsageError(`--shards must be a positive integer, got '${shards}'`);
    const text = env.JOB_COMPLETION_INDEX;
    if (text === undefined) throw new UsageError('--shards N takes the shard index from JOB_COMPLETION_INDEX (set in each pod of a Kubernetes Indexed Job); it is not set: give --shard I/N');
    const index = Number(text);
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new UsageError(`JOB_COMPLETION_INDEX '${text}' is not an index below --shards ${count}`);
    return { index, count };
  }
  return { index: 0, count: 1 };
}
