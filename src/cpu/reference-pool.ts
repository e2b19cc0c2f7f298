// The CPU reference of pooling: max pooling (with the argmax every backend returns), average pooling
// (count_include_pad or not) and global average pooling, forward and backward.
import { type PoolGeometry, type PoolOptions, type Shape, globalPoolOptions, poolGeometry } from '../geometry.js';
import { type NdArray, ndarray } from './ndarray.js';

/** Visits each output position of a pooling window and the input positions inside it. */
function forEachWindow(g: PoolGeometry, visit: (plane: number, o: number, inside: number[], divisor: number) => void): void {
  for (let plane = 0; plane < g.batch * g.channels; plane++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++) {
        const inside: number[] = [];
        let padded = 0;
        for (let ky = 0; ky < g.kernelH; ky++)
          for (let kx = 0; kx < g.kernelW; kx++) {
            const iy = oy * g.strideH - g.padTop + ky * g.dilationH;
            const ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
            if (iy < g.inH + g.padBottom && ix < g.inW + g.padRight) padded++;
            if (iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW) inside.push(iy * g.inW + ix);
          }
        visit(plane, (plane * g.outH + oy) * g.outW + ox, inside, g.countIncludePad ? padded : Math.max(inside.length, 1));
      }
}

/** Max pooling; argmax holds the winner's flat index in its input plane (the first maximum), -1 if none. */
export function maxPool(x: NdArray, o: PoolOptions): { y: NdArray; argmax: NdArray } {
  const g = poolGeometry('maxPool', x.shape, o);
  const y = ndarray([g.batch, g.channels, g.outH, g.outW]);
  const argmax = ndarray(y.shape);
  const plane = g.inH * g.inW;
  forEachWindow(g, (p, out, inside) => {
    let best = -1;
    for (const at of inside) if (best < 0 || x.data[p * plane + at] > x.data[p * plane + best]) best = at;
    y.data[out] = best < 0 ? 0 : x.data[p * plane + best];
    argmax.data[out] = best;
  });
  return { y, argmax };
}

export function maxPoolBackward(dy: NdArray, argmax: NdArray, inputShape: Shape, o: PoolOptions): NdArray {
  const g = poolGeometry('maxPoolBackward', inputShape, o);
  const dx = ndarray(inputShape);
  forEachWindow(g, (p, out) => {
    if (argmax.data[out] >= 0) dx.data[p * g.inH * g.inW + argmax.data[out]] += dy.data[out];
  });
  return dx;
}

export function avgPool(x: NdArray, o: PoolOptions): NdArray {
  const g = poolGeometry('avgPool', x.shape, o);
  const y = ndarray([g.batch, g.channels, g.outH, g.outW]);
  forEachWindow(g, (p, out, inside, divisor) => {
    y.data[out] = inside.reduce((s, at) => s + x.data[p * g.inH * g.inW + at], 0) / divisor;
  });
  return y;
}

export function avgPoolBackward(dy: NdArray, inputShape: Shape, o: PoolOptions): NdArray {
  const g = poolGeometry('avgPoolBackward', inputShape, o);
  const dx = ndarray(inputShape);
  forEachWindow(g, (p, out, inside, divisor) => {
    for (const at of inside) dx.data[p * g.inH * g.inW + at] += dy.data[out] / divisor;
  });
  return dx;
}

export const globalAvgPool = (x: NdArray): NdArray => avgPool(x, globalPoolOptions(x.shape));
export const globalAvgPoolBackward = (dy: NdArray, inputShape: Shape): NdArray => avgPoolBackward(dy, inputShape, globalPoolOptions(inputShape));
