// Allocation to a budget: a greedy knapsack over channel groups (in the spirit of HALP, Shen et al.,
// NeurIPS 2022) whose costs come from the accelerator model. What a cut loses is -log of the share of
// its group's importance kept, once per layer making or reading the group's channels (groupLayers):
// scale-free across layers of different sizes, and ever dearer as a group empties. (Measured on
// LeNet-5, l1, systolic-16x16, short distilled fine-tune: at half latency the share lost kept 98.0%
// accuracy where scores over the group mean kept 95.0% and raw scores 90.1%; at 0.3 the share lost
// starved fc1 to one neuron, 21.7%, where -log kept 93.4%.)
//   Descent: while the model costs more than the budget, every cut of every group (keep its k most
//   important channels, others as they are) is priced: importance lost per unit of cost saved. The
//   cheapest cut wins. Channels inside a flat step of the latency staircase save nothing, so the
//   winning cuts drop whole steps and land on step edges.
//   Refill: the descent overshoots; groups then take back their most important channels, most
//   important first, as long as the model stays within the budget.
// The search runs from two starts, the whole model and the uniform ratio that just meets the budget,
// and keeps the result that loses less. Either way every pruned group keeps a count whose next channel
// would break the budget: no channel that costs nothing is ever pruned, and each cut ends at a step edge.
// Work grows about linearly with the channels: a cut is priced from the layer cost tables of the layers
// its group touches (layer-tables.ts), only within a reach of one array width of the group's count
// (widened when the best cut sits at its edge), and a group is priced again only when a group sharing a
// layer with it changed and its stale price comes out cheapest (lazy greedy). Against the exhaustive
// planner this replaced (6c57eee), the plans lost the same importance on the zoo at 28x28 and one lost
// less (test/budget-planner.test.ts, npm run bench -- planning).
import { modelWorkloads } from '../accel/model-workload.js';
import type { ModelSpec } from '../model/graph.js';
import { type Allocation, allocate } from '../prune/allocate.js';
import type { CostModel, KeptCounts } from './budget.js';
import type { KeptChannels } from '../prune/compact.js';
import type { Group } from '../prune/dependency.js';
import { LayerTables } from './layer-tables.js';

/** The allocation cannot bring the model to the budget (every group at its minimum costs more): a fact about the model, not a failure. */
export class BudgetUnreachableError extends Error {}

export interface BudgetAllocationOptions {
  /** Producer names whose groups are left whole. */
  ignore?: string[];
  /** Keep channel counts at multiples of this (or whole). */
  roundTo?: number;
  /** Upper bounds per group id. */
  maxKept?: KeptCounts;
  /** Per group id, the channels an earlier step kept: the others stay pruned (and bound the count). */
  available?: KeptChannels;
  /**
   * How importance lost compares across groups: -log of the share of the group's importance kept
   * (default), the share lost (sum), scores over the group's mean, or raw scores.
   */
  normalize?: 'log' | 'sum' | 'mean' | 'none';
  /** Called at each planning step: the phase, and the share of the way from the start's cost down to the budget. */
  onProgress?: (p: { phase: string; fraction: number }) => void;
}

export interface BudgetAllocation extends Allocation { counts: KeptCounts; cost: number }

/**
 * The layers a cut of the group takes something from: its producers (filters) and the layers reading its
 * channels (input slices; a depthwise conv in between filters each channel on its own and is not
 * counted). A cut loses its share of the group's importance in each of them. Counted once per group,
 * resnet20's residual streams (4 producers, 3-5 readers, against 1 and 1 inside a block) looked cheap,
 * since one cut saves cycles in every layer the stream touches: at 0.3 of the dense latency on
 * systolic-16x16 the plan kept 3 of the 16 first-stage stream channels next to 9-10 of 16 inside its
 * blocks, and fine-tuned to 81.65% where uniform pruning reached 95.20% (MNIST, npm run bench -- budget).
 */
export function groupLayers(g: Group): number {
  return g.producers.length + new Set(g.slices.filter((s) => s.axis === 1 && s.param.endsWith('.weight')).map((s) => s.param)).size;
}

export async function allocateToBudget(
  spec: ModelSpec, groups: Group[], scores: Map<number, Float64Array>, costs: CostModel, budget: number, o: BudgetAllocationOptions = {},
): Promise<BudgetAllocation> {
  const roundTo = o.roundTo ?? 1;
  if (!Number.isInteger(roundTo) || roundTo < 1) throw new Error(`prune: roundTo must be a positive integer, got ${roundTo}`);
  const producers = new Set(groups.flatMap((g) => g.producers));
  for (const name of o.ignore ?? []) if (!producers.has(name)) throw new Error(`prune: unknown layer '${name}' in ignored layers`);
  const active = groups.filter((g) => g.prunable && !g.producers.some((p) => o.ignore?.includes(p)));
  if (o.available) {
    // Channels pruned earlier rank last (never kept) and the count stays within what is left.
    const open = o.available;
    scores = new Map([...scores].map(([id, s]) => {
      const keep = open.has(id) ? new Set(open.get(id)) : undefined;
      return [id, keep ? s.map((v, c) => (keep.has(c) ? v : -Infinity)) : s];
    }));
    o = { ...o, maxKept: new Map([...(o.maxKept ?? []), ...[...open].map(([id, k]) => [id, Math.min(k.length, o.maxKept?.get(id) ?? k.length)] as [number, number])]) };
  }

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
      // -log(share of the group's importance kept): scale-free, and emptying a group costs without bound;
      // counted once per layer that makes or reads the group's channels (groupLayers).
      const share = Float64Array.from(lost);
      const kept = (k: number) => Math.max(share[0] - share[k], 1e-30);
      const all = kept(g.channels);
      const layers = groupLayers(g);
      for (let k = 0; k <= g.channels; k++) lost[k] = layers * (Math.log(all) - Math.log(kept(k)));
    }
    lostIfKept.set(g.id, lost);
  }
  const allowed = (g: Group, k: number) => k >= 1 && k <= (o.maxKept?.get(g.id) ?? g.channels) && (k % roundTo === 0 || k === g.channels);
  const cap = (g: Group) => o.maxKept?.get(g.id) ?? g.channels;

  const tables = new LayerTables(spec, groups, costs);
  const touched = (g: Group) => tables.touched.get(g.id) ?? [];

  /** Descent to the budget, then refill, from a start; the counts and the model cost. */
  const search = async (start: KeptCounts, label: string, path?: [number, number][]) => {
    const counts: KeptCounts = new Map(start);
    const shapes = tables.shapes(counts);
    await tables.prefetch(shapes);
    const total = () => shapes.reduce((sum, sh) => sum + tables.cost(sh), 0);
    let current = total();
    const startCost = current;
    /** Per group: the model's cost change at each count it was priced at, others as they are. */
    const deltas = new Map<number, Map<number, number>>();
    /**
     * Per group: its best cut (or none). When a group sharing a layer with it changes, the entry goes
     * stale and keeps its price as the group's key until it comes out on top and is priced again.
     */
    const bestCut = new Map<number, { cut?: { k: number; price: number }; stale: boolean }>();
    const price = async (gs: Group[], range: (g: Group) => number[]) => {
      const asks = gs.flatMap((g) => range(g).filter((k) => allowed(g, k) && !deltas.get(g.id)?.has(k))
        .map((k) => ({ g, k, at: touched(g).map((i) => tables.shape(i, counts, g.id, k)) })));
      await tables.prefetch(asks.flatMap((a) => a.at));
      for (const { g, k, at } of asks) {
        const d = deltas.get(g.id) ?? new Map<number, number>();
        d.set(k, at.reduce((sum, sh) => sum + tables.cost(sh) - tables.cost(shapes[sh[0]]), 0));
        deltas.set(g.id, d);
      }
    };
    const apply = (g: Group, k: number) => {
      counts.set(g.id, k);
      for (const i of touched(g)) shapes[i] = tables.shape(i, counts);
      for (const n of tables.neighbours.get(g.id)!) {
        deltas.delete(n);
        const entry = bestCut.get(n);
        if (entry) entry.stale = true;
      }
      bestCut.delete(g.id);
      current = total();
    };
    // Counts are priced within a reach of the current one: one period of the array's staircase (its width), doubled
    // for a group whose best cut or refill sits at the edge of its reach (then priced again).
    const reach = new Map<number, number>();
    const reachOf = (g: Group) => reach.get(g.id) ?? Math.max(costs.config.rows, costs.config.cols);
    const span = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
    const below = (g: Group) => span(Math.max(1, counts.get(g.id)! - reachOf(g)), counts.get(g.id)! - 1);
    const above = (g: Group) => span(counts.get(g.id)! + 1, Math.min(cap(g), counts.get(g.id)! + reachOf(g)));
    /** Widens a group's reach when `k` is the far end of a range that could go further. */
    const widen = (g: Group, k: number | undefined, range: number[], limit: number) => {
      if (k === undefined || k !== range[k < counts.get(g.id)! ? 0 : range.length - 1] || k === limit) return false;
      reach.set(g.id, 2 * reachOf(g));
      return true;
    };

    /** Prices each group's cuts below its count and keeps its best (widening its reach when the best is at the edge). */
    const rank = async (gs: Group[]): Promise<void> => {
      await price(gs, below);
      const wider: Group[] = [];
      for (const g of gs) {
        const lost = lostIfKept.get(g.id)!;
        let cut: { k: number; price: number } | undefined;
        for (const k of below(g)) {
          const d = deltas.get(g.id)!.get(k);
          if (d === undefined || d >= 0) continue;
          const p = (lost[k] - lost[counts.get(g.id)!]) / -d;
          if (!cut || p < cut.price || (p === cut.price && k > cut.k)) cut = { k, price: p };
        }
        bestCut.set(g.id, { cut, stale: false });
        if (widen(g, cut?.k, below(g), 1)) wider.push(g);
      }
      if (wider.length) await rank(wider);
    };

    // Descent: the cut that loses least importance per unit of cost saved, until the budget holds.
    let replayed = 0;
    while (current > budget) {
      // The descent's cuts do not depend on the budget: a path recorded for a higher budget replays.
      if (path && replayed < path.length) {
        const [id, k] = path[replayed++];
        await tables.prefetch(touched(groups[id]).map((i) => tables.shape(i, counts, id, k)));
        apply(groups[id], k);
        continue;
      }
      o.onProgress?.({ phase: `${label}: descent`, fraction: startCost > budget ? (startCost - current) / (startCost - budget) : 1 });
      await rank(active.filter((g) => !bestCut.has(g.id)));
      // Lazy greedy: the cheapest key wins once it is fresh; a stale key is priced again first. (A
      // neighbour's cut shrinks the layers a group shares with it, so its savings, and with them its
      // price, rarely improve: a stale price is almost always a lower bound.)
      let best: { g: Group; k: number; price: number } | undefined;
      for (;;) {
        best = undefined;
        let stale = false;
        for (const g of active) {
          const e = bestCut.get(g.id)!;
          if (e.cut && (!best || e.cut.price < best.price || (e.cut.price === best.price && e.cut.k > best.k))) [best, stale] = [{ g, ...e.cut }, e.stale];
        }
        const staleWithoutCut = active.filter((g) => bestCut.get(g.id)!.stale && !bestCut.get(g.id)!.cut);
        if (best && !stale) break;
        if (!best && staleWithoutCut.length === 0) break;
        await rank(best ? [best.g] : staleWithoutCut);
      }
      if (!best) {
        const floor = new Map(active.map((g) => [g.id, Math.min(...Array.from({ length: g.channels }, (_, i) => i + 1).filter((k) => allowed(g, k)))]));
        const smallest = await tables.total(floor);
        throw new BudgetUnreachableError(`prune: the budget ${fmt(budget)} ${costs.o.metric} cannot be met; the smallest achievable cost is ${fmt(Math.min(smallest, current))} (every prunable group at its minimum)`);
      }
      path?.push([best.g.id, best.k]);
      apply(best.g, best.k);
    }

    // Refill: give channels back while the budget holds, the group whose next channels matter most first.
    for (;;) {
      o.onProgress?.({ phase: `${label}: refill`, fraction: 1 });
      await price(active, above);
      let next: { g: Group; k: number; gain: number } | undefined;
      for (const g of active) {
        const c = counts.get(g.id)!;
        let fits: number | undefined;
        for (;;) {
          const d = deltas.get(g.id)!;
          fits = above(g).filter((k) => d.has(k) && current + d.get(k)! <= budget).at(-1);
          if (!widen(g, fits, above(g), cap(g))) break;
          await price([g], above);
        }
        if (fits === undefined) continue;
        const lost = lostIfKept.get(g.id)!;
        const gain = (lost[c] - lost[fits]) / (fits - c);
        if (!next || gain > next.gain) next = { g, k: fits, gain };
      }
      if (!next) break;
      apply(next.g, next.k);
    }
    const lost = active.reduce((sum, g) => sum + lostIfKept.get(g.id)![counts.get(g.id)!], 0);
    return { counts, cost: current, lost };
  };

  // Two starts: the whole model, and the uniform ratio that just meets the budget (the greedy descent
  // alone can starve one layer where many small cuts elsewhere would do); the smaller loss wins.
  const starts: KeptCounts[] = [new Map(active.map((g) => [g.id, cap(g)]))];
  const uniform = await uniformCountsForBudget(spec, groups, costs, budget, o, tables);
  if (uniform) starts.push(new Map(active.map((g) => [g.id, Math.min(cap(g), uniform.get(g.id) ?? cap(g))])));
  let found: Awaited<ReturnType<typeof search>> | undefined;
  for (const [i, start] of starts.entries()) {
    const r = i === 0 ? await search(start, 'from the whole model', descentPath(costs, spec, groups, scores, o)) : await search(start, 'from the uniform ratio');
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

/**
 * Per cost session: the descent from the whole model, by everything that decides it — the model's layer
 * workloads (shapes and bit widths: two mixed-precision candidates cost differently), the metric, the
 * groups, the scores and the options — so that a sweep replays a path only on the model that made it.
 */
const descents = new WeakMap<CostModel['config'], Map<string, [number, number][]>>();

function descentPath(costs: CostModel, spec: ModelSpec, groups: Group[], scores: Map<number, Float64Array>, o: BudgetAllocationOptions): [number, number][] {
  let h = 0x811c9dc5; // FNV-1a over the scores' bits
  const view = new Uint32Array(Float64Array.from([...scores].sort((a, b) => a[0] - b[0]).flatMap(([id, s]) => [id, ...s])).buffer);
  for (const word of view) h = Math.imul(h ^ word, 0x01000193) >>> 0;
  const session = [costs.o.metric, costs.o.mode, costs.o.schedule, modelWorkloads(spec)];
  const key = JSON.stringify([session, groups.map((g) => `${g.producers.join('+')}:${g.channels}`), h, o.ignore, o.roundTo, o.normalize, o.maxKept && [...o.maxKept]]);
  const byKey = descents.get(costs.config) ?? new Map<string, [number, number][]>();
  descents.set(costs.config, byKey);
  if (!byKey.has(key)) byKey.set(key, []);
  return byKey.get(key)!;
}

const fmt = (x: number) => (Math.abs(x) >= 1e6 ? x.toExponential(3) : String(Math.round(x)));

/** Uniform channel counts for a ratio, as allocate() keeps them. */
export function uniformCounts(groups: Group[], ratio: number, o: { ignore?: string[]; roundTo?: number } = {}): KeptCounts {
  const zeros = new Map(groups.filter((g) => g.prunable).map((g) => [g.id, new Float64Array(g.channels)]));
  const a = allocate(groups, zeros, { ratio, ignore: o.ignore, roundTo: o.roundTo });
  return new Map([...a.kept].map(([id, k]) => [id, k.length]));
}

/** The counts of the smallest uniform ratio (in steps of 1/100) whose model meets the budget, if any. */
export async function uniformCountsForBudget(
  spec: ModelSpec, groups: Group[], costs: CostModel, budget: number, o: { ignore?: string[]; roundTo?: number } = {}, tables = new LayerTables(spec, groups, costs),
): Promise<(KeptCounts & { ratio?: number }) | undefined> {
  const ratios = Array.from({ length: 100 }, (_, i) => i / 100);
  const counts = ratios.map((r) => uniformCounts(groups, r, o));
  const shapes = counts.map((c) => tables.shapes(c));
  await tables.prefetch(shapes.flat());
  const i = shapes.findIndex((list) => list.reduce((sum, sh) => sum + tables.cost(sh), 0) <= budget);
  return i < 0 ? undefined : Object.assign(counts[i], { ratio: ratios[i] });
}
