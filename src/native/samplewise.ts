// A per-sample program (SamplewiseProgram, backend.ts) as the addon's samplewisePlan takes it
// (samplewise.cc): each step as 24 ints, its output in a slot of one sample's map that a later step of
// the same size takes over once no step reads it any more (ResNet-20's 20 maps fit in 4 slots).
import { ACTIVATIONS, type SampleStep, type SamplewiseProgram, type StepInput, type Tensor, activationAlpha } from '../backend.js';
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

/** samplewise.cc's op codes. */
const OPS: Record<SampleStep['op'], number> = { conv2d: 0, maxpool: 1, gap: 2, linear: 3, add: 4, activation: 5, prelu: 6, avgpool: 7, concat: 8, scale: 9, gather: 10 };

/** The steps a step reads. */
const secondOf = (s: SampleStep): StepInput => ('other' in s ? s.other : s.op === 'conv2d' ? s.residual ?? -1 : -1);
const readsOf = (s: SampleStep): StepInput[] => [s.input, ...(secondOf(s) >= 0 ? [secondOf(s)] : [])];

/** convolve()'s geometry without its batch, for any step: a window's where it has one, else its input's and output's [C, H, W] (a vector as [C, 1, 1]). */
function geometryOf(s: SampleStep, x: Shape, y: Shape): number[] {
  if (s.op === 'conv2d' || s.op === 'maxpool' || s.op === 'avgpool') {
    const g = s.op === 'conv2d' ? conv2dGeometry([1, ...x], s.weight.shape, s.options) : { ...poolGeometry(s.op, [1, ...x], s.options), inChannels: x[0], outChannels: x[0] };
    const groups = 'groups' in g ? g.groups : Number(s.op === 'avgpool' && g.countIncludePad); // average pooling's count-include-pad in its place
    return [g.inChannels, g.inH, g.inW, g.outChannels, g.outH, g.outW, groups, g.kernelH, g.kernelW, g.strideH, g.strideW, g.padTop, g.padLeft, g.padBottom, g.padRight, g.dilationH, g.dilationW];
  }
  const chw = (t: Shape) => (s.op === 'activation' || s.op === 'add' || s.op === 'linear' ? [sizeOf(t), 1, 1] : [t[0], t[1] ?? 1, t[2] ?? 1]);
  const kernel = s.op === 'gap' ? [x[1], x[2]] : [1, 1];
  return [...chw(x), ...chw(y), 1, ...kernel, 1, 1, 0, 0, 0, 0, 1, 1];
}

/** A step's function code: a ReLU after a layer or sum (1), an activation's index in ACTIVATIONS. */
const functionOf = (s: SampleStep) => (s.op === 'activation' ? ACTIVATIONS.indexOf(s.kind) : 'relu' in s && s.relu ? 1 : 0);

/** The values a step takes beside its inputs: its weight and bias, an activation's alpha, PReLU's slopes, a gather's channels. */
function valuesOf(s: SampleStep, data: (t: Tensor) => Float32Array): [Float32Array | undefined, Float32Array | undefined] {
  switch (s.op) {
    case 'conv2d': case 'linear': return [data(s.weight), s.bias && data(s.bias)];
    case 'activation': return [Float32Array.of(activationAlpha(s.kind, s.alpha)), undefined];
    case 'prelu': return [data(s.slope), undefined];
    case 'gather': return [Float32Array.from(s.channels), undefined];
    default: return [undefined, undefined];
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
  const weight = (v: Float32Array | undefined) => (v ? weights.push(v) - 1 : -1);
  const program: number[] = [];
  for (const [i, s] of p.steps.entries()) {
    const floats = sizeOf(shapes[i]);
    const slot = free.get(floats)?.pop() ?? slotFloats.push(floats) - 1;
    slotOf.push(slot);
    for (const r of new Set(readsOf(s))) if (r >= 0 && lastRead[r] === i) free.set(sizeOf(shapes[r]), [...(free.get(sizeOf(shapes[r])) ?? []), slotOf[r]]);
    if (lastRead[i] < 0) free.set(floats, [...(free.get(floats) ?? []), slot]); // read by nothing
    const slotAt = (r: StepInput) => (r < 0 ? -1 : slotOf[r]);
    const [values, bias] = valuesOf(s, data);
    program.push(OPS[s.op], slotAt(s.input), slotAt(secondOf(s)), slot, functionOf(s), weight(values), weight(bias), ...geometryOf(s, s.input < 0 ? p.inputShape : shapes[s.input], shapes[i]));
  }
  return {
    program: Int32Array.from(program), inputFloats: sizeOf(p.inputShape), slotFloats: Int32Array.from(slotFloats),
    outputSlots: Int32Array.from(p.outputs, (o) => slotOf[o]), weights, outputShapes: p.outputs.map((o) => shapes[o]),
  };
}
