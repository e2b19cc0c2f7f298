// Fake quantization by hand-computed cases on the CPU reference (the shared op suites check every backend
// against it): grid points come back exactly, ties round to even, values past the grid clip, and the
// straight-through gradient passes only inside the grid.
import { describe, expect, it } from 'vitest';
import { roundHalfEven } from '../src/geometry.js';
import { cpu } from './helpers/backends.js';

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
