// Channel dependency analysis on the model graph (backend-independent). Channels that must be pruned
// together form a group: a conv's output channels with the batch norms, activations and pools they pass
// through, every consumer that reads them (conv input channels, linear input features through a
// flatten), depthwise convs they feed (whose outputs are the same channels), the per-channel parameters of
// batch and layer norms (a layer norm's statistics then cover the kept channels), and all inputs of a
// residual add or of a squeeze-excitation scale (which share channels). Concat places its inputs'
// channels at offsets; a gather (channel shuffle, split or slice) maps them through its indices. Where a
// split or slice takes some of a layer's channels and leaves others, each side is a group of its own, so
// that kept counts per group fix every split's sizes (a plan by counts knows its cost).
import { type ModelSpec, type Node, inferShapes, isActivation, isOutput, outputNames, paramShapes } from '../model/graph.js';

/** Where a group channel lives in one parameter: `axis` of the tensor, at `index`. */
export interface ParamSlice {
  param: string;
  /** 0: output channels (rows); 1: input channels / features. */
  axis: 0 | 1;
  /** Per group channel, the indices along `axis` (a flatten maps one channel to H*W features). */
  indices: number[][];
}

/** Per group channel's index list: how many indices the group's first k channels hold (k = 0..channels). */
export function prefixCounts(indices: number[][]): number[] {
  const prefix = [0];
  for (const idx of indices) prefix.push(prefix.at(-1)! + idx.length);
  return prefix;
}

export interface Group {
  id: number;
  /** Layers whose output channels the group prunes (conv, linear). */
  producers: string[];
  channels: number;
  /** Every parameter slice a group channel owns, producers first. */
  slices: ParamSlice[];
  /** Per node whose output holds group channels: their indices there (features, after a flatten), per group channel. */
  nodes: { node: string; indices: number[][] }[];
  /** False where a channel of the group is a model input or output, or enters a grouped conv. */
  prunable: boolean;
  reason?: string;
}

/** Union-find over producer channels. */
class Channels {
  private parent: number[] = [];
  private blocked = new Map<number, string>();
  add(count: number, blockedReason?: string): number[] {
    return Array.from({ length: count }, () => {
      const id = this.parent.length;
      this.parent.push(id);
      if (blockedReason) this.blocked.set(id, blockedReason);
      return id;
    });
  }
  find(a: number): number {
    while (this.parent[a] !== a) a = this.parent[a] = this.parent[this.parent[a]];
    return a;
  }
  union(a: number, b: number): void {
    const [ra, rb] = [this.find(a), this.find(b)];
    if (ra === rb) return;
    this.parent[rb] = ra;
    const reason = this.blocked.get(ra) ?? this.blocked.get(rb);
    if (reason) this.blocked.set(ra, reason);
  }
  block(a: number, reason: string): void {
    const r = this.find(a);
    if (!this.blocked.has(r)) this.blocked.set(r, reason);
  }
  blockedReason(a: number): string | undefined { return this.blocked.get(this.find(a)); }
}

/** The weight axis that holds a layer's output channels: 1 for a transposed convolution ([C_in, C_out / groups, KH, KW]), else 0. */
export const outputAxisOf = (n: Node | undefined): 0 | 1 => (n?.op === 'convtranspose' ? 1 : 0);

export function channelGroups(spec: ModelSpec): Group[] {
  const shapes = inferShapes(spec);
  const uf = new Channels();
  /** Per node output: the channel id of each channel (or each feature, after a flatten). */
  const sources = new Map<string, number[]>();
  /** Producer of each channel id, and its index there. */
  const producedBy = new Map<number, { node: string; index: number }>();
  const uses: { node: string; param: string; axis: 0 | 1; ids: number[]; perChannel: number }[] = [];
  /** Splits and slices: the channels they take and those they leave. */
  const cuts: { taken: number[]; left: number[] }[] = [];

  const produce = (n: Node, count: number, reason?: string) => {
    const ids = uf.add(count, reason);
    ids.forEach((id, index) => producedBy.set(id, { node: n.name, index }));
    return ids;
  };

  for (const n of spec.nodes) {
    const x = 'input' in n ? sources.get(n.input)! : undefined;
    if (isActivation(n)) {
      sources.set(n.name, x!);
      continue;
    }
    switch (n.op) {
      case 'input': sources.set(n.name, produce(n, spec.inputShape[0], 'it is the model input')); break;
      case 'conv2d': {
        const groups = n.groups ?? 1;
        const params = paramShapes(n, shapes);
        const inChannels = shapes.get(n.input)![0];
        if (groups === inChannels && n.outChannels === inChannels) {
          // Depthwise: output channel c is input channel c.
          sources.set(n.name, x!);
          uses.push({ node: n.name, param: `${n.name}.weight`, axis: 0, ids: x!, perChannel: 1 });
          if (params.bias) uses.push({ node: n.name, param: `${n.name}.bias`, axis: 0, ids: x!, perChannel: 1 });
          break;
        }
        const out = produce(n, n.outChannels, groups > 1 ? `it feeds or leaves grouped conv '${n.name}'` : undefined);
        if (groups > 1) x!.forEach((id) => uf.block(id, `it feeds grouped conv '${n.name}'`));
        else uses.push({ node: n.name, param: `${n.name}.weight`, axis: 1, ids: x!, perChannel: 1 });
        uses.push({ node: n.name, param: `${n.name}.weight`, axis: 0, ids: out, perChannel: 1 });
        if (params.bias) uses.push({ node: n.name, param: `${n.name}.bias`, axis: 0, ids: out, perChannel: 1 });
        sources.set(n.name, out);
        break;
      }
      case 'convtranspose': {
        // Its weight is [C_in, C_out / groups, KH, KW]: input channels on axis 0, output channels on axis 1.
        const grouped = (n.groups ?? 1) > 1;
        const out = produce(n, n.outChannels, grouped ? `it leaves grouped transposed conv '${n.name}'` : undefined);
        if (grouped) x!.forEach((id) => uf.block(id, `it feeds grouped transposed conv '${n.name}'`));
        else {
          uses.push({ node: n.name, param: `${n.name}.weight`, axis: 0, ids: x!, perChannel: 1 });
          uses.push({ node: n.name, param: `${n.name}.weight`, axis: 1, ids: out, perChannel: 1 });
        }
        if (n.bias !== false) uses.push({ node: n.name, param: `${n.name}.bias`, axis: 0, ids: out, perChannel: 1 });
        sources.set(n.name, out);
        break;
      }
      case 'linear': {
        const out = produce(n, n.outFeatures, isOutput(spec, n.name) ? 'it is a model output' : undefined);
        uses.push({ node: n.name, param: `${n.name}.weight`, axis: 1, ids: x!, perChannel: 1 });
        uses.push({ node: n.name, param: `${n.name}.weight`, axis: 0, ids: out, perChannel: 1 });
        if (n.bias !== false) uses.push({ node: n.name, param: `${n.name}.bias`, axis: 0, ids: out, perChannel: 1 });
        sources.set(n.name, out);
        break;
      }
      case 'groupnorm':
        // Its statistics span equal groups of channels: pruning some would change what each group holds
        // (or the group count), which the trained model never saw, so its channels are kept whole; with one
        // channel per group (instance norm) a pruned channel takes its whole group with it, which is exact.
        if (!n.perChannel) x!.forEach((id) => uf.block(id, `it feeds group norm '${n.name}' (equal channel groups)`));
        for (const kind of ['gamma', 'beta']) uses.push({ node: n.name, param: `${n.name}.${kind}`, axis: 0, ids: x!, perChannel: 1 });
        sources.set(n.name, x!);
        break;
      case 'batchnorm': case 'layernorm': case 'prelu':
        for (const kind of Object.keys(paramShapes(n, shapes))) uses.push({ node: n.name, param: `${n.name}.${kind}`, axis: 0, ids: x!, perChannel: 1 });
        sources.set(n.name, x!);
        break;
      case 'maxpool': case 'avgpool': case 'gap': case 'resize': sources.set(n.name, x!); break;
      case 'flatten': {
        const [c, h = 1, w = 1] = shapes.get(n.input)!;
        sources.set(n.name, Array.from({ length: c * h * w }, (_, f) => x![Math.floor(f / (h * w))]));
        break;
      }
      case 'add': case 'mul': {
        // A residual add, or squeeze-excitation's scale: both inputs carry the same channels.
        const ins = n.inputs.map((i) => sources.get(i)!);
        ins[0].forEach((id, c) => ins.slice(1).forEach((other) => uf.union(id, other[c])));
        sources.set(n.name, ins[0]);
        break;
      }
      case 'concat': sources.set(n.name, n.inputs.flatMap((i) => sources.get(i)!)); break;
      case 'gather': {
        sources.set(n.name, n.channels.map((c) => x![c]));
        const taken = new Set(n.channels);
        if (taken.size < x!.length) cuts.push({ taken: n.channels.map((c) => x![c]), left: x!.filter((_, c) => !taken.has(c)) });
        break;
      }
    }
  }
  for (const name of outputNames(spec)) for (const id of sources.get(name)!) uf.block(id, 'it is a model output');
  /** Per channel root: which side of each split it is on. */
  const sides = new Map<number, string>();
  cuts.forEach((cut, k) => {
    for (const [ids, side] of [[cut.taken, 't'], [cut.left, 'l']] as const) {
      for (const r of new Set(ids.map((id) => uf.find(id)))) sides.set(r, `${sides.get(r) ?? ''}${k}${side}`);
    }
  });

  // Group channel ids by root, then roots by the set of producers they hold and their sides of the splits.
  const roots = new Map<number, { node: string; index: number }[]>();
  for (const [id, p] of producedBy) {
    const r = uf.find(id);
    roots.set(r, [...(roots.get(r) ?? []), p]);
  }
  const byProducers = new Map<string, number[]>();
  for (const [root, members] of roots) {
    const key = `${[...new Set(members.map((m) => m.node))].sort().join('+')}|${sides.get(root) ?? ''}`;
    byProducers.set(key, [...(byProducers.get(key) ?? []), root]);
  }
  const groups: Group[] = [];
  /** Per channel root: its group (an index into `groups`) and its place there. */
  const placeOf = new Map<number, [number, number]>();
  for (const [key, rootList] of byProducers) {
    const producers = key.slice(0, key.lastIndexOf('|')).split('+');
    if (producers.length === 1 && spec.nodes.find((n) => n.name === producers[0])?.op === 'input') continue;
    // Order channels by the first producer's channel index.
    const firstIndex = (r: number) => Math.min(...roots.get(r)!.filter((m) => m.node === producers[0]).map((m) => m.index));
    rootList.sort((a, b) => firstIndex(a) - firstIndex(b));
    const position = new Map(rootList.map((r, i) => [r, i]));
    rootList.forEach((r, i) => placeOf.set(r, [groups.length, i]));
    const slices = new Map<string, ParamSlice>();
    for (const u of uses) {
      const per: number[][] = rootList.map(() => []);
      u.ids.forEach((id, at) => {
        const i = position.get(uf.find(id));
        if (i !== undefined) per[i].push(at);
      });
      if (per.every((p) => p.length === 0)) continue;
      const k = `${u.param}:${u.axis}`;
      const prior = slices.get(k);
      if (prior) per.forEach((p, i) => prior.indices[i].push(...p));
      else slices.set(k, { param: u.param, axis: u.axis, indices: per });
    }
    const reason = uf.blockedReason(rootList[0]);
    groups.push({
      id: groups.length, producers, channels: rootList.length,
      slices: [...slices.values()].sort((a, b) => a.axis - b.axis), nodes: [],
      prunable: !reason, reason: reason ? `not prunable: ${reason}` : undefined,
    });
  }
  for (const n of spec.nodes) {
    const perGroup = new Map<number, number[][]>();
    sources.get(n.name)!.forEach((id, at) => {
      const place = placeOf.get(uf.find(id));
      if (!place) return;
      const [g, i] = place;
      if (!perGroup.has(g)) perGroup.set(g, Array.from({ length: groups[g].channels }, () => []));
      perGroup.get(g)![i].push(at);
    });
    for (const [g, indices] of perGroup) groups[g].nodes.push({ node: n.name, indices });
  }
  return groups;
}
