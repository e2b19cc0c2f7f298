// A per-sample program (SamplewiseProgram, backend.ts) as the addon's samplewisePlan takes it
// (samplewise.cc): each step as 24 ints, its output in a slot of one sample's map that a later step of
// the same size takes over once no step reads it any more (ResNet-20's 20 maps fit in 4 slots).
import type { SampleStep, SamplewiseProgram, StepInput, Tensor } from '../backend.js';
import { type Shape, conv2dGeometry, poolGeometry, sizeOf } from '../geometry.js';
import { stepShapes } from '../samplewise.js';

export interface EncodedProgram {
  program: Int32Array;
  inputFloats: number;
  slotFloats: Int32Array;
  outputSlots: Int32Array;
  weights: (Float32Array | null)[];
  /** Each output's shape for one sample. */
  outputShapes: Shape[];
}

const OPS: Record<SampleStep['op'], number> = { conv2d: 0, maxpool: 1, gap: 2, linear: 3, add: 4, relu: 5 };

/** The steps a step reads. */
const readsOf = (s: SampleStep): StepInput[] => [s.input, ...(s.op === 'add' ? [s.other] : s.op === 'conv2d' && s.residual !== undefined ? [s.residual] : [])];

/** convolve()'s geometry without its batch, for any step: a window's where it has one, else its sizes. */
function geometryOf(s: SampleStep, x: Shape, y: Shape): number[] {
  const flat = (inC: number, inH: number, inW: number, outC: number, outH: number, outW: number, kH = 1, kW = 1) => [inC, inH, inW, outC, outH, outW, 1, kH, kW, 1, 1, 0, 0, 0, 0, 1, 1];
  switch (s.op) {
    case 'conv2d':
    case 'maxpool': {
      const g = s.op === 'conv2d' ? conv2dGeometry([1, ...x], s.weight.shape, s.options) : { ...poolGeometry('maxPool', [1, ...x], s.options), inChannels: x[0], outChannels: x[0], groups: 1 };
      return [g.inChannels, g.inH, g.inW, g.outChannels, g.outH, g.outW, g.groups, g.kernelH, g.kernelW, g.strideH, g.strideW, g.padTop, g.padLeft, g.padBottom, g.padRight, g.dilationH, g.dilationW];
    }
    case 'gap': return flat(x[0], x[1], x[2], x[0], 1, 1, x[1], x[2]);
    case 'linear': return flat(sizeOf(x), 1, 1, sizeOf(y), 1, 1);
    default: return flat(sizeOf(x), 1, 1, sizeOf(y), 1, 1);
  }
}

/** The program encoded; `data` gives a tensor's values. Throws where an output is the program's input. */
export function encodeSamplewise(p: SamplewiseProgram, data: (t: Tensor) => Float32Array): EncodedProgram {
  const shapes = stepShapes(p);
  if (p.outputs.some((o) => o < 0)) throw new Error('samplewise program: an output is the input itself');
  const lastRead = p.steps.map(() => -1);
  p.steps.forEach((s, i) => { for (const r of readsOf(s)) if (r >= 0) lastRead[r] = i; });
  for (const o of p.outputs) lastRead[o] = Infinity;
  const slotFloats: number[] = [], slotOf: number[] = [], free = new Map<number, number[]>();
  const weights: (Float32Array | null)[] = [];
  const weight = (t: Tensor | undefined) => (t ? weights.push(data(t)) - 1 : -1);
  const program: number[] = [];
  for (const [i, s] of p.steps.entries()) {
    const floats = sizeOf(shapes[i]);
    const slot = free.get(floats)?.pop() ?? slotFloats.push(floats) - 1;
    slotOf.push(slot);
    for (const r of new Set(readsOf(s))) if (r >= 0 && lastRead[r] === i) free.set(sizeOf(shapes[r]), [...(free.get(sizeOf(shapes[r])) ?? []), slotOf[r]]);
    if (lastRead[i] < 0) free.set(floats, [...(free.get(floats) ?? []), slot]); // read by nothing
    const second = s.op === 'add' ? s.other : s.op === 'conv2d' ? s.residual ?? -1 : -1;
    const slotAt = (r: StepInput) => (r < 0 ? -1 : slotOf[r]);
    const hasWeights = s.op === 'conv2d' || s.op === 'linear';
    program.push(OPS[s.op], slotAt(s.input), slotAt(second), slot, 'relu' in s && s.relu ? 1 : 0, hasWeights ? weight(s.weight) : -1, hasWeights ? weight(s.bias) : -1,
      ...geometryOf(s, s.input < 0 ? p.inputShape : shapes[s.input], shapes[i]));
  }
  return {
    program: Int32Array.from(program), inputFloats: sizeOf(p.inputShape), slotFloats: Int32Array.from(slotFloats),
    outputSlots: Int32Array.from(p.outputs, (o) => slotOf[o]), weights, outputShapes: p.outputs.map((o) => shapes[o]),
  };
}
