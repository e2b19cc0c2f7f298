// The mixed-precision step of a prune run (`prune --budget ... --bits 4,8`): bit widths planned with the
// channels against the budget (prune/mixed-precision.ts), then the run prunes the quantized model to the
// same absolute budget, fine-tuning it with its quantization in the graph (QAT); the float model's
// accuracy and cost stay in the report beside the plan.
import { modelWorkloads } from '../accel/model-workload.js';
import type { Backend } from '../backend.js';
import type { Dataset } from '../data/dataset.js';
import { type Model, parameterCount } from '../model/model.js';
import type { Budget, CostModel } from '../prune/budget.js';
import { planMixedPrecision } from '../prune/mixed-precision.js';
import { type PrecisionReport, summarize } from '../report/report.js';
import { evaluateModel } from '../train/trainer.js';

export interface PrecisionPlanInputs {
  model: Model; train: Dataset; test: Dataset; budget: Budget; costs: CostModel; criterion: string; bits: number[];
  onStep?: (text: string) => void;
}

/** The quantized model to prune, its absolute budget (from the float model), and the report section. */
export async function planPrecision(be: Backend, o: PrecisionPlanInputs): Promise<{ model: Model; budget: Budget; report: PrecisionReport }> {
  const t0 = performance.now();
  const costs = o.costs.withMetric(o.budget.metric);
  const plan = await planMixedPrecision(be, o.model, { bits: o.bits, budget: o.budget, costs, importance: o.criterion, data: o.train, onStep: o.onStep });
  const float = summarize(await costs.evaluate(modelWorkloads(o.model.spec)), parameterCount(o.model), await evaluateModel(be, o.model, o.test));
  return {
    model: plan.model,
    budget: { metric: o.budget.metric, value: plan.budget },
    report: { candidates: [...o.bits], bits: plan.bits, float, judgedLoss: plan.loss, widestLoss: plan.widestLoss, steps: plan.steps, seconds: (performance.now() - t0) / 1000 },
  };
}
