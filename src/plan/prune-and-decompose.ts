// Pruning and decomposition planned together against one budget. Splitting a layer is a choice beside
// its channels: a split layer's rank channels become dependency groups of their own, so the channel
// allocation prunes ranks (onto the array's step edges) as it prunes any channels, and each layer may
// be pruned, split, or both. A set of splits is judged by the loss of the model the channel allocation
// makes of it at the budget (prune/budget-judge.ts); greedy: from no split, add the one split that lowers
// that loss most, while one does. Splits start at the ranks keeping 99% of each spectrum's energy.
import type { Backend } from '../backend.js';
import type { Model } from '../model/model.js';
import { type BudgetJudgeOptions, budgetJudge } from './budget-judge.js';
import { type ConvMethod, type Ranks, decomposableLayers, decompose, ranksForEnergy } from '../decompose/decompose.js';

/** Share of each spectrum's energy a split keeps before channel pruning takes its ranks further. */
export const SPLIT_ENERGY = 0.99;

export interface JointPlanOptions extends BudgetJudgeOptions {
  /** svd and tucker2 (auto), or one of them, or cp for K×K convolutions. */
  method?: 'auto' | 'svd' | 'tucker2' | 'cp';
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
  const startRanks = ranksForEnergy(dense, layers, SPLIT_ENERGY);
  const withSplits = (ranks: Ranks) => (ranks.size ? decompose(dense, ranks, { conv }).model : dense);
  const { budget, judge } = await budgetJudge(be, dense, o);
  const judgePlan = (ranks: Ranks) => judge(withSplits(ranks));

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
