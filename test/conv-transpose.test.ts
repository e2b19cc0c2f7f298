// Transposed convolutions on the accelerator (issue 34): SCALE-Sim has no such layer, so the workload is
// checked as what it claims to be — the stride-1 convolution over the zero-inserted, padded input with the
// flipped, transposed weight: computed with the CPU reference, it gives the transposed convolution's
// output exactly, and its GEMM's MACs are that convolution's (the inserted zeros included).
import { describe, expect, it } from 'vitest';
import { gemmOf } from '../src/accel/workload.js';
import { transposedConvWorkload } from '../src/accel/model-workload.js';
import * as ref from '../src/cpu/reference.js';
import { transposedConvGeometry } from '../src/geometry.js';
import { Rng } from '../src/random.js';

const cases = [
  { label: 'kernel 2 stride 2', inC: 3, outC: 4, h: 5, w: 4, k: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0], outputPadding: [0, 0], dilation: [1, 1] },
  { label: 'kernel 3 stride 2 padding 1 output padding 1', inC: 4, outC: 3, h: 4, w: 6, k: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], outputPadding: [1, 1], dilation: [1, 1] },
  { label: 'kernel 3x2, strides 3 and 1, uneven padding, dilation 2', inC: 2, outC: 5, h: 3, w: 5, k: [3, 2], stride: [3, 1], padding: [2, 0, 1, 1], outputPadding: [1, 0], dilation: [2, 2] },
] as const;

describe('a transposed convolution as the accelerator runs it', () => {
  for (const c of cases) {
    it(`${c.label}: the zero-insertion convolution of its workload computes its output, with its MACs`, () => {
      const rng = new Rng(c.inC * 7 + c.h);
      const x = ref.ndarray([1, c.inC, c.h, c.w], Array.from({ length: c.inC * c.h * c.w }, () => rng.uniform(-1, 1)));
      const wShape = [c.inC, c.outC, c.k[0], c.k[1]];
      const w = ref.ndarray(wShape, Array.from({ length: wShape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)));
      const o = { stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation };
      const g = transposedConvGeometry(x.shape, w.shape, o);
      const y = ref.conv2dBackwardInput(x, w, [1, c.outC, g.inH, g.inW], o);

      const node = { op: 'convtranspose' as const, name: 'up', input: 'x', outChannels: c.outC, kernel: [c.k[0], c.k[1]] as [number, number], ...o };
      const l = transposedConvWorkload('up', node, [c.inC, c.h, c.w], wShape);
      expect([l.ofmapH, l.ofmapW]).toEqual([g.inH, g.inW]);
      // The workload's padded ifmap: the input with stride - 1 zeros between pixels, placed at its padding.
      const [zh, zw] = [(c.h - 1) * c.stride[0] + 1, (c.w - 1) * c.stride[1] + 1];
      const [top, left] = [c.dilation[0] * (c.k[0] - 1) - c.padding[0], c.dilation[1] * (c.k[1] - 1) - c.padding[1]];
      // Stride 1: the padded ifmap is the output plus the kernel's span, the zero-inserted input inside it.
      expect([l.ifmapH, l.ifmapW]).toEqual([g.inH + c.dilation[0] * (c.k[0] - 1), g.inW + c.dilation[1] * (c.k[1] - 1)]);
      expect(top >= 0 && left >= 0 && l.ifmapH - zh - top >= 0 && l.ifmapW - zw - left >= 0).toBe(true);
      const padded = ref.ndarray([1, c.inC, l.ifmapH, l.ifmapW]);
      for (let ch = 0; ch < c.inC; ch++)
        for (let i = 0; i < c.h; i++)
          for (let j = 0; j < c.w; j++) {
            const [py, px] = [top + i * c.stride[0], left + j * c.stride[1]];
            padded.data[(ch * l.ifmapH + py) * l.ifmapW + px] = x.data[(ch * c.h + i) * c.w + j];
          }
      const flipped = ref.ndarray([c.outC, c.inC, c.k[0], c.k[1]]);
      for (let oc = 0; oc < c.outC; oc++)
        for (let ic = 0; ic < c.inC; ic++)
          for (let ky = 0; ky < c.k[0]; ky++)
            for (let kx = 0; kx < c.k[1]; kx++) {
              flipped.data[((oc * c.inC + ic) * c.k[0] + ky) * c.k[1] + kx] = w.data[((ic * c.outC + oc) * c.k[0] + (c.k[0] - 1 - ky)) * c.k[1] + (c.k[1] - 1 - kx)];
            }
      const direct = ref.conv2d(padded, flipped, { dilation: c.dilation });
      expect(direct.shape).toEqual(y.shape);
      direct.data.forEach((v, i) => expect(Math.abs(v - y.data[i]), `output ${i}`).toBeLessThan(1e-12));

      const gemm = gemmOf(l);
      expect(gemm.P * gemm.K * gemm.M * gemm.repeats).toBe(g.inH * g.inW * c.k[0] * c.k[1] * c.inC * c.outC);
    });
  }
});
