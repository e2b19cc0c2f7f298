// Pruning and decomposition planned together against one budget. Splitting a layer is a choice beside
// its channels: a split layer's rank channels become dependency groups of their own, so the channel
// allocation prunes ranks (onto the array's step edges) as it prunes any channels, and each layer may
// be pruned, split, or both. A set of splits is judged by the loss, on calibration images, of the model
// the channel allocation makes of it at the budget, its batch-norm statistics recomputed first (EagleEye's
// adaptive batch norm: without it every heavily pruned candidate sits near chance and the comparison is
// noise); greedy: from no split, add the one split that lowers that loss most, while one does. Splits
// start at the ranks keeping 99% of each spectrum's energy.
import type { Backend } from '../backend.js';
import { type Dataset, subset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import { type Budget, type CostModel, absoluteBudget } from '../prune/budget.js';
import { ChannelPruner } from '../prune/pruner.js';
import { adaptBatchNorm } from '../train/adapt-bn.js';
import { evaluateModel } from '../train/trainer.js';
import { type ConvMethod, type Ranks, decomposableLayers, decompose, ranksForEnergy } from './decompose.js';

/** Share of each spectrum's energy a split keeps before channel pruning takes its ranks further. */
export const SPLIT_ENERGY = 0.99;

export interface JointPlanOptions {
  budget: Budget;
  /** The run's cost session (its metric is the budget's). */
  costs: CostModel;
  importance: string;
  data: Dataset;
  /** svd and tucker2 (auto), or one of them, or cp for K×K convolutions. */
  method?: 'auto' | 'svd' | 'tucker2' | 'cp';
  judgeImages?: number;
  ignore?: string[];
  roundTo?: number;
  onStep?: (text: string) => void;
}

export interface JointPlan {
  /** The model with the chosen layers split (no channels pruned yet): prune it to `budget`. */
  model: Model;
  ranks: Ranks;
  budget: number;
  loss: number;
  /** The judged loss of channel pruning alone. */
  pruningLoss: number;
  steps: { layer: string; ranks: number[]; loss: number }[];
  notes: string[];
}

export async function planPruneDecompose(be: Backend, dense: Model, o: JointPlanOptions): Promise<JointPlan> {
  const method = o.method ?? 'auto';
  const conv: ConvMethod = method === 'cp' ? 'cp' : 'tucker2';
  const found = decomposableLayers(dense.spec, conv);
  const layers = found.layers.filter((l) => method === 'auto' || l.method === method);
  const budget = await absoluteBudget(o.budget, dense.spec, o.costs);
  const startRanks = ranksForEnergy(dense, layers, SPLIT_ENERGY);
  const judge = subset(o.data, Math.min(o.judgeImages ?? 512, o.data.count));
  const withSplits = (ranks: Ranks) => (ranks.size ? decompose(dense, ranks, { conv }).model : dense);
  const judgePlan = async (ranks: Ranks): Promise<number> => {
    const pruner = new ChannelPruner(be, withSplits(ranks), { importance: o.importance, budget: { metric: o.budget.metric, value: budget }, costs: o.costs, ignore: o.ignore, roundTo: o.roundTo });
    try {
      await pruner.step();
    } catch {
      return Infinity; // these splits cannot reach the budget by pruning
    }
    return (await evaluateModel(be, await adaptBatchNorm(be, pruner.model, o.data), judge)).loss;
  };

  let ranks: Ranks = new Map();
  const pruningLoss = await judgePlan(ranks);
  let loss = pruningLoss;
  const steps: JointPlan['steps'] = [];
  for (;;) {
    let best: { layer: string; loss: number } | undefined;
    o.onStep?.(`round ${steps.length + 1}: judging a split of each of ${layers.length - ranks.size} layers`);
    for (const l of layers) {
      if (ranks.has(l.name)) continue;
      const r = await judgePlan(new Map([...ranks, [l.name, startRanks.get(l.name)!]]));
      if (!best || r < best.loss) best = { layer: l.name, loss: r };
    }
    if (!best || !(best.loss < loss)) break;
    ranks = new Map([...ranks, [best.layer, startRanks.get(best.layer)!]]);
    loss = best.loss;
    steps.push({ layer: best.layer, ranks: startRanks.get(best.layer)!, loss });
    o.onStep?.(`split ${best.layer} (ranks ${startRanks.get(best.layer)!.join('/')}): loss ${loss.toFixed(4)}`);
  }
  if (!Number.isFinite(loss)) throw new Error(`prune: neither channel pruning nor any split with it reaches the budget ${budget} ${o.budget.metric}`);
  return { model: withSplits(ranks), ranks, budget, loss, pruningLoss, steps, notes: found.skipped };
}
