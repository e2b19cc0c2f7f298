// An inference network as a per-sample program (Backend.compileSamplewise): its folded layers with the
// ReLUs and residual sums fused as forInference() runs them (fold.ts), flattens dropped (a sample's
// values keep their order). Models with other ops (batch norms left unfolded, dilated convolutions,
// resizes, transposed convolutions, normalisations over a sample) have no program: the reason names
// the node.
import type { SampleStep, SamplewiseProgram, StepInput } from '../backend.js';
import { pair } from '../geometry.js';
import { inferenceFusions } from './fold.js';
import { activationOf, inputsOf, isActivation, outputNames } from './graph.js';
import type { Network } from './network.js';

/** The program of a network made by Network.forInference, or why there is none. */
export function samplewiseProgram(net: Network): SamplewiseProgram | string {
  const spec = net.model.spec;
  const fusions = inferenceFusions(spec);
  const index = new Map<string, StepInput>();
  const steps: SampleStep[] = [];
  const param = (node: string, kind: string) => net.params.get(`${node}.${kind}`);
  for (const n of spec.nodes) {
    const at = (name: string) => index.get(name)!;
    const push = (s: SampleStep) => { index.set(n.name, steps.length); steps.push(s); };
    const input = at(inputsOf(n)[0]);
    if (isActivation(n)) {
      if (fusions.fusedRelus.has(n.name)) index.set(n.name, input);
      else push({ op: 'activation', input, ...activationOf(n) });
      continue;
    }
    const relu = fusions.reluLayers.has(n.name);
    switch (n.op) {
      case 'input': index.set(n.name, -1); break;
      case 'conv2d': {
        if (pair('conv2d', 'dilation', n.dilation, 1, 1).some((d) => d !== 1)) return `node '${n.name}': a dilated convolution has no per-sample step`;
        const residual = fusions.residuals.get(n.name);
        push({ op: 'conv2d', input, weight: param(n.name, 'weight')!, bias: param(n.name, 'bias'), options: { stride: n.stride, padding: n.padding, groups: n.groups }, residual: residual === undefined ? undefined : at(residual), relu });
        break;
      }
      case 'linear': push({ op: 'linear', input, weight: param(n.name, 'weight')!, bias: param(n.name, 'bias'), relu }); break;
      case 'maxpool': push({ op: 'maxpool', input, options: { kernel: n.kernel, stride: n.stride, padding: n.padding } }); break;
      case 'gap': push({ op: 'gap', input }); break;
      case 'avgpool': push({ op: 'avgpool', input, options: { kernel: n.kernel, stride: n.stride, padding: n.padding, countIncludePad: n.countIncludePad } }); break;
      case 'prelu': push({ op: 'prelu', input, slope: param(n.name, 'slope')! }); break;
      case 'mul': push({ op: 'scale', input, other: at(n.inputs[1]) }); break;
      case 'gather': push({ op: 'gather', input, channels: n.channels }); break;
      case 'concat': {
        // Pairwise: each concatenation copies the channels so far and the next input's.
        let joined = input;
        for (const other of n.inputs.slice(1)) {
          push({ op: 'concat', input: joined, other: at(other) });
          joined = steps.length - 1;
        }
        if (n.inputs.length === 1) index.set(n.name, input);
        break;
      }
      case 'flatten': index.set(n.name, input); break;
      case 'add': {
        const summed = fusions.fusedAdds.get(n.name);
        if (summed !== undefined) index.set(n.name, at(summed));
        else if (n.inputs.length === 2) push({ op: 'add', input, other: at(n.inputs[1]), relu });
        else return `node '${n.name}': a sum of ${n.inputs.length} inputs has no per-sample step`;
        break;
      }
      default: return `node '${n.name}': ${n.op} has no per-sample step`;
    }
  }
  const outputs = outputNames(spec).map((o) => index.get(o)!);
  if (outputs.some((o) => o < 0)) return 'an output is the model input itself';
  return { inputShape: spec.inputShape, steps, outputs };
}
