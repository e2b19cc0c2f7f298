// Mixed precision and channel pruning against one budget. Each layer's bit width is a second choice
// beside its channels: for a bit assignment, the channels are allocated to the same budget on the
// accelerator model at those widths (cheaper layers leave room for more channels), and the plan is judged
// by what it costs in accuracy where both choices meet, the loss of the pruned, quantized model on
// calibration images, batch norm statistics recomputed first (budget-judge.ts) (HAQ, Wang
// et al. CVPR 2019, and HAWQ-V3, Yao et al. ICML 2021, choose bits by measured sensitivity; here the
// measure includes the channels each choice buys). Batch norm stays unfolded: the model is pruned and
// fine-tuned next (quantizeModel's foldBatchNorm). Greedy: from every
// layer at the widest width, lower the one layer whose step down gives the least loss, while it helps.
import type { Backend } from '../backend.js';
import type { Model } from '../model/model.js';
import type { Quantization } from '../model/quantization.js';
import { type PtqOptions, quantizeModel } from '../quantize/ptq.js';
import { type BudgetJudgeOptions, budgetJudge } from './budget-judge.js';

export interface MixedPrecisionOptions extends BudgetJudgeOptions {
  /** Candidate widths, e.g. [4, 8] (2-16). */
  bits: number[];
  ptq?: Omit<PtqOptions, 'bits' | 'activationBits' | 'edgeBits'>;
  onStep?: (text: string) => void;
}

export interface MixedPrecisionPlan {
  /** The model quantized at the chosen widths, batch norm kept (no channels pruned yet). */
  model: Model;
  bits: Record<string, number>;
  /** The absolute budget, from the float model's cost. */
  budget: number;
  /** Loss of the pruned and quantized model on the judging images, and the same at the widest widths. */
  loss: number;
  widestLoss: number;
  /** Each accepted step down. */
  steps: { layer: string; bits: number; loss: number }[];
}

export async function planMixedPrecision(be: Backend, dense: Model, o: MixedPrecisionOptions): Promise<MixedPrecisionPlan> {
  const widths = [...new Set(o.bits)].sort((a, b) => b - a);
  if (widths.length < 1 || widths.some((b) => !(Number.isInteger(b) && b >= 2 && b <= 16))) throw new Error(`mixed precision: bits must be integers in [2, 16], got ${o.bits.join(',')}`);
  const { budget, judge } = await budgetJudge(be, dense, o);
  // One calibrated quantization per width: a layer at width b takes its quantizer from the model at b.
  const atWidth = new Map<number, Model>();
  // Batch norm stays: the model is pruned and fine-tuned next.
  for (const b of widths) atWidth.set(b, (await quantizeModel(be, dense, o.data, { ...o.ptq, bits: b, foldBatchNorm: false })).model);
  const widest = atWidth.get(widths[0])!;
  const layers = Object.keys(widest.spec.quantization!);
  const quantized = (bits: Record<string, number>): Model => {
    const q: Quantization = Object.fromEntries(layers.map((l) => [l, atWidth.get(bits[l])!.spec.quantization![l]]));
    return { ...widest, spec: { ...widest.spec, quantization: q } };
  };
  const judgePlan = (bits: Record<string, number>) => judge(quantized(bits));

  let bits = Object.fromEntries(layers.map((l) => [l, widths[0]]));
  const widestLoss = await judgePlan(bits);
  let loss = widestLoss;
  const steps: MixedPrecisionPlan['steps'] = [];
  for (;;) {
    let best: { layer: string; bits: number; loss: number } | undefined;
    o.onStep?.(`round ${steps.length + 1}: judging a step down for each of ${layers.filter((l) => bits[l] !== widths.at(-1)).length} layers`);
    for (const layer of layers) {
      const next = widths[widths.indexOf(bits[layer]) + 1];
      if (next === undefined) continue;
      const l = await judgePlan({ ...bits, [layer]: next });
      if (!best || l < best.loss) best = { layer, bits: next, loss: l };
    }
    if (!best || !(best.loss < loss)) break;
    bits = { ...bits, [best.layer]: best.bits };
    loss = best.loss;
    steps.push(best);
    o.onStep?.(`${best.layer} to ${best.bits} bits: loss ${best.loss.toFixed(4)}`);
  }
  if (!Number.isFinite(loss)) throw new Error(`mixed precision: no assignment of ${widths.join('/')} bits with channel pruning reaches the budget ${budget} ${o.budget.metric}`);
  return { model: quantized(bits), bits, budget, loss, widestLoss, steps };
}
