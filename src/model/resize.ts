// Nearest and bilinear resizing as ONNX's Resize defines it (opsets 11-18): per spatial axis, each output
// index maps to a source coordinate (coordinate_transformation_mode), which nearest rounds (nearest_mode)
// and linear interpolates between its two neighbours, clamped to the input. Written as an [out, in]
// matrix per axis, so a backend resamples with two small matrix products (and back with their transposes).

export type ResizeMode = 'nearest' | 'linear';
export const COORDINATE_MODES = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric'] as const;
export type CoordinateMode = (typeof COORDINATE_MODES)[number];
export const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const;
export type NearestMode = (typeof NEAREST_MODES)[number];

export interface ResizeOptions { mode: ResizeMode; coordinates: CoordinateMode; nearest?: NearestMode }

/** The source coordinate of output index x (ONNX Resize, with scale = outSize / inSize). */
function sourceCoordinate(x: number, inSize: number, outSize: number, mode: CoordinateMode): number {
  const scale = outSize / inSize;
  switch (mode) {
    case 'half_pixel': return (x + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel': return outSize > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners': return outSize === 1 ? 0 : (x * (inSize - 1)) / (outSize - 1);
    case 'asymmetric': return x / scale;
  }
}

function rounded(v: number, mode: NearestMode): number {
  switch (mode) {
    case 'floor': return Math.floor(v);
    case 'ceil': return Math.ceil(v);
    case 'round_prefer_ceil': return Math.floor(v + 0.5);
    case 'round_prefer_floor': return Math.ceil(v - 0.5);
  }
}

/** The [outSize, inSize] interpolation matrix along one axis, row-major. */
export function resizeMatrix(inSize: number, outSize: number, o: ResizeOptions): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  for (let x = 0; x < outSize; x++) {
    const source = sourceCoordinate(x, inSize, outSize, o.coordinates);
    if (o.mode === 'nearest') {
      m[x * inSize + clamp(rounded(source, o.nearest ?? 'round_prefer_floor'))] = 1;
      continue;
    }
    const at = Math.min(Math.max(source, 0), inSize - 1);
    const lo = Math.floor(at);
    const hi = clamp(lo + 1);
    const w = at - lo;
    m[x * inSize + lo] += 1 - w;
    m[x * inSize + hi] += w;
  }
  return m;
}
