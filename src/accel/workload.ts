// Workloads: conv and fully connected layers as GEMMs an accelerator runs, and the vector passes between
// them (pooling, residual adds, channel scales, layer norms, resizes; see vector-pass.ts).
// The GEMM of one group: P output pixels x K window taps (filter h * w * input channels) x M filters.
import type { Conv2dGeometry } from '../geometry.js';

export interface LayerWorkload {
  name: string;
  /** Input extent including padding (SCALE-Sim's IFMAP Height/Width). */
  ifmapH: number; ifmapW: number;
  ofmapH: number; ofmapW: number;
  filterH: number; filterW: number;
  strideH: number; strideW: number;
  /** Input channels and filters per group. */
  channels: number; numFilters: number;
  /** Independent GEMMs run one after another: conv groups; depthwise layers have one per channel. */
  groups: number;
  /** Weights conform to N:M sparsity along input channels. */
  sparsity?: { n: number; m: number };
  /** Bit widths of a quantized layer's weights and input activations (else the accelerator's). */
  bits?: { weights?: number; activations?: number };
  /** Not a GEMM but a pass of the vector unit (channels in, numFilters out; groups 1). */
  vector?: VectorOp;
}

/**
 * A vector pass: it reads `inputs` tensors of `channels` x ifmap (plus `perChannelWords` words per
 * channel: a scale, a norm's gamma and beta) and computes `opsPerOutput` operations per output element.
 */
export interface VectorOp { op: string; inputs: number; opsPerOutput: number; perChannelWords: number }

export interface Gemm { P: number; K: number; M: number; repeats: number }

export function gemmOf(l: LayerWorkload): Gemm {
  if (l.vector) return { P: l.ofmapH * l.ofmapW, K: 0, M: l.numFilters, repeats: 1 }; // no MACs, no weights
  return { P: l.ofmapH * l.ofmapW, K: l.filterH * l.filterW * l.channels, M: l.numFilters, repeats: l.groups };
}

export const macsOf = (l: LayerWorkload): number => {
  const g = gemmOf(l);
  return g.P * g.K * g.M * g.repeats;
};

/** A layer of one of our models (batch 1 inference), from its conv geometry. */
export function convWorkload(name: string, g: Conv2dGeometry): LayerWorkload {
  return {
    name,
    ifmapH: g.inH + g.padTop + g.padBottom, ifmapW: g.inW + g.padLeft + g.padRight,
    ofmapH: g.outH, ofmapW: g.outW,
    filterH: g.kernelH, filterW: g.kernelW, strideH: g.strideH, strideW: g.strideW,
    channels: g.inChannels / g.groups, numFilters: g.outChannels / g.groups, groups: g.groups,
  };
}

/** A fully connected layer is a 1x1 convolution on a 1x1 input. */
export function linearWorkload(name: string, inFeatures: number, outFeatures: number): LayerWorkload {
  return { name, ifmapH: 1, ifmapW: 1, ofmapH: 1, ofmapW: 1, filterH: 1, filterW: 1, strideH: 1, strideW: 1, channels: inFeatures, numFilters: outFeatures, groups: 1 };
}

/** The layer with `keptIn` input and `keptOut` output channels (a linear layer: features) of its own. */
export function keptWorkload(l: LayerWorkload, keptIn: number, keptOut: number): LayerWorkload {
  if (l.groups > 1 && l.channels === 1) return keptOut === l.groups ? l : { ...l, groups: keptOut }; // depthwise: one GEMM per channel
  if (keptIn === l.channels * l.groups && keptOut === l.numFilters * l.groups) return l;
  if (l.groups > 1) throw new Error(`layer '${l.name}' is a grouped conv (${l.groups} groups); its channel counts cannot change`);
  return { ...l, channels: keptIn, numFilters: keptOut };
}

/** SCALE-Sim's output extent: ceil((ifmap - filter + stride) / stride). */
export const scaleSimExtent = (ifmap: number, filter: number, stride: number) => Math.ceil((ifmap - filter + stride) / stride);
