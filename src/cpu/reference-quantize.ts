// Fake quantization, the living definition (float64): q = roundHalfEven(x / s) + z, y = (clamp(q) − z) · s
// per index along an axis (or per tensor), and its straight-through gradient clipped to the grid; binary:
// y = s · sign(x) (sign(0) = +1), gradient where |x| ≤ s.
import type { FakeQuantOptions } from '../backend.js';
import { assertShape, quantView, roundHalfEven } from '../geometry.js';
import { type NdArray, ndarray } from './ndarray.js';

const grid = (x: number, s: number, z: number) => roundHalfEven(x / s) + z;

export function fakeQuantize(x: NdArray, scale: NdArray, zeroPoint: NdArray, o: FakeQuantOptions): NdArray {
  const [, channels, inner] = quantView('fakeQuantize', x.shape, scale.data.length, zeroPoint.data.length, o);
  return ndarray(x.shape, x.data.map((v, i) => {
    const c = Math.floor(i / inner) % channels;
    const [s, z] = [scale.data[c], zeroPoint.data[c]];
    if (o.binary) return v >= 0 ? s : -s;
    return (Math.min(Math.max(grid(v, s, z), o.qmin), o.qmax) - z) * s;
  }));
}

export function fakeQuantizeBackward(dy: NdArray, x: NdArray, scale: NdArray, zeroPoint: NdArray, o: FakeQuantOptions): NdArray {
  const [, channels, inner] = quantView('fakeQuantizeBackward', x.shape, scale.data.length, zeroPoint.data.length, o);
  assertShape('fakeQuantizeBackward', 'dy', dy.shape, x.shape);
  return ndarray(x.shape, x.data.map((v, i) => {
    const c = Math.floor(i / inner) % channels;
    if (o.binary) return Math.abs(v) <= scale.data[c] ? dy.data[i] : 0;
    const q = grid(v, scale.data[c], zeroPoint.data[c]);
    return q >= o.qmin && q <= o.qmax ? dy.data[i] : 0;
  }));
}
