// What sparse training empties beyond channels, removed for real: a residual block whose branch is
// zero becomes the identity of its shortcut (its add and branch nodes go, with their parameters), and a
// convolution whose border kernel rows or columns are zero across all filters gets a smaller kernel with
// the padding shrunk to match (same output geometry: a 3x3 becomes 3x1, 1x3 or 1x1). Both leave the
// network's function unchanged where the removed entries are exactly zero.
import { pair, padding } from '../geometry.js';
import { type ModelSpec, type Node, renameOutputs } from '../model/graph.js';
import type { Model } from '../model/model.js';
import type { ResidualBlock } from './structures.js';

const rename = (n: Node, from: string, to: string): Node => {
  if ('inputs' in n) return { ...n, inputs: n.inputs.map((i) => (i === from ? to : i)) } as Node;
  if ('input' in n && n.input === from) return { ...n, input: to } as Node;
  return n;
};

/** The model without these blocks: each add's consumers read its shortcut instead. */
export function removeBlocks(model: Model, blocks: ResidualBlock[]): Model {
  let spec: ModelSpec = model.spec;
  const gone = new Set<string>();
  for (const b of blocks) {
    for (const n of [...b.nodes, b.add]) gone.add(n);
    spec = { ...spec, nodes: spec.nodes.filter((n) => n.name !== b.add && !b.nodes.includes(n.name)).map((n) => rename(n, b.add, b.shortcut)), ...renameOutputs(spec, b.add, b.shortcut) };
  }
  const keep = (name: string) => !gone.has(name.slice(0, name.lastIndexOf('.')));
  if (spec.quantization) spec = { ...spec, quantization: Object.fromEntries(Object.entries(spec.quantization).filter(([layer]) => !gone.has(layer))) };
  return {
    spec,
    params: new Map([...model.params].filter(([k]) => keep(k))),
    masks: new Map([...model.masks].filter(([k]) => keep(k))),
  };
}

/** Per convolution, the border rows and columns of its kernel that are zero and can go (within the padding). */
export interface KernelCrop { conv: string; top: number; bottom: number; left: number; right: number }

/**
 * Crops that `zeroPositions` (per conv, the kernel positions found zero across every filter and channel)
 * allow: whole border rows/columns, no more than the padding on that side covers (so the output keeps
 * its size and alignment). Ungrouped convolutions only.
 */
export function kernelCrops(spec: ModelSpec, zeroPositions: Map<string, Set<number>>): KernelCrop[] {
  const crops: KernelCrop[] = [];
  for (const n of spec.nodes) {
    const zero = zeroPositions.get(n.name);
    if (n.op !== 'conv2d' || !zero?.size) continue;
    const [kh, kw] = pair(n.name, 'kernel', n.kernel, 1, 1);
    const [dh, dw] = pair(n.name, 'dilation', n.dilation, 1, 1);
    const [pt, pl, pb, pr] = padding(n.name, n.padding);
    const rowZero = (r: number) => Array.from({ length: kw }, (_, c) => r * kw + c).every((i) => zero.has(i));
    const colZero = (c: number) => Array.from({ length: kh }, (_, r) => r * kw + c).every((i) => zero.has(i));
    const c: KernelCrop = { conv: n.name, top: 0, bottom: 0, left: 0, right: 0 };
    while (c.top + c.bottom < kh - 1 && (c.top + 1) * dh <= pt && rowZero(c.top)) c.top++;
    while (c.top + c.bottom < kh - 1 && (c.bottom + 1) * dh <= pb && rowZero(kh - 1 - c.bottom)) c.bottom++;
    while (c.left + c.right < kw - 1 && (c.left + 1) * dw <= pl && colZero(c.left)) c.left++;
    while (c.left + c.right < kw - 1 && (c.right + 1) * dw <= pr && colZero(kw - 1 - c.right)) c.right++;
    if (c.top + c.bottom + c.left + c.right > 0) crops.push(c);
  }
  return crops;
}

/** The model with these kernels cropped: smaller kernels, padding shrunk by the cropped rows and columns times the dilation. */
export function cropKernels(model: Model, crops: KernelCrop[]): Model {
  const byConv = new Map(crops.map((c) => [c.conv, c]));
  const params = new Map(model.params);
  const masks = new Map(model.masks);
  const nodes = model.spec.nodes.map((n) => {
    const c = byConv.get(n.name);
    if (!c || n.op !== 'conv2d') return n;
    const [kh, kw] = pair(n.name, 'kernel', n.kernel, 1, 1);
    const [dh, dw] = pair(n.name, 'dilation', n.dilation, 1, 1);
    const [pt, pl, pb, pr] = padding(n.name, n.padding);
    const [nh, nw] = [kh - c.top - c.bottom, kw - c.left - c.right];
    const crop = (w: Float32Array) => {
      const planes = w.length / (kh * kw);
      const out = new Float32Array(planes * nh * nw);
      for (let p = 0; p < planes; p++) for (let y = 0; y < nh; y++) for (let x = 0; x < nw; x++) out[(p * nh + y) * nw + x] = w[(p * kh + y + c.top) * kw + x + c.left];
      return out;
    };
    const key = `${n.name}.weight`;
    params.set(key, crop(params.get(key)!));
    if (masks.has(key)) masks.set(key, crop(masks.get(key)!));
    return { ...n, kernel: [nh, nw] as [number, number], padding: [pt - c.top * dh, pl - c.left * dw, pb - c.bottom * dh, pr - c.right * dw] as [number, number, number, number] };
  });
  return { spec: { ...model.spec, nodes }, params, masks };
}
