// Whole models on the WebGPU backend against the same models on the CPU reference: logits, every
// parameter gradient and the batch-norm running statistics.
import { describe, expect, it, vi } from 'vitest';
import type { Backend, Tensor } from '../src/backend.js';
import type { ModelSpec } from '../src/model/graph.js';
import { initModel, paramList } from '../src/model/model.js';
import { Network } from '../src/model/network.js';
import { lenet5, mobilenet, resnet20, vggSmall } from '../src/model/zoo.js';
import { Rng } from '../src/random.js';
import { cpu, toleranceRatio, webgpu } from './helpers/backends.js';
import { convNextMini, embeddingMini, groupNormMini, shuffleNetMini, unetMini } from './helpers/specs.js';

async function forwardBackward(be: Backend, spec: ModelSpec, seed: number) {
  const model = initModel(spec, seed);
  // Prune a few weights so masks take part.
  const conv = paramList(spec).find((p) => p.kind === 'weight')!;
  model.masks.set(conv.name, Float32Array.from(model.params.get(conv.name)!, (_, i) => (i % 5 === 0 ? 0 : 1)));
  const net = new Network(be, model);
  const rng = new Rng(seed + 1);
  const batch = 3;
  const x = be.upload(rng.uniformArray(batch * spec.inputShape.reduce((a, b) => a * b)), [batch, ...spec.inputShape]);
  const labels = be.upload([1, 0, 2], [batch]);
  const f = net.forward(x, true);
  const { loss, dLogits, correct } = be.softmaxCrossEntropy(f.logits, labels);
  const grads = net.backward(f, dLogits);
  const out: Record<string, Float32Array> = { logits: await be.read(f.logits) };
  for (const [k, g] of grads) out[`grad ${k}`] = await be.read(g);
  for (const p of paramList(spec)) if (p.kind.startsWith('running')) out[p.name] = await be.read(net.params.get(p.name)!);
  be.dispose(x, labels, loss, dLogits, correct, ...(grads.values() as Iterable<Tensor>));
  net.release(f);
  net.dispose();
  return out;
}

describe('models on WebGPU equal the CPU reference (forward, gradients, running statistics)', async () => {
  const gpu = await webgpu();
  const models: ModelSpec[] = [lenet5(), vggSmall([3, 16, 16]), resnet20([3, 16, 16]), mobilenet([3, 16, 16]), shuffleNetMini(), convNextMini(), embeddingMini(), unetMini(), groupNormMini()];
  for (const spec of models) {
    it(spec.name, async () => {
      const baseline = gpu.memory().liveBuffers;
      const [a, b] = [await forwardBackward(gpu, spec, 4), await forwardBackward(cpu(), spec, 4)];
      expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
      expect(Object.keys(a).filter((k) => k.startsWith('grad')).length).toBe(paramList(spec).filter((p) => p.trainable).length);
      for (const k of Object.keys(b)) expect(toleranceRatio(a[k], b[k], 2e-3, 2e-4), k).toBeLessThanOrEqual(1);
      expect(gpu.memory().liveBuffers).toBe(baseline);
    });
  }
});

describe('inference networks: batch norm folded, ReLU fused', async () => {
  const gpu = await webgpu();
  /** A model whose batch norms have non-trivial statistics and whose first conv is partly pruned. */
  function trainedLooking(spec: ModelSpec, seed: number) {
    const model = initModel(spec, seed);
    const rng = new Rng(seed);
    for (const p of paramList(spec)) {
      const v = model.params.get(p.name)!;
      if (p.kind === 'gamma') v.forEach((_, i) => { v[i] = rng.uniform(0.5, 1.5) * (rng.bool(0.1) ? -1 : 1); });
      if (p.kind === 'beta' || p.kind === 'runningMean') v.forEach((_, i) => { v[i] = rng.uniform(-0.5, 0.5); });
      if (p.kind === 'runningVar') v.forEach((_, i) => { v[i] = rng.uniform(0.3, 3); });
    }
    const conv = paramList(spec).find((p) => p.kind === 'weight')!;
    model.masks.set(conv.name, Float32Array.from(model.params.get(conv.name)!, (_, i) => (i % 5 === 0 ? 0 : 1)));
    return model;
  }
  const logits = async (be: Backend, net: Network, x: Float32Array, batch: number) => {
    const input = be.upload(x, [batch, ...net.model.spec.inputShape]);
    const f = net.forward(input, false);
    const out = await be.read(f.logits);
    net.release(f);
    net.dispose();
    be.dispose(input);
    return out;
  };

  for (const spec of [vggSmall([3, 16, 16]), resnet20([3, 16, 16]), mobilenet([3, 16, 16])]) {
    it(`${spec.name}: the same logits as the plain network, on the CPU reference and on WebGPU`, async () => {
      const model = trainedLooking(spec, 7);
      const x = new Rng(8).uniformArray(4 * spec.inputShape.reduce((a, b) => a * b));
      const folded = Network.forInference(cpu(), model);
      expect(folded.model.spec.nodes.filter((n) => n.op === 'batchnorm')).toEqual([]); // every BN here follows a conv
      const plain = await logits(cpu(), new Network(cpu(), model), x, 4);
      const adds = vi.spyOn(folded.be, 'add');
      expect(toleranceRatio(await logits(cpu(), folded, x, 4), plain, 1e-5, 1e-6)).toBeLessThanOrEqual(1); // folded weights are float32
      // ResNet-20's residual adds all run in the store of their block's last convolution
      expect(adds.mock.calls.length).toBe(spec.name === 'resnet20' ? 0 : spec.nodes.filter((n) => n.op === 'add').length);
      adds.mockRestore();
      const baseline = gpu.memory().liveBuffers;
      expect(toleranceRatio(await logits(gpu, Network.forInference(gpu, model), x, 4), plain, 2e-3, 2e-4)).toBeLessThanOrEqual(1);
      expect(gpu.memory().liveBuffers).toBe(baseline);
      expect(() => folded.forward(cpu().zeros([1, ...spec.inputShape]), true)).toThrow(/inference only/);
    });
  }
});

describe('network gradients through channel gathers, layer norms and resizes equal finite differences', () => {
  const cases: [string, ModelSpec, string[]][] = [
    // The stem conv and both branches of the stride-2 unit: their gradients flow back through every gather.
    ['shufflenet-mini: d(sum(logits * r)) / d(parameters before the gathers)', shuffleNetMini([3, 6, 6]), ['conv2d1.weight', 'conv2d3.weight', 'conv2d6.weight']],
    // Through the resize, the layer norms (some channels masked) and the layer scale.
    ['convnext-mini: d(sum(logits * r)) / d(parameters before the layer norms and the resize)', convNextMini(), ['stem.weight', 'stem_norm.gamma', 'block_norm.beta', 'expand.weight', 'layer_scale.weight', 'down.weight']],
    // Through PReLUs on maps and on an embedding after a batch norm of [N, C]: their slopes and the body's weights.
    ['embedding-mini: d(sum(logits * r)) / d(PReLU slopes and the weights between them)', embeddingMini(), ['stem_prelu.slope', 'body.weight', 'body_prelu.slope', 'embedding_prelu.slope']],
    // Through transposed convolutions (with and without bias, output padding) and the skips beside them.
    ['unet-mini: d(sum(logits * r)) / d(transposed convolutions and what feeds them)', unetMini(), ['up1.weight', 'up2.weight', 'up2.bias', 'merge1.weight', 'deeper.weight']],
    // Through group norms of 2 groups, of one channel per group, and on a [N, C] embedding.
    ['groupnorm-mini: d(sum(logits * r)) / d(group norms and the layers before them)', groupNormMini(), ['stem_gn.gamma', 'stem_gn.beta', 'body.weight', 'body_in.gamma', 'embedding.weight', 'embedding_gn.gamma', 'embedding_gn.beta']],
  ];
  it.each(cases)('%s, CPU reference', async (_, spec, names) => {
    const model = initModel(spec, 3);
    for (const [name, values] of model.params) if (/\.(bias|beta)$/.test(name)) values.forEach((_, i) => { values[i] = Math.sin(i + name.length); });
    if (spec.name === 'convnext-mini') model.masks.set('down_norm.gamma', Float32Array.from({ length: 8 }, (_, i) => (i % 3 === 1 ? 0 : 1)));
    const be = cpu();
    const rng = new Rng(5);
    const batch = 2;
    const x = rng.uniformArray(batch * spec.inputShape.reduce((a, b) => a * b));
    const r = rng.uniformArray(batch * spec.classes);
    const loss = (m: typeof model) => {
      const net = new Network(be, m);
      const input = be.upload(x, [batch, ...spec.inputShape]);
      const f = net.forward(input, true);
      const logits = (f.logits as unknown as { data: Float64Array }).data;
      const value = logits.reduce((s, v, i) => s + v * r[i], 0);
      net.release(f);
      net.dispose();
      be.dispose(input);
      return value;
    };
    const net = new Network(be, model);
    const input = be.upload(x, [batch, ...spec.inputShape]);
    const f = net.forward(input, true);
    const grads = net.backward(f, be.upload(r, [batch, spec.classes]));
    for (const name of names) {
      const analytic = await be.read(grads.get(name)!);
      const w = model.params.get(name)!;
      for (const i of new Set([0, 5, 17, w.length - 1].filter((k) => k < w.length))) {
        const saved = w[i];
        w[i] = saved + 1e-3;
        const [hi, up] = [w[i], loss(model)];
        w[i] = saved - 1e-3;
        const [lo, down] = [w[i], loss(model)];
        w[i] = saved;
        const numeric = (up - down) / (hi - lo); // the float32 steps actually taken
        expect(Math.abs(analytic[i] - numeric), `${name}[${i}]: ${analytic[i]} vs ${numeric}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
      }
    }
  });
});
