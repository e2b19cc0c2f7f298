// How the planners that choose something beside the channels (bit widths, layer splits) compare their
// candidates: each candidate model is pruned by the channel allocation to the one absolute budget, its
// batch-norm statistics are recomputed (EagleEye's adaptive batch norm, Li et al., ECCV 2020: without it
// every heavily pruned candidate sits near chance), and its loss on a fixed set of training images is
// its score; a candidate the allocation cannot bring to the budget scores Infinity (any other error is an
// error, and propagates).
import type { Backend } from '../backend.js';
import { type Dataset, subset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import { adaptBatchNorm } from '../train/adapt-bn.js';
import { evaluateModel } from '../train/evaluate.js';
import { type Budget, type CostModel, absoluteBudget } from './budget.js';
import { BudgetUnreachableError } from './allocate-budget.js';
import { ChannelPruner } from '../prune/pruner.js';
import { toBudget } from './to-budget.js';

export interface BudgetJudgeOptions {
  /** A share of `reference`'s cost, or an absolute one. */
  budget: Budget;
  /** The run's cost session (its metric is the budget's). */
  costs: CostModel;
  importance: string;
  /** Training data: batch-norm adaptation and the judging images. */
  data: Dataset;
  /** Images the candidates are judged on (default 512). */
  judgeImages?: number;
  ignore?: string[];
  roundTo?: number;
}

/** The absolute budget (from `reference`'s cost) and the score of a candidate model at it. */
export async function budgetJudge(be: Backend, reference: Model, o: BudgetJudgeOptions): Promise<{ budget: number; judge: (candidate: Model) => Promise<number> }> {
  const budget = await absoluteBudget(o.budget, reference.spec, o.costs);
  const images = subset(o.data, Math.min(o.judgeImages ?? 512, o.data.count));
  const judge = async (candidate: Model): Promise<number> => {
    const pruner = new ChannelPruner(be, candidate, {
      importance: o.importance, taylorData: images,
      allocation: toBudget(candidate.spec, { metric: o.budget.metric, value: budget }, { costs: o.costs, ignore: o.ignore, roundTo: o.roundTo }),
    });
    try {
      await pruner.step();
    } catch (e) {
      if (e instanceof BudgetUnreachableError) return Infinity;
      throw e;
    }
    return (await evaluateModel(be, await adaptBatchNorm(be, pruner.model, o.data), images, { reference })).loss;
  };
  return { budget, judge };
}
