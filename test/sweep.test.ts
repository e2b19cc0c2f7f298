// Sweeps beyond one machine: a plan's rows split into shards (balanced, deterministic, each row once),
// shards run as separate processes with JOB_COMPLETION_INDEX as a Kubernetes Indexed Job sets it, one
// killed mid-row with SIGKILL and run again (it continues from the row's checkpoint), and the merge of
// their rows equal to an unsharded sweep's, row for row; a partial merge names the missing rows. The
// Kubernetes manifests validate against the API's schema (kubernetes-models).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job } from 'kubernetes-models/batch/v1';
import { PersistentVolumeClaim } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { PRUNE_OPTIONS } from '../src/cli/prune-command.js';
import { type SweepRow, readPlan, shardOf, shardRows } from '../src/cli/sweep-plan.js';
import type { SweepResults } from '../src/report/sweep-report.js';
import { Rng } from '../src/random.js';
import { cli } from './helpers/cli.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'wgprune-sweep-'));
const ROOT = new URL('..', import.meta.url).pathname;

/** LeNet-5, two presets, three budgets, 40 fine-tuning steps each (aware and uniform). */
const PLAN = `models: [default]
accelerators: [systolic-16x16, systolic-32x32]
budgets: [latency=0.7, latency=0.5, latency=0.3]
fine-tune:
  - { name: ft40, max-steps: 40, batch-size: 32 }
options: { train-limit: 2000, test-limit: 300, compare-uniform: true }
`;
/** Evaluation op by op: the compiled engine is kept where it times faster, which two runs may decide differently (last digits of the loss). */
const ENV = { WGPRUNE_COMPILED_INFERENCE: 'off' };

const results = (out: string): SweepResults => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
/** A row without its wall time. */
const measured = (r: SweepResults['rows'][number]) => ({ ...r, seconds: undefined });

describe('sweep', () => {
  it('shards cover every row exactly once for N = 1..7, balanced by cost, the same split every time', () => {
    const rng = new Rng(4);
    const rows: SweepRow[] = Array.from({ length: 23 }, (_, i) => ({ id: `r${i}`, values: {}, cost: rng.int(1, 100) }));
    const total = rows.reduce((s, r) => s + r.cost!, 0);
    for (let n = 1; n <= 7; n++) {
      const shards = Array.from({ length: n }, (_, i) => shardRows(rows, i, n));
      expect(shards.flat().map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort());
      expect(Array.from({ length: n }, (_, i) => shardRows([...rows], i, n))).toEqual(shards); // stable
      // Greedy largest-first: no shard exceeds the mean by more than the largest row.
      for (const s of shards) expect(s.reduce((a, r) => a + r.cost!, 0)).toBeLessThanOrEqual(total / n + Math.max(...rows.map((r) => r.cost!)));
      for (const s of shards) expect(s.map((r) => rows.indexOf(r))).toEqual([...s.map((r) => rows.indexOf(r))].sort((a, b) => a - b)); // plan order
    }
    expect(shardOf(undefined, '3', { JOB_COMPLETION_INDEX: '2' })).toEqual({ index: 2, count: 3 });
    expect(shardOf('1/4', undefined, {})).toEqual({ index: 1, count: 4 });
    expect(() => shardOf(undefined, '3', {})).toThrow(/JOB_COMPLETION_INDEX/);
    expect(() => shardOf(undefined, '3', { JOB_COMPLETION_INDEX: '3' })).toThrow(/not an index below --shards 3/);
    expect(() => shardOf('4/4', undefined, {})).toThrow(/0 <= I < N/);
  });

  it('plans in JSON or YAML: the cross product of the axes, entries that carry their own flags; mistakes named, exit 2', async () => {
    const dir = tmp();
    const yaml = join(dir, 'p.yaml');
    writeFileSync(yaml, 'models:\n  - { name: a, model: default, data: mnist }\n  - { name: b, model: lenet5, data: fashion-mnist }\nbudgets: [latency=0.5, energy=0.4]\nseeds: [1, 2]\noptions: { kd: true, test-limit: 100 }\n');
    const rows = readPlan(yaml, PRUNE_OPTIONS);
    expect(rows.map((r) => r.id)).toEqual(['0-a-latency=0.5-1', '1-a-latency=0.5-2', '2-a-energy=0.4-1', '3-a-energy=0.4-2', '4-b-latency=0.5-1', '5-b-latency=0.5-2', '6-b-energy=0.4-1', '7-b-energy=0.4-2']);
    expect(rows[5].values).toEqual({ kd: true, 'test-limit': '100', model: 'lenet5', data: 'fashion-mnist', budget: 'latency=0.5', seed: '2' });
    const json = join(dir, 'p.json');
    writeFileSync(json, JSON.stringify({ models: [{ name: 'a', model: 'default', data: 'mnist' }, { name: 'b', model: 'lenet5', data: 'fashion-mnist' }], budgets: ['latency=0.5', 'energy=0.4'], seeds: [1, 2], options: { kd: true, 'test-limit': 100 } }));
    expect(readPlan(json, PRUNE_OPTIONS)).toEqual(rows);
    const bad = async (text: string, message: RegExp) => {
      writeFileSync(join(dir, 'bad.yaml'), text);
      const r = await cli(['sweep', '--plan', join(dir, 'bad.yaml'), '--list']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    await bad('models: [default]\nbudget: [latency=0.5]\n', /bad\.yaml: unknown key 'budget'; a plan has models, data/);
    await bad('models: [default]\noptions: { out: x }\n', /bad\.yaml: options: 'out' is not a prune flag a sweep row can set \(the sweep sets it\)/);
    await bad('models: [default]\nfine-tune: [{ kd: 3 }]\n', /bad\.yaml: fine-tune\[0\]: 'kd' is a switch/);
    await bad('models: [default\n', /bad\.yaml: not valid YAML/);
    await bad('budgets: []\n', /bad\.yaml: 'budgets' must be a non-empty list/);
    const listing = await cli(['sweep', '--plan', yaml, '--list', '--out', dir, '--threads', '1']);
    expect(listing.code).toBe(2);
    expect(listing.stderr).toMatch(/--list prints the rows and runs nothing; --out, --threads would do nothing: drop them/);
  });

  it('three shards as processes, one killed mid-row and run again: the merge equals an unsharded sweep row for row; a partial merge names what is missing', async () => {
    const dir = tmp();
    const plan = join(dir, 'sweep.yaml');
    writeFileSync(plan, PLAN);
    const [whole, sharded] = [join(dir, 'whole'), join(dir, 'sharded')];
    const all = await cli(['sweep', '--plan', plan, '--out', whole, '--checkpoint-every', '10'], { env: ENV });
    expect(all.code, all.stderr).toBe(0);
    expect((await cli(['merge', whole, '--complete'])).code).toBe(0);
    const expected = results(whole);
    expect(expected.rows).toHaveLength(6);
    expect(expected.missing).toEqual([]);
    // --list shows each row's shard; the shards run as an Indexed Job's pods would.
    const listed = JSON.parse((await cli(['sweep', '--plan', plan, '--shards', '3', '--list', '--json'])).stdout) as (SweepRow & { shard: number })[];
    let killed = false;
    const shard = (i: number, kill = false) => cli(['sweep', '--plan', plan, '--out', sharded, '--shards', '3', '--checkpoint-every', '10'], {
      env: { ...ENV, JOB_COMPLETION_INDEX: String(i) },
      onStderr: (text, child) => {
        if (kill && !killed && /fine-tune: step (2\d|3\d)\/40/.test(text)) {
          killed = true;
          child.kill('SIGKILL');
        }
      },
    });
    const runs = await Promise.all([shard(0), shard(1, true), shard(2)]);
    expect(killed).toBe(true);
    expect(runs[1].code).toBe(null); // killed
    expect(runs[0].code, runs[0].stderr).toBe(0);
    expect(runs[2].code, runs[2].stderr).toBe(0);
    // A partial merge: written, the missing rows named (shard 1's unfinished ones), exit 0 unless --complete.
    const partial = await cli(['merge', sharded]);
    expect(partial.code).toBe(0);
    const missing = results(sharded).missing;
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.every((id) => listed.find((r) => r.id === id)!.shard === 1)).toBe(true);
    expect(partial.stderr).toContain(`rows missing: ${missing.join(', ')}`);
    expect((await cli(['merge', sharded, '--complete'])).code).toBe(1);
    expect((await cli(['merge', sharded, '--backend', 'native'])).stderr).toMatch(/merge reads the rows' records and runs no model: drop --backend/);
    expect((await cli(['merge', join(dir, 'nowhere')])).code).toBe(2);
    // Run again, the killed shard continues its row from the last checkpoint and skips what finished.
    const again = await shard(1);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/\(continuing from its checkpoint\)/);
    const steps = [...again.stderr.matchAll(/fine-tune: step (\d+)\/40/g)].map((m) => Number(m[1]));
    expect(steps[0]).toBeGreaterThan(10);
    expect((await cli(['merge', sharded, '--complete'])).code).toBe(0);
    const merged = results(sharded);
    expect(merged.rows.map((r) => r.id)).toEqual(expected.rows.map((r) => r.id));
    expect(merged.rows.map(measured)).toEqual(expected.rows.map(measured)); // kept channels, cycles, accuracies, losses
    // Merging again changes nothing.
    const csv = readFileSync(join(sharded, 'results.csv'), 'utf8');
    await cli(['merge', sharded]);
    expect(readFileSync(join(sharded, 'results.csv'), 'utf8')).toBe(csv);
    expect(readFileSync(join(sharded, 'report.html'), 'utf8')).toMatch(/accelerator-aware/);
  }, 600_000);

  it('the Kubernetes manifests validate against the API schema, shard as the sweep expects, and run the CLI of the container', () => {
    const docs = (file: string) => parseAllDocuments(readFileSync(join(ROOT, 'deploy', file), 'utf8')).map((d) => d.toJS());
    const [pvc, job] = docs('sweep-job.yaml');
    const [merge] = docs('merge-job.yaml');
    new PersistentVolumeClaim(pvc).validate();
    new Job(job).validate();
    new Job(merge).validate();
    // The schema is checked, not skipped: a field of the wrong type fails.
    expect(() => new Job({ ...job, spec: { ...job.spec, completions: 'four' } }).validate()).toThrow(/completions/);
    const spec = job.spec;
    expect(spec.completionMode).toBe('Indexed');
    const container = spec.template.spec.containers[0];
    expect(container.args.slice(0, 1)).toEqual(['sweep']);
    expect(Number(container.args[container.args.indexOf('--shards') + 1])).toBe(spec.completions);
    expect(spec.backoffLimitPerIndex).toBeGreaterThan(0);
    expect(spec.template.spec.restartPolicy).toBe('Never');
    expect(spec.podFailurePolicy.rules).toContainEqual({ action: 'FailIndex', onExitCodes: { containerName: container.name, operator: 'In', values: [2] } });
    expect(container.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(spec.template.spec.volumes.find((v: { name: string }) => v.name === 'out').persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
    const mergeContainer = merge.spec.template.spec.containers[0];
    expect(mergeContainer.args[0]).toBe('merge');
    expect(mergeContainer.args[1]).toBe(container.args[container.args.indexOf('--out') + 1]);
    // The image's entry point is the package's CLI.
    const dockerfile = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
    const entry = /^ENTRYPOINT \["node", "\/opt\/wgprune\/(.+)"\]$/m.exec(dockerfile)![1];
    expect(entry).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).bin.wgprune);
    expect(dockerfile).toMatch(/NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics/);
    // The shipped plan reads: 2 models x 2 presets x 3 budgets.
    expect(readPlan(join(ROOT, 'deploy', 'sweep.yaml'), PRUNE_OPTIONS)).toHaveLength(12);
  });
});
