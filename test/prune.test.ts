// The channel-pruning pass on the real device: iterative pruning with fine-tuning between steps keeps
// pruned weights at exactly zero and ends in a compacted model that computes what the masked one does.
import { describe, expect, it } from 'vitest';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { initModel } from '../src/model/model.js';
import { lenet5, vggSmall } from '../src/model/zoo.js';
import { predict } from '../src/model/predict.js';
import { pruneChannels, scheduleRatios } from '../src/prune/prune.js';
import { type PruningHistory, prunedSpec, pruningHistory, replayPruning } from '../src/prune/history.js';
import { ChannelPruner, byRatio } from '../src/prune/pruner.js';
import { toBudget } from '../src/plan/to-budget.js';
import { OptionError, checkPruneChoices } from '../src/run/prune-options.js';
import { budgetJudge } from '../src/plan/budget-judge.js';
import { CostModel } from '../src/plan/budget.js';
import { preset } from '../src/accel/presets.js';
import { Rng } from '../src/random.js';
import { train } from '../src/train/trainer.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { cpu, toleranceRatio, webgpu } from './helpers/backends.js';

describe('channel pruning pass', async () => {
  const gpu = await webgpu();
  const data = subset(loadMnist('train'), 1024);
  const test = subset(loadMnist('test'), 500);

  it('iterative L1 pruning with fine-tuning: zeros stay zero, the report counts, compact equals masked', async () => {
    const fine = { epochs: 1, batchSize: 32, optimizer: 'adam' as const, learningRate: 1e-3, seed: 1, logEvery: 20, maxSteps: 20 };
    const dense = (await train(gpu, initModel(lenet5(), 1), data, { ...fine, maxSteps: 60 })).model;
    const steps: number[] = [];
    const r = await pruneChannels(gpu, dense, { criterion: 'l1', ratio: 0.5, schedule: { kind: 'iterative', steps: 2 }, fineTune: { data, options: fine }, onStep: (_, ratio) => steps.push(ratio) });
    expect(steps).toEqual([0.25, 0.5]);
    for (const [name, mask] of r.masked.masks) {
      const w = r.masked.params.get(name)!;
      mask.forEach((m, i) => { if (!m) expect(Object.is(w[i], 0), `${name}[${i}]`).toBe(true); });
    }
    expect(r.report.layers.find((l) => l.layer === 'conv2')).toMatchObject({ channelsBefore: 16, channelsAfter: 8 });
    expect(r.report.total.macsAfter).toBeLessThan(r.report.total.macsBefore * 0.5);
    const [a, b] = [await evaluateModel(gpu, r.masked, test), await evaluateModel(gpu, r.compact, test)];
    expect(b.accuracy).toBe(a.accuracy);
    expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-4);
  });

  it('schedules: one-shot, iterative, AGP (cubic, reaching the final ratio)', () => {
    expect(scheduleRatios({ kind: 'one-shot' }, 0.5)).toEqual([0.5]);
    const agp = scheduleRatios({ kind: 'agp', steps: 4 }, 0.8);
    expect(agp.at(-1)).toBeCloseTo(0.8, 12);
    expect(agp[0]).toBeCloseTo(0.8 * (1 - 0.75 ** 3), 12);
  });
});

describe('the pruner object (Torch-Pruning style)', () => {
  it('steps through a schedule with a user importance function; fine-tuning between steps stays with the caller', async () => {
    const be = cpu();
    const dense = initModel(lenet5(), 3);
    // Importance: the channel's index (a user's own function, no registry).
    const byIndex = async (g: { channels: number }) => Float64Array.from({ length: g.channels }, (_, c) => c);
    const pruner = new ChannelPruner(be, dense, { importance: byIndex, allocation: byRatio(0.5, { schedule: { kind: 'iterative', steps: 2 } }) });
    expect(pruner.totalSteps).toBe(2);
    const first = await pruner.step();
    const conv1 = pruner.groups[0];
    // Step 1 prunes about a quarter of conv1's 6 channels, the lowest indices; step 2 the rest of half.
    expect(first.removed.get(conv1.id)).toEqual([0, 1].slice(0, 6 - first.kept.get(conv1.id)!.length));
    const tuned = { ...pruner.model, params: new Map([...pruner.model.params].map(([k, v]) => [k, v.map((x) => x * 1.01)])) };
    pruner.update(tuned); // the caller's fine-tuned model
    const second = await pruner.step();
    expect(pruner.done).toBe(true);
    expect(second.kept.get(conv1.id)).toEqual([3, 4, 5]);
    for (const [id, gone] of second.removed) for (const c of gone) expect(first.kept.get(id) ?? [], `group ${id}`).toContain(c);
    expect(pruner.model.params.get('conv2.weight')![0]).toBe(tuned.params.get('conv2.weight')![0]); // the tuned weights carry on
    await expect(pruner.step()).rejects.toThrow(/all 2 steps are taken/);
    const compact = await pruner.compact();
    const x = new Rng(4).uniformArray(2 * 28 * 28);
    expect(toleranceRatio(await predict(be, compact, x, 2), await predict(be, pruner.model, x, 2), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it('a pruning history rebuilds the pruned architecture from the original model, and refuses another model', async () => {
    const be = cpu();
    const dense = initModel(lenet5(), 5);
    const pruner = new ChannelPruner(be, dense, { importance: 'l1', allocation: byRatio(0.4) });
    await pruner.step();
    const compact = await pruner.compact();
    const h: PruningHistory = JSON.parse(JSON.stringify(pruningHistory(dense.spec, pruner.groups, pruner.kept)));
    expect(prunedSpec(dense.spec, h)).toEqual(compact.spec);
    const replayed = await replayPruning(be, dense, h);
    for (const [k, v] of compact.params) expect(replayed.params.get(k), k).toEqual(v);
    expect(() => prunedSpec(initModel(lenet5([1, 32, 32]), 1).spec, h)).toThrow(/pruning history of 'lenet5' \(1x28x28 input\) does not fit/);
    expect(() => prunedSpec(vggSmall([1, 28, 28]), h)).toThrow(/model 'vgg-small' has no group conv1 of 6 channels/);
  });
});

describe('options a pruner cannot honour, and errors a judge must not hide', () => {
  const accelerator = preset('systolic-16x16');
  const model = initModel(lenet5(), 2);
  const budget = { metric: 'latency' as const, fraction: 0.6 };

  it('one check of the choices of a run, named by key for the library and by flag for the CLI', () => {
    const choices = { granularity: 'unstructured' as const, ratio: 0.5, budget };
    expect(() => checkPruneChoices(choices)).toThrow(/^budget applies to channel pruning; granularity unstructured takes ratio$/);
    expect(() => checkPruneChoices(choices, (k) => `--${k}`)).toThrow(/^--budget applies to channel pruning; --granularity unstructured takes --ratio$/);
    expect(() => checkPruneChoices({ granularity: 'channel', budget, bits: [4, 8], sweep: [0.5] })).toThrow(OptionError);
    expect(() => checkPruneChoices({ granularity: 'channel', budget, schedule: { kind: 'iterative', steps: 2 }, compareUniform: true })).not.toThrow();
  });

  it('a budget honours an iterative schedule as its steps and refuses what only a ratio means', async () => {
    const stepped = new ChannelPruner(cpu(), model, { importance: 'l1', allocation: toBudget(model.spec, budget, { accelerator, schedule: { kind: 'iterative', steps: 3 } }) });
    expect(stepped.totalSteps).toBe(3);
    const budgets = (await stepped.budgets())!;
    expect(budgets).toHaveLength(3);
    expect(budgets[0]).toBeGreaterThan(budgets[2]);
    for (let i = 0; i < 3; i++) await stepped.step();
    expect(stepped.done).toBe(true);
    const refused = (o: object) => () => toBudget(model.spec, budget, { accelerator, ...o });
    expect(refused({ ratios: { conv1: 0.5 } })).toThrow(/ratios apply to a ratio; a budget allocates by cost/);
    expect(refused({ global: true })).toThrow(/global apply to a ratio/);
    expect(refused({ schedule: { kind: 'agp', steps: 3 } })).toThrow(/AGP schedule follows a ratio/);
    expect(refused({ schedule: { kind: 'iterative', steps: 3 }, steps: 2 })).toThrow(/disagree/);
    expect(() => byRatio(0.5, { steps: 2 } as object)).toThrow(/steps does not apply to a ratio; a budget takes toBudget\(\)/);
    // The flags of the old options object are refused, not ignored.
    expect(() => new ChannelPruner(cpu(), model, { importance: 'l1', ratio: 0.5 } as never)).toThrow(/ratio does not apply to a pruner/);
  });

  it('the budget judge scores an unreachable budget as Infinity, gives Taylor its data, and lets other errors through', async () => {
    const data = subset(loadMnist('train'), 64);
    const costs = new CostModel(accelerator, { metric: 'latency' });
    const taylor = await budgetJudge(cpu(), model, { budget, costs, importance: 'taylor', data, judgeImages: 32 });
    expect(Number.isFinite(await taylor.judge(model))).toBe(true);
    const unreachable = await budgetJudge(cpu(), model, { budget: { metric: 'latency', value: 1 }, costs, importance: 'l1', data, judgeImages: 32 });
    expect(await unreachable.judge(model)).toBe(Infinity);
    // A failure inside the step (here a model whose weights do not match its spec) is an error, not "over budget".
    const broken = { ...model, params: new Map([...model.params].map(([k, v]) => [k, k === 'fc1.weight' ? v.subarray(1) : v])) };
    await expect(unreachable.judge(broken)).rejects.toThrow(/47999 values/);
  });
});
