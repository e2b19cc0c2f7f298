// Conv semantics cross-checked against an independent implementation: TensorFlow.js (tfjs-core with
// its CPU backend), forward and both gradients, on our WebGPU backend.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2dGeometry } from '../src/geometry.js';
import { Rng } from '../src/random.js';
import { toleranceRatio, webgpu } from './helpers/backends.js';

interface Case { label: string; x: [number, number, number, number]; w: [number, number, number, number]; stride: [number, number]; dilation: [number, number]; pad: [number, number, number, number]; depthwise?: boolean;
  /** tfjs has no gradients for dilated convs; finite differences cover those (gradients.test.ts). */
  forwardOnly?: boolean }

const cases: Case[] = [
  { label: '3x3 pad 1', x: [2, 3, 9, 8], w: [5, 3, 3, 3], stride: [1, 1], dilation: [1, 1], pad: [1, 1, 1, 1] },
  { label: '5x3 strided, asymmetric padding', x: [1, 4, 11, 10], w: [6, 4, 5, 3], stride: [2, 3], dilation: [1, 1], pad: [2, 0, 1, 1] },
  { label: 'dilated 3x3', x: [2, 2, 10, 9], w: [3, 2, 3, 3], stride: [1, 1], dilation: [2, 2], pad: [2, 2, 2, 2], forwardOnly: true },
  { label: '1x1', x: [3, 7, 5, 4], w: [4, 7, 1, 1], stride: [1, 1], dilation: [1, 1], pad: [0, 0, 0, 0] },
  { label: 'depthwise 3x3 stride 2, multiplier 2', x: [2, 3, 8, 7], w: [6, 1, 3, 3], stride: [2, 2], dilation: [1, 1], pad: [1, 1, 1, 1], depthwise: true },
];

/** NCHW -> NHWC and OIHW -> HWIO (or HW,in,multiplier for depthwise) for tfjs. */
const toNhwc = (a: Float32Array, [n, c, h, w]: number[]) => tf.transpose(tf.tensor4d(a, [n, c, h, w]), [0, 2, 3, 1]);
const fromNhwc = (t: tf.Tensor) => tf.transpose(t, [0, 3, 1, 2]).dataSync() as Float32Array;

describe('conv2d matches TensorFlow.js (tfjs-backend-cpu)', () => {
  let gpu: Awaited<ReturnType<typeof webgpu>>;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    gpu = await webgpu();
  });

  for (const c of cases) {
    it(c.label, async () => {
      const rng = new Rng(11);
      const groups = c.depthwise ? c.x[1] : 1;
      const o = { stride: c.stride, dilation: c.dilation, padding: c.pad, groups };
      const g = conv2dGeometry(c.x, c.w, o);
      const xData = rng.uniformArray(c.x.reduce((a, b) => a * b)), wData = rng.uniformArray(c.w.reduce((a, b) => a * b));
      const rData = rng.uniformArray(g.batch * g.outChannels * g.outH * g.outW);

      const x = toNhwc(xData, c.x);
      const r = toNhwc(rData, [g.batch, g.outChannels, g.outH, g.outW]);
      // OIHW -> HWIO; for depthwise, O = in * multiplier with output channel m reading input m / multiplier.
      const wOihw = tf.tensor4d(wData, c.w);
      const w = c.depthwise
        ? tf.reshape(tf.transpose(wOihw, [2, 3, 1, 0]), [c.w[2], c.w[3], c.x[1], c.w[0] / c.x[1]])
        : tf.transpose(wOihw, [2, 3, 1, 0]);
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [c.pad[0], c.pad[2]], [c.pad[1], c.pad[3]], [0, 0]];
      const f = (xi: tf.Tensor, wi: tf.Tensor) => c.depthwise
        ? tf.depthwiseConv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, c.stride, pad, 'NHWC', c.dilation)
        : tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, c.stride, pad, 'NHWC', c.dilation);
      const y = f(x, w);
      const xt = gpu.upload(xData, c.x), wt = gpu.upload(wData, c.w), rt = gpu.upload(rData, [g.batch, g.outChannels, g.outH, g.outW]);
      expect(toleranceRatio(await gpu.read(gpu.conv2d(xt, wt, o)), fromNhwc(y), 1e-4, 1e-4), 'forward').toBeLessThanOrEqual(1);
      if (c.forwardOnly) return;

      const [dx, dwHwio] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.mul(f(xi, wi), r)))([x, w]);
      const dw = c.depthwise
        ? tf.transpose(tf.reshape(dwHwio, [c.w[2], c.w[3], 1, c.w[0]]), [3, 2, 0, 1])
        : tf.transpose(dwHwio, [3, 2, 0, 1]);
      const ours = {
        dx: await gpu.read(gpu.conv2dBackwardInput(rt, wt, c.x, o)),
        dw: await gpu.read(gpu.conv2dBackwardFilter(rt, xt, c.w, o)),
      };
      expect(toleranceRatio(ours.dx, fromNhwc(dx), 1e-4, 1e-4), 'input gradient').toBeLessThanOrEqual(1);
      expect(toleranceRatio(ours.dw, dw.dataSync(), 1e-4, 1e-4), 'filter gradient').toBeLessThanOrEqual(1);
    });
  }
});
