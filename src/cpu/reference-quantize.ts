// Fake quantization, the living definition (float64): q = roundHalfEven(x / s) + z, y = (clamp(q) − z) · s
// per index along an axis (or per tensor), and its straight-through gradient clipped to the grid.
import type { FakeQuantOptions } from '../backend.js';
import { assertShape, quantView, roundHalfEven } from '../geometry.js';
import { type NdArray, ndarray } from './reference.js';

const grid = (x: number, s: number, z: number) => roundHalfEven(x / s) + z;

export function fakeQuantize(x: NdArray, scale: NdArray, zeroPoint: NdArray, o: FakeQuantOptions): NdArray {
  const [, channels, inner] = quantView('fakeQuantize', x.shape, scale.data.length, zeroPoint.data.length, o);
  return ndarray(x.shape, x.data.map((v, i) => {
    const c = Math.floor(i / inner) % channels;
    const [s, z] = [scale.data[c], zeroPoint.data[c]];
    return (Math.min(Math.max(grid(v, s, z), o.qmin), o.qmax) - z) * s;
  }));
}

export function fakeQuantizeBackward(dy: NdArray, x: NdArray, scale: NdArray, zeroPoint: NdArray, o: FakeQuantOptions): NdArray {
  const [, channels, inner] = quantView('fakeQuantizeBackward', x.shape, scale.data.length, zeroPoint.data.length, o);
  assertShape('fakeQuantizeBackward', 'dy', dy.shape, x.shape);
  return ndarray(x.shape, x.data.map((v, i) => {
    const c = Math.floor(i / inner) % channels;
    const q = grid(v, scale.data[c], zeroPoint.data[c]);
    return q >= o.qmin && q <= o.qmax ? dy.data[i] : 0;
  }));
}
