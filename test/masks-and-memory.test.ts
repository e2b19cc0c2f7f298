// Masks and memory on the real device: a pruned weight contributes exactly nothing (the network uploads
// it as 0: masks are applied once, in the model's parameter view) and stays exactly 0.0 through optimizer steps; a whole training step leaves the pool's live counts where they were.
import { describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../src/backend.js';
import { cloneModel, initModel, paramList } from '../src/model/model.js';
import { Network } from '../src/model/network.js';
import { lenet5 } from '../src/model/zoo.js';
import { Rng } from '../src/random.js';
import { webgpu } from './helpers/backends.js';

describe('weight masks', async () => {
  const gpu = await webgpu();
  const rng = new Rng(3);
  const wShape = [8, 3, 3, 3];
  const maskData = Float32Array.from({ length: 216 }, () => (rng.bool(0.5) ? 1 : 0));
  const mask = gpu.upload(maskData, wShape);

  for (const variant of ['registers', 'shared'] as const) {
    it(`a masked weight contributes exactly nothing, whatever the host array holds (${variant} conv, forward and input gradient)`, async () => {
      const be = await webgpu({ convVariant: variant });
      const spec = lenet5();
      const base = initModel(spec, 4);
      const name = paramList(spec).find((p) => p.kind === 'weight')!.name;
      const pruned = Float32Array.from(base.params.get(name)!, (_, i) => (i % 3 === 0 ? 0 : 1));
      // Huge values where the mask is 0 against the same weights zeroed there: results must be identical.
      const huge = cloneModel(base), zeroed = cloneModel(base);
      huge.params.set(name, huge.params.get(name)!.map((v, i) => (pruned[i] ? v : 1e30)));
      huge.masks.set(name, pruned);
      zeroed.params.set(name, zeroed.params.get(name)!.map((v, i) => (pruned[i] ? v : 0)));
      const input = be.upload(rng.uniformArray(2 * 28 * 28), [2, 1, 28, 28]);
      const results = [];
      for (const model of [huge, zeroed]) {
        const net = new Network(be, model);
        const f = net.forward(input, true);
        const dy = be.upload(new Float32Array(f.logits.size).fill(0.5), f.logits.shape);
        const grads = net.backward(f, dy);
        results.push({ logits: Array.from(await be.read(f.logits)), read: Array.from((await net.download()).params.get(name)!) });
        be.dispose(dy, ...grads.values());
        net.release(f);
        net.dispose();
      }
      expect(results[0]).toEqual(results[1]);
      be.dispose(input);
    });
  }

  for (const optimizer of ['sgd', 'adam'] as const) {
    it(`masked weights stay exactly 0 after ${optimizer} steps with momentum and weight decay`, async () => {
      const w = gpu.upload(rng.uniformArray(216), wShape);
      const s1 = gpu.zeros(wShape), s2 = gpu.zeros(wShape);
      for (let step = 1; step <= 5; step++) {
        const g = gpu.upload(rng.uniformArray(216, -5, 5), wShape);
        if (optimizer === 'sgd') gpu.sgdStep(w, g, s1, { learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3, mask });
        else gpu.adamStep(w, g, s1, s2, { learningRate: 0.1, weightDecay: 1e-3, step, mask });
        gpu.dispose(g);
      }
      const [wv, v1] = [await gpu.read(w), await gpu.read(s1)];
      let kept = 0;
      wv.forEach((v, i) => {
        if (maskData[i]) { kept += v !== 0 ? 1 : 0; return; }
        expect(Object.is(v, 0), `w[${i}] = ${v}`).toBe(true);
        expect(Object.is(v1[i], 0), `state[${i}] = ${v1[i]}`).toBe(true);
      });
      expect(kept).toBe(maskData.reduce((a, b) => a + b, 0)); // unmasked weights did move
      gpu.dispose(w, s1, s2);
    });
  }
});

/** One SGD step of conv-BN-ReLU-maxpool-flatten-linear-softmax CE, every intermediate disposed. */
async function trainingStep(be: Backend, p: Record<string, Tensor>, x: Tensor, labels: Tensor): Promise<number> {
  const convO = { padding: 1 };
  const bn = { gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar, epsilon: 1e-5, momentum: 0.1 };
  const c = be.conv2d(x, p.w1, { ...convO, bias: p.b1 });
  const n = be.batchNormTraining(c, bn);
  const a = be.activation(n.y, 'relu');
  const pool = be.maxPool(a, { kernel: 2 });
  const flat = be.reshape(pool.y, [x.shape[0], pool.y.size / x.shape[0]]);
  const logits = be.linear(flat, p.w2, { bias: p.b2 });
  const { loss, dLogits, correct } = be.softmaxCrossEntropy(logits, labels);
  const dFlat = be.linearBackwardInput(dLogits, p.w2);
  const dW2 = be.linearBackwardWeight(dLogits, flat);
  const dB2 = be.channelSum(dLogits);
  const dPool = be.reshape(dFlat, pool.y.shape);
  const dA = be.maxPoolBackward(dPool, pool.argmax, a.shape, { kernel: 2 });
  const dN = be.activationBackward(dA, n.y, 'relu');
  const bnBack = be.batchNormBackward(dN, c, p.gamma, n.mean, n.invStd);
  const dW1 = be.conv2dBackwardFilter(bnBack.dx, x, p.w1.shape, convO);
  const dB1 = be.channelSum(bnBack.dx);
  const updates: [string, Tensor][] = [['w1', dW1], ['b1', dB1], ['w2', dW2], ['b2', dB2], ['gamma', bnBack.dGamma], ['beta', bnBack.dBeta]];
  for (const [name, grad] of updates) be.sgdStep(p[name], grad, p[`v_${name}`], { learningRate: 0.05, momentum: 0.9, mask: name === 'w1' ? p.m1 : undefined });
  be.dispose(correct, c, n.y, n.mean, n.invStd, a, pool.y, pool.argmax, flat, logits, dLogits, dFlat, dPool, dA, dN, bnBack.dx, ...updates.map((u) => u[1]));
  const values = await be.read(loss);
  be.dispose(loss);
  return values.reduce((s, v) => s + v, 0) / values.length;
}

describe('buffer pool', () => {
  it('live buffers and tensors return to their baseline after training steps, and the loss falls', async () => {
    const be = await webgpu();
    const rng = new Rng(5);
    const shapes: Record<string, number[]> = { w1: [4, 1, 3, 3], b1: [4], m1: [4, 1, 3, 3], gamma: [4], beta: [4], runningMean: [4], runningVar: [4], w2: [3, 4 * 4 * 4], b2: [3] };
    const p: Record<string, Tensor> = {};
    for (const [name, shape] of Object.entries(shapes)) {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = name === 'm1' ? Float32Array.from({ length: size }, (_, i) => (i % 4 ? 1 : 0))
        : name === 'gamma' || name === 'runningVar' ? new Float32Array(size).fill(1)
        : name === 'beta' || name === 'runningMean' ? new Float32Array(size) : rng.uniformArray(size, -0.5, 0.5);
      p[name] = be.upload(data, shape);
      if (!['m1', 'runningMean', 'runningVar'].includes(name)) p[`v_${name}`] = be.zeros(shape);
    }
    const x = be.upload(rng.uniformArray(6 * 64), [6, 1, 8, 8]);
    const labels = be.upload([0, 1, 2, 0, 1, 2], [6]);
    be.flush();
    const baseline = be.memory();
    const losses: number[] = [];
    for (let step = 0; step < 12; step++) {
      losses.push(await trainingStep(be, p, x, labels));
      const now = be.memory();
      expect(now.liveBuffers, `step ${step}`).toBe(baseline.liveBuffers);
      expect(now.liveTensors, `step ${step}`).toBe(baseline.liveTensors);
      expect(now.liveBytes, `step ${step}`).toBe(baseline.liveBytes);
    }
    expect(losses[11]).toBeLessThan(losses[0] * 0.8);
    const w1 = await be.read(p.w1);
    w1.forEach((v, i) => { if (i % 4 === 0) expect(Object.is(v, 0)).toBe(true); });
  });

  it('rejects use after dispose, with the shape in the message', async () => {
    const be = await webgpu();
    const t = be.upload([1, 2, 3], [3]);
    be.dispose(t);
    expect(() => be.activation(t, 'relu')).toThrow(/\[3\] was used after dispose/);
  });
});
