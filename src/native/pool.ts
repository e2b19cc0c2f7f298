// Max pooling's backward (a scatter over the argmax), average pooling, forward and backward, and global
// average pooling's backward, as float32 loops into the caller's arrays (see reference.maxPool/avgPool:
// argmax is a flat index in its input plane, -1 for none; count_include_pad divides by the window's taps
// that fall inside the padded input).
import type { PoolGeometry } from '../geometry.js';

/** The taps of output row/column `o` that land inside an input of `size`: [first, last + 1). */
function tapRange(o: number, stride: number, padBefore: number, dilation: number, kernel: number, size: number): [number, number] {
  const origin = o * stride - padBefore;
  const first = origin >= 0 ? 0 : Math.ceil(-origin / dilation);
  const end = Math.min(kernel, Math.floor((size - 1 - origin) / dilation) + 1);
  return [Math.min(first, kernel), Math.max(end, 0)];
}

/** The window's divisor: taps inside the padded input (count_include_pad) or inside the input. */
function divisor(g: PoolGeometry, oy: number, ox: number, inside: number): number {
  if (!g.countIncludePad) return Math.max(inside, 1);
  // Taps before the input (top/left padding) always count; those past the bottom/right padding do not.
  const rows = Math.min(g.kernelH, Math.max(0, Math.floor((g.inH + g.padBottom - 1 - (oy * g.strideH - g.padTop)) / g.dilationH) + 1));
  const cols = Math.min(g.kernelW, Math.max(0, Math.floor((g.inW + g.padRight - 1 - (ox * g.strideW - g.padLeft)) / g.dilationW) + 1));
  return rows * cols;
}

function windows(g: PoolGeometry, visit: (plane: number, out: number, y0: number, y1: number, x0: number, x1: number, oy: number, ox: number) => void): void {
  const rows = Array.from({ length: g.outH }, (_, oy) => tapRange(oy, g.strideH, g.padTop, g.dilationH, g.kernelH, g.inH));
  const cols = Array.from({ length: g.outW }, (_, ox) => tapRange(ox, g.strideW, g.padLeft, g.dilationW, g.kernelW, g.inW));
  for (let plane = 0; plane < g.batch * g.channels; plane++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++) visit(plane, (plane * g.outH + oy) * g.outW + ox, rows[oy][0], rows[oy][1], cols[ox][0], cols[ox][1], oy, ox);
}

/** Scatters dy to the argmax of each window, into `dx` (zeroed here). */
export function maxPoolBackward(dy: Float32Array, argmax: Float32Array, g: PoolGeometry, dx: Float32Array): Float32Array {
  const plane = g.inH * g.inW, outPlane = g.outH * g.outW;
  dx.fill(0);
  for (let p = 0, i = 0; p < g.batch * g.channels; p++) {
    const base = p * plane;
    for (let j = 0; j < outPlane; j++, i++) if (argmax[i] >= 0) dx[base + argmax[i]] += dy[i];
  }
  return dx;
}

/** Into `y` (every element written). */
export function avgPool(x: Float32Array, g: PoolGeometry, y: Float32Array): Float32Array {
  const plane = g.inH * g.inW;
  windows(g, (p, out, y0, y1, x0, x1, oy, ox) => {
    let s = 0;
    for (let ky = y0; ky < y1; ky++) {
      const row = p * plane + (oy * g.strideH - g.padTop + ky * g.dilationH) * g.inW + ox * g.strideW - g.padLeft;
      for (let kx = x0; kx < x1; kx++) s += x[row + kx * g.dilationW];
    }
    y[out] = s / divisor(g, oy, ox, (y1 - y0) * (x1 - x0));
  });
  return y;
}

/** Into `dx` (zeroed here). */
export function avgPoolBackward(dy: Float32Array, g: PoolGeometry, dx: Float32Array): Float32Array {
  const plane = g.inH * g.inW;
  dx.fill(0);
  windows(g, (p, out, y0, y1, x0, x1, oy, ox) => {
    const d = dy[out] / divisor(g, oy, ox, (y1 - y0) * (x1 - x0));
    for (let ky = y0; ky < y1; ky++) {
      const row = p * plane + (oy * g.strideH - g.padTop + ky * g.dilationH) * g.inW + ox * g.strideW - g.padLeft;
      for (let kx = x0; kx < x1; kx++) dx[row + kx * g.dilationW] += d;
    }
  });
  return dx;
}

/** Global average pooling's backward: every value of plane p is dy[p] / size, into `dx`. */
export function globalAvgPoolBackward(dy: Float32Array, size: number, dx: Float32Array): Float32Array {
  for (let p = 0; p < dy.length; p++) dx.fill(dy[p] / size, p * size, (p + 1) * size);
  return dx;
}
