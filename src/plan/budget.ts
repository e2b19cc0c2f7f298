// Budgets on one accelerator: what a pruned model may cost, and the cost of a model with some channels
// kept. Costs come from the accelerator model (evaluate, tiled mode); every distinct layer shape is
// scheduled once and cached, so the allocation can probe thousands of channel counts cheaply. The
// cost of a candidate is the cost of the model compactSpec would build, so the compacted model's
// simulated cost is exactly what the allocation saw.
import type { AcceleratorConfig } from '../accel/config.js';
import { type EvaluateOptions, type LayerCost, type Mode, type ModelCost, evaluate, summarize } from '../accel/cost.js';
import { modelWorkloads } from '../accel/model-workload.js';
import type { Objective } from '../accel/tiled.js';
import type { LayerWorkload } from '../accel/workload.js';
import type { ModelSpec } from '../model/graph.js';
import { compactSpec, withOutputCounts } from '../prune/compact.js';
import { type Group, outputAxisOf, prefixCounts } from '../prune/dependency.js';

export const BUDGET_METRICS = ['latency', 'energy', 'dram', 'macs', 'params'] as const;
export type BudgetMetric = (typeof BUDGET_METRICS)[number];

/** `fraction` of the dense model's cost, or an absolute `value` in the metric's base unit. */
export type Budget = { metric: BudgetMetric; fraction: number } | { metric: BudgetMetric; value: number };

/** Base units: cycles, picojoules, DRAM bytes (each tensor at its width), MACs, weights. */
export const METRIC_UNITS: Record<BudgetMetric, string> = { latency: 'cycles', energy: 'pJ', dram: 'bytes', macs: 'MACs', params: 'weights' };

const UNIT_SCALE: Record<string, [BudgetMetric, number]> = {
  cycles: ['latency', 1], pj: ['energy', 1], nj: ['energy', 1e3], uj: ['energy', 1e6], mj: ['energy', 1e9],
  bytes: ['dram', 1], kb: ['dram', 1024], mb: ['dram', 1024 * 1024], macs: ['macs', 1], weights: ['params', 1],
};

/**
 * `latency=0.5` (half the dense latency), `latency=20000cycles`, `latency=0.1ms` (at the clock of
 * `config`), `energy=3uJ`, `dram=200kB`, `dram=1e5words` (of `config`'s word), `macs=0.4`, `params=2e4weights`.
 */
export function parseBudget(text: string, config?: AcceleratorConfig): Budget {
  const m = /^\s*([a-z]+)\s*=\s*([0-9.eE+-]+)\s*([a-zA-Z]*)\s*$/.exec(text);
  const usage = `expected METRIC=FRACTION or METRIC=VALUEUNIT with METRIC one of ${BUDGET_METRICS.join(', ')} (e.g. latency=0.5, energy=3uJ)`;
  if (!m) throw new Error(`budget '${text}': ${usage}`);
  const metric = m[1] as BudgetMetric;
  if (!BUDGET_METRICS.includes(metric)) throw new Error(`budget '${text}': unknown metric '${m[1]}'; ${usage}`);
  const x = Number(m[2]);
  if (!Number.isFinite(x) || x <= 0) throw new Error(`budget '${text}': the value must be a positive number`);
  const unit = m[3].toLowerCase();
  if (!unit) {
    if (x > 1) throw new Error(`budget '${text}': a bare number is a fraction of the dense cost and must be in (0, 1]; give a unit for an absolute budget (${METRIC_UNITS[metric]})`);
    return { metric, fraction: x };
  }
  if (metric === 'dram' && unit === 'words') {
    if (!config) throw new Error(`budget '${text}': DRAM words need an accelerator's word size`);
    return { metric, value: x * config.wordBytes };
  }
  if (metric === 'latency' && (unit === 'ms' || unit === 'us')) {
    if (!config) throw new Error(`budget '${text}': a latency in ${unit} needs an accelerator clock`);
    return { metric, value: x * (unit === 'ms' ? 1e3 : 1) * config.clockMHz };
  }
  const scale = UNIT_SCALE[unit];
  if (!scale || scale[0] !== metric) throw new Error(`budget '${text}': unit '${m[3]}' does not fit ${metric}`);
  return { metric, value: x * scale[1] };
}

export const budgetText = (b: Budget) => ('fraction' in b ? `${b.metric}=${b.fraction}` : `${b.metric}=${Number(b.value.toPrecision(6))}${METRIC_UNITS[b.metric]}`);

/** The scheduler objective that minimises a metric (MACs and weights do not depend on the schedule). */
export const objectiveFor = (m: BudgetMetric): Objective => (m === 'energy' ? 'energy' : m === 'dram' ? 'dram' : 'latency');

export function metricOf(l: LayerCost, m: BudgetMetric): number {
  switch (m) {
    case 'latency': return l.cycles;
    case 'energy': return l.energy.total;
    case 'dram': return l.dramBytes;
    case 'macs': return l.macs;
    case 'params': return l.gemm.K * l.gemm.M * l.gemm.repeats; // conv and linear weights
  }
}

export interface CostModelOptions {
  metric: BudgetMetric;
  mode?: Mode;
  schedule?: EvaluateOptions['schedule'];
  /** Share another model's cache (one cost session per run: nothing is scheduled twice). */
  session?: CostModel;
}

/** The cost of a model spec under a metric, every layer shape scheduled once per objective and cached. */
export class CostModel {
  private cache: Map<string, LayerCost>;
  private counters: { problems: number };
  readonly objective: Objective;
  constructor(readonly config: AcceleratorConfig, readonly o: CostModelOptions) {
    this.objective = objectiveFor(o.metric);
    if (o.session && (o.session.config !== config || o.session.o.mode !== o.mode)) throw new Error('internal: a cost session is shared by one accelerator and mode');
    this.cache = o.session?.cache ?? new Map();
    this.counters = o.session?.counters ?? { problems: 0 };
  }

  /** The same session under another metric. */
  withMetric(metric: BudgetMetric): CostModel {
    return metric === this.o.metric ? this : new CostModel(this.config, { ...this.o, metric, session: this });
  }

  private key = (l: LayerWorkload) => `${this.objective}|${JSON.stringify({ ...l, name: '' })}`;

  /** Schedules every layer shape of these specs not yet cached, in one pass. */
  async prefetch(specs: ModelSpec[]): Promise<void> {
    await this.prefetchLayers(specs.flatMap((s) => modelWorkloads(s)));
  }

  /** Schedules every layer shape not yet cached, in one pass. */
  async prefetchLayers(layers: LayerWorkload[]): Promise<void> {
    const missing = new Map<string, LayerWorkload>();
    for (const l of layers) if (!this.cache.has(this.key(l))) missing.set(this.key(l), l);
    if (missing.size === 0) return;
    this.counters.problems += [...missing.values()].filter((l) => !l.vector).length;
    const cost = await evaluate(this.config, [...missing.values()], { mode: this.o.mode, objective: this.objective, schedule: this.o.schedule });
    [...missing.keys()].forEach((k, i) => this.cache.set(k, cost.layers[i]));
  }

  /** The full simulation of these layers (a model's, or with N:M sparsity), from the cache where it can. */
  async evaluate(layers: LayerWorkload[]): Promise<ModelCost> {
    await this.prefetchLayers(layers);
    const costs = layers.map((l) => ({ ...this.cache.get(this.key(l))!, name: l.name }));
    return summarize(this.config, this.o.mode ?? 'tiled', this.objective, costs);
  }

  /** The metric of one layer shape (prefetched). */
  layerMetric(l: LayerWorkload): number {
    const c = this.cache.get(this.key(l));
    if (!c) throw new Error(`internal: layer '${l.name}' was not prefetched`);
    return metricOf(c, this.o.metric);
  }

  /** Tile-scheduling problems solved in this session (each GEMM layer shape once per objective; vector passes are formulas). */
  get problemsSolved(): number {
    return this.counters.problems;
  }

  /** Cost of a spec whose layer shapes are cached (prefetch first). */
  costOf(spec: ModelSpec): number {
    let total = 0;
    for (const l of modelWorkloads(spec)) {
      const c = this.cache.get(this.key(l));
      if (!c) throw new Error(`internal: layer '${l.name}' was not prefetched`);
      total += metricOf(c, this.o.metric);
    }
    return total;
  }

  async cost(spec: ModelSpec): Promise<number> {
    await this.prefetch([spec]);
    return this.costOf(spec);
  }
}

/** Kept channel counts per group id; groups not listed keep everything. */
export type KeptCounts = Map<number, number>;

/** Per group: the producer nodes whose output channels it holds, with prefix counts of its channels there. */
const producerPrefixes = new WeakMap<Group[], { node: string; group: number; prefix: number[] }[]>();

function prefixesOf(spec: ModelSpec, groups: Group[]) {
  let p = producerPrefixes.get(groups);
  if (!p) {
    const nodes = new Map(spec.nodes.map((n) => [n.name, n]));
    const node = (param: string) => param.slice(0, -'.weight'.length);
    p = groups.flatMap((g) => g.slices.filter((sl) => sl.param.endsWith('.weight') && sl.axis === outputAxisOf(nodes.get(node(sl.param))))
      .map((sl) => ({ node: node(sl.param), group: g.id, prefix: prefixCounts(sl.indices) })));
    producerPrefixes.set(groups, p);
  }
  return p;
}

/**
 * The spec of the model that keeps `counts` channels per group (which channels does not matter):
 * what compactSpec builds, computed from per-group prefix counts so that probing is cheap.
 */
export function specWithCounts(spec: ModelSpec, groups: Group[], counts: KeptCounts): ModelSpec {
  // Gathers need kept channels to renumber their indices; any choice gives the same shapes (dependency.ts
  // makes each side of a split a group of its own), so take each group's first channels.
  if (spec.nodes.some((n) => n.op === 'gather')) {
    return compactSpec(spec, groups, new Map([...counts].map(([g, k]) => [g, Array.from({ length: Math.min(k, groups[g].channels) }, (_, i) => i)])));
  }
  const out = new Map<string, number>();
  for (const { node, group, prefix } of prefixesOf(spec, groups)) {
    const k = Math.min(counts.get(group) ?? groups[group].channels, groups[group].channels);
    out.set(node, (out.get(node) ?? 0) + prefix[k]);
  }
  return withOutputCounts(spec, out);
}

/** The absolute budget in the metric's base unit. */
/** Budgets of each step: equal shrinking from the dense cost to the final budget. */
export const budgetSteps = (dense: number, final: number, steps: number): number[] =>
  Array.from({ length: steps }, (_, i) => (i + 1 === steps ? final : dense - ((dense - final) * (i + 1)) / steps));

export async function absoluteBudget(b: Budget, dense: ModelSpec, costs: CostModel): Promise<number> {
  return 'fraction' in b ? b.fraction * (await costs.cost(dense)) : b.value;
}
