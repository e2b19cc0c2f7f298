// A per-sample inference program (SamplewiseProgram in backend.ts, Backend.compileSamplewise): its
// steps' shapes, and runSamplewise(), its definition: the same steps op by op on any backend, a batch at
// a time.
import type { Backend, SamplewiseProgram, StepInput, Tensor } from './backend.js';
import { type Shape, conv2dGeometry, poolGeometry, sizeOf } from './geometry.js';

/** Each step's output shape for one sample; throws naming the step where a shape or input does not fit. */
export function stepShapes(p: SamplewiseProgram): Shape[] {
  const shapes: Shape[] = [];
  const shapeOf = (i: StepInput, at: number): Shape => {
    if (!Number.isInteger(i) || i < -1 || i >= at) throw new Error(`samplewise program: step ${at} reads step ${i}, not an earlier one`);
    return i < 0 ? p.inputShape : shapes[i];
  };
  for (const [at, s] of p.steps.entries()) {
    const x = shapeOf(s.input, at);
    const same = (other: StepInput, what: string) => {
      const o = shapeOf(other, at);
      if (o.join() !== shapes[at].join()) throw new Error(`samplewise program: step ${at} (${s.op}): its ${what} has shape [${o}], its output [${shapes[at]}]`);
    };
    switch (s.op) {
      case 'conv2d': {
        const g = conv2dGeometry([1, ...x], s.weight.shape, s.options);
        shapes.push([g.outChannels, g.outH, g.outW]);
        if (s.residual !== undefined) same(s.residual, 'residual');
        break;
      }
      case 'maxpool': {
        const g = poolGeometry('maxPool', [1, ...x], s.options);
        shapes.push([g.channels, g.outH, g.outW]);
        break;
      }
      case 'gap': shapes.push([x[0], 1, 1]); break;
      case 'linear':
        if (s.weight.shape[1] !== sizeOf(x)) throw new Error(`samplewise program: step ${at} (linear): weight [${s.weight.shape}] for an input of ${sizeOf(x)} values`);
        shapes.push([s.weight.shape[0]]);
        break;
      case 'add': shapes.push(x); same(s.other, 'other addend'); break;
      case 'activation': case 'prelu': shapes.push(x); break;
      case 'avgpool': {
        const g = poolGeometry('avgPool', [1, ...x], s.options);
        shapes.push([g.channels, g.outH, g.outW]);
        break;
      }
      case 'concat': {
        const o = shapeOf(s.other, at);
        if (o.length !== x.length || o.slice(1).join() !== x.slice(1).join()) throw new Error(`samplewise program: step ${at} (concat): [${x}] and [${o}] differ past their channels`);
        shapes.push([x[0] + o[0], ...x.slice(1)]);
        break;
      }
      case 'scale':
        if (shapeOf(s.other, at).join() !== [x[0], 1, 1].join()) throw new Error(`samplewise program: step ${at} (scale): a [${x}] map scaled by [${shapeOf(s.other, at)}], not [${x[0]}, 1, 1]`);
        shapes.push(x);
        break;
      case 'gather':
        if (s.channels.some((c) => !Number.isInteger(c) || c < 0 || c >= x[0])) throw new Error(`samplewise program: step ${at} (gather): a channel outside the input's ${x[0]}`);
        shapes.push([s.channels.length, ...x.slice(1)]);
        break;
    }
  }
  for (const o of p.outputs) shapeOf(o, p.steps.length);
  return shapes;
}

/** The program op by op on `be`, a batch at a time: its outputs, [batch, ...shape] each (the caller disposes them). */
export function runSamplewise(be: Backend, p: SamplewiseProgram, x: Tensor): Tensor[] {
  const shapes = stepShapes(p);
  const batch = x.shape[0];
  if (x.shape.slice(1).join() !== p.inputShape.join()) throw new Error(`samplewise program: input has shape [${x.shape}], expected [${batch},${p.inputShape}]`);
  const ys: Tensor[] = [];
  const at = (i: StepInput) => (i < 0 ? x : ys[i]);
  for (const s of p.steps) {
    switch (s.op) {
      case 'conv2d': ys.push(be.conv2d(at(s.input), s.weight, { ...s.options, bias: s.bias, relu: s.relu, residual: s.residual === undefined ? undefined : at(s.residual) })); break;
      case 'maxpool': ys.push(be.maxPoolValues(at(s.input), s.options)); break;
      case 'gap': ys.push(be.globalAvgPool(at(s.input))); break;
      case 'linear': {
        const flat = be.reshape(at(s.input), [batch, at(s.input).size / batch]);
        ys.push(be.linear(flat, s.weight, { bias: s.bias, relu: s.relu }));
        be.dispose(flat);
        break;
      }
      case 'add': ys.push(be.add(at(s.input), at(s.other), { relu: s.relu })); break;
      case 'activation': ys.push(be.activation(at(s.input), s.kind, s.alpha)); break;
      case 'prelu': ys.push(be.prelu(at(s.input), s.slope)); break;
      case 'avgpool': ys.push(be.avgPool(at(s.input), s.options)); break;
      case 'concat': ys.push(be.concat([at(s.input), at(s.other)])); break;
      case 'scale': ys.push(be.channelScale(at(s.input), at(s.other))); break;
      case 'gather': {
        const indices = be.upload(s.channels, [s.channels.length]);
        ys.push(be.gatherChannels(at(s.input), 1, indices));
        be.dispose(indices);
        break;
      }
    }
  }
  const outputs = p.outputs.map((i) => be.reshape(at(i), [batch, ...(i < 0 ? p.inputShape : shapes[i])]));
  be.dispose(...ys);
  return outputs;
}
