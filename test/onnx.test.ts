// ONNX import and export against onnxruntime-node (an independent implementation): PyTorch-exported
// fixtures (scripts/make-onnx-fixtures.py) import and compute what onnxruntime computes; dense, masked
// and pruned-compacted exports run in onnxruntime and match our inference; import(export(m)) is m;
// damaged files (truncated, bit-flipped) end in a clear error or a valid model.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type ModelSpec, type Node, inferShapes, shuffledChannels } from '../src/model/graph.js';
import { type Model, initModel, paramList, parameterCount } from '../src/model/model.js';
import { predict } from '../src/model/predict.js';
import { lenet5, mobilenet, resnet20 } from '../src/model/zoo.js';
import { exportOnnx } from '../src/onnx/export.js';
import { tensorValues } from '../src/onnx/import-constants.js';
import { SUPPORTED_OPS, importOnnx } from '../src/onnx/import.js';
import { type ModelProto, onnx } from '../src/onnx/proto.js';
import { channelGroups } from '../src/prune/dependency.js';
import { pruneChannels } from '../src/prune/prune.js';
import { Rng } from '../src/random.js';
import { toleranceRatio, webgpu } from './helpers/backends.js';

const ort = createRequire(import.meta.url)('onnxruntime-node');
const FIXTURES = [
  'lenet5', 'resnet-mini', 'mobilenet-mini', 'squeezenet-mini', 'activations-mini', 'activations-mini-op14', 'ceil-pool-mini', 'channel-split-mini', 'channel-split-mini-op11',
  'efficientnet-b0-mini', 'mobilenet-v3-small-mini', 'shufflenet-v2-mini', 'mnasnet-mini', 'regnet-y-mini', 'convnext-mini', 'convnext-mini-op17', 'gelu-tanh-mini',
  'resize-mini', 'resize-mini-op11', 'prelu-mini', 'unet-mini', 'groupnorm-mini',
];
/** The fuzzer mutates the small fixtures (the torchvision ones are 0.1-1 MB each). */
const FUZZED = FIXTURES.slice(0, 9);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/onnx/${name}.onnx`, import.meta.url)));

function randomBatch(m: Model, batch: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: batch * m.spec.inputShape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1));
}

async function runOrt(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, shape) });
  return out[session.outputNames[0]].data as Float32Array;
}

/** A small CNN of the smooth activations (SiLU, hard swish, GELU, hard sigmoid, sigmoid) between convs. */
function activationsNet(): ModelSpec {
  const nodes: Node[] = [
    { op: 'input', name: 'input' },
    { op: 'conv2d', name: 'c1', input: 'input', outChannels: 8, kernel: 3, padding: 1 }, { op: 'silu', name: 'a1', input: 'c1' },
    { op: 'conv2d', name: 'c2', input: 'a1', outChannels: 8, kernel: 3, padding: 1, groups: 8 }, { op: 'hardswish', name: 'a2', input: 'c2' },
    { op: 'conv2d', name: 'c3', input: 'a2', outChannels: 12, kernel: 1 }, { op: 'gelu', name: 'a3', input: 'c3' },
    { op: 'conv2d', name: 'c4', input: 'a3', outChannels: 12, kernel: 3, stride: 2, padding: 1 }, { op: 'hardsigmoid', name: 'a4', input: 'c4', alpha: 0.2 },
    { op: 'conv2d', name: 'c5', input: 'a4', outChannels: 16, kernel: 1 }, { op: 'sigmoid', name: 'a5', input: 'c5' },
    { op: 'gap', name: 'gap', input: 'a5' }, { op: 'flatten', name: 'flat', input: 'gap' }, { op: 'linear', name: 'fc', input: 'flat', outFeatures: 10 },
  ];
  return { name: 'activations', inputShape: [3, 16, 16], classes: 10, nodes, output: 'fc' };
}

/** ConvNeXt's block in channel-first ops: depthwise 7x7, layer norm, 1x1 expand, GELU (tanh form), 1x1 project, layer scale, residual. */
function convnextNet(): ModelSpec {
  const g = new GraphBuilder('convnext-block', [3, 16, 16], 10);
  const stem = g.layerNorm(g.conv('input', { out: 16, kernel: 4, stride: 4 }), 1e-6);
  const ln = g.layerNorm(g.conv(stem, { out: 16, kernel: 7, padding: 3, groups: 16 }), 1e-6);
  g.nodes.push({ op: 'gelu', name: 'act', input: g.conv(ln, { out: 64, kernel: 1 }), approximate: 'tanh' });
  const scaled = g.conv(g.conv('act', { out: 16, kernel: 1 }), { out: 16, kernel: 1, groups: 16, bias: false });
  return g.build(g.linear(g.flatten(g.layerNorm(g.gap(g.sum([stem, scaled])), 1e-6)), 10));
}

/** Every resize mode and coordinate mode, up and down by whole and fractional ratios, and a concat after upsampling. */
function resizeNet(): ModelSpec {
  const g = new GraphBuilder('resize', [3, 12, 12], 10);
  const up = g.resize(g.relu(g.conv('input', { out: 16, kernel: 3, stride: 2, padding: 1 })), [12, 12], 'nearest', 'asymmetric', 'floor');
  let y = g.relu(g.conv(g.concat([g.relu(g.conv('input', { out: 16, kernel: 3, padding: 1 })), up]), { out: 24, kernel: 3, padding: 1 }));
  y = g.resize(y, [7, 9], 'linear', 'half_pixel');
  y = g.resize(y, [10, 5], 'linear', 'align_corners');
  y = g.resize(y, [13, 6], 'linear', 'pytorch_half_pixel');
  y = g.resize(y, [6, 11], 'nearest', 'half_pixel', 'round_prefer_ceil');
  y = g.resize(y, [9, 4], 'nearest', 'align_corners', 'round_prefer_floor');
  y = g.resize(y, [5, 8], 'nearest', 'pytorch_half_pixel', 'ceil');
  return g.build(g.linear(g.flatten(g.gap(g.conv(y, { out: 24, kernel: 1 }))), 10));
}

describe('ONNX', async () => {
  const gpu = await webgpu();

  /** Our inference equals onnxruntime's on the same bytes (relative tolerance 1e-4). */
  async function expectMatchesOrt(m: Model, bytes: Uint8Array, label: string) {
    const batch = 3;
    const x = randomBatch(m, batch, 11);
    const [ours, theirs] = [await predict(gpu, m, x, batch), await runOrt(bytes, x, [batch, ...m.spec.inputShape])];
    expect(toleranceRatio(ours, theirs, 1e-4, 1e-5), label).toBeLessThanOrEqual(1);
  }

  it.each(FIXTURES)('imports the PyTorch fixture %s and computes what onnxruntime computes', async (name) => {
    const bytes = fixture(name);
    const m = importOnnx(bytes, { file: `${name}.onnx` });
    expect(m.spec.classes).toBe(10);
    await expectMatchesOrt(m, bytes, name);
    // Imported graphs go through the same dependency analysis as zoo models.
    expect(channelGroups(m.spec).filter((g) => g.prunable).length).toBeGreaterThan(1);
  });

  it('what each fixture exercises: folded shape subgraphs, BN, depthwise, concat, softmax, auto_pad, float_data', () => {
    const ops = (name: string) => new Set(importOnnx(fixture(name)).spec.nodes.map((n) => n.op));
    expect(importOnnx(fixture('lenet5')).spec.outputActivation).toBe('softmax');
    expect(ops('lenet5')).toContain('leakyrelu');
    expect(ops('resnet-mini')).toEqual(new Set(['input', 'conv2d', 'batchnorm', 'relu', 'add', 'gap', 'flatten', 'linear']));
    expect(importOnnx(fixture('mobilenet-mini')).spec.nodes.some((n) => n.op === 'conv2d' && n.groups === n.outChannels && n.groups! > 1)).toBe(true);
    expect(ops('squeezenet-mini')).toContain('concat');
    // SiLU, hard swish (as HardSigmoid * x at opset 13, an op at 14) and GELU (Div/Erf/Add/Mul/Mul) each become one node.
    for (const name of ['activations-mini', 'activations-mini-op14']) {
      expect(importOnnx(fixture(name)).spec.nodes.map((n) => n.op).filter((op) => !['input', 'conv2d', 'batchnorm', 'gap', 'flatten', 'linear'].includes(op)), name)
        .toEqual(['silu', 'hardswish', 'gelu', 'hardsigmoid', 'sigmoid']);
    }
    // torchvision's EfficientNet-B0 and MobileNetV3-Small: squeeze-excitation scales, SiLU, hard swish; ReduceMean pooling.
    const effnet = ops('efficientnet-b0-mini'), mbv3 = ops('mobilenet-v3-small-mini');
    for (const op of ['mul', 'silu', 'sigmoid', 'gap']) expect(effnet, op).toContain(op);
    for (const op of ['mul', 'hardswish', 'hardsigmoid', 'relu']) expect(mbv3, op).toContain(op);
    // ShuffleNetV2: chunk (Slices of computed sizes) and the Reshape/Transpose/Reshape shuffle become gathers.
    const gathers = (name: string) => importOnnx(fixture(name)).spec.nodes.flatMap((n) => (n.op === 'gather' ? [n.channels] : []));
    const shuffles = gathers('shufflenet-v2-mini');
    expect(shuffles.filter((c) => c.join() === shuffledChannels(c.length, 2).join()).length).toBe(4);
    expect(shuffles.filter((c) => c.every((v, i) => v === c[0] + i)).map((c) => [c[0], c.length])).toEqual([[0, 16], [16, 16]]);
    // Split with sizes [3, 5] (as an input at opset 13, an attribute at 11) and x[:, 1::2].
    for (const name of ['channel-split-mini', 'channel-split-mini-op11']) {
      expect(gathers(name), name).toEqual([[0, 1, 2], [3, 4, 5, 6, 7], [1, 3, 5, 7]]);
    }
    expect(ops('regnet-y-mini')).toContain('mul');
    // ConvNeXt: each LayerNorm (written out at opset 13, an op at 17; channels-last in blocks, channels-first
    // between stages) is one layernorm node; a block's Linear layers are 1x1 convs; its layer scale a 1x1 depthwise conv.
    const convnext = importOnnx(fixture('convnext-mini')).spec.nodes;
    expect(importOnnx(fixture('convnext-mini-op17')).spec.nodes).toEqual(convnext);
    expect(convnext.filter((n) => n.op === 'layernorm').length).toBe(5);
    const ops1x1 = convnext.filter((n) => n.op === 'conv2d' && String(n.kernel) === '1,1').map((n) => n.op === 'conv2d' && [n.groups ?? 1, n.bias]);
    expect(ops1x1).toEqual([[1, true], [1, true], [16, false], [1, true], [1, true], [32, false]]);
    expect(importOnnx(fixture('gelu-tanh-mini')).spec.nodes.filter((n) => n.op === 'gelu').map((n) => n.op === 'gelu' && n.approximate)).toEqual(['tanh', 'tanh']);
  });

  it('a static-batch export (Reshape targets from a literal 1) and Pad + AveragePool import: each sample computes what onnxruntime does at batch 1', async () => {
    const bytes = fixture('inception-mini');
    const m = importOnnx(bytes, { file: 'inception-mini.onnx' });
    const pool = m.spec.nodes.find((n) => n.op === 'avgpool');
    expect(pool).toMatchObject({ padding: [1, 1, 1, 1], countIncludePad: true });
    expect(m.spec.nodes.filter((n) => n.op === 'gather').length).toBe(1);
    const x = randomBatch(m, 3, 13);
    const ours = await predict(gpu, m, x, 3);
    const size = m.spec.inputShape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < 3; i++) {
      const theirs = await runOrt(bytes, x.slice(i * size, (i + 1) * size), [1, ...m.spec.inputShape]);
      expect(toleranceRatio(ours.slice(i * 10, (i + 1) * 10), theirs, 1e-4, 1e-5), `sample ${i}`).toBeLessThanOrEqual(1);
    }
    // A max pool pads with -inf: a zero Pad before it is refused.
    const edited = onnx.ModelProto.decode(bytes);
    edited.graph!.node!.find((n) => n.opType === 'AveragePool')!.opType = 'MaxPool';
    expect(() => importOnnx(onnx.ModelProto.encode(edited).finish(), { file: 'maxpad.onnx' })).toThrow(/maxpad\.onnx: node '.*' \(MaxPool\): a non-zero Pad can only be folded into a following Conv or AveragePool; it feeds MaxPool/);
  });

  it("folds a group norm's Mul only by a per-channel (or single) constant: a [C] one broadcasts along the width and is refused", () => {
    const m = onnx.ModelProto.decode(fixture('groupnorm-mini'));
    const mul = m.graph!.node!.find((n) => n.opType === 'Mul')!;
    const gamma = m.graph!.initializer!.find((t) => t.name === mul.input![1])!;
    expect(gamma.dims!.map(Number)).toEqual([8, 1, 1]);
    gamma.dims = [8];
    expect(() => importOnnx(onnx.ModelProto.encode(m).finish(), { file: 'gn.onnx' })).toThrow(/gn\.onnx: node '.*' \(Mul\): multiplies a tensor of 8 channels by a constant of shape \[8\]; only a per-channel constant/);
  });

  it('refuses a channels-last tensor where layout matters, and layer norms over other axes, naming the node', () => {
    const edit = (name: string, f: (m: ModelProto) => void) => { const m = onnx.ModelProto.decode(fixture(name)); f(m); return onnx.ModelProto.encode(m).finish(); };
    // A block's Transpose back to channels-first removed: its layer scale is laid out for channels-first.
    const noBack = edit('convnext-mini-op17', (m) => {
      const back = m.graph!.node!.find((n) => n.opType === 'Transpose' && n.output![0].includes('block.6'))!;
      back.opType = 'Identity';
      back.attribute = [];
    });
    expect(() => importOnnx(noBack, { file: 'cl.onnx' })).toThrow(/cl\.onnx: node '.*' \(Mul\): multiplies a channels-last tensor of 16 channels by a constant of shape \[16,1,1\]/);
    // A conv reading the channels-last tensor.
    const convOnLast = edit('convnext-mini-op17', (m) => {
      const back = m.graph!.node!.find((n) => n.opType === 'Transpose' && n.output![0].includes('features.0.1/Transpose_1'))!;
      back.opType = 'Identity';
      back.attribute = [];
    });
    expect(() => importOnnx(convOnLast, { file: 'cl.onnx' })).toThrow(/cl\.onnx: node '.*' \(Conv\): input 0 .* is channels-last/);
    // LayerNormalization over H, W and C of a channel-first tensor is not a layer norm over channels.
    const wide = edit('convnext-mini-op17', (m) => {
      const nodes = m.graph!.node!;
      const first = nodes.findIndex((n) => n.opType === 'Transpose');
      const ln = nodes[first + 1];
      ln.input![0] = nodes[first].input![0];
      ln.attribute = ln.attribute!.map((a) => (a.name === 'axis' ? { ...a, i: 1 } : a));
      nodes[first + 2].opType = 'Identity';
      nodes[first + 2].attribute = [];
    });
    expect(() => importOnnx(wide, { file: 'ln.onnx' })).toThrow(/ln\.onnx: node '.*' \(LayerNormalization\): normalises axes 1\.\.3 .* only a layer norm over the channels/);
  });

  it('refuses Transpose outside a channel shuffle and slices of spatial axes, naming the node', () => {
    const edit = (f: (m: ModelProto) => void) => { const m = onnx.ModelProto.decode(fixture('shufflenet-v2-mini')); f(m); return onnx.ModelProto.encode(m).finish(); };
    const perm = edit((m) => { m.graph!.node!.find((n) => n.opType === 'Transpose')!.attribute![0].ints = [0, 1, 2, 4, 3]; });
    expect(() => importOnnx(perm, { file: 's.onnx' })).toThrow(/s\.onnx: node '.*' \(Transpose\): Transpose is supported only inside a channel shuffle .* got perm \[0,1,2,4,3\]/);
    const split = onnx.ModelProto.decode(fixture('channel-split-mini'));
    const node = split.graph!.node!.find((n) => n.opType === 'Split')!;
    node.attribute = [{ name: 'axis', i: 2, type: onnx.AttributeProto.AttributeType.INT }];
    expect(() => importOnnx(onnx.ModelProto.encode(split).finish(), { file: 'split.onnx' })).toThrow(/split\.onnx: node '.*' \(Split\): only the channel axis \(1\) of \[N, C, H, W\] is supported, got axis 2/);
  });

  it('ceil_mode pooling: the extra windows become trailing padding; counting that padding is refused', () => {
    const nodes = importOnnx(fixture('ceil-pool-mini')).spec.nodes;
    expect(nodes.filter((n) => n.op === 'maxpool' || n.op === 'avgpool').map((n) => 'padding' in n && n.padding)).toEqual([[0, 0, 1, 1], [1, 1, 2, 2]]);
    const m = onnx.ModelProto.decode(fixture('ceil-pool-mini'));
    const avg = m.graph!.node!.find((n) => n.opType === 'AveragePool')!;
    avg.attribute = [...avg.attribute!.filter((a) => a.name !== 'count_include_pad'), { name: 'count_include_pad', i: 1, type: onnx.AttributeProto.AttributeType.INT }];
    expect(() => importOnnx(onnx.ModelProto.encode(m).finish(), { file: 'ceil.onnx' })).toThrow(/ceil\.onnx: node '.*' \(AveragePool\): ceil_mode = 1 with count_include_pad = 1/);
  });

  it('refuses the pieces of a pattern used on their own, naming the node', () => {
    const graph = onnx.ModelProto.decode(fixture('activations-mini'));
    const erf = graph.graph!.node!.find((n) => n.opType === 'Erf')!;
    const add = graph.graph!.node!.find((n) => n.opType === 'Add' && n.input!.includes(erf.output![0]))!;
    add.opType = 'Sub'; // x / sqrt(2) -> Erf -> Sub: not GELU
    expect(() => importOnnx(onnx.ModelProto.encode(graph).finish(), { file: 'broken.onnx' })).toThrow(/broken\.onnx: node '.*' \(Sub\): Sub is supported only inside a layer norm/);
    const alone = onnx.ModelProto.decode(fixture('activations-mini'));
    alone.graph!.node = alone.graph!.node!.filter((n) => n.opType !== 'Div' || !n.output![0].includes('c3'));
    const erfAlone = alone.graph!.node!.find((n) => n.opType === 'Erf')!;
    erfAlone.input = ['/c3/c3.0/Conv_output_0'];
    expect(() => importOnnx(onnx.ModelProto.encode(alone).finish(), { file: 'erf.onnx' })).toThrow(/erf\.onnx: node '.*' \(Erf\): Erf is supported only inside GELU/);
  });

  const zooModels: [string, Model][] = [
    ['activations', initModel(activationsNet(), 4)],
    ['convnext block', initModel(convnextNet(), 5)],
    ['resize', initModel(resizeNet(), 6)],
    ['lenet5', initModel(lenet5(), 1)],
    ['resnet20', initModel(resnet20([3, 16, 16]), 2)],
    ['mobilenet', initModel(mobilenet([3, 16, 16]), 3)],
  ];

  it.each(zooModels)('exports %s dense and pruned-compacted; onnxruntime matches our inference; import(export(m)) is m', async (name, dense) => {
    const bytes = exportOnnx(dense);
    await expectMatchesOrt(dense, bytes, `${name} dense`);
    const back = importOnnx(bytes, { name: dense.spec.name });
    expect(back.spec.nodes.map((n) => [n.name, n.op])).toEqual(dense.spec.nodes.map((n) => [n.name, n.op]));
    expect([...inferShapes(back.spec)]).toEqual([...inferShapes(dense.spec)]);
    for (const [k, v] of dense.params) expect(back.params.get(k), k).toEqual(v);
    expect(back.params.size).toBe(dense.params.size);

    const pruned = await pruneChannels(gpu, dense, { criterion: 'l1', ratio: 0.5 });
    const small = exportOnnx(pruned.compact);
    await expectMatchesOrt(pruned.compact, small, `${name} compacted`);
    expect(small.length).toBeLessThan(bytes.length * 0.6);
    expect(parameterCount(importOnnx(small))).toBe(parameterCount(pruned.compact));
    // The masked model exports with its zeros and computes the same as the compacted one; with layer
    // norms it is refused (ONNX's would count the pruned channels in their statistics).
    if (dense.spec.nodes.some((n) => n.op === 'layernorm')) return void expect(() => exportOnnx(pruned.masked)).toThrow(/export: layer norm '.*' has pruned channels, .* export the compacted model/);
    const masked = exportOnnx(pruned.masked);
    const x = randomBatch(dense, 2, 5);
    const shape = [2, ...dense.spec.inputShape];
    expect(toleranceRatio(await runOrt(masked, x, shape), await runOrt(small, x, shape), 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('imported fixtures prune, compact and export again (onnxruntime agrees)', async () => {
    for (const name of ['resnet-mini', 'squeezenet-mini', 'activations-mini', 'channel-split-mini', 'efficientnet-b0-mini', 'mobilenet-v3-small-mini', 'shufflenet-v2-mini', 'mnasnet-mini', 'regnet-y-mini', 'convnext-mini', 'gelu-tanh-mini', 'resize-mini', 'inception-mini', 'prelu-mini', 'unet-mini', 'groupnorm-mini']) {
      const m = importOnnx(fixture(name));
      const pruned = await pruneChannels(gpu, m, { criterion: 'l2', ratio: 0.3 });
      const x = randomBatch(m, 2, 9);
      expect(toleranceRatio(await predict(gpu, pruned.compact, x, 2), await predict(gpu, pruned.masked, x, 2), 1e-4, 1e-5), `${name}: compacted vs masked`).toBeLessThanOrEqual(1);
      const bytes = exportOnnx(pruned.compact);
      await expectMatchesOrt(pruned.compact, bytes, `${name} pruned`);
      expect(parameterCount(pruned.compact), name).toBeLessThan(parameterCount(m) * 0.85);
      // Our export reads back as the same graph (gathers included).
      expect(importOnnx(bytes).spec.nodes.map((n) => n.op), name).toEqual(pruned.compact.spec.nodes.map((n) => n.op));
    }
  });

  it('clear errors: unsupported op, bad attribute, opset, external data, not ONNX', () => {
    const edit = (name: string, f: (m: ModelProto) => void) => {
      const m = onnx.ModelProto.decode(fixture(name));
      f(m);
      return onnx.ModelProto.encode(m).finish();
    };
    const elu = edit('resnet-mini', (m) => { m.graph!.node![2].opType = 'Elu'; });
    expect(() => importOnnx(elu, { file: 'elu.onnx' })).toThrow(`elu.onnx: node '/stem/stem.2/Relu' (Elu): op not supported; supported ops: ${SUPPORTED_OPS.join(', ')}`);
    const dilatedPool = edit('squeezenet-mini', (m) => {
      m.graph!.node!.find((n: { opType?: string | null }) => n.opType === 'MaxPool')!.attribute!.push({ name: 'dilations', ints: [2, 2], type: onnx.AttributeProto.AttributeType.INTS });
    });
    expect(() => importOnnx(dilatedPool, { file: 'p.onnx' })).toThrow(/p\.onnx: node '\/MaxPool' \(MaxPool\): dilated pooling is not supported/);
    const opset9 = edit('resnet-mini', (m) => { m.opsetImport![0].version = 9; });
    expect(() => importOnnx(opset9, { file: 'old.onnx' })).toThrow('old.onnx: opset 9 is not supported (opsets 11 to 18)');
    const external = edit('resnet-mini', (m) => {
      const t = m.graph!.initializer![0];
      t.rawData = new Uint8Array(0);
      t.dataLocation = 1;
      t.externalData = [{ key: 'location', value: 'weights.bin' }];
    });
    expect(() => importOnnx(external, { file: 'ext.onnx' })).toThrow(/ext\.onnx: tensor '.*' keeps its data in the external file 'weights\.bin'; external-data models are not supported/);
    expect(() => importOnnx(new TextEncoder().encode('hello, this is not a model'), { file: 'x.onnx' })).toThrow(/x\.onnx: not (a valid|an) ONNX model/);
    expect(() => importOnnx(new Uint8Array(0), { file: 'e.onnx' })).toThrow('e.onnx: empty file');
  });

  it('a node output beyond 2^28 values per sample (a corrupted Resize size) is refused, naming the node', () => {
    const m = onnx.ModelProto.decode(fixture('resize-mini'));
    const size = m.graph!.node!.find((n) => n.opType === 'Constant' && tensorValues(n.attribute![0].t!, 'x').data.join() === '11,11')!;
    size.attribute![0].t = { dims: [2], dataType: 7, int64Data: [8388619, 11] };
    expect(() => importOnnx(onnx.ModelProto.encode(m).finish(), { file: 'big.onnx' })).toThrow(/big\.onnx: node '.*' \(resize\): its output of \[12,8388619,11\] per sample \(\d+ values\) exceeds the 268435456 supported/);
  });

  it('fuzzing: 1200 truncated or bit-flipped fixtures end in a clear error or a valid model', () => {
    const rng = new Rng(2026);
    let valid = 0;
    let errors = 0;
    for (let i = 0; i < 1200; i++) {
      const name = FUZZED[i % FUZZED.length];
      const original = fixture(name);
      let bytes: Uint8Array;
      if (i % 3 === 0) {
        bytes = original.slice(0, rng.int(0, original.length - 1));
      } else {
        bytes = original.slice();
        // Flips land in the graph structure more often when aimed outside the big weight blobs too.
        for (let f = rng.int(1, 4); f > 0; f--) bytes[rng.int(0, bytes.length - 1)] ^= 1 << rng.int(0, 7);
      }
      const file = `fuzz-${i}.onnx`;
      const t0 = performance.now();
      try {
        const m = importOnnx(bytes, { file });
        inferShapes(m.spec);
        for (const p of paramList(m.spec)) expect(m.params.get(p.name)?.length, `variant ${i}: ${p.name}`).toBe(p.shape.reduce((a, b) => a * b, 1));
        valid++;
      } catch (e) {
        expect(e, `variant ${i}`).toBeInstanceOf(Error);
        expect((e as Error).message.startsWith(`${file}: `), `variant ${i}: ${(e as Error).message}`).toBe(true);
        errors++;
      }
      expect(performance.now() - t0, `variant ${i} took too long`).toBeLessThan(2000);
    }
    expect(valid + errors).toBe(1200);
    expect(errors).toBeGreaterThan(400); // every truncation and many flips must be caught
  });
});
