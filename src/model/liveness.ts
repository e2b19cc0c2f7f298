// What a training step's backward pass reads of its forward pass, so that the forward pass frees every
// other output as soon as its last consumer has run: a batch norm's output once its ReLU has run, a
// residual sum once its ReLU has, a pooling input once pooled. ResNet-18 at 64x64, batch 64: the peak of
// live tensors 331 MiB kept everything (docs/backends.md, peak memory).
import type { Node, ModelSpec } from './graph.js';
import { activationOf, inputsOf, isActivation, outputNames } from './graph.js';

/**
 * Activations whose gradient is taken from their output rather than their input: where the output is
 * positive exactly where the input is (ReLU, a leaky ReLU of slope >= 0), and ReLU6, whose output lies
 * in (0, 6) exactly where its input does; their slope at 0 and 6 is 0 either way (src/cpu/reference.ts).
 */
export function slopeFromOutput(n: Node): boolean {
  if (!isActivation(n)) return false;
  const a = activationOf(n);
  return a.kind === 'relu' || a.kind === 'relu6' || (a.kind === 'leakyrelu' && (a.alpha ?? 0) >= 0);
}

/** The nodes whose outputs backward() reads: the inputs of layers with weights or statistics, of products, of other activations. */
function readByBackward(n: Node): string[] {
  if (isActivation(n)) return slopeFromOutput(n) ? [n.name] : inputsOf(n);
  switch (n.op) {
    case 'conv2d': case 'linear': case 'batchnorm': case 'layernorm': case 'groupnorm': case 'prelu': case 'convtranspose': case 'mul':
      return inputsOf(n);
    default:
      return []; // pooling, concat and flatten need shapes only; add, gather, resize nothing
  }
}

/**
 * Per output the forward pass of training may free early, the index of the node after which it can:
 * that of its last consumer. Graph outputs and `keep` (outputs a caller reads after forward(), such as
 * distilled features) stay.
 */
export function freeAfter(spec: ModelSpec, keep: Iterable<string> = []): Map<string, number> {
  const needed = new Set([...outputNames(spec), ...keep]);
  const last = new Map<string, number>();
  spec.nodes.forEach((n, i) => {
    for (const name of readByBackward(n)) needed.add(name);
    for (const name of inputsOf(n)) last.set(name, i);
  });
  for (const name of needed) last.delete(name);
  return last;
}
