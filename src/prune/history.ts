// Pruning history: per channel group of the original model, the channels a pruned model kept. A pruned
// checkpoint records it, so the pruned architecture can be rebuilt from the original model (Torch-
// Pruning's most asked-for feature: reloading a pruned model), and each kept channel traced to its origin.
import type { Backend } from '../backend.js';
import type { ModelSpec } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { type KeptChannels, applyChannelMasks, compactModel, compactSpec } from './compact.js';
import { type Group, channelGroups } from './dependency.js';

export interface PruningHistory {
  /** The original model's name and input shape (a check when replaying). */
  model: string;
  inputShape: [number, number, number];
  /** Per pruned group: its producers and size in the original model, and the channels kept there. */
  groups: { producers: string[]; channels: number; kept: number[] }[];
}

export function pruningHistory(original: ModelSpec, groups: Group[], kept: KeptChannels): PruningHistory {
  return {
    model: original.name, inputShape: original.inputShape,
    groups: [...kept].sort(([a], [b]) => a - b).map(([id, k]) => ({ producers: groups[id].producers, channels: groups[id].channels, kept: [...k] })),
  };
}

/** The history's kept channels by group id of `spec`; throws, naming the group, where `spec` is not the model it was recorded on. */
export function keptFromHistory(spec: ModelSpec, h: PruningHistory): { groups: Group[]; kept: KeptChannels } {
  if (spec.inputShape.join('x') !== h.inputShape.join('x')) throw new Error(`pruning history of '${h.model}' (${h.inputShape.join('x')} input) does not fit model '${spec.name}' (${spec.inputShape.join('x')})`);
  const groups = channelGroups(spec);
  const byProducers = new Map(groups.map((g) => [g.producers.join('+'), g]));
  const kept: KeptChannels = new Map();
  for (const r of h.groups) {
    const g = byProducers.get(r.producers.join('+'));
    if (!g || g.channels !== r.channels) throw new Error(`pruning history of '${h.model}': model '${spec.name}' has no group ${r.producers.join('+')} of ${r.channels} channels`);
    kept.set(g.id, r.kept);
  }
  return { groups, kept };
}

/** The pruned architecture the history describes, on the original spec. */
export function prunedSpec(original: ModelSpec, h: PruningHistory): ModelSpec {
  const { groups, kept } = keptFromHistory(original, h);
  return compactSpec(original, groups, kept);
}

/** The original model pruned as the history says: masks applied, then compacted (before any fine-tuning). */
export async function replayPruning(be: Backend, original: Model, h: PruningHistory): Promise<Model> {
  const { groups, kept } = keptFromHistory(original.spec, h);
  return compactModel(be, applyChannelMasks(original, groups, kept), groups, kept);
}
