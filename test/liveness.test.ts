// Training's forward pass frees what backward does not read (src/model/liveness.ts). The gradients are
// those of a forward pass that frees nothing (every node kept), the outputs left are the ones backward
// reads, and the activations whose gradient is taken from their output give the gradient their input
// gives, at 0, 6 and the leaky slope's negative side included.
// A streamed optimizer step (backward's `step`) sees each gradient as the unstreamed pass returns it,
// whatever it does to the parameters.
import { describe, expect, it } from 'vitest';
import type { Activation, Tensor } from '../src/backend.js';
import { GraphBuilder, type ModelSpec } from '../src/model/graph.js';
import { initModel } from '../src/model/model.js';
import { Network } from '../src/model/network.js';
import { resnet20 } from '../src/model/zoo.js';
import { Rng } from '../src/random.js';
import { cpu } from './helpers/backends.js';

/** conv-BN-ReLU6, a leaky ReLU, a sigmoid, max pooling, a concat and a residual sum: every rule of liveness.ts. */
function mixed(): ModelSpec {
  const g = new GraphBuilder('mixed', [2, 8, 8], 3);
  const a = g.relu6(g.bn(g.conv('input', { out: 4, kernel: 3, padding: 1, bias: false, name: 'c1' }), 'b1'), 'r1');
  const b = g.leakyrelu(g.conv(a, { out: 4, kernel: 1, name: 'c2' }), 0.1, 'l2');
  const c = g.sigmoid(g.conv(a, { out: 4, kernel: 1, name: 'c3' }), 's3');
  const sum = g.relu(g.sum([b, c], 'add'), 'r4');
  const pooled = g.maxpool(g.concat([sum, a], 'cat'), 2);
  return g.build(g.linear(g.flatten(g.gap(pooled)), 3, 'fc'));
}

async function gradients(spec: ModelSpec, keepAll: boolean, streamed = false) {
  const be = cpu();
  const net = new Network(be, initModel(spec, 3));
  const x = be.upload(new Rng(4).uniformArray(2 * spec.inputShape.reduce((p, q) => p * q), -2, 2), [2, ...spec.inputShape]);
  const f = net.forward(x, true, keepAll ? { keep: spec.nodes.map((n) => n.name) } : {});
  const kept = [...f.outputs.keys()];
  const { dLogits } = be.softmaxCrossEntropy(f.logits, be.upload([0, 2], [2]));
  const grads = new Map<string, Float32Array>();
  const copies = new Map<string, Tensor>();
  // Streamed: each gradient copied as it comes, then its parameter changed (as a step would change it).
  const step = (param: string, g: Tensor) => {
    copies.set(param, be.add(g, be.zeros(g.shape)));
    const w = net.params.get(param)!;
    be.sgdStep(w, be.upload(new Float32Array(w.size).fill(1), w.shape), be.zeros(w.shape), { learningRate: 0.5, momentum: 0 });
  };
  for (const [k, t] of net.backward(f, dLogits, streamed ? { step } : {})) grads.set(k, await be.read(t));
  for (const [k, t] of copies) grads.set(k, await be.read(t));
  return { kept, grads };
}

describe('training frees what backward does not read', () => {
  it.each([['mixed', mixed()], ['resnet20', resnet20([3, 8, 8])]] as const)('%s: the same gradients as keeping every output', async (_, spec) => {
    const [lean, all] = [await gradients(spec, false), await gradients(spec, true)];
    expect(all.kept).toHaveLength(spec.nodes.length);
    expect(lean.kept.length).toBeLessThan(spec.nodes.length);
    expect([...lean.grads.keys()].sort()).toEqual([...all.grads.keys()].sort());
    for (const [k, g] of all.grads) expect(lean.grads.get(k), k).toEqual(g);
  });

  it.each([['mixed', mixed()], ['resnet20', resnet20([3, 8, 8])]] as const)('%s: a streamed step sees the gradients backward returns', async (_, spec) => {
    const [streamed, whole] = [await gradients(spec, false, true), await gradients(spec, false)];
    expect([...streamed.grads.keys()].sort()).toEqual([...whole.grads.keys()].sort());
    for (const [k, g] of whole.grads) expect(streamed.grads.get(k), k).toEqual(g);
  });

  it('keeps the inputs of layers with weights and of non-ReLU activations, ReLU-family outputs and the graph output; frees the rest', async () => {
    const { kept } = await gradients(mixed(), false);
    for (const name of ['input', 'c1', 'r1', 'c3', 'l2', 'r4', 'fc']) expect(kept, name).toContain(name);
    // b1 and c2: their ReLU6 and leaky ReLU take the gradient from their outputs; s3, add, cat: read by no backward.
    for (const name of ['b1', 'c2', 's3', 'add', 'cat']) expect(kept, name).not.toContain(name);
  });

  it.each<[Activation, number | undefined]>([['relu', undefined], ['relu6', undefined], ['leakyrelu', 0.1], ['leakyrelu', 0]])(
    '%s (slope %s): the gradient from its output is the gradient from its input', async (kind, alpha) => {
      const be = cpu();
      const x = be.upload([-3, -1, -0, 0, 1e-7, 0.5, 5.9999, 6, 6.5, 9], [10]);
      const dy = be.upload(Array.from({ length: 10 }, (_, i) => i + 1), [10]);
      const y = be.activation(x, kind, alpha);
      expect(await be.read(be.activationBackward(dy, y, kind, alpha))).toEqual(await be.read(be.activationBackward(dy, x, kind, alpha)));
    });
});
