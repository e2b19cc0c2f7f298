// Per-sample inference (Backend.compileSamplewise; the native backend's samplewise.cc, each sample through
// every layer): programs built from inference networks (src/model/samplewise.ts) compute what the CPU
// reference computes op by op, for compacted models with channel counts oneDNN would pad and models the
// issue did not name (PyTorch's task exports); a program with every kind of step and grid (the image's
// own, the stride's phases, a zero-padded copy; strides 1, 2 and 3) matches its definition
// (runSamplewise) on the CPU reference; and what it cannot run is refused, naming the node or step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SamplewiseProgram } from '../src/backend.js';
import { parseNpy } from '../src/data/dataset.js';
import { type Model, initModel } from '../src/model/model.js';
import { Network } from '../src/model/network.js';
import { samplewiseProgram } from '../src/model/samplewise.js';
import { zooModel } from '../src/model/zoo.js';
import { NativeBackend } from '../src/native/backend.js';
import { importOnnx } from '../src/onnx/import.js';
import { ChannelPruner, byRatio } from '../src/prune/pruner.js';
import { Rng } from '../src/random.js';
import { runSamplewise, stepShapes } from '../src/samplewise.js';
import { inferenceNetwork } from '../src/train/inference.js';
import { cpu, toleranceRatio, withStatistics } from './helpers/backends.js';

const avx512 = /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
const fixtures = new URL('./fixtures/onnx/', import.meta.url).pathname;

/** The op-by-op inference network's logits on the CPU reference. */
async function referenceLogits(m: Model, x: Float32Array, batch: number): Promise<Float32Array> {
  const reference = cpu();
  const net = Network.forInference(reference, m);
  const f = net.forward(reference.upload(x, [batch, ...m.spec.inputShape]), false);
  return reference.read(f.logits);
}

describe('per-sample inference on the native backend', async () => {
  const be = await NativeBackend.create();
  afterAll(() => be.destroy());

  const compacted = async (name: string, keep: number) => {
    const dense = withStatistics(initModel(zooModel(name, name === 'lenet5' ? [1, 28, 28] : [3, 32, 32], 10), 3), 4);
    if (keep === 1) return dense;
    const pruner = new ChannelPruner(be, dense, { importance: 'l1', allocation: byRatio(1 - keep) });
    await pruner.step();
    return pruner.compact();
  };

  it.each([['resnet20', 0.5], ['resnet20', 0.3], ['vgg-small', 0.5], ['vgg-small', 1], ['lenet5', 1], ['mobilenet', 0.5]] as const)('%s at %s of its channels: the logits the CPU reference computes op by op', async (name, keep) => {
    const m = await compacted(name, keep);
    const batch = 3;
    const x = new Rng(7).uniformArray(batch * m.spec.inputShape.reduce((a, b) => a * b), -1, 1);
    const expected = await referenceLogits(m, x, batch);
    // The program's definition on the CPU reference: the builder keeps the network's meaning.
    const reference = cpu();
    const program = samplewiseProgram(Network.forInference(reference, m));
    if (typeof program === 'string') throw new Error(program);
    const defined = runSamplewise(reference, program, reference.upload(x, [batch, ...m.spec.inputShape]));
    expect(toleranceRatio(await reference.read(defined[0]), expected)).toBeLessThanOrEqual(1);
    const net = inferenceNetwork(be, m, { samplewise: true });
    if (!avx512) {
      expect(net.engine).toBe('per-op');
      expect(net.perOpReason).toMatch(/AVX-512/);
      return;
    }
    expect(net.engine).toBe('samplewise');
    const input = be.upload(x, [batch, ...m.spec.inputShape]);
    const f = net.forward(input);
    expect(f.logits.shape).toEqual([batch, 10]);
    expect(toleranceRatio(await be.read(f.logits), expected)).toBeLessThanOrEqual(1);
    net.release(f);
    net.dispose();
    be.dispose(input);
  });

  it('every kind of step and grid matches its definition on the CPU reference, and the plan frees what it holds', async () => {
    if (!avx512) return;
    const rng = new Rng(11);
    const reference = cpu();
    const tensors = (shape: number[]) => {
      const v = rng.uniformArray(shape.reduce((a, b) => a * b), -0.5, 0.5);
      return [be.upload(v, shape), reference.upload(v, shape)] as const;
    };
    const [w0, w1, w2, w3, w4, w5, wl, wm, wd, wg, wse] = [[7, 5, 3, 3], [9, 7, 3, 3], [9, 7, 1, 1], [9, 9, 3, 3], [4, 7, 3, 3], [3, 7, 5, 5], [4, 9], [5, 216], [7, 1, 3, 3], [6, 3, 3, 3], [4, 9, 1, 1]].map(tensors);
    const [b0, b3, bl, slope] = [[7], [9], [4], [6]].map(tensors);
    // Large weights: maps of about +-10, past the clipped activations' knees (relu6 at 6, the hard ones at +-3).
    const wide = rng.uniformArray(4 * 7, -10, 10);
    const wbig = [be.upload(wide, [4, 7, 1, 1]), reference.upload(wide, [4, 7, 1, 1])] as const;
    const program = (k: 0 | 1): SamplewiseProgram => ({
      inputShape: [5, 26, 24],
      steps: [
        { op: 'conv2d', input: -1, weight: w0[k], bias: b0[k], options: { padding: 1 }, relu: true }, // 0: the image's grid, [7, 26, 24]
        { op: 'conv2d', input: 0, weight: w1[k], options: { padding: 1, stride: 2 } }, // 1: the stride's phases, [9, 13, 12]
        { op: 'conv2d', input: 0, weight: w2[k], options: { stride: 2 } }, // 2: a strided 1x1 (one phase)
        { op: 'conv2d', input: 1, weight: w3[k], bias: b3[k], options: { padding: 1 }, residual: 2, relu: true }, // 3: residual then ReLU
        { op: 'conv2d', input: 0, weight: w4[k], options: { stride: 2 } }, // 4: unpadded, the padded copy's wider grid, [4, 12, 11]
        { op: 'conv2d', input: 0, weight: w5[k], options: { stride: 3, padding: 2 } }, // 5: stride 3, [3, 9, 8]
        { op: 'activation', input: 1, kind: 'relu' }, // 6
        { op: 'add', input: 3, other: 6, relu: true }, // 7
        { op: 'maxpool', input: 7, options: { kernel: 3, stride: 2, padding: 1 } }, // 8: [9, 7, 6]
        { op: 'gap', input: 8 }, // 9: [9, 1, 1]
        { op: 'linear', input: 9, weight: wl[k], bias: bl[k] }, // 10: [4]
        { op: 'gap', input: 4 }, // 11
        { op: 'linear', input: 5, weight: wm[k], relu: true }, // 12: a map flattened, [5]
        { op: 'maxpool', input: 0, options: { kernel: 2 } }, // 13: 2x2 windows, [7, 13, 12]
        { op: 'conv2d', input: 0, weight: wd[k], options: { padding: 1, stride: 2, groups: 7 } }, // 14: depthwise on the phases, [7, 13, 12]
        { op: 'conv2d', input: 3, weight: wg[k], options: { padding: 1, groups: 3 } }, // 15: three groups, [6, 13, 12]
        { op: 'activation', input: 15, kind: 'silu' }, // 16
        { op: 'activation', input: 16, kind: 'hardswish' }, // 17
        { op: 'activation', input: 17, kind: 'leakyrelu', alpha: 0.2 }, // 18
        { op: 'activation', input: 18, kind: 'gelu' }, // 19
        { op: 'activation', input: 14, kind: 'relu6' }, // 20
        { op: 'activation', input: 20, kind: 'hardsigmoid' }, // 21
        { op: 'activation', input: 14, kind: 'sigmoid' }, // 22
        { op: 'activation', input: 15, kind: 'gelu-tanh' }, // 23
        { op: 'prelu', input: 15, slope: slope[k] }, // 24
        { op: 'avgpool', input: 0, options: { kernel: 3, stride: 2, padding: 1, countIncludePad: false } }, // 25: [7, 13, 12]
        { op: 'avgpool', input: 0, options: { kernel: 3, stride: 2, padding: 1 } }, // 26: the padding counted
        { op: 'concat', input: 25, other: 14 }, // 27: [14, 13, 12]
        { op: 'gap', input: 3 }, // 28: [9, 1, 1]
        { op: 'scale', input: 3, other: 28 }, // 29: squeeze-excitation's product
        { op: 'gather', input: 27, channels: [13, 0, 5, 5, 2] }, // 30: [5, 13, 12]
        { op: 'conv2d', input: 28, weight: wse[k], bias: bl[k], options: {}, relu: true }, // 31: 1x1 on a 1x1 map (squeeze-excitation's), [4, 1, 1]
        { op: 'conv2d', input: 0, weight: wbig[k], options: {} }, // 32: values of about +-10, [4, 26, 24]
        { op: 'activation', input: 32, kind: 'relu6' }, // 33
        { op: 'activation', input: 32, kind: 'hardsigmoid' }, // 34
        { op: 'activation', input: 32, kind: 'hardswish' }, // 35
      ],
      outputs: [10, 12, 8, 11, 13, 19, 21, 22, 23, 24, 26, 29, 30, 31, 33, 34, 35],
    });
    const batch = 5;
    const [x, xr] = tensors([batch, 5, 26, 24]);
    const expected = runSamplewise(reference, program(1), xr);
    const graph = be.compileSamplewise(program(0));
    const got = graph.run(x);
    expect(got.map((t) => t.shape)).toEqual(expected.map((t) => t.shape));
    for (const [i, t] of got.entries()) expect(toleranceRatio(await be.read(t), await reference.read(expected[i])), `output ${i}`).toBeLessThanOrEqual(1);
    // A batch of one, and other samples: no state carried from one sample to the next.
    const one = be.upload((await be.read(x)).slice(3 * 5 * 26 * 24, 4 * 5 * 26 * 24), [1, 5, 26, 24]);
    const single = graph.run(one);
    for (const [i, t] of single.entries()) {
      const floats = t.size;
      expect(Array.from(await be.read(t)), `output ${i} of sample 3 alone`).toEqual(Array.from(await be.read(got[i])).slice(3 * floats, 4 * floats));
    }
    be.dispose(...got, ...single, one);
    expect(() => graph.run(be.upload(new Float32Array(2 * 5 * 26 * 25), [2, 5, 26, 25]))).toThrow(/input has shape \[2,5,26,25\], expected \[2,5,26,24\]/);
    graph.dispose();
    expect(() => graph.run(x)).toThrow(/after dispose/);
  });

  it('refuses what it cannot run, naming the node or step; a quantized model and conflicting options', async () => {
    const float = initModel(zooModel('lenet5', [1, 28, 28], 10), 2);
    const quantized = inferenceNetwork(be, { ...float, spec: { ...float.spec, quantization: { fc1: { weightBits: 4, perChannel: true } } } }, { samplewise: true });
    expect(quantized.engine).toBe('per-op');
    expect(quantized.perOpReason).toMatch(/quantized/);
    quantized.dispose();
    expect(() => inferenceNetwork(be, float, { samplewise: true, features: true })).toThrow(/samplewise cannot be combined with features/);
    expect(() => inferenceNetwork(be, float, { samplewise: true, perOp: true, compiled: true })).toThrow(/samplewise cannot be combined with perOp, compiled/);
    const unet = samplewiseProgram(Network.forInference(cpu(), importOnnx(readFileSync(join(fixtures, 'unet-seg.onnx')))));
    expect(unet).toMatch(/^node 'up1': convtranspose has no per-sample step/);
    const reference = cpu();
    const w = reference.upload(new Float32Array(4 * 3 * 9), [4, 3, 3, 3]);
    expect(() => stepShapes({ inputShape: [3, 8, 8], steps: [{ op: 'conv2d', input: 1, weight: w, options: {} }], outputs: [0] })).toThrow(/step 0 reads step 1/);
    if (!avx512) return;
    // 6x6 outputs: too few positions for the direct kernel's 16-lane vectors.
    const small: SamplewiseProgram = { inputShape: [3, 8, 8], steps: [{ op: 'conv2d', input: -1, weight: be.upload(new Float32Array(4 * 3 * 9), [4, 3, 3, 3]), options: {} }], outputs: [0] };
    expect(() => be.compileSamplewise(small)).toThrow(/step 0: a convolution with 36 output positions/);
  });

  it('the imported families (torchvision-style exports): logits as the CPU reference computes them, or refused naming the node or step', async () => {
    const names = ['activations-mini', 'ceil-pool-mini', 'channel-split-mini', 'efficientnet-b0-mini', 'gelu-tanh-mini', 'inception-mini', 'lenet5', 'mnasnet-mini', 'mobilenet-mini',
      'mobilenet-v3-small-mini', 'prelu-mini', 'regnet-y-mini', 'resnet-mini', 'shufflenet-v2-mini', 'squeezenet-mini', 'convnext-mini', 'resize-mini'];
    const ran: string[] = [];
    for (const name of names) {
      const m = importOnnx(readFileSync(join(fixtures, `${name}.onnx`)));
      const batch = 2;
      const x = new Rng(3).uniformArray(batch * m.spec.inputShape.reduce((a, b) => a * b), -1, 1);
      const net = inferenceNetwork(be, m, { samplewise: true });
      if (net.engine !== 'samplewise') {
        expect(net.perOpReason, name).toMatch(avx512 ? /^node '.+': |step \d+: / : /AVX-512|^node '.+': /);
        net.dispose();
        continue;
      }
      ran.push(name);
      const input = be.upload(x, [batch, ...m.spec.inputShape]);
      const f = net.forward(input);
      expect(toleranceRatio(await be.read(f.logits), await referenceLogits(m, x, batch), 1e-3, 1e-4), name).toBeLessThanOrEqual(1);
      net.release(f);
      net.dispose();
      be.dispose(input);
    }
    // Concatenations, channel splits (gathers), PReLU, SiLU and others among them; the mobile families'
    // last maps (4x4 at 32x32) are too small for the direct kernel.
    if (avx512) expect(ran).toEqual(expect.arrayContaining(['activations-mini', 'channel-split-mini', 'inception-mini', 'prelu-mini', 'resnet-mini']));
  });

  it.each(['yolo-mini', 'unet-seg', 'face-embed'])('%s (PyTorch export): outputs as PyTorch computed them, or refused naming the node', async (name) => {
    const m = importOnnx(readFileSync(join(fixtures, `${name}.onnx`)));
    const program = samplewiseProgram(Network.forInference(cpu(), m));
    if (typeof program === 'string') {
      expect(program).toMatch(/^node '.+': /);
      return;
    }
    if (!avx512) return;
    const npy = parseNpy(readFileSync(join(fixtures, `${name}.input.npy`)), 'input');
    const net = inferenceNetwork(be, m, { samplewise: true });
    const f = net.forward(be.upload(Float32Array.from(npy.data), npy.shape));
    const expected = parseNpy(readFileSync(join(fixtures, `${name}.output.npy`)), 'output');
    expect(toleranceRatio(await be.read(f.logits), expected.data, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
    net.release(f);
    net.dispose();
  });
});

