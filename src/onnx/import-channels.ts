// ONNX import of channel splits, slices and shuffles, each as one gather node: Split and Slice along the
// channel axis (constant sizes, or the shape arithmetic PyTorch writes for chunk()), Gather of channels,
// and ShuffleNet's channel shuffle, written as Reshape [N, g, C/g, H, W] -> Transpose [0, 2, 1, 3, 4] ->
// Reshape [N, C, H, W]. Anything else of Reshape and Gather goes to the core handlers these wrap.
import { shuffledChannels } from '../model/graph.js';
import { type Importer, type Runtime, int, ints, only } from './importer.js';
import type { NodeProto } from './proto.js';

type Handler = (c: Importer, n: NodeProto) => void;

const PATTERN = 'channel shuffle';

/** Channels [from, to) of x, or x itself when that is all of them. */
function gather(c: Importer, n: NodeProto, x: Runtime, channels: number[], output: string): void {
  if (channels.length === 0) c.fail(n, `takes no channel of the ${x.shape[0]}`);
  if (channels.length === x.shape[0] && channels.every((ch, i) => ch === i)) return void c.values.set(output, x);
  c.add({ op: 'gather', name: c.name(n, `gather${c.nodes.length}`), input: x.node, channels }, output);
}

/** The channel axis of [N, C, H, W] (1 or -3); anything else is refused. */
function channelAxis(c: Importer, n: NodeProto, x: Runtime, axis: number): void {
  if (x.shape.length !== 3 || (axis !== 1 && axis !== -3)) c.fail(n, `only the channel axis (1) of [N, C, H, W] is supported, got axis ${axis} of [N, ${x.shape}]`);
}

/**
 * A Reshape target as per-sample dims: the first entry must be the batch (from Shape, 0 or -1, or 1 as a
 * static-batch export writes it); 0 copies, -1 infers.
 */
function perSampleTarget(c: Importer, n: NodeProto, x: Runtime, target: number[]): number[] | undefined {
  const full = [NaN, ...x.shape];
  if (!(Number.isNaN(target[0]) || target[0] === 0 || target[0] === -1 || target[0] === 1)) return undefined;
  const dims = target.slice(1).map((d, i) => (d === 0 && int(n, 'allowzero', 0) === 0 ? full[i + 1] : d));
  if (dims.some((d) => Number.isNaN(d) || d === undefined)) return undefined;
  const size = x.shape.reduce((a, b) => a * b, 1);
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  if (dims.filter((d) => d === -1).length > 1 || (target[0] === -1 && dims.includes(-1))) return undefined;
  return dims.map((d) => (d === -1 ? size / known : d));
}

export function channelHandlers(core: { Reshape: Handler; Gather: Handler }): Record<string, Handler> {
  return {
    Split(c, n) {
      only(c, n, ['axis', 'split', 'num_outputs']);
      const x = c.tensor(n, 0);
      channelAxis(c, n, x, int(n, 'axis', 0));
      const channels = x.shape[0];
      const outputs = n.output!.length;
      let sizes = c.optionalConstant(n, 1, 'split')?.data ?? ints(n, 'split');
      if (!sizes) {
        const each = Math.ceil(channels / outputs);
        if (!n.attribute?.some((a) => a.name === 'num_outputs') && channels % outputs !== 0) c.fail(n, `${channels} channels do not split into ${outputs} equal parts`);
        sizes = Array.from({ length: outputs }, (_, k) => Math.max(0, Math.min(each, channels - k * each)));
      }
      if (sizes.length !== outputs || sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((a, b) => a + b, 0) !== channels) {
        c.fail(n, `split sizes [${sizes}] do not cut ${channels} channels into ${outputs} outputs`);
      }
      let offset = 0;
      sizes.forEach((size, k) => {
        if (n.output![k]) gather(c, n, x, Array.from({ length: size }, (_, i) => offset + i), n.output![k]);
        offset += size;
      });
    },

    Slice(c, n) {
      only(c, n, []);
      const starts = c.constant(n, 1, 'starts').data;
      const ends = c.constant(n, 2, 'ends').data;
      const axes = c.optionalConstant(n, 3, 'axes')?.data ?? starts.map((_, i) => i);
      const steps = c.optionalConstant(n, 4, 'steps')?.data ?? starts.map(() => 1);
      if (c.values.get(n.input?.[0] ?? '')?.kind === 'const') {
        // Shape arithmetic (the batch and channels of a Resize's sizes): a forward slice of a 1-D constant.
        const d = c.constant(n, 0, 'the data');
        if (d.dims.length !== 1 || axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1) || steps[0] !== 1) c.fail(n, 'constant Slice is folded for 1-D data with step 1 only');
        const at = (v: number) => Math.min(d.data.length, Math.max(0, v < 0 ? v + d.data.length : v));
        const data = d.data.slice(at(starts[0]), at(ends[0]));
        return c.setConst(n, [data.length], data);
      }
      const x = c.tensor(n, 0);
      const full = [NaN, ...x.shape];
      let channels: number[] | undefined;
      axes.forEach((a, i) => {
        const axis = a < 0 ? a + full.length : a;
        const extent = full[axis];
        const step = steps[i];
        if (!step) c.fail(n, 'a step of 0 is not allowed');
        const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v < 0 ? v + extent : v));
        const [from, to] = step > 0 ? [clamp(starts[i], 0, extent), clamp(ends[i], 0, extent)] : [clamp(starts[i], 0, extent - 1), clamp(ends[i], -1, extent - 1)];
        const taken: number[] = [];
        for (let k = from; step > 0 ? k < to : k > to; k += step) taken.push(k);
        if (axis === 1) channels = taken;
        else if (taken.length !== extent || taken.some((v, j) => v !== j)) c.fail(n, `only slices along the channel axis are supported; axis ${a} is cut`);
      });
      if (!channels) return c.alias(n, 0);
      channelAxis(c, n, x, 1);
      gather(c, n, x, channels, n.output![0]);
    },

    Gather(c, n) {
      const data = c.values.get(n.input?.[0] ?? '');
      if (data?.kind !== 'tensor') return core.Gather(c, n);
      only(c, n, ['axis']);
      const x = c.tensor(n, 0);
      channelAxis(c, n, x, int(n, 'axis', 0));
      const idx = c.constant(n, 1, 'the indices');
      if (idx.dims.length !== 1) c.fail(n, `the indices must be a 1-D list of channels (a scalar index drops the axis), got shape [${idx.dims}]`);
      const channels = idx.data.map((i) => (i < 0 ? i + x.shape[0] : i));
      c.add({ op: 'gather', name: c.name(n, `gather${c.nodes.length}`), input: x.node, channels }, n.output![0]);
    },

    Reshape(c, n) {
      const v = c.values.get(n.input?.[0] ?? '');
      const target = c.values.get(n.input?.[1] ?? '');
      if (target?.kind !== 'const') return core.Reshape(c, n);
      if (v?.kind === 'tensor' && v.shape.length === 3) {
        const dims = perSampleTarget(c, n, v, target.data);
        const [channels, h, w] = v.shape;
        if (dims?.length === 4 && dims[0] * dims[1] === channels && dims[2] === h && dims[3] === w && Number.isInteger(dims[0])) {
          return void c.values.set(n.output![0], { kind: 'partial', pattern: PATTERN, stage: 'Reshape', x: v, groups: dims[0] });
        }
      }
      if (v?.kind === 'partial' && v.pattern === PATTERN && v.stage === 'Transpose') {
        only(c, n, ['allowzero']);
        const dims = perSampleTarget(c, n, v.x, target.data);
        if (dims?.join() !== v.x.shape.join()) c.fail(n, `a channel shuffle must reshape back to [N, ${v.x.shape}], got target [${target.data.map((d) => (Number.isNaN(d) ? 'batch' : d))}]`);
        return gather(c, n, v.x, shuffledChannels(v.x.shape[0], v.groups!), n.output![0]);
      }
      core.Reshape(c, n);
    },

    Transpose(c, n) {
      only(c, n, ['perm']);
      const v = c.values.get(n.input?.[0] ?? '');
      const perm = ints(n, 'perm');
      if (v?.kind === 'partial' && v.pattern === PATTERN && v.stage === 'Reshape' && perm?.join() === '0,2,1,3,4') {
        return void c.values.set(n.output![0], { ...v, stage: 'Transpose' });
      }
      c.fail(n, `Transpose is supported only inside a channel shuffle (Reshape to [N, groups, C/groups, H, W] -> Transpose [0, 2, 1, 3, 4] -> Reshape to [N, C, H, W]); got perm [${perm ?? 'reversed'}]`);
    },
  };
}
