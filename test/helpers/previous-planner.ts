// The budget planner as it was before layer tables (commit 6c57eee), kept as the reference the new one
// is compared with (test/budget-planner.test.ts, npm run bench -- planning). Unchanged below.
// Allocation to a budget: a greedy knapsack over channel groups (in the spirit of HALP, Shen et al.,
// NeurIPS 2022) whose costs come from the accelerator model. What a cut loses is -log of the share of
// its group's importance kept: scale-free across layers of different sizes, and ever dearer as a group
// empties. (Measured on LeNet-5, l1, systolic-16x16, short distilled fine-tune: at half latency the
// share lost kept 98.0% accuracy where scores over the group mean kept 95.0% and raw scores 90.1%; at
// 0.3 the share lost starved fc1 to one neuron, 21.7%, where -log kept 93.4%.)
//   Descent: while the model costs more than the budget, every cut of every group (keep its k most
//   important channels, others as they are) is priced: importance lost per unit of cost saved. The
//   cheapest cut wins. Channels inside a flat step of the latency staircase save nothing, so the
//   winning cuts drop whole steps and land on step edges.
//   Refill: the descent overshoots; groups then take back their most important channels, most
//   important first, as long as the model stays within the budget.
// The search runs from two starts, the whole model and the uniform ratio that just meets the budget,
// and keeps the result that loses less. Either way every pruned group keeps a count whose next channel
// would break the budget: no channel that costs nothing is ever pruned, and each cut ends at a step edge.
import type { ModelSpec } from '../../src/model/graph.js';
import type { Allocation } from '../../src/prune/allocate.js';
import { uniformCounts } from '../../src/plan/allocate-budget.js';
import { type CostModel, type KeptCounts, specWithCounts } from '../../src/plan/budget.js';
import type { KeptChannels } from '../../src/prune/compact.js';
import type { Group } from '../../src/prune/dependency.js';

interface BudgetAllocationOptions {
  /** Producer names whose groups are left whole. */
  ignore?: string[];
  /** Keep channel counts at multiples of this (or whole). */
  roundTo?: number;
  /** Upper bounds per group id (an earlier step's counts: pruned channels stay pruned). */
  maxKept?: KeptCounts;
  /**
   * How importance lost compares across groups: -log of the share of the group's importance kept
   * (default), the share lost (sum), scores over the group's mean, or raw scores.
   */
  normalize?: 'log' | 'sum' | 'mean' | 'none';
}

interface BudgetAllocation extends Allocation { counts: KeptCounts; cost: number }

export async function previousAllocateToBudget(
  spec: ModelSpec, groups: Group[], scores: Map<number, Float64Array>, costs: CostModel, budget: number, o: BudgetAllocationOptions = {},
): Promise<BudgetAllocation> {
  const roundTo = o.roundTo ?? 1;
  if (!Number.isInteger(roundTo) || roundTo < 1) throw new Error(`prune: roundTo must be a positive integer, got ${roundTo}`);
  const producers = new Set(groups.flatMap((g) => g.producers));
  for (const name of o.ignore ?? []) if (!producers.has(name)) throw new Error(`prune: unknown layer '${name}' in ignored layers`);
  const active = groups.filter((g) => g.prunable && !g.producers.some((p) => o.ignore?.includes(p)));

  // Channels by importance, and the importance lost when a group keeps only its first k.
  const order = new Map<number, number[]>();
  const lostIfKept = new Map<number, Float64Array>();
  for (const g of active) {
    const s = scores.get(g.id);
    if (!s || s.length !== g.channels) throw new Error(`prune: no scores for group ${g.id} (${g.producers.join('+')})`);
    const finite = [...s].filter(Number.isFinite);
    const total = finite.reduce((a, b) => a + Math.abs(b), 0);
    const norm = o.normalize ?? 'log';
    const mean = (norm === 'sum' || norm === 'log' ? total : norm === 'mean' ? total / (finite.length || 1) : 1) || 1;
    const ranked = Array.from({ length: g.channels }, (_, c) => c).sort((a, b) => s[b] - s[a] || a - b);
    order.set(g.id, ranked);
    const lost = new Float64Array(g.channels + 1);
    for (let k = g.channels - 1; k >= 0; k--) lost[k] = lost[k + 1] + (Number.isFinite(s[ranked[k]]) ? s[ranked[k]] / mean : 0);
    if (norm === 'log') {
      // -log(share of the group's importance kept): scale-free, and emptying a group costs without bound.
      const share = Float64Array.from(lost);
      const kept = (k: number) => Math.max(share[0] - share[k], 1e-30);
      const all = kept(g.channels);
      for (let k = 0; k <= g.channels; k++) lost[k] = Math.log(all) - Math.log(kept(k));
    }
    lostIfKept.set(g.id, lost);
  }
  const allowed = (g: Group, k: number) => k >= 1 && k <= (o.maxKept?.get(g.id) ?? g.channels) && (k % roundTo === 0 || k === g.channels);
  const cap = (g: Group) => o.maxKept?.get(g.id) ?? g.channels;

  /** Descent to the budget, then refill, from a start; the counts and the model cost. */
  const search = async (start: KeptCounts) => {
    const counts: KeptCounts = new Map(start);
    const withCount = (g: Group, k: number) => new Map(counts).set(g.id, k);
    /** Model cost for each allowed count of each group (others as they are), in one scheduling pass. */
    const probe = async (range: (g: Group) => number[]) => {
      const asks = active.flatMap((g) => range(g).filter((k) => allowed(g, k)).map((k) => ({ g, k, spec: specWithCounts(spec, groups, withCount(g, k)) })));
      await costs.prefetch(asks.map((a) => a.spec));
      return asks.map((a) => ({ g: a.g, k: a.k, cost: costs.costOf(a.spec) }));
    };
    const below = (g: Group) => Array.from({ length: counts.get(g.id)! - 1 }, (_, i) => i + 1);
    const above = (g: Group) => Array.from({ length: cap(g) - counts.get(g.id)! }, (_, i) => counts.get(g.id)! + 1 + i);

    let current = await costs.cost(specWithCounts(spec, groups, counts));
    while (current > budget) {
      const options = await probe(below);
      let best: { g: Group; k: number; cost: number; price: number } | undefined;
      for (const x of options) {
        if (x.cost >= current) continue;
        const lost = lostIfKept.get(x.g.id)!;
        const price = (lost[x.k] - lost[counts.get(x.g.id)!]) / (current - x.cost);
        if (!best || price < best.price || (price === best.price && x.k > best.k)) best = { ...x, price };
      }
      if (!best) {
        const floor = new Map(active.map((g) => [g.id, Math.min(...Array.from({ length: g.channels }, (_, i) => i + 1).filter((k) => allowed(g, k)))]));
        const smallest = await costs.cost(specWithCounts(spec, groups, floor));
        throw new Error(`prune: the budget ${fmt(budget)} ${costs.o.metric} cannot be met; the smallest achievable cost is ${fmt(Math.min(smallest, current))} (every prunable group at its minimum)`);
      }
      counts.set(best.g.id, best.k);
      current = best.cost;
    }

    // Refill: give channels back while the budget holds, the group whose next channels matter most first.
    for (;;) {
      const options = await probe(above);
      const next = active
        .map((g) => {
          const fits = options.filter((x) => x.g === g && x.cost <= budget).sort((a, b) => b.k - a.k)[0];
          if (!fits) return undefined;
          const lost = lostIfKept.get(g.id)!;
          return { ...fits, gain: (lost[counts.get(g.id)!] - lost[fits.k]) / (fits.k - counts.get(g.id)!) };
        })
        .filter((x) => x !== undefined)
        .sort((a, b) => b.gain - a.gain)[0];
      if (!next) break;
      counts.set(next.g.id, next.k);
      current = next.cost;
    }
    const lost = active.reduce((sum, g) => sum + lostIfKept.get(g.id)![counts.get(g.id)!], 0);
    return { counts, cost: current, lost };
  };

  // Two starts: the whole model, and the uniform ratio that just meets the budget (the greedy descent
  // alone can starve one layer where many small cuts elsewhere would do); the smaller loss wins.
  const starts: KeptCounts[] = [new Map(active.map((g) => [g.id, cap(g)]))];
  const uniform = await uniformCountsForBudget(spec, groups, costs, budget, o);
  if (uniform) starts.push(new Map(active.map((g) => [g.id, Math.min(cap(g), uniform.get(g.id) ?? cap(g))])));
  let found: Awaited<ReturnType<typeof search>> | undefined;
  for (const start of starts) {
    const r = await search(start);
    if (!found || r.lost < found.lost) found = r;
  }
  const { counts, cost: current } = found!;

  const kept: KeptChannels = new Map();
  const notes: string[] = [];
  for (const g of active) {
    const k = counts.get(g.id)!;
    kept.set(g.id, order.get(g.id)!.slice(0, k).sort((a, b) => a - b));
    if (k === 1 && g.channels > 1) notes.push(`group ${g.id} (${g.producers.join('+')}): keeps a single channel`);
  }
  return { kept, counts, cost: current, notes };
}

const fmt = (x: number) => (Math.abs(x) >= 1e6 ? x.toExponential(3) : String(Math.round(x)));

/** The counts of the smallest uniform ratio (in steps of 1/100) whose model meets the budget, if any. */
async function uniformCountsForBudget(spec: ModelSpec, groups: Group[], costs: CostModel, budget: number, o: { ignore?: string[]; roundTo?: number } = {}): Promise<(KeptCounts & { ratio?: number }) | undefined> {
  const ratios = Array.from({ length: 100 }, (_, i) => i / 100);
  const counts = ratios.map((r) => uniformCounts(groups, r, o));
  const specs = counts.map((c) => specWithCounts(spec, groups, c));
  await costs.prefetch(specs);
  const i = specs.findIndex((s) => costs.costOf(s) <= budget);
  return i < 0 ? undefined : Object.assign(counts[i], { ratio: ratios[i] });
}
