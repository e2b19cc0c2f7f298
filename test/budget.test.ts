// Pruning to an accelerator budget: the allocation meets the budget closely, never prunes channels that
// buy nothing, the full pipeline's compacted model is within budget by an independent evaluate(), and
// bad budgets fail with the smallest achievable cost.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../src/accel/cost.js';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { preset } from '../src/accel/presets.js';
import { gpuScheduler } from '../src/schedulers/webgpu.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { GraphBuilder, type ModelSpec } from '../src/model/graph.js';
import { initModel } from '../src/model/model.js';
import { lenet5, mobilenet, resnet20 } from '../src/model/zoo.js';
import { allocateToBudget } from '../src/plan/allocate-budget.js';
import { type BudgetMetric, CostModel, budgetSteps, type KeptCounts, metricOf, parseBudget, specWithCounts } from '../src/plan/budget.js';
import { channelGroups } from '../src/prune/dependency.js';
import { pruneToBudget, pruneUniformToBudget, uniformRatioForBudget } from '../src/plan/prune-to-budget.js';
import { Rng } from '../src/random.js';
import { train } from '../src/train/trainer.js';
import { webgpu } from './helpers/backends.js';

function randomScores(spec: ModelSpec, seed: number) {
  const rng = new Rng(seed);
  return new Map(channelGroups(spec).filter((g) => g.prunable).map((g) => [g.id, Float64Array.from({ length: g.channels }, () => rng.uniform())]));
}

/** Allocates and checks: within budget, and every pruned group's next channel would break it. */
async function checkAllocation(spec: ModelSpec, presetName: string, metric: BudgetMetric, fraction: number) {
  const groups = channelGroups(spec);
  const costs = new CostModel(preset(presetName), { metric });
  const dense = await costs.cost(spec);
  const budget = fraction * dense;
  const a = await allocateToBudget(spec, groups, randomScores(spec, 7), costs, budget);
  const compacted = specWithCounts(spec, groups, a.counts);
  // Independent of the cache: evaluate() on the compacted spec.
  const simulated = (await evaluate(preset(presetName), modelWorkloads(compacted), { objective: costs.objective })).layers.reduce((s, l) => s + metricOf(l, metric), 0);
  expect(simulated).toBe(a.cost);
  expect(a.cost).toBeLessThanOrEqual(budget);
  const label = `${spec.name} ${presetName} ${metric}=${fraction}`;
  for (const g of groups.filter((x) => x.prunable)) {
    const k = a.counts.get(g.id)!;
    if (k === g.channels) continue;
    const more: KeptCounts = new Map(a.counts).set(g.id, k + 1);
    expect(await costs.cost(specWithCounts(spec, groups, more)), `${label}: group ${g.producers} could keep ${k + 1}`).toBeGreaterThan(budget);
  }
  return { dense, budget, cost: a.cost, label };
}

describe('allocation to a budget', () => {
  const cases: [ModelSpec, string, BudgetMetric, number][] = [
    [lenet5(), 'systolic-16x16', 'latency', 0.5],
    [lenet5(), 'systolic-32x32', 'energy', 0.7],
    [lenet5(), 'edge-8x8', 'latency', 0.3],
    [resnet20([3, 8, 8]), 'systolic-16x16', 'latency', 0.5],
    [resnet20([3, 8, 8]), 'eyeriss', 'dram', 0.5],
    [mobilenet([3, 8, 8]), 'systolic-32x32', 'latency', 0.3],
    [mobilenet([3, 8, 8]), 'systolic-16x16', 'macs', 0.5],
  ];
  it.each(cases)('%#: within budget, and within one staircase step of it: no pruned group could keep one more channel', async (spec, p, metric, fraction) => {
    await checkAllocation(spec, p, metric, fraction);
  });

  it('on the latency staircase, the cut lands on the step edge: the most channels the budget allows', async () => {
    // One conv of 40 filters feeding a classifier: on an 8x8 os array the latency jumps every 8 filters
    // (a new fold) and is nearly flat in between (the classifier's K grows by one).
    const g = new GraphBuilder('staircase', [8, 12, 12], 10);
    const spec = g.build(g.linear(g.flatten(g.gap(g.relu(g.conv('input', { out: 40, kernel: 3, padding: 1 })))), 10));
    const groups = channelGroups(spec);
    const group = groups.find((x) => x.prunable)!;
    const costs = new CostModel(preset('edge-8x8'), { metric: 'latency' });
    const latency: number[] = [];
    for (let k = 1; k <= 40; k++) latency.push(await costs.cost(specWithCounts(spec, groups, new Map([[group.id, k]]))));
    expect(latency[8] - latency[7]).toBeGreaterThan(20 * (latency[7] - latency[6])); // a step edge at 8 -> 9
    for (const budget of [...latency.slice(0, 39), ...latency.slice(1).map((v, i) => (v + latency[i]) / 2)]) {
      const a = await allocateToBudget(spec, groups, randomScores(spec, 3), costs, budget);
      const best = Math.max(...latency.map((v, k) => (v <= budget ? k + 1 : 0)));
      expect(a.counts.get(group.id), `budget ${budget}`).toBe(best);
    }
  });

  it('an infeasible budget names the smallest achievable cost; budgets parse with units', async () => {
    const spec = lenet5();
    const costs = new CostModel(preset('systolic-16x16'), { metric: 'latency' });
    await expect(allocateToBudget(spec, channelGroups(spec), randomScores(spec, 1), costs, 10)).rejects.toThrow(/cannot be met; the smallest achievable cost is \d+/);
    expect(parseBudget('latency=0.5')).toEqual({ metric: 'latency', fraction: 0.5 });
    expect(parseBudget('energy=3uJ')).toEqual({ metric: 'energy', value: 3e6 });
    expect(parseBudget('latency=0.02ms', preset('systolic-16x16'))).toEqual({ metric: 'latency', value: 10000 });
    expect(() => parseBudget('latency=2')).toThrow(/fraction.*\(0, 1\]/);
    expect(() => parseBudget('speed=0.5')).toThrow(/unknown metric 'speed'/);
    expect(() => parseBudget('energy=5cycles')).toThrow(/unit 'cycles' does not fit energy/);
    expect(budgetSteps(100, 40, 3)).toEqual([80, 60, 40]);
    expect(await uniformRatioForBudget(spec, costs, 0.999 * (await costs.cost(spec)))).toBeGreaterThan(0);
  });
});

describe('pruning to a budget on the device', async () => {
  const gpu = await webgpu();
  const data = subset(loadMnist('train'), 512);
  const fine = { epochs: 1, batchSize: 32, optimizer: 'adam' as const, learningRate: 1e-3, seed: 1, logEvery: 8, maxSteps: 8 };

  it('iterative, distilled: the compacted model is within budget (GPU scheduler), like the uniform baseline', async () => {
    const dense = (await train(gpu, initModel(lenet5(), 1), data, { ...fine, maxSteps: 30 })).model;
    const o = {
      criterion: 'l1', budget: parseBudget('latency=0.5'), accelerator: preset('systolic-16x16'), schedule: gpuScheduler(gpu.ctx), steps: 2,
      fineTune: { data, options: { ...fine, distill: { temperature: 4, alpha: 0.5 } }, teacher: dense },
    };
    const budgets: number[] = [];
    const r = await pruneToBudget(gpu, dense, { ...o, onStep: (_, b) => budgets.push(b) });
    expect(budgets[1]).toBeCloseTo(r.denseValue * 0.5, 6);
    expect(budgets[0]).toBeCloseTo(r.denseValue * 0.75, 6);
    const check = await evaluate(preset('systolic-16x16'), modelWorkloads(r.compact.spec));
    expect(check.total.cycles).toBe(r.cost);
    expect(r.cost).toBeLessThanOrEqual(0.5 * r.denseValue);
    for (const [name, mask] of r.masked.masks) mask.forEach((m, i) => { if (!m) expect(r.masked.params.get(name)![i]).toBe(0); });
    const u = await pruneUniformToBudget(gpu, dense, o);
    expect(u.uniformRatio).toBeGreaterThan(0);
    expect(u.cost).toBeLessThanOrEqual(0.5 * u.denseValue);
  });
});
