// The CPU reference of separable linear resampling: each [H, W] plane becomes rows * plane * cols^T.
import { resampleShape } from '../geometry.js';
import { type NdArray, ndarray } from './ndarray.js';

export function resample(x: NdArray, rows: NdArray, cols: NdArray): NdArray {
  const shape = resampleShape('resample', x.shape, rows.shape, cols.shape);
  const [n, c, h, w] = x.shape;
  const [outH, outW] = [shape[2], shape[3]];
  const y = ndarray(shape);
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) {
        let sum = 0;
        for (let iy = 0; iy < h; iy++) {
          const r = rows.data[oy * h + iy];
          if (r === 0) continue;
          for (let ix = 0; ix < w; ix++) sum += r * cols.data[ox * w + ix] * x.data[(p * h + iy) * w + ix];
        }
        y.data[(p * outH + oy) * outW + ox] = sum;
      }
  return y;
}
