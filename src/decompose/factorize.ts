// Low-rank factorizations in float64 on the host, on ml-matrix's SVD: a truncated SVD of a matrix, and
// Tucker-2 of a convolution weight over its output and input channel modes (HOSVD start, then ALS
// sweeps; Kim et al., "Compression of Deep Convolutional Neural Networks for Fast and Low Power Mobile
// Applications", ICLR 2016).
import { Matrix, SVD } from 'ml-matrix';

/** Row-major m×n values as a Matrix. */
export const matrix = (values: ArrayLike<number>, m: number, n: number): Matrix => new Matrix(Array.from({ length: m }, (_, i) => Array.from({ length: n }, (_, j) => values[i * n + j])));

/** The singular values of a row-major m×n matrix, largest first. */
export function singularValues(values: ArrayLike<number>, m: number, n: number): number[] {
  return new SVD(matrix(values, m, n), { autoTranspose: true, computeLeftSingularVectors: false, computeRightSingularVectors: false }).diagonal;
}

/** The smallest rank whose singular values keep `energy` of the total Σσ² (at least 1). */
export function rankForEnergy(sigma: number[], energy: number): number {
  const total = sigma.reduce((s, v) => s + v * v, 0);
  let kept = 0;
  for (let r = 0; r < sigma.length; r++) {
    kept += sigma[r] * sigma[r];
    if (kept >= energy * total * (1 - 1e-12)) return r + 1;
  }
  return sigma.length;
}

/**
 * W (m×n, row-major) ≈ A B with A m×r and B r×n, by the truncated SVD, each factor taking √σ (balanced
 * scales for training). Returns both row-major, and the relative error ‖W − AB‖²/‖W‖² (= the discarded
 * singular values' energy share).
 */
export function truncatedSvd(values: ArrayLike<number>, m: number, n: number, rank: number): { a: Float64Array; b: Float64Array; sigma: number[]; error: number } {
  const svd = new SVD(matrix(values, m, n), { autoTranspose: true });
  const sigma = svd.diagonal;
  const r = Math.min(rank, sigma.length);
  const U = svd.leftSingularVectors, V = svd.rightSingularVectors;
  const a = new Float64Array(m * r), b = new Float64Array(r * n);
  for (let k = 0; k < r; k++) {
    const s = Math.sqrt(sigma[k]);
    for (let i = 0; i < m; i++) a[i * r + k] = U.get(i, k) * s;
    for (let j = 0; j < n; j++) b[k * n + j] = V.get(j, k) * s;
  }
  const total = sigma.reduce((t, v) => t + v * v, 0);
  return { a, b, sigma, error: total > 0 ? sigma.slice(r).reduce((t, v) => t + v * v, 0) / total : 0 };
}

/** The leading `rank` left singular vectors of a row-major m×n matrix, as an m×rank Matrix. */
function leading(values: Matrix, rank: number): Matrix {
  const svd = new SVD(values, { autoTranspose: true, computeRightSingularVectors: false });
  const u = svd.leftSingularVectors;
  return u.subMatrix(0, values.rows - 1, 0, Math.min(rank, u.columns) - 1);
}

/** Mode-0 unfolding of a [o, i, s] tensor (s = kernel positions) is o × (i·s); mode-1 is i × (o·s). */
function unfold(w: ArrayLike<number>, o: number, i: number, s: number, mode: 0 | 1): Matrix {
  return mode === 0 ? matrix(w, o, i * s) : new Matrix(Array.from({ length: i }, (_, c) => Array.from({ length: o * s }, (_, j) => w[(Math.floor(j / s) * i + c) * s + (j % s)])));
}

/** core[a, b, p] = Σ_{o, c} uOut[o, a] uIn[c, b] w[o, c, p]. */
function project(w: ArrayLike<number>, o: number, i: number, s: number, uOut: Matrix, uIn: Matrix): Float64Array {
  const [ro, ri] = [uOut.columns, uIn.columns];
  const half = new Float64Array(ro * i * s); // Σ_o uOut[o, a] w[o, c, p]
  for (let a = 0; a < ro; a++) for (let oo = 0; oo < o; oo++) {
    const u = uOut.get(oo, a);
    if (u !== 0) for (let k = 0; k < i * s; k++) half[a * i * s + k] += u * w[oo * i * s + k];
  }
  const core = new Float64Array(ro * ri * s);
  for (let a = 0; a < ro; a++) for (let b = 0; b < ri; b++) for (let c = 0; c < i; c++) {
    const u = uIn.get(c, b);
    if (u !== 0) for (let p = 0; p < s; p++) core[(a * ri + b) * s + p] += u * half[(a * i + c) * s + p];
  }
  return core;
}

export interface Tucker2 {
  /** [o, rOut] and [i, rIn] factors (column-orthonormal), row-major; the core [rOut, rIn, s]. */
  uOut: Float64Array; uIn: Float64Array; core: Float64Array;
  rOut: number; rIn: number;
  /** ‖W − core ×₀ uOut ×₁ uIn‖² / ‖W‖². */
  error: number;
}

/** Tucker-2 of w [o, i, s] to ranks (rOut, rIn): HOSVD, then `sweeps` alternating updates of the two factors. */
export function tucker2(w: ArrayLike<number>, o: number, i: number, s: number, rOut: number, rIn: number, sweeps = 3): Tucker2 {
  // A mode's rank is at most the other dimensions' product (o ≤ i·s is not guaranteed for a first layer).
  [rOut, rIn] = [Math.min(rOut, o, i * s), Math.min(rIn, i, o * s)];
  let uOut = leading(unfold(w, o, i, s, 0), rOut);
  let uIn = leading(unfold(w, o, i, s, 1), rIn);
  for (let t = 0; t < sweeps; t++) {
    // Fix uIn: uOut spans the leading subspace of W ×₁ uInᵀ's mode-0 unfolding, and the other way round.
    const wIn = projectIn(w, o, i, s, uIn);
    uOut = leading(matrix(wIn, o, rIn * s), rOut);
    const wOut = project(w, o, i, s, uOut, Matrix.eye(i, i));
    uIn = leading(unfold(wOut, rOut, i, s, 1), rIn);
  }
  const core = project(w, o, i, s, uOut, uIn);
  let total = 0;
  for (let k = 0; k < o * i * s; k++) total += w[k] * w[k];
  let kept = 0;
  for (const v of core) kept += v * v; // orthonormal factors: ‖W − approx‖² = ‖W‖² − ‖core‖²
  return { uOut: Float64Array.from(uOut.to1DArray()), uIn: Float64Array.from(uIn.to1DArray()), core, rOut, rIn, error: total > 0 ? Math.max(0, total - kept) / total : 0 };
}

/** W ×₁ uInᵀ: [o, rIn, s]. */
function projectIn(w: ArrayLike<number>, o: number, i: number, s: number, uIn: Matrix): Float64Array {
  const ri = uIn.columns;
  const out = new Float64Array(o * ri * s);
  for (let oo = 0; oo < o; oo++) for (let b = 0; b < ri; b++) for (let c = 0; c < i; c++) {
    const u = uIn.get(c, b);
    if (u !== 0) for (let p = 0; p < s; p++) out[(oo * ri + b) * s + p] += u * w[(oo * i + c) * s + p];
  }
  return out;
}
