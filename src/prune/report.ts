// Per-layer pruning report: channels, parameters, MACs and bytes before and after.
import { macsOf } from '../accel/workload.js';
import { modelWorkloads } from '../accel/model-workload.js';
import { type Model, paramList } from '../model/model.js';

export interface LayerReport {
  layer: string;
  channelsBefore: number; channelsAfter: number;
  paramsBefore: number; paramsAfter: number;
  macsBefore: number; macsAfter: number;
  /** float32 weight bytes */
  bytesBefore: number; bytesAfter: number;
}

export interface PruneReport { layers: LayerReport[]; total: Omit<LayerReport, 'layer' | 'channelsBefore' | 'channelsAfter'>; notes: string[] }

function layerStats(m: Model) {
  const macs = new Map(modelWorkloads(m.spec).map((l) => [l.name, macsOf(l)]));
  const out = new Map<string, { channels: number; params: number; macs: number }>();
  for (const p of paramList(m.spec).filter((q) => q.trainable)) {
    const mask = m.masks.get(p.name);
    const kept = mask ? mask.reduce((a, b) => a + (b ? 1 : 0), 0) : p.shape.reduce((a, b) => a * b, 1);
    const prior = out.get(p.node) ?? { channels: 0, params: 0, macs: macs.get(p.node) ?? 0 };
    if (p.kind === 'weight') prior.channels = p.shape[0];
    prior.params += kept;
    out.set(p.node, prior);
  }
  return out;
}

/** Compares a dense model with its pruned (compacted, or masked: MACs then count dense) version. */
export function pruneReport(before: Model, after: Model, notes: string[] = []): PruneReport {
  const [a, b] = [layerStats(before), layerStats(after)];
  const layers: LayerReport[] = [...a].map(([layer, s]) => {
    const t = b.get(layer) ?? { channels: 0, params: 0, macs: 0 };
    return {
      layer, channelsBefore: s.channels, channelsAfter: t.channels, paramsBefore: s.params, paramsAfter: t.params,
      macsBefore: s.macs, macsAfter: t.macs, bytesBefore: 4 * s.params, bytesAfter: 4 * t.params,
    };
  });
  const sum = (k: keyof Omit<LayerReport, 'layer'>) => layers.reduce((s, l) => s + l[k], 0);
  return {
    layers, notes,
    total: { paramsBefore: sum('paramsBefore'), paramsAfter: sum('paramsAfter'), macsBefore: sum('macsBefore'), macsAfter: sum('macsAfter'), bytesBefore: sum('bytesBefore'), bytesAfter: sum('bytesAfter') },
  };
}
