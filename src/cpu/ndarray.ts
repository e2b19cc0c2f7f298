// The CPU reference's arrays: float64 values of a shape (every op module of the reference uses them).
import { type Shape, sizeOf } from '../geometry.js';

export interface NdArray { shape: number[]; data: Float64Array }

export function ndarray(shape: Shape, data?: ArrayLike<number>): NdArray {
  const size = sizeOf(shape);
  if (data && data.length !== size) throw new Error(`ndarray: ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape: [...shape], data: data ? Float64Array.from(data) : new Float64Array(size) };
}
