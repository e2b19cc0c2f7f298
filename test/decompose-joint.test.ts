// Pruning and decomposition planned together against one budget: on a LeNet-5 whose fc1 is exactly rank
// 8, the planner splits fc1 at rank 8 (nothing lost) where channel pruning alone must cut neurons, and the
// split model pruned to the budget meets it; `prune --decompose` as a user runs it.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { presets } from '../src/accel/presets.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { truncatedSvd } from '../src/decompose/factorize.js';
import { planPruneDecompose } from '../src/plan/prune-and-decompose.js';
import { NativeBackend } from '../src/native/backend.js';
import { CostModel } from '../src/plan/budget.js';
import { toBudget } from '../src/plan/to-budget.js';
import { ChannelPruner } from '../src/prune/pruner.js';
import type { RunReport } from '../src/report/report.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { cli } from './helpers/cli.js';

describe('pruning and decomposition against one budget', () => {
  it('splits a layer of low rank where pruning alone would cut it, and the split model pruned to the budget meets it', async () => {
    const be = await NativeBackend.create();
    try {
      const { model } = await loadCheckpoint(new URL('../models/lenet5-mnist.safetensors', import.meta.url).pathname);
      // fc1 (120 x 400) replaced by its rank-8 truncation: a split at rank 8 loses nothing more.
      const [m, n, r] = [120, 400, 8];
      const t = truncatedSvd(model.params.get('fc1.weight')!, m, n, r);
      const low = new Float32Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { let s = 0; for (let k = 0; k < r; k++) s += t.a[i * r + k] * t.b[k * n + j]; low[i * n + j] = s; }
      const lowRank = { ...model, params: new Map(model.params).set('fc1.weight', low) };
      const data = subset(loadMnist('train'), 2000);
      const costs = new CostModel(presets['systolic-16x16'], { metric: 'latency' });
      const plan = await planPruneDecompose(be, lowRank, { budget: { metric: 'latency', fraction: 0.5 }, costs, importance: 'l1', data });
      expect(plan.ranks.get('fc1')).toEqual([8]);
      expect(plan.loss).toBeLessThan(0.6 * plan.pruningLoss);
      expect(plan.steps[0].layer).toBe('fc1');
      const pruner = new ChannelPruner(be, plan.model, { importance: 'l1', allocation: toBudget(plan.model.spec, { metric: 'latency', value: plan.budget }, { costs }) });
      await pruner.step();
      expect(await costs.cost((await pruner.compact()).spec)).toBeLessThanOrEqual(plan.budget * (1 + 1e-9));
      expect(plan.budget).toBeCloseTo(0.5 * (await costs.cost(model.spec)), 6);
    } finally {
      be.destroy();
    }
  }, 180_000);

  it('prune --decompose plans, reports against the original model and meets the budget; usage errors exit 2', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wgprune-joint-'));
    const r = await cli(['prune', '--model', 'default', '--budget', 'latency=0.6', '--decompose', '--max-steps', '10', '--train-limit', '1000', '--test-limit', '300', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report: RunReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    // The splits the report names are the pruned model's: each split layer's parts are in its checkpoint, every other layer is whole.
    const pruned = await loadCheckpoint(join(out, 'pruned.safetensors'));
    const names = new Set(pruned.model.spec.nodes.map((n) => n.name));
    for (const layer of ['conv1', 'conv2', 'fc1', 'fc2']) expect(names.has(`${layer}.in`), layer).toBe(layer in report.splits!.split);
    // The losses recorded per step are the planner's trace: each accepted split lowered the loss, the last is the judged loss.
    const losses = [report.splits!.pruningLoss, ...report.splits!.steps.map((st) => st.loss)];
    losses.slice(1).forEach((l, i) => expect(l).toBeLessThan(losses[i]));
    expect(losses.at(-1)).toBe(report.splits!.judgedLoss);
    expect(report.pruned.cycles).toBeLessThanOrEqual(0.6 * report.splits!.original.cycles * (1 + 1e-9));
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/Pruning and decomposition/);
    for (const [args, message] of [
      [['--ratio', '0.5', '--decompose'], /--decompose plans layer splits with the channels against a budget: add --budget/],
      [['--budget', 'latency=0.5', '--decompose-method', 'cp'], /--decompose-method chooses the splits of --decompose: add --decompose/],
      [['--budget', 'latency=0.5', '--decompose', '--bits', '4,8'], /--decompose and --bits do not combine yet/],
      [['--budget', 'latency=0.5', '--decompose', '--sweep', '0.7'], /--sweep and --decompose do not combine yet/],
    ] as const) {
      const bad = await cli(['prune', '--model', 'default', ...args, '--out', out]);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
  }, 180_000);
});
