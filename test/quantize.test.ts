// Fake quantization by hand-computed cases on the CPU reference (the shared op suites check every backend
// against it): grid points come back exactly, ties round to even, values past the grid clip, and the
// straight-through gradient passes only inside the grid. Calibrators on samples with known answers.
import { describe, expect, it } from 'vitest';
import { roundHalfEven } from '../src/geometry.js';
import { AbsHistogram, entropyThreshold, grid, mseThreshold, percentileThreshold, qparams, sqnr } from '../src/quantize/calibrate.js';
import { Rng } from '../src/random.js';
import { CALIBRATORS, type LayerError, quantizeModel } from '../src/quantize/ptq.js';
import type { Backend } from '../src/backend.js';
import { GpujsBackend } from '../src/gpujs/backend.js';
import { GraphBuilder, checkSpecShape } from '../src/model/graph.js';
import { type Model, initModel } from '../src/model/model.js';
import { Network } from '../src/model/network.js';
import { SCALE_FLOOR, weightScales } from '../src/model/quantization.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { exportOnnx } from '../src/onnx/export.js';
import { onnx } from '../src/onnx/proto.js';
import { tensorValues } from '../src/onnx/import-constants.js';
import { createRequire } from 'node:module';
import { NativeBackend } from '../src/native/backend.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { cpu, inferenceLogits, toleranceRatio, webgpu } from './helpers/backends.js';

const ort = createRequire(import.meta.url)('onnxruntime-node');

describe('fake quantization', () => {
  it('rounds half to even', () => {
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4999, 2.5001].map(roundHalfEven).map((v) => v + 0)).toEqual([-2, -2, 0, 0, 2, 2, 2, 3]);
  });

  it('int8 per channel and uint4 per tensor: exact grid points, ties to even, clipping; the clipped straight-through gradient', async () => {
    const be = cpu();
    // Two channels along axis 0: scales 0.5 and 0.25, symmetric int8 (zero point 0).
    const x = be.upload([1, 1.25, -0.75, 100, 0.5, 0.375, -64, -40], [2, 4]);
    const o = { qmin: -128, qmax: 127, axis: 0 };
    const [s, z] = [be.upload([0.5, 0.25], [2]), be.upload([0, 0], [2])];
    // 1.25 / 0.5 = 2.5 -> 2; -0.75 / 0.5 = -1.5 -> -2; 100 / 0.5 = 200 -> 127; 0.375 / 0.25 = 1.5 -> 2; -64 / 0.25 = -256 -> -128.
    expect(Array.from(await be.read(be.fakeQuantize(x, s, z, o)))).toEqual([1, 1, -1, 63.5, 0.5, 0.5, -32, -32]);
    const dy = be.upload([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
    expect(Array.from(await be.read(be.fakeQuantizeBackward(dy, x, s, z, o)))).toEqual([1, 2, 3, 0, 5, 6, 0, 0]);
    // Asymmetric uint4 per tensor: scale 0.1, zero point 3 -> the grid is [-0.3, 1.2].
    const u = { qmin: 0, qmax: 15 };
    const y = await be.read(be.fakeQuantize(be.upload([-1, -0.3, 0.04, 1.2, 5], [5]), be.upload([0.1], [1]), be.upload([3], [1]), u));
    expect(Array.from(y).map((v) => +v.toFixed(6))).toEqual([-0.3, -0.3, 0, 1.2, 1.2]);
    expect(() => be.fakeQuantize(x, s, z, { qmin: 5, qmax: 5, axis: 0 })).toThrow(/grid \[5, 5\] must be integers with qmin < qmax/);
    expect(() => be.fakeQuantize(x, be.upload([1, 1, 1], [3]), z, o)).toThrow(/scale/);
  });
});

describe('calibration', () => {
  it('grids and scale/zero point: symmetric and asymmetric', () => {
    expect(grid(8, true)).toEqual({ qmin: -128, qmax: 127 });
    expect(grid(4, false)).toEqual({ qmin: 0, qmax: 15 });
    expect(grid(1, true)).toEqual({ qmin: -1, qmax: 1, binary: true });
    expect(() => grid(0, true)).toThrow(/bits must be an integer in \[1, 16\], got 0/);
    expect(grid(1, false)).toEqual({ qmin: 0, qmax: 1 });
    expect(qparams(-1, 2, 8, true)).toEqual({ scale: 2 / 127, zeroPoint: 0 });
    expect(qparams(-1, 2, 8, false)).toEqual({ scale: 3 / 255, zeroPoint: 85 });
    expect(qparams(0.5, 2, 8, false).zeroPoint).toBe(0); // the range widens to include 0
  });

  it('min/max and percentile of a known sample', () => {
    const h = new AbsHistogram();
    h.add(Float64Array.from({ length: 1000 }, (_, i) => (i % 2 ? -1 : 1) * (i + 1)));
    expect([h.lo, h.hi]).toEqual([-1000, 999]);
    expect(Math.abs(percentileThreshold(h, 99) - 990)).toBeLessThanOrEqual(1000 / 2048 + 1e-9);
    expect(percentileThreshold(h, 100)).toBe(1000);
  });

  it('the histogram keeps its counts when a larger value stretches the range', () => {
    const h = new AbsHistogram(8);
    h.add([0.1, 0.3, 0.9]);
    h.add([3.5]);
    expect(h.max).toBe(3.6);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('entropy clips a heavy tail and keeps a uniform range; least-MSE clipping of a Gaussian sits near the known optimum', () => {
    const rng = new Rng(3);
    const heavy = new AbsHistogram();
    // Laplace body and a sparse power-law tail (density ∝ 1/x² from 5 to 200): the tail's few values are not worth its range.
    heavy.add(Float64Array.from({ length: 50_000 }, () => Math.log(rng.uniform(1e-9, 1)) * (rng.bool() ? 1 : -1)));
    heavy.add(Float64Array.from({ length: 500 }, () => (5 / rng.uniform(0.025, 1)) * (rng.bool() ? 1 : -1)));
    const t = entropyThreshold(heavy);
    expect(t).toBeLessThan(0.25 * heavy.max);
    expect(t).toBeGreaterThan(5);
    const flat = new AbsHistogram();
    flat.add(Float64Array.from({ length: 50_000 }, () => rng.uniform(-1, 1)));
    expect(entropyThreshold(flat)).toBeGreaterThan(0.9 * flat.max);
    const gauss = new AbsHistogram();
    gauss.add(Float64Array.from({ length: 100_000 }, () => rng.normal()));
    // Uniform 4-bit quantizer of N(0, 1): optimal step ≈ 0.335 (Max, 1960), so ≈ 2.3 at 7 steps; 8 bits clip much later.
    const t4 = mseThreshold(gauss, 4);
    expect(t4).toBeGreaterThan(1.8);
    expect(t4).toBeLessThan(3.0);
    expect(mseThreshold(gauss, 8)).toBeGreaterThan(t4);
  });

  it('SQNR in dB', () => {
    expect(sqnr([1, -1, 1, -1], [1.1, -0.9, 1.1, -0.9])).toBeCloseTo(20, 9);
    expect(sqnr([1, 2], [1, 2])).toBe(Infinity);
  });
});

/** Host fake quantization of x with one scale and zero point per row of `per` values (the CPU reference's formula). */
function hostFakeQuant(x: Float32Array, scales: ArrayLike<number>, zeros: ArrayLike<number>, g: { qmin: number; qmax: number }): Float32Array {
  const per = x.length / scales.length;
  return Float32Array.from(x, (v, i) => {
    const [s, z] = [scales[Math.floor(i / per)], zeros[Math.floor(i / per)]];
    return (Math.min(g.qmax, Math.max(g.qmin, roundHalfEven(v / s) + z)) - z) * s;
  });
}

describe('quantized layers in the graph', () => {
  const g = new GraphBuilder('q', [3, 6, 6], 4);
  const conv = g.conv('input', { out: 5, kernel: 3, padding: 1, name: 'conv' });
  const spec = g.build(g.linear(g.flatten(g.relu(conv)), 4, 'fc'));
  const rng = new Rng(7);
  const float = initModel(spec, 3);
  float.params.set('conv.bias', Float32Array.from({ length: 5 }, () => rng.normal()));
  // Channel 2 all zero (a pruned filter): its scale must not be 0/0.
  float.params.get('conv.weight')!.fill(0, 2 * 27, 3 * 27);
  const x = Float32Array.from({ length: 4 * 3 * 36 }, () => rng.normal());
  const input = { bits: 6, symmetric: false, scale: 0.05, zeroPoint: 31 };
  const quantized = (perChannel: boolean): Model => ({ ...float, spec: { ...spec, quantization: { conv: { weightBits: 4, perChannel, input } } } });

  it('compute what the float layer computes on host-quantized weights and inputs, on every backend (pruned filters stay zero)', async () => {
    for (const perChannel of [true, false]) {
      const w = float.params.get('conv.weight')!;
      const scales = weightScales(w, 5, { weightBits: 4, perChannel });
      if (perChannel) expect(scales[2]).toBe(Math.fround(SCALE_FLOOR));
      const wq = hostFakeQuant(w, scales, new Array(scales.length).fill(0), grid(4, true));
      expect(wq.subarray(2 * 27, 3 * 27).every((v) => v === 0)).toBe(true);
      expect(new Set(Array.from(wq.subarray(0, 27), (v) => Math.round(v / scales[0]))).size).toBeLessThanOrEqual(16);
      const xq = hostFakeQuant(x, [input.scale], [input.zeroPoint], grid(6, false));
      const reference = { ...float, params: new Map(float.params).set('conv.weight', wq) };
      const want = await inferenceLogits(cpu(), reference, xq, 4);
      const native = await NativeBackend.create();
      const gpujs = await GpujsBackend.create();
      for (const be of [cpu(), native, await webgpu(), gpujs]) {
        expect(toleranceRatio(await inferenceLogits(be, quantized(perChannel), x, 4), want, 1e-4, 1e-5), `${be.name} perChannel ${perChannel}`).toBeLessThanOrEqual(1);
      }
      native.destroy();
      gpujs.destroy();
    }
  }, 60_000);

  it('binary weights (sign · mean |w|) and one-bit inputs (±s, or {0, s} after a ReLU) agree on every backend, with host-binarized operands and with onnxruntime', async () => {
    const binaryConv = { weightBits: 1, perChannel: true, input: { bits: 1, symmetric: true, scale: 0.7, zeroPoint: 0 } };
    // The first layer alone against operands binarized on the host.
    const w = float.params.get('conv.weight')!;
    const alpha = Array.from({ length: 5 }, (_, c) => w.subarray(c * 27, (c + 1) * 27).reduce((s, v) => s + Math.abs(v), 0) / 27);
    const wb = Float32Array.from(w, (v, i) => (v >= 0 ? 1 : -1) * alpha[Math.floor(i / 27)]);
    const xb = Float32Array.from(x, (v) => (v >= 0 ? 0.7 : -0.7));
    const want = await inferenceLogits(cpu(), { ...float, params: new Map(float.params).set('conv.weight', wb) }, xb, 4);
    const first: Model = { ...float, spec: { ...spec, quantization: { conv: binaryConv } } };
    expect(toleranceRatio(await inferenceLogits(cpu(), first, x, 4), want, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    // Both layers one-bit (the second's input is a ReLU's: levels {0, 0.5}) on every backend and in onnxruntime.
    const both: Model = { ...float, spec: { ...spec, quantization: { conv: binaryConv, fc: { weightBits: 1, perChannel: false, input: { bits: 1, symmetric: false, scale: 0.5, zeroPoint: 0 } } } } };
    const reference = await inferenceLogits(cpu(), both, x, 4);
    const native = await NativeBackend.create();
    const gpujs = await GpujsBackend.create();
    for (const be of [native, await webgpu(), gpujs]) expect(toleranceRatio(await inferenceLogits(be, both, x, 4), reference, 1e-4, 1e-5), be.name).toBeLessThanOrEqual(1);
    native.destroy();
    gpujs.destroy();
    const session = await ort.InferenceSession.create(exportOnnx(both));
    const theirs = (await session.run({ input: new ort.Tensor('float32', x, [4, 3, 6, 6]) })).output.data as Float32Array;
    expect(toleranceRatio(theirs, reference, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  }, 60_000);

  it('train with the straight-through gradient: weights as if float at the quantized values, inputs clipped outside the grid; every backend as the CPU reference', async () => {
    const grads = async (be: Backend, m: Model) => {
      const net = new Network(be, m);
      const xt = be.upload(x, [4, 3, 6, 6]);
      const f = net.forward(xt, true);
      const dLogits = be.upload(Float32Array.from({ length: 16 }, (_, i) => Math.sin(i)), [4, 4]);
      const gr = net.backward(f, dLogits);
      // The conv's input gradient is the input's own: the image has none, so use a layer after it.
      const out = new Map<string, Float32Array>();
      for (const [k, t] of gr) out.set(k, await be.read(t));
      net.release(f);
      net.dispose();
      return out;
    };
    const m = quantized(true);
    // Float gradients at the quantized operands: the STE's definition for the weights.
    const w = float.params.get('conv.weight')!;
    const wq = hostFakeQuant(w, weightScales(w, 5, m.spec.quantization!.conv), new Array(5).fill(0), grid(4, true));
    const xq = hostFakeQuant(x, [input.scale], [input.zeroPoint], grid(6, false));
    const atQuantized = await (async () => {
      const be = cpu();
      const net = new Network(be, { ...float, params: new Map(float.params).set('conv.weight', wq) });
      const f = net.forward(be.upload(xq, [4, 3, 6, 6]), true);
      const gr = net.backward(f, be.upload(Float32Array.from({ length: 16 }, (_, i) => Math.sin(i)), [4, 4]));
      return be.read(gr.get('conv.weight')!);
    })();
    const want = await grads(cpu(), m);
    expect(toleranceRatio(want.get('conv.weight')!, atQuantized, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    const native = await NativeBackend.create();
    const gpujs = await GpujsBackend.create();
    for (const be of [native, await webgpu(), gpujs]) {
      const got = await grads(be, m);
      for (const [k, v] of want) expect(toleranceRatio(got.get(k)!, v, 1e-4, 1e-5), `${be.name} ${k}`).toBeLessThanOrEqual(1);
    }
    native.destroy();
    gpujs.destroy();
  }, 60_000);

  it('the input quantizer passes the gradient only inside its grid (a quantized second layer)', async () => {
    const be = cpu();
    const fcInput = { bits: 4, symmetric: false, scale: 0.1, zeroPoint: 0 }; // range [0, 1.5]: larger ReLU outputs clip
    const m: Model = { ...float, spec: { ...spec, quantization: { fc: { weightBits: 8, perChannel: true, input: fcInput } } } };
    const net = new Network(be, m);
    const f = net.forward(be.upload(x, [4, 3, 6, 6]), true);
    const flat = await be.read(f.outputs.get(spec.nodes.find((n) => n.op === 'flatten')!.name)!);
    const dLogits = be.upload(Float32Array.from({ length: 16 }, (_, i) => Math.cos(i)), [4, 4]);
    const wq = await be.read(f.saved.get('fc.quantizedWeight')!);
    const grads = net.backward(f, dLogits);
    // Recompute the flatten's gradient by hand: dLogits · Wq, zero where the input's grid index passed 15 (x ≥ 1.55).
    const [dl, n] = [await be.read(dLogits), flat.length / 4];
    expect(flat.filter((v) => v > 1.5).length).toBeGreaterThan(5);
    const convGrad = await be.read(grads.get('conv.bias')!);
    // conv.bias's gradient sums the ReLU-and-clip-masked upstream gradient over batch and positions.
    const expected = new Float64Array(5);
    for (let b = 0; b < 4; b++)
      for (let j = 0; j < n; j++) {
        const v = flat[b * n + j];
        if (v <= 0 || roundHalfEven(v / 0.1) > 15) continue;
        let d = 0;
        for (let k = 0; k < 4; k++) d += dl[b * 4 + k] * wq[k * n + j];
        expected[Math.floor(j / 36)] += d;
      }
    expect(toleranceRatio(convGrad, expected, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('inference keeps a quantized layer\'s batch norm unfolded: the fused inference network computes what the plain one does', async () => {
    const b = new GraphBuilder('qbn', [3, 6, 6], 4);
    const bnSpec = b.build(b.linear(b.flatten(b.relu(b.bn(b.conv('input', { out: 5, kernel: 3, padding: 1, name: 'conv' }), 'bn'))), 4, 'fc'));
    const m = initModel(bnSpec, 5);
    m.params.set('bn.runningMean', Float32Array.from({ length: 5 }, () => rng.normal()));
    m.params.set('bn.gamma', Float32Array.from({ length: 5 }, () => 0.5 + rng.uniform(0, 2)));
    // Per tensor: folding's per-channel scale would change which grid each weight lands on.
    const q: Model = { ...m, spec: { ...bnSpec, quantization: { conv: { weightBits: 3, perChannel: false } } } };
    const be = cpu();
    const plain = new Network(be, q);
    const f = plain.forward(be.upload(x, [4, 3, 6, 6]), false);
    expect(toleranceRatio(await inferenceLogits(be, q, x, 4), await be.read(f.logits), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it('a spec with quantization survives a checkpoint; bad quantization fields are refused naming the layer', () => {
    const m = quantized(true);
    expect(decodeCheckpoint(encodeCheckpoint({ model: m, optimizer: new Map() })).model.spec.quantization).toEqual(m.spec.quantization);
    const bad = (q: unknown) => () => checkSpecShape({ ...spec, quantization: q });
    const relu = spec.nodes.find((n) => n.op === 'relu')!.name;
    expect(bad({ [relu]: { weightBits: 8, perChannel: true } })).toThrow(`quantization of '${relu}': no conv or linear layer has that name (it is a relu)`);
    expect(bad({ nothing: { weightBits: 8, perChannel: true } })).toThrow("quantization of 'nothing': no conv or linear layer has that name");
    expect(bad({ conv: { weightBits: 17, perChannel: true } })).toThrow(/bits must be an integer in \[1, 16\], got 17/);
    expect(bad({ conv: { weightBits: 8, perChannel: true, input: { bits: 8, symmetric: false, scale: 0, zeroPoint: 0 } } })).toThrow(/quantization of 'conv': input scale must be a positive number, got 0/);
    expect(bad({ conv: { weightBits: 8, perChannel: true, input: { bits: 8, symmetric: true, scale: 1, zeroPoint: 200 } } })).toThrow(/zeroPoint must be an integer in \[-128, 127\], got 200/);
  });
});

describe('post-training quantization', () => {
  it('int8 per channel keeps the shipped LeNet-5 within half a point with every calibrator; per-layer SQNR beats per tensor; 3 bits lose more', async () => {
    const be = await NativeBackend.create();
    try {
      const { model } = await loadCheckpoint(new URL('../models/lenet5-mnist.safetensors', import.meta.url).pathname);
      const [train, test] = [subset(loadMnist('train'), 2000), subset(loadMnist('test'), 1000)];
      const base = (await evaluateModel(be, model, test)).accuracy;
      let perChannel: LayerError[] = [];
      for (const calibrator of CALIBRATORS) {
        const q = await quantizeModel(be, model, train, { bits: 8, calibrator, calibrationImages: 256 });
        expect(Object.keys(q.model.spec.quantization!)).toEqual(model.spec.nodes.filter((n) => n.op === 'conv2d' || n.op === 'linear').map((n) => n.name));
        expect(Math.abs((await evaluateModel(be, q.model, test)).accuracy - base), calibrator).toBeLessThanOrEqual(0.005);
        expect(Math.min(...q.layers.map((l) => l.sqnr)), calibrator).toBeGreaterThan(20);
        if (calibrator === 'minmax') perChannel = q.layers;
      }
      const tensor = await quantizeModel(be, model, train, { bits: 8, calibrator: 'minmax', weights: 'per-tensor', calibrationImages: 256 });
      expect(perChannel.reduce((s, l) => s + l.sqnr, 0)).toBeGreaterThan(tensor.layers.reduce((s, l) => s + l.sqnr, 0));
      const int3 = await quantizeModel(be, model, train, { bits: 3, calibrator: 'minmax', calibrationImages: 256 });
      expect((await evaluateModel(be, int3.model, test)).accuracy).toBeLessThan(base - 0.005);
      expect(Math.max(...int3.layers.map((l) => l.sqnr))).toBeLessThan(Math.min(...perChannel.map((l) => l.sqnr)));
    } finally {
      be.destroy();
    }
  }, 120_000);
});

describe('QDQ export', () => {
  it('the PTQ LeNet-5 runs in onnxruntime as QuantizeLinear/DequantizeLinear with per-axis int8 weights and int32 biases, agreeing with our fake-quantized model', async () => {
    const be = await NativeBackend.create();
    try {
      const { model } = await loadCheckpoint(new URL('../models/lenet5-mnist.safetensors', import.meta.url).pathname);
      const [train, test] = [subset(loadMnist('train'), 2000), subset(loadMnist('test'), 2000)];
      for (const activations of ['asymmetric', 'symmetric'] as const) {
        const q = await quantizeModel(be, model, train, { bits: 8, activations, calibrationImages: 256 });
        const bytes = exportOnnx(q.model);
        const graph = onnx.ModelProto.decode(bytes).graph!;
        const weightDq = graph.node!.find((n) => n.name === 'conv2.weight_dequantized')!;
        expect(weightDq.opType).toBe('DequantizeLinear');
        expect(Number(weightDq.attribute!.find((a) => a.name === 'axis')?.i)).toBe(0);
        const byName = new Map(graph.initializer!.map((t) => [t.name, t]));
        expect(byName.get('conv2.weight_scale')!.dims!.map(Number)).toEqual([16]);
        expect(byName.get('conv2.weight_quantized')!.dataType).toBe(3); // int8
        expect(byName.get('conv2.bias_quantized')!.dataType).toBe(6); // int32
        expect(byName.get('conv2.input_zero_point')!.dataType).toBe(activations === 'symmetric' ? 3 : 2);
        expect(graph.node!.filter((n) => n.opType === 'QuantizeLinear').length).toBe(Object.keys(q.model.spec.quantization!).length);
        // Each int32 bias is round(b / (input scale × weight scale)), its scale that product, per output channel.
        for (const [layer, lq] of Object.entries(q.model.spec.quantization!)) {
          if (!lq.input) continue; // a float input: the bias stays float
          const w = q.model.params.get(`${layer}.weight`)!, b = q.model.params.get(`${layer}.bias`)!;
          const sw = weightScales(w, b.length, lq, q.model.masks.get(`${layer}.weight`));
          const scale = Float32Array.from(b, (_, c) => Math.fround(lq.input!.scale * sw[lq.perChannel ? c : 0]));
          expect(tensorValues(byName.get(`${layer}.weight_scale`)!, 'x').data, layer).toEqual(Array.from(sw));
          expect(tensorValues(byName.get(`${layer}.bias_scale`)!, 'x').data, layer).toEqual(Array.from(scale));
          expect(tensorValues(byName.get(`${layer}.bias_quantized`)!, 'x').data, layer).toEqual(Array.from(b, (v, c) => roundHalfEven(v / scale[c])));
        }
        const ours = await inferenceLogits(be, q.model, test.images, test.count);
        const session = await ort.InferenceSession.create(bytes);
        const theirs = (await session.run({ input: new ort.Tensor('float32', test.images, [test.count, 1, 28, 28]) })).output.data as Float32Array;
        let same = 0;
        for (let i = 0; i < test.count; i++) if (argmax(ours, i, 10) === argmax(theirs, i, 10)) same++;
        expect(same / test.count, activations).toBeGreaterThanOrEqual(0.995);
      }
    } finally {
      be.destroy();
    }
  }, 120_000);

  it('a 4-bit input grid is clipped before QuantizeLinear; more than 8 bits is refused naming the layer', async () => {
    const g = new GraphBuilder('q4', [2, 4, 4], 3);
    const spec = g.build(g.linear(g.flatten('input'), 3, 'fc'));
    const m = initModel(spec, 1);
    const x = Float32Array.from({ length: 5 * 32 }, (_, i) => Math.sin(i) * 2);
    const rng = new Rng(8);
    m.params.set('fc.bias', Float32Array.from({ length: 3 }, () => rng.normal()));
    const q4: Model = { ...m, spec: { ...spec, quantization: { fc: { weightBits: 4, perChannel: false, input: { bits: 4, symmetric: false, scale: 0.1, zeroPoint: 5 } } } } };
    const session = await ort.InferenceSession.create(exportOnnx(q4));
    const theirs = (await session.run({ input: new ort.Tensor('float32', x, [5, 2, 4, 4]) })).output.data as Float32Array;
    // The exported bias is int32 on the accumulator's grid (input scale × weight scale): ours with the bias on that grid.
    const step = Math.fround(0.1 * weightScales(m.params.get('fc.weight')!, 3, q4.spec.quantization!.fc)[0]);
    const onGrid: Model = { ...q4, params: new Map([...q4.params, ['fc.bias', q4.params.get('fc.bias')!.map((b) => roundHalfEven(b / step) * step)]]) };
    expect(toleranceRatio(theirs, await inferenceLogits(cpu(), onGrid, x, 5), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    const q12: Model = { ...m, spec: { ...spec, quantization: { fc: { weightBits: 12, perChannel: true } } } };
    expect(() => exportOnnx(q12)).toThrow("export: layer 'fc' is quantized to 12 bits; QDQ at opset 13 holds 8-bit integers at most");
  });
});

function argmax(logits: ArrayLike<number>, row: number, classes: number): number {
  let best = 0;
  for (let k = 1; k < classes; k++) if (logits[row * classes + k] > logits[row * classes + best]) best = k;
  return best;
}
