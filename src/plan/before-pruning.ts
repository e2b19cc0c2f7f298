// Choices a prune run plans with the channels before it prunes, each against the run's budget: bit widths
// (`prune --budget ... --bits 4,8`, prune/mixed-precision.ts) or layer splits (`prune --budget ...
// --decompose`, decompose/joint.ts). The run then prunes the quantized or split model to the same
// absolute budget (fine-tuning a quantized one with its quantization in the graph: QAT); the original
// model's accuracy and cost stay in the report beside the plan.
import { modelWorkloads } from '../accel/model-workload.js';
import type { Backend } from '../backend.js';
import type { Dataset } from '../data/dataset.js';
import { type Model, parameterCount } from '../model/model.js';
import type { Budget, CostModel } from './budget.js';
import { planMixedPrecision } from './mixed-precision.js';
import { planPruneDecompose } from './prune-and-decompose.js';
import { type ModelSummary, type PrecisionReport, type SplitReport, summarize } from '../report/report.js';
import { evaluateModel } from '../train/evaluate.js';

export interface PlanInputs {
  model: Model; train: Dataset; test: Dataset; budget: Budget; costs: CostModel; criterion: string;
  onStep?: (text: string) => void;
}

async function original(be: Backend, o: PlanInputs, costs: CostModel): Promise<ModelSummary> {
  return summarize(await costs.evaluate(modelWorkloads(o.model.spec)), parameterCount(o.model), await evaluateModel(be, o.model, o.test));
}

/** The quantized model to prune, its absolute budget (from the float model), and the report section. */
export async function planPrecision(be: Backend, o: PlanInputs & { bits: number[] }): Promise<{ model: Model; budget: Budget; report: PrecisionReport }> {
  const t0 = performance.now();
  const costs = o.costs.withMetric(o.budget.metric);
  const plan = await planMixedPrecision(be, o.model, { bits: o.bits, budget: o.budget, costs, importance: o.criterion, data: o.train, onStep: o.onStep });
  const float = await original(be, o, costs);
  return {
    model: plan.model,
    budget: { metric: o.budget.metric, value: plan.budget },
    report: { candidates: [...o.bits], bits: plan.bits, float, judgedLoss: plan.loss, widestLoss: plan.widestLoss, steps: plan.steps, seconds: (performance.now() - t0) / 1000 },
  };
}

/** The model with the planned splits, its absolute budget (from the original model), and the report section. */
export async function planSplits(be: Backend, o: PlanInputs & { method: 'auto' | 'svd' | 'tucker2' | 'cp' }): Promise<{ model: Model; budget: Budget; report: SplitReport }> {
  const t0 = performance.now();
  const costs = o.costs.withMetric(o.budget.metric);
  const plan = await planPruneDecompose(be, o.model, { budget: o.budget, costs, importance: o.criterion, data: o.train, method: o.method, onStep: o.onStep });
  return {
    model: plan.model,
    budget: { metric: o.budget.metric, value: plan.budget },
    report: {
      method: o.method, split: Object.fromEntries(plan.ranks), original: await original(be, o, costs),
      judgedLoss: plan.loss, pruningLoss: plan.pruningLoss, steps: plan.steps, notes: plan.notes, seconds: (performance.now() - t0) / 1000,
    },
  };
}
