// Inference for evaluation and teachers (src/train/inference.ts): on the native backend the whole model
// runs as one compiled onnxruntime graph. Its outputs match what PyTorch computed for its own exports
// (the fixtures' saved outputs) and what the op-by-op path computes, for several outputs, pruned (masked)
// weights and trained batch-norm statistics; with many batches to run, the faster of both is kept;
// quantized models and backends with no graph runtime run op by op and say why; evaluation scores the
// same either way.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { parseNpy } from '../src/data/dataset.js';
import { outputNames } from '../src/model/graph.js';
import { type Model, initModel } from '../src/model/model.js';
import { lenet5, resnet20 } from '../src/model/zoo.js';
import { NativeBackend } from '../src/native/backend.js';
import { importOnnx } from '../src/onnx/import.js';
import { ChannelPruner, byRatio } from '../src/prune/pruner.js';
import { Rng } from '../src/random.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { TUNE_BATCHES, inferenceNetwork } from '../src/train/inference.js';
import { cpu, toleranceRatio, withStatistics } from './helpers/backends.js';

const dir = new URL('./fixtures/onnx/', import.meta.url).pathname;

async function run(be: Backend, m: Model, x: Float32Array, batch: number, perOp = false) {
  const net = inferenceNetwork(be, m, { perOp });
  const input = be.upload(x, [batch, ...m.spec.inputShape]);
  const f = net.forward(input);
  const out = await Promise.all(outputNames(m.spec).map((n) => be.read(f.outputs.get(n)!)));
  expect(await be.read(f.logits)).toEqual(out[0]);
  net.release(f);
  net.dispose();
  be.dispose(input);
  return { engine: net.engine, reason: net.perOpReason, out };
}

describe('compiled inference on the native backend', async () => {
  const be = await NativeBackend.create();
  afterAll(() => be.destroy());

  it.each(['yolo-mini', 'unet-seg', 'face-embed'])('%s: every output as PyTorch computed it, and as op by op', async (name) => {
    const m = importOnnx(readFileSync(join(dir, `${name}.onnx`)));
    const npy = parseNpy(readFileSync(join(dir, `${name}.input.npy`)), 'input');
    const [batch, x] = [npy.shape[0], Float32Array.from(npy.data)];
    const compiled = await run(be, m, x, batch);
    expect(compiled.engine).toBe('compiled');
    const perOp = await run(be, m, x, batch, true);
    expect(perOp.engine).toBe('per-op');
    compiled.out.forEach((o, i) => {
      const suffix = i === 0 ? '' : String(i);
      const torch = parseNpy(readFileSync(join(dir, `${name}.output${suffix}.npy`)), 'output').data;
      expect(toleranceRatio(o, torch, 1e-3, 1e-3), `output ${i} against PyTorch`).toBeLessThanOrEqual(1);
      expect(toleranceRatio(o, perOp.out[i], 1e-4, 1e-4), `output ${i} against op by op`).toBeLessThanOrEqual(1);
    });
  });

  it('pruned (masked, not compacted) resnet20 with trained statistics: the logits op by op, on the CPU reference too', async () => {
    const dense = withStatistics(initModel(resnet20(), 4), 5);
    const pruner = new ChannelPruner(be, dense, { importance: 'l1', allocation: byRatio(0.5) });
    await pruner.step();
    const masked = pruner.model;
    expect(masked.masks.size).toBeGreaterThan(0);
    const x = new Rng(6).uniformArray(3 * 3 * 32 * 32);
    const compiled = await run(be, masked, x, 3);
    const reference = await run(cpu(), masked, x, 3);
    expect(reference.engine).toBe('per-op');
    expect(toleranceRatio(compiled.out[0], reference.out[0], 1e-4, 1e-4)).toBeLessThanOrEqual(1);
  });

  it('with many batches to run, the paths (compiled, per-sample, op by op) take turns on the first batches and the fastest is kept: outputs as the CPU reference computes them, nothing left behind', async () => {
    const m = withStatistics(initModel(resnet20(), 9), 10);
    const x = new Rng(11).uniformArray(2 * 3 * 32 * 32);
    const expected = (await run(cpu(), m, x, 2)).out[0];
    const live = be.memory().liveTensors;
    const net = inferenceNetwork(be, m, { batches: TUNE_BATCHES });
    const input = be.upload(x, [2, 3, 32, 32]);
    // Each output is held until after the next pass (as a caller reading one batch while the next runs),
    // so outputs of every path are released after the choice.
    let held: ReturnType<typeof net.forward> | undefined;
    for (let pass = 0; pass < TUNE_BATCHES; pass++) {
      const f = net.forward(input);
      expect(toleranceRatio(await be.read(f.logits), expected, 1e-4, 1e-4), `pass ${pass}`).toBeLessThanOrEqual(1);
      if (held) net.release(held);
      held = f;
    }
    net.release(held!);
    expect(['compiled', 'samplewise', 'per-op']).toContain(net.engine);
    net.dispose();
    be.dispose(input);
    expect(be.memory().liveTensors).toBe(live);
  });

  it('a quantized model runs op by op (its fake quantization), saying why', async () => {
    const float = initModel(lenet5(), 2);
    const q: Model = { ...float, spec: { ...float.spec, quantization: { fc1: { weightBits: 4, perChannel: true } } } };
    const r = await run(be, q, new Rng(2).uniformArray(2 * 784), 2);
    expect(r.engine).toBe('per-op');
    expect(r.reason).toMatch(/quantized/);
  });

  it('evaluation scores the same compiled as op by op (loss and top-1 on a labelled batch)', async () => {
    const m = withStatistics(initModel(lenet5(), 3), 7);
    const rng = new Rng(8);
    const data = { name: 'random', shape: [1, 28, 28] as [number, number, number], classes: 10, count: 300, images: rng.uniformArray(300 * 784), labels: Uint8Array.from({ length: 300 }, () => rng.int(0, 9)) };
    const compiled = await evaluateModel(be, m, data, { batchSize: 128 });
    process.env.WGPRUNE_COMPILED_INFERENCE = 'off';
    try {
      const perOp = await evaluateModel(be, m, data, { batchSize: 128 });
      expect(compiled.accuracy).toBe(perOp.accuracy);
      expect(compiled.loss).toBeCloseTo(perOp.loss, 4);
    } finally {
      delete process.env.WGPRUNE_COMPILED_INFERENCE;
    }
  });
});
