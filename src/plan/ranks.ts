// Ranks to an accelerator budget. A split of a K×K conv into 1×1 → K×K → 1×1 pays three fills and
// drains and two extra activation maps, and a rank below the array's width under-fills it, so the
// planner prices every candidate on the accelerator model (the whole decomposed model in the run's cost
// session, where each layer shape is simulated once) rather than by MACs. Candidates per layer: the
// ranks that keep 99.9% … 20% of each spectrum's energy, and those rounded down to multiples of the
// array's width (its step edges). Greedy: while over budget, take the move (a layer to a deeper
// candidate) with the largest cost saved per unit of weight energy discarded; a layer is only split
// where the split costs less than the whole layer (break-even), and the plan fails, naming the
// cheapest reachable cost, when no move saves anything.
import type { Model } from '../model/model.js';
import type { CostModel } from './budget.js';
import { rankForEnergy } from '../decompose/factorize.js';
import { type ConvMethod, type DecomposableLayer, type Ranks, decomposedSpec, layerRanks, layerSpectra } from '../decompose/decompose.js';

/** Kept-energy levels of the candidate ranks. */
export const ENERGY_LADDER = [0.999, 0.99, 0.98, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];

interface Candidate { ranks: number[]; error: number }

/** A layer's candidates, most ranks first; error = the spectra's discarded energy shares, summed. */
export function candidates(model: Model, l: DecomposableLayer, arrayWidth: number): Candidate[] {
  const spectra = layerSpectra(model, l);
  const discarded = (sigma: number[], r: number) => {
    const total = sigma.reduce((s, v) => s + v * v, 0);
    return total > 0 ? sigma.slice(r).reduce((s, v) => s + v * v, 0) / total : 0;
  };
  const out = new Map<string, Candidate>();
  // The error of a CP candidate is its Tucker-2 proxy at the same per-mode ranks; CP-ALS reports the real fit.
  const addBoth = (modeRanks: number[]) => {
    const ranks = layerRanks(l, modeRanks);
    const key = ranks.join('x');
    const perMode = l.method === 'cp' ? modeRanks : ranks;
    if (!out.has(key) && ranks.every((r) => r >= 1)) out.set(key, { ranks, error: perMode.reduce((s, r, k) => s + discarded(spectra[k], r), 0) });
  };
  for (const e of ENERGY_LADDER) {
    const modeRanks = spectra.map((sigma, k) => Math.min(rankForEnergy(sigma, e), l.method === 'cp' ? sigma.length : l.full[k]));
    addBoth(modeRanks);
    addBoth(modeRanks.map((r) => (r >= arrayWidth ? Math.floor(r / arrayWidth) * arrayWidth : r)));
  }
  return [...out.values()].sort((a, b) => a.error - b.error);
}

export interface RankPlan { ranks: Ranks; cost: number; denseCost: number; /** Layers left whole: not needed for the budget, or no split of theirs paid. */ whole: string[] }

export async function planRanks(model: Model, layers: DecomposableLayer[], costs: CostModel, budget: number, o: { arrayWidth: number; conv?: ConvMethod; onProgress?: (fraction: number) => void }): Promise<RankPlan> {
  const spec = model.spec;
  const denseCost = await costs.cost(spec);
  const options = new Map(layers.map((l) => [l.name, candidates(model, l, o.arrayWidth)]));
  const choice = new Map<string, number>(); // index into the layer's candidates; absent = whole
  const ranksOf = (c: Map<string, number>): Ranks => new Map([...c].map(([name, k]) => [name, options.get(name)![k].ranks]));
  const costOf = (c: Map<string, number>) => costs.cost(decomposedSpec(spec, ranksOf(c), o.conv));
  let cost = denseCost;
  while (cost > budget) {
    let best: { name: string; k: number; cost: number; score: number } | undefined;
    for (const l of layers) {
      const from = choice.get(l.name) ?? -1;
      const errFrom = from < 0 ? 0 : options.get(l.name)![from].error;
      const list = options.get(l.name)!;
      for (let k = from + 1; k < list.length; k++) {
        const next = await costOf(new Map(choice).set(l.name, k));
        const saved = cost - next;
        if (!(saved > 0)) continue;
        const score = saved / (list[k].error - errFrom + 1e-9);
        if (!best || score > best.score) best = { name: l.name, k, cost: next, score };
      }
    }
    if (!best) throw new Error(`decompose: no split brings the cost to the budget ${Math.round(budget)}; the cheapest reachable is ${Math.round(cost)} of ${Math.round(denseCost)} (${(cost / denseCost).toFixed(3)} of the model)`);
    choice.set(best.name, best.k);
    cost = best.cost;
    o.onProgress?.(Math.min(1, (denseCost - cost) / Math.max(denseCost - budget, 1e-9)));
  }
  // Break-even, checked on the final plan: a layer stays split only where that costs less than keeping it whole.
  for (const name of [...choice.keys()]) {
    const whole = new Map(choice);
    whole.delete(name);
    const c = await costOf(whole);
    if (c <= cost) {
      choice.delete(name);
      cost = c;
    }
  }
  return { ranks: ranksOf(choice), cost, denseCost, whole: layers.filter((l) => !choice.has(l.name)).map((l) => l.name) };
}
