// Seeded random cases for every backend op, shared by the WebGPU and gpu.js kernel tests (each runs
// them against the CPU reference). Shapes include sizes that are not multiples of any workgroup or tile.
import { ACTIVATIONS, type Tensor } from '../../src/backend.js';
import { groupNormBackward, groupNormForward } from '../../src/model/group-norm.js';
import { type Conv2dOptions, type PoolOptions, conv2dGeometry } from '../../src/geometry.js';
import type { Rng } from '../../src/random.js';
import { type OpCase, binaryMask, randomInput } from './op-cases.js';

/** A random convolution: strided, dilated, 1x1, depthwise and grouped cases all appear within 20 seeds. */
function randomConv(rng: Rng, i: number): { x: number[]; w: number[]; o: Conv2dOptions; label: string } {
  const kind = ['plain', 'strided', 'dilated', '1x1', 'depthwise', 'grouped'][i % 6];
  const groups = kind === 'grouped' ? rng.pick([2, 3]) : 1;
  const inChannels = kind === 'depthwise' ? rng.int(1, 9) : groups * rng.int(1, 5);
  const outChannels = kind === 'depthwise' ? inChannels * rng.pick([1, 2]) : groups * rng.int(1, 9);
  const k = kind === '1x1' ? 1 : rng.int(1, 5);
  const kw = kind === '1x1' ? 1 : rng.pick([k, rng.int(1, 4)]);
  const stride = kind === 'strided' ? rng.int(2, 3) : kind === '1x1' ? rng.int(1, 2) : 1;
  const dilation = kind === 'dilated' ? rng.int(2, 3) : 1;
  const pad = [rng.int(0, 2), rng.int(0, 2), rng.int(0, 2), rng.int(0, 2)] as const;
  const h = rng.int((k - 1) * dilation + 1, 13), w = rng.int((kw - 1) * dilation + 1, 13);
  return {
    label: `${kind} ${inChannels}->${outChannels} ${k}x${kw} s${stride} d${dilation} p${pad} ${h}x${w}`,
    x: [rng.int(1, 3), inChannels, h, w],
    w: [outChannels, inChannels / (kind === 'depthwise' ? inChannels : groups), k, kw],
    o: { stride, dilation, padding: pad, groups: kind === 'depthwise' ? inChannels : groups },
  };
}

export function convCase(rng: Rng, i: number): OpCase {
  const c = randomConv(rng, i);
  const g = conv2dGeometry(c.x, c.w, c.o);
  const yShape = [g.batch, g.outChannels, g.outH, g.outW];
  const withBias = rng.bool(), relu = rng.bool(0.3);
  return {
    label: `${c.label}${withBias ? ' bias' : ''}${relu ? ' relu' : ''}`,
    inputs: { x: randomInput(rng, c.x), w: randomInput(rng, c.w), dy: randomInput(rng, yShape), b: randomInput(rng, [g.outChannels]) },
    run: (be, t) => ({
      y: be.conv2d(t.x, t.w, { ...c.o, bias: withBias ? t.b : undefined, relu }),
      // a residual block's sum in the store, before the ReLU (dy has the output's shape)
      summed: be.conv2d(t.x, t.w, { ...c.o, bias: withBias ? t.b : undefined, residual: t.dy, relu: !relu }),
      dx: be.conv2dBackwardInput(t.dy, t.w, c.x, c.o),
      dw: be.conv2dBackwardFilter(t.dy, t.x, c.w, c.o),
      db: be.channelSum(t.dy),
    }),
    atol: 1e-4,
  };
}

function linearCase(rng: Rng): OpCase {
  const [n, fin, fout] = [rng.int(1, 37), rng.int(1, 70), rng.int(1, 35)];
  const relu = rng.bool(0.3);
  return {
    label: `${n}x${fin} -> ${fout}${relu ? ' relu' : ''}`,
    inputs: { x: randomInput(rng, [n, fin]), w: randomInput(rng, [fout, fin]), b: randomInput(rng, [fout]), dy: randomInput(rng, [n, fout]) },
    run: (be, t) => ({
      y: be.linear(t.x, t.w, { bias: t.b, relu }),
      dx: be.linearBackwardInput(t.dy, t.w),
      dw: be.linearBackwardWeight(t.dy, t.x),
      db: be.channelSum(t.dy),
    }),
    atol: 1e-4,
  };
}

function batchNormCase(rng: Rng): OpCase {
  const shape = rng.bool(0.8) ? [rng.int(1, 4), rng.int(1, 9), rng.int(1, 11), rng.int(1, 11)] : [rng.int(2, 20), rng.int(1, 30)];
  if (shape[0] * (shape[2] ?? 1) * (shape[3] ?? 1) < 2) shape[0] = 2; // a variance needs two samples
  const c = shape[1];
  return {
    label: `[${shape}]`,
    inputs: {
      x: randomInput(rng, shape, -2, 3), dy: randomInput(rng, shape), gamma: randomInput(rng, [c], 0.5, 1.5), beta: randomInput(rng, [c]),
      runningMean: randomInput(rng, [c]), runningVar: randomInput(rng, [c], 0.5, 2), runningMean2: randomInput(rng, [c]), runningVar2: randomInput(rng, [c], 0.5, 2),
    },
    run: (be, t) => {
      const p = { gamma: t.gamma, beta: t.beta, runningMean: t.runningMean, runningVar: t.runningVar, epsilon: 1e-5, momentum: 0.1 };
      const train = be.batchNormTraining(t.x, p);
      const back = be.batchNormBackward(t.dy, t.x, t.gamma, train.mean, train.invStd);
      const inference = be.batchNormInference(t.x, { ...p, runningMean: t.runningMean2, runningVar: t.runningVar2 });
      return { ...train, ...back, inference, runningMean: t.runningMean, runningVar: t.runningVar };
    },
    atol: 1e-4,
  };
}

function layerNormCase(rng: Rng, i: number): OpCase {
  const shape = rng.bool(0.8) ? [rng.int(1, 3), rng.int(1, 12), rng.int(1, 9), rng.int(1, 9)] : [rng.int(1, 6), rng.int(1, 20)];
  const c = shape[1];
  const mask = binaryMask(rng, [c]);
  if (!mask.data.includes(1)) mask.data[0] = 1;
  const masked = i % 2 === 1;
  return {
    label: `[${shape}]${masked ? ' masked' : ''}`,
    inputs: { x: randomInput(rng, shape, -2, 3), dy: randomInput(rng, shape), gamma: randomInput(rng, [c], 0.5, 1.5), beta: randomInput(rng, [c]), mask },
    run: (be, t) => {
      const m = masked ? t.mask : undefined;
      const r = be.layerNorm(t.x, t.gamma, t.beta, { epsilon: 1e-6, mask: m });
      return { ...r, ...be.layerNormBackward(t.dy, t.x, t.gamma, r.mean, r.invStd, { mask: m }) };
    },
    atol: 1e-4,
  };
}

function resampleCase(rng: Rng): OpCase {
  const x = [rng.int(1, 3), rng.int(1, 5), rng.int(1, 9), rng.int(1, 9)];
  const [outH, outW] = [rng.int(1, 17), rng.int(1, 17)];
  return {
    label: `[${x}] -> ${outH}x${outW}`,
    inputs: { x: randomInput(rng, x), rows: randomInput(rng, [outH, x[2]]), cols: randomInput(rng, [outW, x[3]]) },
    run: (be, t) => ({ y: be.resample(t.x, t.rows, t.cols) }),
    atol: 1e-4,
  };
}

function activationCase(rng: Rng, i: number): OpCase {
  const kind = ACTIVATIONS[i % ACTIVATIONS.length];
  const alpha = rng.uniform(0.01, 0.3);
  const shape = [rng.int(1, 3), rng.int(1, 7), rng.int(1, 40), rng.int(1, 40)];
  return {
    label: `${kind} [${shape}]`,
    inputs: { x: randomInput(rng, shape, -6, 9), dy: randomInput(rng, shape), b: randomInput(rng, shape) },
    run: (be, t) => ({ y: be.activation(t.x, kind, alpha), dx: be.activationBackward(t.dy, t.x, kind, alpha), sum: be.add(t.x, t.b), sumRelu: be.add(t.x, t.b, { relu: true }) }),
  };
}

function randomPool(rng: Rng): { x: number[]; o: PoolOptions } {
  const k = [rng.int(1, 4), rng.int(1, 4)] as const;
  const stride = [rng.int(1, 3), rng.int(1, 3)] as const;
  const dilation = rng.bool(0.25) ? 2 : 1;
  const padding = [rng.int(0, k[0] - 1), rng.int(0, k[1] - 1), rng.int(0, k[0] - 1), rng.int(0, k[1] - 1)] as const;
  const x = [rng.int(1, 3), rng.int(1, 6), rng.int((k[0] - 1) * dilation + 1, 15), rng.int((k[1] - 1) * dilation + 1, 15)];
  return { x, o: { kernel: k, stride, padding, dilation, countIncludePad: rng.bool() } };
}

function poolCase(rng: Rng): OpCase {
  const { x, o } = randomPool(rng);
  return {
    label: JSON.stringify({ x, ...o }),
    inputs: { x: randomInput(rng, x) },
    run: (be, t) => {
      const max = be.maxPool(t.x, o);
      const avg = be.avgPool(t.x, o);
      const gap = be.globalAvgPool(t.x);
      return {
        max: max.y, argmax: max.argmax, maxValues: be.maxPoolValues(t.x, o), avg, gap,
        dMax: be.maxPoolBackward(max.y, max.argmax, x, o),
        dAvg: be.avgPoolBackward(avg, x, o),
        dGap: be.globalAvgPoolBackward(gap, x),
      };
    },
  };
}

function channelScaleCase(rng: Rng): OpCase {
  const shape = [rng.int(1, 3), rng.int(1, 9), rng.int(1, 12), rng.int(1, 12)];
  const sShape = [shape[0], shape[1], 1, 1];
  return {
    label: `[${shape}]`,
    inputs: { x: randomInput(rng, shape), s: randomInput(rng, sShape, 0, 1), dy: randomInput(rng, shape) },
    run: (be, t) => {
      const back = be.channelScaleBackward(t.dy, t.x, t.s);
      return { y: be.channelScale(t.x, t.s), dx: back.dx, ds: back.ds };
    },
  };
}

/** PReLU on 4-D and 2-D inputs, slopes of either sign, some inputs exactly 0 (the gradient's edge). */
function preluCase(rng: Rng): OpCase {
  const shape = rng.bool() ? [rng.int(1, 3), rng.int(1, 9), rng.int(1, 12), rng.int(1, 12)] : [rng.int(1, 17), rng.int(1, 40)];
  const x = randomInput(rng, shape);
  x.data.forEach((_, i) => { if (rng.bool(0.05)) x.data[i] = 0; });
  return {
    label: `[${shape}]`,
    inputs: { x, slope: randomInput(rng, [shape[1]], -0.5, 1), dy: randomInput(rng, shape) },
    run: (be, t) => {
      const back = be.preluBackward(t.dy, t.x, t.slope);
      return { y: be.prelu(t.x, t.slope), dx: back.dx, dSlope: back.dSlope };
    },
  };
}

/**
 * ConvTranspose as the network runs it (src/model/network.ts): forward = the input gradient of the
 * convolution it transposes, weight gradient = that convolution's filter gradient with the roles swapped,
 * input gradient = that convolution's forward. Strided, dilated, padded, grouped and depthwise; a
 * convolution input taller or wider than its output needs is output padding.
 */
function transposedConvCase(rng: Rng, i: number): OpCase {
  const c = randomConv(rng, i);
  const g = conv2dGeometry(c.x, c.w, c.o);
  const inShape = [c.x[0], g.outChannels, g.outH, g.outW];
  return {
    label: `transposed ${c.label}`,
    inputs: { x: randomInput(rng, inShape), w: randomInput(rng, c.w), dy: randomInput(rng, c.x) },
    run: (be, t) => ({
      y: be.conv2dBackwardInput(t.x, t.w, c.x, c.o), dW: be.conv2dBackwardFilter(t.x, t.dy, c.w, c.o), dx: be.conv2d(t.dy, t.w, c.o),
    }),
    rtol: 1e-3, atol: 1e-4,
  };
}

/** Group norm as the network composes it (src/model/group-norm.ts): G groups of C / G channels, one group, or one channel per group; forward and backward. */
function groupNormCase(rng: Rng, i: number): OpCase {
  const perGroup = rng.int(1, 4);
  const groups = [1, rng.int(2, 4), perGroup * rng.int(1, 3)][i % 3];
  const channels = i % 3 === 2 ? groups : groups * perGroup;
  const shape = [rng.int(1, 3), channels, rng.int(1, 7), rng.int(1, 7)];
  return {
    label: `[${shape}] in ${groups} groups`,
    inputs: { x: randomInput(rng, shape, -2, 2), gamma: randomInput(rng, [channels], 0.5, 1.5), beta: randomInput(rng, [channels]), dy: randomInput(rng, shape) },
    run: (be, t) => {
      const units = new Map<number, { ones: Tensor; zeros: Tensor }>();
      const unit = (n: number) => units.get(n) ?? units.set(n, { ones: be.upload(new Float32Array(n).fill(1), [n]), zeros: be.zeros([n]) }).get(n)!;
      const f = groupNormForward(be, t.x, t.gamma, t.beta, { groups, epsilon: 1e-5, unit });
      const b = groupNormBackward(be, t.dy, t.x, t.gamma, f.saved, { groups, unit });
      return { y: f.y, dx: b.dx, dGamma: b.dGamma, dBeta: b.dBeta };
    },
    rtol: 1e-3, atol: 1e-4,
  };
}

/**
 * Fake quantization, per tensor or along a random axis, 2-16 bits, symmetric or asymmetric: random
 * values beyond the grid (clipping), exact grid points and exact ties (x / s = k + 1/2 with power-of-two
 * scales, so every backend divides exactly and must round half to even).
 */
function fakeQuantCase(rng: Rng): OpCase {
  const shape = Array.from({ length: rng.int(1, 4) }, () => rng.int(1, 9));
  const axis = rng.bool() ? undefined : rng.int(0, shape.length - 1);
  const channels = axis === undefined ? 1 : shape[axis];
  const binary = rng.bool(0.25);
  const bits = binary ? 1 : rng.int(2, 16), symmetric = binary || rng.bool();
  const [qmin, qmax] = binary ? [-1, 1] : symmetric ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
  const pow2 = rng.bool();
  const scale = Float32Array.from({ length: channels }, () => (pow2 ? 2 ** -rng.int(2, 6) : rng.uniform(0.01, 0.3)));
  const zero = Float32Array.from({ length: channels }, () => (symmetric ? 0 : rng.int(qmin, qmax)));
  const size = shape.reduce((a, b) => a * b, 1);
  const inner = axis === undefined ? size : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: size }, (_, i) => {
    const c = Math.floor(i / inner) % channels;
    const k = rng.int(qmin - zero[c] - 3, qmax - zero[c] + 3); // grid steps around (and past) the range
    const kind = rng.int(0, 2);
    if (binary) return rng.pick([0, scale[c], -scale[c], rng.uniform(-3, 3) * scale[c]]); // zero, the clip edges, and around them
    return kind === 0 ? rng.uniform(k - 1, k + 1) * scale[c] : pow2 ? (k + (kind === 1 ? 0.5 : 0)) * scale[c] : k * scale[c];
  });
  return {
    label: `[${shape}] axis ${axis ?? 'none'} ${binary ? 'binary' : `${bits} bits ${symmetric ? 'symmetric' : 'asymmetric'}`}${pow2 ? ' power-of-two scales' : ''}`,
    inputs: { x: { shape, data: x }, scale: { shape: [channels], data: scale }, zero: { shape: [channels], data: zero }, dy: randomInput(rng, shape) },
    run: (be, t) => {
      const o = { qmin, qmax, axis, binary };
      return { y: be.fakeQuantize(t.x, t.scale, t.zero, o), dx: be.fakeQuantizeBackward(t.dy, t.x, t.scale, t.zero, o) };
    },
  };
}

function concatCase(rng: Rng): OpCase {
  const [n, h, w] = [rng.int(1, 3), rng.int(1, 9), rng.int(1, 9)];
  const parts = Array.from({ length: rng.int(1, 4) }, () => rng.int(1, 6));
  const inputs: OpCase['inputs'] = {};
  parts.forEach((c, i) => { inputs[`x${i}`] = randomInput(rng, [n, c, h, w]); });
  const total = parts.reduce((a, b) => a + b, 0);
  const offset = rng.int(0, total - 1), count = rng.int(1, total - offset);
  return {
    label: `${parts} channels, slice ${offset}+${count}`,
    inputs,
    run: (be, t) => {
      const y = be.concat(parts.map((_, i) => t[`x${i}`]));
      const flat = be.reshape(y, [n, total * h * w]);
      return { y, slice: be.sliceChannels(y, offset, count), flat };
    },
  };
}

function gatherCase(rng: Rng): OpCase {
  const shape = Array.from({ length: rng.int(1, 4) }, () => rng.int(1, 7));
  const axis = rng.int(0, shape.length - 1);
  const indices = Array.from({ length: shape[axis] }, (_, i) => i).filter(() => rng.bool(0.6));
  if (indices.length === 0) indices.push(shape[axis] - 1);
  return {
    label: `[${shape}] axis ${axis} keep ${indices}`,
    inputs: { x: randomInput(rng, shape), g: randomInput(rng, shape), indices: { shape: [indices.length], data: Float32Array.from(indices) } },
    run: (be, t) => ({
      y: be.gatherChannels(t.x, axis, t.indices),
      l1: be.channelStats(t.x, axis, 'l1'), l2sq: be.channelStats(t.x, axis, 'l2sq'), taylor: be.channelStats(t.x, axis, 'taylor', t.g),
      absmax: be.channelStats(t.x, axis, 'absmax'),
    }),
  };
}

/** Per sample ([N, K] logits) or per pixel ([N, K, H, W]: segmentation, some pixels labelled 255, ignored); the squared error of maps. */
function lossCase(rng: Rng, i: number): OpCase {
  const [n, k] = [rng.int(1, 70), rng.int(2, 12)];
  const teacher = i % 2 === 1;
  const spatial = i % 4 >= 2 ? [rng.int(1, 6), rng.int(1, 6)] : [];
  const [logitShape, labelShape] = [[n, k, ...spatial], [n, ...spatial]];
  const ignore = spatial.length > 0 ? 255 : undefined;
  const temperature = rng.pick([1, 2, 4]), alpha = rng.uniform(0, 1);
  const labelCount = labelShape.reduce((a, b) => a * b, 1);
  return {
    label: `[${logitShape}]${teacher ? ` teacher T=${temperature} alpha=${alpha.toFixed(2)}` : ''}`,
    inputs: {
      logits: randomInput(rng, logitShape, -4, 4), teacher: randomInput(rng, logitShape, -4, 4),
      labels: { shape: labelShape, data: Float32Array.from({ length: labelCount }, () => (ignore && rng.bool(0.2) ? ignore : rng.int(0, k - 1))) },
    },
    run: (be, t) => {
      const r = be.softmaxCrossEntropy(t.logits, t.labels, { ...(teacher ? { teacher: t.teacher, temperature, alpha } : {}), ignoreLabel: ignore });
      const e = be.squaredError(t.logits, t.teacher);
      return { loss: r.loss, dLogits: r.dLogits, correct: r.correct, squaredError: e.loss, dSquaredError: e.dy };
    },
  };
}

function optimizerCase(rng: Rng, i: number): OpCase {
  const shape = [rng.int(1, 700)];
  const withMask = rng.bool();
  const adam = i % 2 === 1;
  const lr = rng.uniform(0.001, 0.1), wd = rng.pick([0, 1e-4, 5e-4]);
  return {
    label: `${adam ? 'adam' : 'sgd'} [${shape}]${withMask ? ' masked' : ''}`,
    inputs: { w: randomInput(rng, shape), g: randomInput(rng, shape), s1: randomInput(rng, shape, -0.1, 0.1), s2: randomInput(rng, shape, 0, 0.1), mask: binaryMask(rng, shape) },
    run: (be, t) => {
      const mask = withMask ? t.mask : undefined;
      for (let step = 1; step <= 3; step++) {
        if (adam) be.adamStep(t.w, t.g, t.s1, t.s2, { learningRate: lr, weightDecay: wd, step, mask });
        else be.sgdStep(t.w, t.g, t.s1, { learningRate: lr, momentum: 0.9, weightDecay: wd, mask });
      }
      return { w: t.w, s1: t.s1, s2: t.s2 };
    },
    atol: 1e-5,
  };
}

/** Every op family with its case generator; conv has its own entries per WebGPU variant. */
export const OP_SUITES: { title: string; make: (rng: Rng, i: number) => OpCase }[] = [
  { title: 'linear forward and backward', make: linearCase },
  { title: 'batch norm: training, inference, backward, running statistics', make: batchNormCase },
  { title: 'layer norm over channels, with and without a channel mask, forward and backward', make: layerNormCase },
  { title: 'separable resampling (nearest and bilinear resize) with dense row and column matrices', make: resampleCase },
  { title: `activations (${ACTIVATIONS.join(', ')}) and their gradients; elementwise add`, make: activationCase },
  { title: 'max (with and without argmax), average and global average pooling, forward and backward', make: poolCase },
  { title: 'channel concat, slice and flatten', make: concatCase },
  { title: 'channel scale (squeeze-excitation) forward and backward', make: channelScaleCase },
  { title: 'PReLU (per-channel slopes) forward and backward', make: preluCase },
  { title: 'ConvTranspose (strided, dilated, padded, output-padded, grouped, depthwise) forward and both gradients', make: transposedConvCase },
  { title: 'group norm (one group, G groups, one channel per group) forward and backward', make: groupNormCase },
  { title: 'fake quantization (binary and 2-16 bits, per tensor and per axis, round half to even) and its clipped straight-through gradient', make: fakeQuantCase },
  { title: 'gather-compaction and channel statistics (pruning criteria, quantizer ranges) along any axis', make: gatherCase },
  { title: 'softmax cross-entropy per sample and per pixel (ignored labels), with and without distillation; squared error', make: lossCase },
  { title: 'SGD with momentum and Adam, with and without masks', make: optimizerCase },
];
