// From kept channels per group: weight masks (the masked model), and gather-compaction into the
// physically smaller dense model, on any backend (WGSL gather kernel on WebGPU).
import type { Backend } from '../backend.js';
import { type ModelSpec, inferShapes, inputsOf } from '../model/graph.js';
import { type Model, paramList } from '../model/model.js';
import { type Group, outputAxisOf } from './dependency.js';

/** Kept channel indices (ascending) per group id; groups not listed keep everything. */
export type KeptChannels = Map<number, number[]>;

function checkKept(groups: Group[], kept: KeptChannels): void {
  for (const [id, channels] of kept) {
    const g = groups[id];
    if (!g) throw new Error(`prune: no channel group ${id}`);
    if (channels.length === 0) throw new Error(`prune: group ${id} (${g.producers.join('+')}) would keep no channel`);
    if (!g.prunable && channels.length !== g.channels) throw new Error(`prune: group ${id} (${g.producers.join('+')}) is ${g.reason}`);
    channels.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c >= g.channels || (i > 0 && c <= channels[i - 1])) {
        throw new Error(`prune: kept channels of group ${id} must be ascending indices below ${g.channels}, got ${c}`);
      }
    });
  }
}

/**
 * Kept indices along each (param, axis) that some pruned group touches. A concat's consumer reads
 * several groups along one axis: its kept indices are the union of each group's (all of a group's
 * indices where that group is not pruned).
 */
function keptIndices(groups: Group[], kept: KeptChannels): Map<string, number[]> {
  const touched = new Set<string>();
  for (const id of kept.keys()) for (const s of groups[id].slices) touched.add(`${s.param}:${s.axis}`);
  const out = new Map<string, number[]>();
  for (const g of groups) {
    const channels = kept.get(g.id) ?? Array.from({ length: g.channels }, (_, i) => i);
    for (const s of g.slices) {
      const key = `${s.param}:${s.axis}`;
      if (touched.has(key)) out.set(key, [...(out.get(key) ?? []), ...channels.flatMap((c) => s.indices[c])]);
    }
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

/**
 * The masked model: weight rows and columns of pruned channels zeroed by masks (existing masks kept),
 * and layer norms' gamma masked too, which leaves pruned channels out of their statistics.
 */
export function applyChannelMasks(model: Model, groups: Group[], kept: KeptChannels): Model {
  checkKept(groups, kept);
  const masks = new Map(model.masks);
  const shapes = new Map(paramList(model.spec).map((p) => [p.name, p.shape]));
  const layerNormGammas = new Set(model.spec.nodes.filter((n) => n.op === 'layernorm').map((n) => `${n.name}.gamma`));
  for (const [key, keep] of keptIndices(groups, kept)) {
    const [param, axisText] = key.split(':');
    if (!param.endsWith('.weight') && !layerNormGammas.has(param)) continue;
    const shape = shapes.get(param)!;
    const axis = Number(axisText);
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const extent = shape[axis];
    const keepSet = new Set(keep);
    const mask = (masks.get(param) ?? new Float32Array(model.params.get(param)!.length).fill(1)).slice();
    for (let i = 0; i < mask.length; i++) if (!keepSet.has(Math.floor(i / inner) % extent)) mask[i] = 0;
    masks.set(param, mask);
  }
  return { spec: model.spec, params: model.params, masks };
}

/** The spec with pruned channel counts, and each gather's indices renumbered into its input's kept channels. */
export function compactSpec(spec: ModelSpec, groups: Group[], kept: KeptChannels): ModelSpec {
  const rows = new Map<string, number[]>(); // node -> kept output channels (a transposed conv's weight holds them on axis 1)
  const nodes = new Map(spec.nodes.map((n) => [n.name, n]));
  for (const [key, indices] of keptIndices(groups, kept)) {
    const [param, axis] = key.split(':');
    const node = param.endsWith('.weight') ? param.slice(0, -'.weight'.length) : undefined;
    if (node !== undefined && Number(axis) === outputAxisOf(nodes.get(node))) rows.set(node, indices);
  }
  const counted = withOutputCounts(spec, new Map([...rows].map(([node, r]) => [node, r.length])));
  if (!spec.nodes.some((n) => n.op === 'gather')) return counted;
  const keptOf = keptChannelsPerNode(spec, rows);
  return {
    ...counted,
    nodes: counted.nodes.map((n) => {
      if (n.op !== 'gather') return n;
      const before = keptOf.get(n.input)!;
      const place = new Map(before.map((c, i) => [c, i]));
      return { ...n, channels: n.channels.filter((c) => place.has(c)).map((c) => place.get(c)!) };
    }),
  };
}

/** Each [C, H, W] node's kept output channels (indices into its unpruned output), from the kept rows of each conv and linear layer. */
function keptChannelsPerNode(spec: ModelSpec, rows: Map<string, number[]>): Map<string, number[]> {
  const shapes = inferShapes(spec);
  const all = (name: string) => Array.from({ length: shapes.get(name)![0] }, (_, i) => i);
  const out = new Map<string, number[]>();
  for (const n of spec.nodes) {
    const first = inputsOf(n)[0];
    switch (n.op) {
      case 'input': out.set(n.name, all(n.name)); break;
      case 'conv2d': case 'convtranspose': case 'linear': out.set(n.name, rows.get(n.name) ?? all(n.name)); break;
      case 'concat': {
        let offset = 0;
        out.set(n.name, n.inputs.flatMap((i) => { const k = out.get(i)!.map((c) => c + offset); offset += shapes.get(i)![0]; return k; }));
        break;
      }
      case 'gather': {
        const before = new Set(out.get(n.input));
        out.set(n.name, n.channels.flatMap((c, j) => (before.has(c) ? [j] : [])));
        break;
      }
      case 'flatten': break;
      default: out.set(n.name, out.get(first)!);
    }
  }
  return out;
}

/** The spec with these output channel counts (by node name) for its conv and linear layers; depthwise convs keep one group per channel. */
export function withOutputCounts(spec: ModelSpec, counts: Map<string, number>): ModelSpec {
  return {
    ...spec,
    nodes: spec.nodes.map((n) => {
      const k = counts.get(n.name);
      if (k === undefined) return n;
      if (n.op === 'conv2d') return k === n.outChannels ? n : (n.groups ?? 1) > 1 ? { ...n, outChannels: k, groups: k } : { ...n, outChannels: k };
      if (n.op === 'convtranspose') return k === n.outChannels ? n : { ...n, outChannels: k };
      if (n.op === 'linear') return k === n.outFeatures ? n : { ...n, outFeatures: k };
      return n;
    }),
  };
}

/** The physically smaller dense model: every parameter gathered along its pruned axes on the backend. */
export async function compactModel(be: Backend, model: Model, groups: Group[], kept: KeptChannels): Promise<Model> {
  checkKept(groups, kept);
  const spec = compactSpec(model.spec, groups, kept);
  const keep = keptIndices(groups, kept);
  const params = new Map<string, Float32Array>();
  const masks = new Map<string, Float32Array>();
  for (const p of paramList(model.spec)) {
    for (const [store, source] of [[params, model.params], [masks, model.masks]] as const) {
      const data = source.get(p.name);
      if (!data) continue;
      let t = be.upload(data, p.shape);
      for (const axis of [0, 1]) {
        const indices = keep.get(`${p.name}:${axis}`);
        if (!indices) continue;
        const idx = be.upload(indices, [indices.length]);
        const next = be.gatherChannels(t, axis, idx);
        be.dispose(t, idx);
        t = next;
      }
      store.set(p.name, await be.read(t));
      be.dispose(t);
    }
  }
  const compacted: Model = { spec, params, masks };
  for (const p of paramList(spec)) {
    if (params.get(p.name)!.length !== p.shape.reduce((a, b) => a * b, 1)) throw new Error(`internal: compacted '${p.name}' does not match [${p.shape}]`);
  }
  return compacted;
}
