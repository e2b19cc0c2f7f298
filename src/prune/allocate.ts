// Allocation: how many channels each group keeps, and which (the most important). Uniform per-layer
// ratio, a global ranking over per-group normalised scores, per-layer ratio overrides, ignored layers,
// rounding to multiples, and never an empty group.
import type { KeptChannels } from './compact.js';
import type { Group } from './dependency.js';

export interface AllocationOptions {
  /** Fraction of channels to remove, in [0, 1). */
  ratio: number;
  /** Rank channels of all groups together (scores normalised by each group's mean) instead of per group. */
  global?: boolean;
  /** Per-layer ratios by producer name, overriding `ratio`. */
  ratios?: Record<string, number>;
  /** Producer names whose groups are left whole. */
  ignore?: string[];
  /** Keep channel counts at multiples of this (rounding up, never past the group's size). */
  roundTo?: number;
  /** Per group id, the channels an earlier step kept: the others stay pruned and count as removed. */
  available?: KeptChannels;
}

export interface Allocation { kept: KeptChannels; notes: string[] }

function checkRatio(name: string, r: number): void {
  if (!(typeof r === 'number' && r >= 0 && r < 1)) throw new Error(`prune: ${name} must be in [0, 1), got ${r}`);
}

export function allocate(groups: Group[], scores: Map<number, Float64Array>, o: AllocationOptions): Allocation {
  checkRatio('ratio', o.ratio);
  const producers = new Set(groups.flatMap((g) => g.producers));
  for (const [name, r] of Object.entries(o.ratios ?? {})) {
    if (!producers.has(name)) throw new Error(`prune: unknown layer '${name}' in ratios; prunable layers: ${groups.filter((g) => g.prunable).flatMap((g) => g.producers).join(', ')}`);
    checkRatio(`ratio of layer '${name}'`, r);
    const g = groups.find((x) => x.producers.includes(name))!;
    if (!g.prunable && r > 0) throw new Error(`prune: layer '${name}' cannot be pruned: ${g.reason!.replace(/^not prunable: /, '')}`);
  }
  for (const name of o.ignore ?? []) if (!producers.has(name)) throw new Error(`prune: unknown layer '${name}' in ignored layers`);
  const roundTo = o.roundTo ?? 1;
  if (!Number.isInteger(roundTo) || roundTo < 1) throw new Error(`prune: roundTo must be a positive integer, got ${roundTo}`);

  const notes: string[] = [];
  const active = groups.filter((g) => g.prunable && !g.producers.some((p) => o.ignore?.includes(p)));
  const ratioOf = (g: Group) => g.producers.map((p) => o.ratios?.[p]).find((r) => r !== undefined) ?? o.ratio;
  const availableOf = (g: Group) => o.available?.get(g.id) ?? Array.from({ length: g.channels }, (_, c) => c);
  for (const g of active) {
    const s = scores.get(g.id);
    if (!s || s.length !== g.channels) throw new Error(`prune: no scores for group ${g.id} (${g.producers.join('+')})`);
  }
  const keepCount = new Map<number, number>();
  if (o.global) {
    // Normalise within each group (by the mean over its available channels) so that layers of different
    // scale compete fairly; channels pruned earlier count towards the ratio.
    const all: { group: number; channel: number; score: number }[] = [];
    let total = 0;
    for (const g of active) {
      const s = scores.get(g.id)!;
      const open = availableOf(g);
      const mean = open.reduce((a, c) => a + s[c], 0) / open.length || 1;
      for (const c of open) all.push({ group: g.id, channel: c, score: s[c] / mean });
      total += g.channels;
    }
    all.sort((a, b) => a.score - b.score);
    const removed = new Map<number, number>();
    const more = Math.max(0, Math.round(total * o.ratio) - (total - all.length));
    for (const x of all.slice(0, more)) removed.set(x.group, (removed.get(x.group) ?? 0) + 1);
    for (const g of active) keepCount.set(g.id, availableOf(g).length - (removed.get(g.id) ?? 0));
  } else {
    for (const g of active) keepCount.set(g.id, Math.min(availableOf(g).length, g.channels - Math.round(g.channels * ratioOf(g))));
  }
  const kept: KeptChannels = new Map();
  for (const g of active) {
    let k = keepCount.get(g.id)!;
    if (k < 1) {
      notes.push(`group ${g.id} (${g.producers.join('+')}): would lose every channel; keeps 1`);
      k = 1;
    }
    const open = availableOf(g);
    k = Math.min(open.length, Math.ceil(k / roundTo) * roundTo);
    const s = scores.get(g.id)!;
    const order = [...open].sort((a, b) => s[b] - s[a] || a - b);
    kept.set(g.id, order.slice(0, k).sort((a, b) => a - b));
  }
  return { kept, notes };
}
