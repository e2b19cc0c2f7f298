// `wgprune sweep --plan sweep.yaml --out OUT [--shard I/N | --shards N] [--list]`: the plan's rows, each a
// `wgprune prune` run into OUT/rows/<row-id>/, this shard's share of them. A row is complete when its
// row.json is there (written last, atomically): complete rows are skipped, a row killed mid-way continues
// from the resume.safetensors it saves every --checkpoint-every steps. OUT/plan.json records the rows
// (every shard writes the same), so that `wgprune merge OUT` knows which are missing.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate } from '../accel/cost.js';
import { modelWorkloads } from '../accel/model-workload.js';
import { DEFAULT_PRESET } from '../accel/presets.js';
import { DataError } from '../data/dataset.js';
import type { RunReport } from '../report/report.js';
import type { RowResult } from '../report/sweep-report.js';
import { writeFileAtomic } from '../train/safetensors.js';
import { type Context, output } from './context.js';
import { UsageError, loadAccelerator, loadModel } from './inputs.js';
import { type Values, int, str } from './options.js';
import { PRUNE_OPTIONS, pruneCommand } from './prune-command.js';
import { type SweepRow, readPlan, shardOf, shardRows } from './sweep-plan.js';

export interface SweepPlanFile { rows: SweepRow[] }

/** Training images a row's epochs go over when it does not say (the built-in sets' 60,000), for the estimate. */
const DEFAULT_TRAIN_IMAGES = 60000;

/**
 * A row's work, for balancing shards: the dense model's simulated cycles on the row's accelerator times
 * the images it goes through (fine-tuning steps x batch x 3 for forward and backward, twice the test
 * images for the dense and pruned evaluations), twice with --compare-uniform. Only ratios matter.
 */
async function estimateCost(v: Values, cycles: (model: string, accel: string) => Promise<number>): Promise<number> {
  const batch = int(v, 'batch-size', 64)!;
  const limit = int(v, 'train-limit');
  const steps = int(v, 'max-steps') ?? int(v, 'epochs', 1)! * Math.ceil((limit ?? DEFAULT_TRAIN_IMAGES) / batch);
  const testImages = int(v, 'test-limit', 10000)!;
  const images = steps * batch * 3 + testImages * 2;
  return (await cycles(str(v, 'model') ?? 'default', str(v, 'accel') ?? DEFAULT_PRESET)) * images * (v['compare-uniform'] ? 2 : 1);
}

/** The plan's rows with their cost estimates (each model and accelerator simulated once). */
export async function plannedRows(file: string): Promise<SweepRow[]> {
  const rows = readPlan(file, PRUNE_OPTIONS);
  const cache = new Map<string, Promise<number>>();
  const cycles = (model: string, accel: string) => {
    const key = `${model}\n${accel}`;
    if (!cache.has(key)) {
      cache.set(key, (async () => {
        const { model: m } = await loadModel(model, [1, 28, 28], 10, 1);
        return (await evaluate(loadAccelerator(accel, DEFAULT_PRESET), modelWorkloads(m.spec))).total.cycles;
      })());
    }
    return cache.get(key)!;
  };
  for (const r of rows) r.cost = await estimateCost(r.values, cycles);
  return rows;
}

/** OUT/plan.json: written once; a different plan into the same OUT is refused (its rows would mix). */
async function recordPlan(out: string, rows: SweepRow[]): Promise<void> {
  const file = join(out, 'plan.json');
  const text = `${JSON.stringify({ rows } satisfies SweepPlanFile, null, 2)}\n`;
  if (existsSync(file)) {
    const before = (JSON.parse(readFileSync(file, 'utf8')) as SweepPlanFile).rows;
    const same = before.length === rows.length && before.every((r, i) => r.id === rows[i].id && JSON.stringify(r.values) === JSON.stringify(rows[i].values));
    if (!same) throw new UsageError(`--out ${out} holds the rows of another plan (${file}); give another --out`);
    return;
  }
  mkdirSync(out, { recursive: true });
  await writeFileAtomic(file, text);
}

/** A finished row's record, from the report prune wrote. */
function rowResult(row: SweepRow, dir: string): RowResult {
  const r = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as RunReport;
  return {
    id: row.id, values: row.values, model: r.model.name, accelerator: r.accelerator.name, budget: r.budget, dense: r.dense, pruned: r.pruned, uniform: r.uniform,
    // Convolutions and linear layers: a pool has no channels of its own.
    kept: Object.fromEntries(r.layers.filter((l) => l.channelsBefore > 0).map((l) => [l.name, l.channelsAfter])),
    backend: r.backend ?? '', seconds: r.seconds.total,
  };
}

export async function sweepCommand(c: Context): Promise<number> {
  const v = c.values;
  const planFile = str(v, 'plan');
  if (!planFile) throw new UsageError('sweep needs --plan FILE (JSON or YAML)');
  const out = str(v, 'out') ?? 'out/sweep';
  const rows = await plannedRows(planFile);
  // --list shows every shard's rows: it needs no index of its own.
  const { index, count } = shardOf(str(v, 'shard'), str(v, 'shards'), v.list ? { JOB_COMPLETION_INDEX: '0', ...process.env } : process.env);
  const mine = shardRows(rows, index, count);
  if (v.list) {
    const runOnly = ['out', 'checkpoint-every', 'threads', 'backend'].filter((k) => v[k] !== undefined);
    if (runOnly.length) throw new UsageError(`--list prints the rows and runs nothing; ${runOnly.map((k) => `--${k}`).join(', ')} would do nothing: drop ${runOnly.length > 1 ? 'them' : 'it'}`);
    const total = rows.reduce((s, r) => s + r.cost!, 0);
    const shardOfRow = new Map(Array.from({ length: count }, (_, s) => shardRows(rows, s, count).map((r) => [r.id, s] as const)).flat());
    output(c, rows.map((r) => ({ ...r, share: r.cost! / total, shard: shardOfRow.get(r.id) })), [
      `${rows.length} rows; cost is each row's share of the plan's estimated work (simulated dense cycles x images trained and evaluated)${count > 1 ? `; shard of ${count}` : ''}`,
      ...rows.map((r) => `${r.id.padEnd(Math.max(...rows.map((x) => x.id.length)))}  ${(100 * r.cost! / total).toFixed(2).padStart(6)}%${count > 1 ? `  shard ${shardOfRow.get(r.id)}` : ''}`),
    ].join('\n'));
    return 0;
  }
  const threads = int(v, 'threads');
  if (threads !== undefined) {
    if (threads < 1) throw new UsageError('--threads must be a positive integer');
    process.env.WGPRUNE_THREADS = String(threads); // the native backend each row opens
  }
  const every = int(v, 'checkpoint-every', 25)!;
  if (every < 1) throw new UsageError('--checkpoint-every must be a positive integer');
  await recordPlan(out, rows);
  const done: string[] = [], skipped: string[] = [], failed: string[] = [];
  for (const [k, row] of mine.entries()) {
    const dir = join(out, 'rows', row.id);
    if (existsSync(join(dir, 'row.json'))) { skipped.push(row.id); continue; }
    const resuming = existsSync(join(dir, 'resume.safetensors'));
    process.stderr.write(`wgprune: shard ${index}/${count}: row ${k + 1}/${mine.length} ${row.id}${resuming ? ' (continuing from its checkpoint)' : ''}\n`);
    const values: Values = resuming ? { resume: true, out: dir } : { ...row.values, out: dir, 'checkpoint-every': String(every) };
    if (v.backend !== undefined) values.backend = v.backend;
    try {
      const code = await pruneCommand({ ...c, values, json: false, toStderr: true }); // the row's summary is a log line here
      if (code === 130) return 130; // stopped (Ctrl-C): the row is saved; run the shard again to continue
      await writeFileAtomic(join(dir, 'row.json'), `${JSON.stringify(rowResult(row, dir), null, 2)}\n`);
      done.push(row.id);
    } catch (e) {
      if (e instanceof UsageError || e instanceof DataError) throw new UsageError(`row ${row.id}: ${(e as Error).message}`);
      process.stderr.write(`wgprune: row ${row.id} failed: ${(e as Error).message}\n`);
      failed.push(row.id);
    }
  }
  output(c, { shard: index, shards: count, done, skipped, failed }, `shard ${index}/${count}: ${done.length} rows run, ${skipped.length} complete already, ${failed.length} failed${failed.length ? ` (${failed.join(', ')}; run the shard again to retry them)` : ''}; merge with: wgprune merge ${out}`);
  return failed.length ? 1 : 0;
}
