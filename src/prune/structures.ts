// The structures a sparsity penalty acts on (Wen et al., "Learning Structured Sparsity in Deep Neural
// Networks", NeurIPS 2016; Liu et al., "Network Slimming", ICCV 2017). A structure is a set of parameter
// entries whose joint L2 norm the penalty drives to zero: a channel of a dependency group (every slice
// the group owns, so coupled channels shrink together), a channel's batch-norm scales (slimming), one
// kernel position across a convolution's filters (filter shape), or a residual block's whole branch
// (depth). Each is described per parameter as rows of a [outer, rows, inner] view, so the penalty's
// norms and gradients are per-row reductions and per-row scalings on the backend.
import { axisView } from '../geometry.js';
import type { ModelSpec, Node } from '../model/graph.js';
import { paramList } from '../model/model.js';
import type { Group } from './dependency.js';

export type StructureKind = 'group-lasso' | 'slimming' | 'filter-shape' | 'depth';
export const STRUCTURE_KINDS: StructureKind[] = ['group-lasso', 'slimming', 'filter-shape', 'depth'];

/** One parameter's share of the structures: a [outer, rows, inner] view and, per row, its structure (-1: none). */
export interface PenaltyPart { param: string; view: [number, number, number]; structureOfRow: Int32Array }

export interface Structures {
  kind: StructureKind;
  /** A readable name per structure ('conv1 channel 3', 'conv2 position (0, 2)', 'block s1.b2.add'). */
  names: string[];
  /** Per structure, what it is: the group id and channel, the conv and kernel position (row-major), or the block's add. */
  owners: { node: string; index: number }[];
  parts: PenaltyPart[];
}

const shapesOf = (spec: ModelSpec) => new Map(paramList(spec).map((p) => [p.name, p.shape]));

/** Channels of the prunable groups: all slices a channel owns (slimming: its batch-norm scales only). */
function channelStructures(spec: ModelSpec, groups: Group[], kind: 'group-lasso' | 'slimming'): Structures {
  const shapes = shapesOf(spec);
  const names: string[] = [];
  const owners: Structures['owners'] = [];
  const parts: PenaltyPart[] = [];
  for (const g of groups.filter((x) => x.prunable)) {
    const slices = kind === 'slimming' ? g.slices.filter((s) => s.param.endsWith('.gamma')) : g.slices;
    if (!slices.length) continue;
    const first = names.length;
    for (let c = 0; c < g.channels; c++) {
      names.push(`${g.producers.join('+')} channel ${c}`);
      owners.push({ node: String(g.id), index: c });
    }
    for (const s of slices) {
      const view = axisView('penalty', shapes.get(s.param)!, s.axis);
      const structureOfRow = new Int32Array(view[1]).fill(-1);
      s.indices.forEach((rows, c) => { for (const r of rows) structureOfRow[r] = first + c; });
      parts.push({ param: s.param, view, structureOfRow });
    }
  }
  if (!names.length) throw new Error(kind === 'slimming' ? `sparse training (slimming): model '${spec.name}' has no prunable channel with a batch norm` : `sparse training: model '${spec.name}' has no prunable channel group`);
  return { kind, names, owners, parts };
}

/** Per convolution (not grouped, kernel larger than 1x1), each kernel position across all filters and input channels. */
function filterShapeStructures(spec: ModelSpec): Structures {
  const shapes = shapesOf(spec);
  const names: string[] = [];
  const owners: Structures['owners'] = [];
  const parts: PenaltyPart[] = [];
  for (const n of spec.nodes) {
    if (n.op !== 'conv2d' || (n.groups ?? 1) !== 1) continue;
    const [k, c, kh, kw] = shapes.get(`${n.name}.weight`)!;
    if (kh * kw === 1) continue;
    const first = names.length;
    for (let i = 0; i < kh * kw; i++) {
      names.push(`${n.name} position (${Math.floor(i / kw)}, ${i % kw})`);
      owners.push({ node: n.name, index: i });
    }
    parts.push({ param: `${n.name}.weight`, view: [k * c, kh * kw, 1], structureOfRow: Int32Array.from({ length: kh * kw }, (_, i) => first + i) });
  }
  if (!names.length) throw new Error(`sparse training (filter-shape): model '${spec.name}' has no ungrouped convolution larger than 1x1`);
  return { kind: 'filter-shape', names, owners, parts };
}

/** A residual block: the add, the branch input that a zero branch leaves, and the branch's nodes. */
export interface ResidualBlock { add: string; shortcut: string; branchInput: string; nodes: string[] }

const inputsOf = (n: Node): string[] => ('inputs' in n ? [...n.inputs] : 'input' in n ? [n.input] : []);

/**
 * Two-input adds whose one input is computed by nodes that feed nothing else (the branch) from the
 * other input's ancestors: removing the branch makes the add an identity of the shortcut. Where both
 * inputs qualify (a projection shortcut), the branch is the one with more nodes.
 */
export function residualBlocks(spec: ModelSpec): ResidualBlock[] {
  const byName = new Map(spec.nodes.map((n) => [n.name, n]));
  const consumers = new Map<string, string[]>();
  for (const n of spec.nodes) for (const i of inputsOf(n)) consumers.set(i, [...(consumers.get(i) ?? []), n.name]);
  const ancestors = (name: string, out = new Set<string>()): Set<string> => {
    for (const i of inputsOf(byName.get(name)!)) if (!out.has(i)) { out.add(i); ancestors(i, out); }
    return out;
  };
  const blocks: ResidualBlock[] = [];
  for (const n of spec.nodes) {
    if (n.op !== 'add' || n.inputs.length !== 2) continue;
    const candidates = [0, 1].map((side) => {
      const [branchEnd, shortcut] = [n.inputs[side], n.inputs[1 - side]];
      const outside = ancestors(shortcut).add(shortcut);
      const nodes = [...ancestors(branchEnd).add(branchEnd)].filter((x) => !outside.has(x));
      const own = new Set([...nodes, n.name]);
      const closed = nodes.length > 0 && nodes.every((x) => (consumers.get(x) ?? []).every((c) => own.has(c)));
      return closed ? { add: n.name, shortcut, branchInput: branchEnd, nodes: spec.nodes.map((m) => m.name).filter((m) => nodes.includes(m)) } : undefined;
    }).filter((b) => b !== undefined);
    if (candidates.length) blocks.push(candidates.sort((a, b) => b.nodes.length - a.nodes.length)[0]);
  }
  return blocks;
}

/** Per residual block, every parameter of its branch as one structure. */
function depthStructures(spec: ModelSpec): Structures {
  const params = paramList(spec).filter((p) => p.trainable);
  const names: string[] = [];
  const owners: Structures['owners'] = [];
  const parts: PenaltyPart[] = [];
  for (const b of residualBlocks(spec)) {
    const id = names.length;
    names.push(`block ${b.add}`);
    owners.push({ node: b.add, index: 0 });
    for (const p of params.filter((q) => b.nodes.includes(q.node))) {
      parts.push({ param: p.name, view: [1, 1, p.shape.reduce((x, y) => x * y, 1)], structureOfRow: Int32Array.of(id) });
    }
  }
  if (!names.length) throw new Error(`sparse training (depth): model '${spec.name}' has no residual block`);
  return { kind: 'depth', names, owners, parts };
}

export function penaltyStructures(spec: ModelSpec, groups: Group[], kind: StructureKind): Structures {
  if (kind === 'group-lasso' || kind === 'slimming') return channelStructures(spec, groups, kind);
  if (kind === 'filter-shape') return filterShapeStructures(spec);
  if (kind === 'depth') return depthStructures(spec);
  throw new Error(`sparse training: unknown regularisation '${kind}'; choose from ${STRUCTURE_KINDS.join(', ')}`);
}
