// `wgprune merge OUT [--complete]`: whatever rows of a sweep have finished (OUT/rows/<id>/row.json), in
// the plan's order (OUT/plan.json), merged into OUT/results.json, results.csv and report.html; the
// missing rows are named. Idempotent and independent of the order rows finished in; exit 1 with
// --complete while rows are missing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RowResult, type SweepResults, renderSweepHtml, resultsCsv } from '../report/sweep-report.js';
import { type Context, output } from './context.js';
import { UsageError } from './inputs.js';
import { writeOutputs } from './outputs.js';
import type { SweepPlanFile } from './sweep-command.js';

export function readResults(out: string): SweepResults {
  const planFile = join(out, 'plan.json');
  if (!existsSync(planFile)) throw new UsageError(`${out}: no plan.json: not the --out of a sweep (wgprune sweep --plan F --out ${out})`);
  let plan: SweepPlanFile;
  try {
    plan = JSON.parse(readFileSync(planFile, 'utf8')) as SweepPlanFile;
  } catch (e) {
    throw new Error(`${planFile}: not readable (${(e as Error).message})`);
  }
  const rows: RowResult[] = [];
  const missing: string[] = [];
  for (const { id } of plan.rows) {
    const file = join(out, 'rows', id, 'row.json');
    if (!existsSync(file)) { missing.push(id); continue; }
    try {
      rows.push(JSON.parse(readFileSync(file, 'utf8')) as RowResult);
    } catch (e) {
      throw new Error(`${file}: not readable (${(e as Error).message}); delete it to run the row again`);
    }
  }
  return { rows, missing };
}

export async function mergeCommand(c: Context, folders: string[]): Promise<number> {
  if (folders.length !== 1) throw new UsageError(folders.length ? `merge takes one sweep folder, got ${folders.length}: ${folders.join(' ')}` : 'merge needs the sweep\'s folder: wgprune merge OUT');
  if (c.values.backend !== undefined) throw new UsageError('merge reads the rows\' records and runs no model: drop --backend');
  const out = folders[0];
  const results = readResults(out);
  await writeOutputs(out, { 'results.json': `${JSON.stringify(results, null, 2)}\n`, 'results.csv': resultsCsv(results), 'report.html': renderSweepHtml(results) });
  const { rows, missing } = results;
  if (missing.length) process.stderr.write(`wgprune: ${missing.length} of ${rows.length + missing.length} rows missing: ${missing.join(', ')}\n`);
  output(c, { files: ['results.json', 'results.csv', 'report.html'].map((f) => join(out, f)), rows: rows.length, missing }, `merged ${rows.length} rows into ${join(out, 'results.json')}, results.csv, report.html${missing.length ? `; ${missing.length} missing` : ''}`);
  return missing.length && c.values.complete ? 1 : 0;
}
