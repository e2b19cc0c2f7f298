// Layer costs over kept channel counts (HALP's per-layer latency tables, filled on demand): a conv or
// linear layer's cost (or a vector pass's) depends only on its own kept input and output counts, and each of those is a sum,
// over the groups that own the layer's channels, of how many of them a group's first k channels hold
// (the rule specWithCounts builds by). Pricing a group's cut is then a look-up per layer it touches, and
// a model's cost a sum of look-ups; new shapes are scheduled in batches through the run's CostModel.
import { modelWorkloads } from '../accel/model-workload.js';
import { type LayerWorkload, keptWorkload } from '../accel/workload.js';
import { type ModelSpec, inputsOf } from '../model/graph.js';
import type { CostModel, KeptCounts } from './budget.js';
import { type Group, outputAxisOf, prefixCounts } from '../prune/dependency.js';

/** A layer's input or output count: fixed channels plus, per group, how many its first k channels hold. */
interface Axis { fixed: number; terms: { group: number; prefix: number[] }[] }

interface TableLayer {
  workload: LayerWorkload;
  input: Axis;
  output: Axis;
  /** Metric by kept (input, output), keyed input * span + output. */
  costs: Map<number, number>;
  span: number;
}

/** A layer (by index) at kept input and output counts. */
export type LayerShape = [layer: number, input: number, output: number];

export class LayerTables {
  readonly layers: TableLayer[] = [];
  /** Per group id: the layers whose counts it changes. */
  readonly touched = new Map<number, number[]>();
  /** Per group id: the groups that share a layer with it (itself included). */
  readonly neighbours = new Map<number, Set<number>>();

  constructor(spec: ModelSpec, readonly groups: Group[], readonly costs: CostModel) {
    const nodes = new Map(spec.nodes.map((n) => [n.name, n]));
    for (const workload of modelWorkloads(spec)) {
      const depthwise = workload.groups > 1 && workload.channels === 1;
      const vector = workload.vector !== undefined;
      const outAxis = outputAxisOf(nodes.get(workload.name));
      const output = vector ? this.nodeAxis(workload.name, workload.numFilters) : this.axis(workload.name, outAxis, workload.numFilters * workload.groups);
      const input = depthwise ? output
        : vector ? this.nodeAxis(inputsOf(nodes.get(workload.name)!)[0], workload.channels) : this.axis(workload.name, outAxis === 0 ? 1 : 0, workload.channels * workload.groups);
      const index = this.layers.push({ workload, input, output, costs: new Map(), span: workload.numFilters * workload.groups + 1 }) - 1;
      for (const t of [...input.terms, ...output.terms]) {
        const list = this.touched.get(t.group) ?? [];
        if (!list.includes(index)) list.push(index);
        this.touched.set(t.group, list);
      }
    }
    for (const g of groups) {
      const near = new Set<number>();
      for (const i of this.touched.get(g.id) ?? []) for (const t of [...this.layers[i].input.terms, ...this.layers[i].output.terms]) near.add(t.group);
      this.neighbours.set(g.id, near);
    }
  }

  /** A layer's input or output channels (weight axes 1 and 0; a transposed conv's the other way), from the group slices of its weight. */
  private axis(layer: string, axis: 0 | 1, dense: number): Axis {
    return this.axisOf(dense, (g) => g.slices.filter((s) => s.param === `${layer}.weight` && s.axis === axis).map((s) => s.indices));
  }

  /** A node's output channels (a vector pass's input or output). */
  private nodeAxis(node: string, dense: number): Axis {
    return this.axisOf(dense, (g) => g.nodes.filter((e) => e.node === node).map((e) => e.indices));
  }

  /** Per group, how many of the axis's channels its first k channels hold; the rest is fixed. */
  private axisOf(dense: number, entries: (g: Group) => number[][][]): Axis {
    const terms = this.groups.flatMap((g) => entries(g).map((indices) => ({ group: g.id, prefix: prefixCounts(indices) })));
    return { fixed: dense - terms.reduce((a, t) => a + t.prefix.at(-1)!, 0), terms };
  }

  private count(a: Axis, counts: KeptCounts, group?: number, k?: number): number {
    let n = a.fixed;
    for (const t of a.terms) {
      const full = t.prefix.length - 1;
      n += t.prefix[Math.min(t.group === group ? k! : counts.get(t.group) ?? full, full)];
    }
    return n;
  }

  /** Layer i's kept (input, output) under these counts, with group `group` at `k` if given. */
  shape(i: number, counts: KeptCounts, group?: number, k?: number): LayerShape {
    const l = this.layers[i];
    return [i, this.count(l.input, counts, group, k), this.count(l.output, counts, group, k)];
  }

  private keyOf([i, input, output]: LayerShape): number {
    return input * this.layers[i].span + output;
  }

  /** Schedules the shapes not yet priced, in one batch. */
  async prefetch(shapes: LayerShape[]): Promise<void> {
    const missing = shapes.filter((s) => !this.layers[s[0]].costs.has(this.keyOf(s)));
    if (missing.length === 0) return;
    const workloads = missing.map(([i, input, output]) => keptWorkload(this.layers[i].workload, input, output));
    await this.costs.prefetchLayers(workloads);
    missing.forEach((s, j) => this.layers[s[0]].costs.set(this.keyOf(s), this.costs.layerMetric(workloads[j])));
  }

  /** The metric of a prefetched shape. */
  cost(s: LayerShape): number {
    const c = this.layers[s[0]].costs.get(this.keyOf(s));
    if (c === undefined) throw new Error(`internal: layer '${this.layers[s[0]].workload.name}' at ${s[1]} -> ${s[2]} channels was not prefetched`);
    return c;
  }

  /** Every layer's shape under these counts. */
  shapes(counts: KeptCounts): LayerShape[] {
    return this.layers.map((_, i) => this.shape(i, counts));
  }

  /** The model's cost under these counts: equal to costs.costOf(specWithCounts(spec, groups, counts)). */
  async total(counts: KeptCounts): Promise<number> {
    const shapes = this.shapes(counts);
    await this.prefetch(shapes);
    return shapes.reduce((sum, s) => sum + this.cost(s), 0);
  }
}
