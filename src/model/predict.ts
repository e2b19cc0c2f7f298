// Inference on a batch: the model's outputs (logits, or probabilities where the model ends in a
// softmax, as imported ONNX models may), with everything it allocates released.
import type { Backend } from '../backend.js';
import type { Model } from './model.js';
import { Network } from './network.js';

export async function predict(be: Backend, m: Model, x: Float32Array, batch: number): Promise<Float32Array> {
  const net = Network.forInference(be, m);
  const input = be.upload(x, [batch, ...m.spec.inputShape]);
  const f = net.forward(input, false);
  const out = await be.read(f.logits);
  net.release(f);
  net.dispose();
  be.dispose(input);
  if (m.spec.outputActivation === 'softmax') softmaxRows(out, m.spec.classes);
  return out;
}

/** In place, numerically stable. */
export function softmaxRows(v: Float32Array, classes: number): void {
  for (let r = 0; r < v.length; r += classes) {
    const row = v.subarray(r, r + classes);
    const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
    let sum = 0;
    for (let i = 0; i < classes; i++) sum += row[i] = Math.exp(row[i] - max);
    for (let i = 0; i < classes; i++) row[i] /= sum;
  }
}
