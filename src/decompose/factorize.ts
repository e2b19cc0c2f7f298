// Low-rank factorizations in float64 on the host, on ml-matrix's SVD and pseudo-inverse: a truncated SVD
// of a matrix; Tucker-2 of a convolution weight over its output and input channel modes (HOSVD start,
// then ALS sweeps; Kim et al., "Compression of Deep Convolutional Neural Networks for Fast and Low Power
// Mobile Applications", ICLR 2016); and CP by alternating least squares (Lebedev et al., ICLR 2015).
import { Matrix, SVD, pseudoInverse } from 'ml-matrix';

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

/** Why Tucker-2 ranks (rIn, rOut) cannot be fitted with s kernel positions — the core [rOut, rIn, s] carries at most rIn·s output and rOut·s input directions — or undefined when they can. */
export function tuckerRanksProblem(rIn: number, rOut: number, s: number): string | undefined {
  if (rOut > rIn * s) return `the output rank ${rOut} exceeds the input rank times the kernel's ${s} positions (${rIn * s})`;
  if (rIn > rOut * s) return `the input rank ${rIn} exceeds the output rank times the kernel's ${s} positions (${rOut * s})`;
  return undefined;
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
  const problem = tuckerRanksProblem(rIn, rOut, s);
  if (problem) throw new Error(`tucker2: ranks (out ${rOut}, in ${rIn}) cannot be fitted: ${problem}`);
  let uOut = leading(unfold(w, o, i, s, 0), rOut);
  let uIn = leading(unfold(w, o, i, s, 1), rIn);
  for (let t = 0; t < sweeps; t++) {
    // Fix uIn: uOut spans the leading subspace of W ×₁ uInᵀ's mode-0 unfolding, and the other way round.
    const wIn = project(w, o, i, s, Matrix.eye(o, o), uIn); // W ×₁ uInᵀ: [o, rIn, s]
    uOut = leading(matrix(wIn, o, uIn.columns * s), rOut);
    const wOut = project(w, o, i, s, uOut, Matrix.eye(i, i)); // W ×₀ uOutᵀ: [rOut, i, s]
    uIn = leading(unfold(wOut, rOut, i, s, 1), rIn);
  }
  const core = project(w, o, i, s, uOut, uIn);
  let total = 0;
  for (let k = 0; k < o * i * s; k++) total += w[k] * w[k];
  let kept = 0;
  for (const v of core) kept += v * v; // orthonormal factors: ‖W − approx‖² = ‖W‖² − ‖core‖²
  return { uOut: Float64Array.from(uOut.to1DArray()), uIn: Float64Array.from(uIn.to1DArray()), core, rOut, rIn, error: total > 0 ? Math.max(0, total - kept) / total : 0 };
}

export interface CpFit {
  /** Factors [dₙ, R] row-major per mode (for a conv: Cout, Cin, kernel rows, kernel columns), columns balanced. */
  factors: Float64Array[];
  rank: number;
  /** ‖W − Ŵ‖² / ‖W‖² of the best iterate. */
  error: number;
  iterations: number;
  /** Set when ALS stopped improving or diverged (the known CP degeneracy): what happened. */
  warning?: string;
}

/**
 * CP decomposition by alternating least squares (Lebedev et al., ICLR 2015; Kolda and Bader, SIAM Review
 * 2009): W ≈ Σ_r ∘ₙ Fₙ[:, r]. Seeded Gaussian start; each sweep solves every mode's factor against the
 * others (MTTKRP times the pseudo-inverse of the Hadamard product of the other Gram matrices). Stops
 * when the error improves by less than `tolerance`, after `maxIterations` (the guard against ALS's
 * swamps and degenerate rank-R fits), and keeps the best iterate, saying so when the error rose.
 */
export function cpAls(w: ArrayLike<number>, dims: number[], rank: number, o: { maxIterations?: number; tolerance?: number; seed?: number } = {}): CpFit {
  const n = dims.length;
  const size = dims.reduce((a, b) => a * b, 1);
  const strides = dims.map((_, m) => dims.slice(m + 1).reduce((a, b) => a * b, 1));
  let state = (o.seed ?? 1) >>> 0;
  const gaussian = () => {
    // xorshift32 + Box-Muller: a seeded start, independent of the caller's generators.
    const u = () => { state ^= state << 13; state ^= state >>> 17; state ^= state << 5; return ((state >>> 0) + 1) / 4294967297; };
    return Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  };
  const factors = dims.map((d) => Float64Array.from({ length: d * rank }, gaussian));
  let norm2 = 0;
  for (let i = 0; i < size; i++) norm2 += w[i] * w[i];
  const gram = (f: Float64Array, d: number) => {
    const g = new Float64Array(rank * rank);
    for (let i = 0; i < d; i++) for (let a = 0; a < rank; a++) for (let b = 0; b < rank; b++) g[a * rank + b] += f[i * rank + a] * f[i * rank + b];
    return g;
  };
  /** M[i, r] = Σ over the other modes' indices of W · Π_{m≠mode} F_m[idx_m, r]. */
  const mttkrp = (mode: number) => {
    const out = new Float64Array(dims[mode] * rank);
    const idx = new Array<number>(n).fill(0);
    const prod = new Float64Array(rank);
    for (let flat = 0; flat < size; flat++) {
      const v = w[flat];
      if (v === 0) continue;
      for (let m = 0; m < n; m++) idx[m] = Math.floor(flat / strides[m]) % dims[m];
      prod.fill(v);
      for (let m = 0; m < n; m++) if (m !== mode) for (let r = 0; r < rank; r++) prod[r] *= factors[m][idx[m] * rank + r];
      const row = idx[mode] * rank;
      for (let r = 0; r < rank; r++) out[row + r] += prod[r];
    }
    return out;
  };
  let best = { error: Infinity, factors: factors.map((f) => f.slice()), iteration: 0 };
  let previous = Infinity;
  let iterations = 0;
  let rose = false;
  const maxIterations = o.maxIterations ?? 100;
  for (; iterations < maxIterations; iterations++) {
    let m = new Float64Array(0);
    for (let mode = 0; mode < n; mode++) {
      const h = new Float64Array(rank * rank).fill(1);
      for (let k = 0; k < n; k++) if (k !== mode) gram(factors[k], dims[k]).forEach((v, i) => { h[i] *= v; });
      m = mttkrp(mode);
      const solved = new Matrix(Array.from({ length: dims[mode] }, (_, i) => Array.from(m.subarray(i * rank, (i + 1) * rank)))).mmul(pseudoInverse(new Matrix(Array.from({ length: rank }, (_, a) => Array.from(h.subarray(a * rank, (a + 1) * rank))))));
      factors[mode] = Float64Array.from(solved.to1DArray());
    }
    // ‖W − Ŵ‖² = ‖W‖² − 2⟨W, Ŵ⟩ + ‖Ŵ‖², with ⟨W, Ŵ⟩ from the last mode's MTTKRP.
    const last = n - 1;
    let inner = 0;
    for (let i = 0; i < m.length; i++) inner += m[i] * factors[last][i];
    const h = new Float64Array(rank * rank).fill(1);
    for (let k = 0; k < n; k++) gram(factors[k], dims[k]).forEach((v, i) => { h[i] *= v; });
    const approx2 = h.reduce((a, b) => a + b, 0);
    const error = norm2 > 0 ? Math.max(0, norm2 - 2 * inner + approx2) / norm2 : 0;
    if (!Number.isFinite(error)) break;
    if (error < best.error) best = { error, factors: factors.map((f) => f.slice()), iteration: iterations + 1 };
    else if (error > previous * (1 + 1e-6)) rose = true;
    if (Math.abs(previous - error) < (o.tolerance ?? 1e-9)) { iterations++; break; }
    previous = error;
  }
  // Balance the columns: each mode's factor gets λ_r^(1/n) of the rank-one term's scale.
  const out = best.factors;
  for (let r = 0; r < rank; r++) {
    const norms = out.map((f, mode) => Math.sqrt(Array.from({ length: dims[mode] }, (_, i) => f[i * rank + r] ** 2).reduce((a, b) => a + b, 0)));
    const scale = Math.pow(norms.reduce((a, b) => a * b, 1), 1 / n);
    out.forEach((f, mode) => { if (norms[mode] > 0) for (let i = 0; i < dims[mode]; i++) f[i * rank + r] *= scale / norms[mode]; });
  }
  const warning = !Number.isFinite(best.error) ? 'CP-ALS diverged (non-finite error)' : rose ? `CP-ALS error rose during the sweeps (a degenerate fit); the best iterate (${best.iteration}) is kept` : iterations >= maxIterations ? `CP-ALS stopped at ${maxIterations} iterations before converging` : undefined;
  return { factors: out, rank, error: best.error, iterations, ...(warning ? { warning } : {}) };
}
