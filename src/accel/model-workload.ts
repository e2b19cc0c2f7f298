// The accelerator workload of a model (batch-1 inference): its conv and linear layers as GEMMs, and the
// ops between them that need a pass of the vector unit (vector-pass.ts). Free of cost: activations and
// batch norms after a conv or linear layer (applied in the output stage of the unit that made their
// input), flatten, and concat and channel gathers (producers write, consumers read, at shifted or
// permuted addresses).
import { type Conv2dGeometry, conv2dGeometry, transposedConvGeometry } from '../geometry.js';
import { type ModelSpec, type Node, inferShapes, inputsOf, paramShapes } from '../model/graph.js';
import { type LayerWorkload, type VectorOp, convWorkload, linearWorkload } from './workload.js';

/** Operations per output element of each vector pass; layer norm: mean 1, variance 2, normalise 2, affine 2. */
function vectorOp(n: Node, nodes: Map<string, Node>, shapes: Map<string, number[]>): VectorOp | undefined {
  const x = shapes.get(inputsOf(n)[0] ?? '');
  switch (n.op) {
    case 'maxpool': case 'avgpool': {
      const k = typeof n.kernel === 'number' ? [n.kernel, n.kernel] : n.kernel;
      return { op: n.op, inputs: 1, opsPerOutput: k[0] * k[1], perChannelWords: 0 };
    }
    case 'gap': return { op: n.op, inputs: 1, opsPerOutput: (x![1] ?? 1) * (x![2] ?? 1), perChannelWords: 0 };
    case 'add': return { op: n.op, inputs: n.inputs.length, opsPerOutput: n.inputs.length - 1, perChannelWords: 0 };
    case 'mul': return { op: n.op, inputs: 1, opsPerOutput: 1, perChannelWords: 1 };
    case 'layernorm': case 'groupnorm': return { op: n.op, inputs: 1, opsPerOutput: 7, perChannelWords: 2 };
    case 'resize': return { op: n.op, inputs: 1, opsPerOutput: n.mode === 'linear' ? 4 : 1, perChannelWords: 0 };
    // A batch norm's affine map and PReLU's per-channel slope ride in the output stage of the conv or
    // linear layer that made their input (through a batch norm, for PReLU); elsewhere each takes a pass
    // (PReLU: a compare and a multiply, one slope per channel).
    case 'batchnorm': case 'prelu': {
      let producer = nodes.get(n.input);
      while (n.op === 'prelu' && producer?.op === 'batchnorm') producer = nodes.get(producer.input);
      const perChannelWords = n.op === 'batchnorm' ? 2 : 1;
      return producer?.op === 'conv2d' || producer?.op === 'linear' ? undefined : { op: n.op, inputs: 1, opsPerOutput: 2, perChannelWords };
    }
    default: return undefined;
  }
}

/**
 * A transposed convolution as the array runs it: the stride-1 convolution over its input with stride - 1
 * zeros inserted between pixels and padded by dilation · (kernel - 1) - padding (plus the output padding
 * at the end), which computes its output exactly (the zero-insertion form). Its MACs count the inserted
 * zeros, as an array that does not skip them spends them; SCALE-Sim has no such layer, so
 * test/conv-transpose.test.ts computes the convolution this workload describes and checks its output.
 */
export function transposedConvWorkload(name: string, n: Extract<Node, { op: 'convtranspose' }>, x: number[], weight: number[]): LayerWorkload {
  const g = transposedConvGeometry([1, ...x], weight, n); // the convolution it transposes: g.inH x g.inW is the output
  const [inH, inW] = [(x[1] - 1) * g.strideH + 1, (x[2] - 1) * g.strideW + 1];
  const [spanH, spanW] = [g.dilationH * (g.kernelH - 1), g.dilationW * (g.kernelW - 1)];
  const [padTop, padLeft] = [spanH - g.padTop, spanW - g.padLeft];
  const zeroInserted: Conv2dGeometry = {
    batch: 1, inChannels: x[0], outChannels: n.outChannels, groups: n.groups ?? 1, kernelH: g.kernelH, kernelW: g.kernelW,
    inH, inW, strideH: 1, strideW: 1, dilationH: g.dilationH, dilationW: g.dilationW,
    // Stride 1: the padded input is the output plus the kernel's span.
    padTop, padLeft, padBottom: g.inH + spanH - inH - padTop, padRight: g.inW + spanW - inW - padLeft,
    outH: g.inH, outW: g.inW,
  };
  return convWorkload(name, zeroInserted);
}

export function modelWorkloads(spec: ModelSpec): LayerWorkload[] {
  const shapes = inferShapes(spec);
  const nodes = new Map(spec.nodes.map((n) => [n.name, n]));
  const layers: LayerWorkload[] = [];
  for (const n of spec.nodes) {
    if (n.op === 'convtranspose') layers.push(transposedConvWorkload(n.name, n, shapes.get(n.input)!, paramShapes(n, shapes).weight));
    else if (n.op === 'conv2d' || n.op === 'linear') {
      const x = shapes.get(n.input)!;
      const l = n.op === 'conv2d' ? convWorkload(n.name, conv2dGeometry([1, ...x], paramShapes(n, shapes).weight, n)) : linearWorkload(n.name, x[0], n.outFeatures);
      const q = spec.quantization?.[n.name];
      layers.push(q ? { ...l, bits: { weights: q.weightBits, ...(q.input ? { activations: q.input.bits } : {}) } } : l);
    } else {
      const vector = vectorOp(n, nodes, shapes);
      if (!vector) continue;
      const [c, h = 1, w = 1] = shapes.get(inputsOf(n)[0])!;
      const [outC, outH = 1, outW = 1] = shapes.get(n.name)!;
      layers.push({
        name: n.name, ifmapH: h, ifmapW: w, ofmapH: outH, ofmapW: outW, filterH: 1, filterW: 1, strideH: 1, strideW: 1,
        channels: c, numFilters: outC, groups: 1, vector,
      });
    }
  }
  return layers;
}
