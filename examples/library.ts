// Using wgprune as a library (docs/library.md shows this file; test/library.test.ts runs it).
// Import from 'wgprune' in your project (Node resolves it to src/node.ts's API); here the entry is ../src/node.ts.
import {
  ChannelPruner, byRatio, toBudget, type Criterion, DEFAULT_PRESET, CostModel, SparsityPenalty, channelGroups, evaluateModel, initModel, loadMnist, openBackend, parseBudget,
  presets, pruneToBudget, pruningHistory, subset, type TrainOptions, train, zooModel,
} from '../src/node.js';

export async function example(o: { steps?: number; log?: (line: string) => void } = {}) {
  const log = o.log ?? console.log;
  const be = await openBackend(); // a hardware GPU, else the native CPU backend, else gpu.js
  const train60k = loadMnist('train');
  const data = subset(train60k, 2048);
  const test = subset(loadMnist('test'), 500);
  const tuning: TrainOptions = { epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1, maxSteps: o.steps ?? 30 };
  const dense = (await train(be, initModel(zooModel('lenet5', [1, 28, 28], 10), 1), data, tuning)).model;

  // 1. Torch-Pruning style: a pruner object, your own importance function, fine-tuning in your hands.
  const l1: Criterion = async (group, ctx) => {
    const scores = new Float64Array(group.channels);
    for (const s of group.slices.filter((x) => x.param.endsWith('.weight') && x.axis === 0)) {
      const w = ctx.model.params.get(s.param)!;
      const perRow = w.length / s.indices.reduce((n, idx) => n + idx.length, 0);
      s.indices.forEach((rows, c) => { for (const r of rows) for (let i = 0; i < perRow; i++) scores[c] += Math.abs(w[r * perRow + i]); });
    }
    return scores;
  };
  const pruner = new ChannelPruner(be, dense, { importance: l1, allocation: byRatio(0.5, { schedule: { kind: 'iterative', steps: 2 } }) });
  while (!pruner.done) {
    const step = await pruner.step();
    log(`step ${step.step}: removed ${[...step.removed.values()].reduce((n, c) => n + c.length, 0)} channels`);
    pruner.update((await train(be, pruner.model, data, tuning)).model);
  }
  const small = await pruner.compact();
  const history = pruningHistory(dense.spec, pruner.groups, pruner.kept); // store it with the checkpoint
  log(`pruned: ${(100 * (await evaluateModel(be, small, test)).accuracy).toFixed(1)}% accuracy, ${history.groups.length} groups pruned`);

  // 2. To a latency budget on a simulated accelerator: half the dense latency on a 16x16 systolic array,
  // in two NetAdapt-style steps (the budget shrinks evenly), Taylor importance, your fine-tuning between.
  const costs = new CostModel(presets[DEFAULT_PRESET], { metric: 'latency' });
  const budgeted = new ChannelPruner(be, dense, { importance: 'taylor', taylorData: data, allocation: toBudget(dense.spec, parseBudget('latency=0.5'), { costs, steps: 2 }) });
  while (!budgeted.done) {
    await budgeted.step();
    budgeted.update((await train(be, budgeted.model, data, tuning)).model);
  }
  const fast = await budgeted.compact();
  const [cycles, denseCycles] = [await costs.cost(fast.spec), await costs.cost(dense.spec)];
  log(`budget: ${cycles} of ${denseCycles} cycles (${(cycles / denseCycles).toFixed(3)} of dense)`);
  // The same in one call, with the fine-tuning loop built in: pruneToBudget(be, dense, { criterion, budget, accelerator, costs, steps, fineTune }).
  const planned = await pruneToBudget(be, dense, { criterion: 'l1', budget: parseBudget('latency=0.5'), accelerator: presets[DEFAULT_PRESET], costs });

  // 3. Structured sparsity learning in your own training loop: the penalty's hooks (group lasso's
  // proximal step after each optimizer step; λ automatic and growing until half the channels of each
  // group are near zero), then prune by group norm.
  const penalty = new SparsityPenalty(dense.spec, channelGroups(dense.spec), { kind: 'group-lasso', steps: tuning.maxSteps, grow: { every: 5, factor: 2, target: 0.5 } });
  const sparse = (await train(be, dense, data, tuning, { ...penalty.hooks() })).model;
  const sparsePruner = new ChannelPruner(be, sparse, { importance: 'group-norm', allocation: byRatio(0.5) });
  await sparsePruner.step();
  log(`sparse training: λ ${penalty.lambda.toPrecision(3)}; pruned by group norm: ${(100 * (await evaluateModel(be, sparsePruner.model, test)).accuracy).toFixed(1)}% before fine-tuning`);
  be.destroy();
  return { dense, small, fast, cycles, denseCycles, planned, history, sparse, penalty };
}

if (import.meta.url === `file://${process.argv[1]}`) await example();
