// Rank selection by empirical variational Bayesian matrix factorization (EVBMF): the rank a Bayesian
// low-rank model of `signal + Gaussian noise` keeps, with the noise variance estimated from the
// spectrum itself, so no threshold is chosen by hand. The global analytic solution of Nakajima,
// Sugiyama, Babacan and Tomioka, "Global analytic solution of fully-observed variational Bayesian
// matrix factorization", JMLR 14 (2013): for an L×M matrix (L ≤ M, α = L/M) with singular values γ_h,
//   x_h = γ_h² / (M σ²),  τ(x) = ½ (x − (1 + α) + √((x − (1 + α))² − 4α)),  x̄ = (1 + τ̄)(1 + α/τ̄),
// where τ̄ ≈ 2.5129 √α (the zero of the paper's Ψ function, its Section 4 approximation);
// a component is kept when x_h > x̄, i.e. γ_h > √(M σ² x̄), and σ² minimises the free energy
//   Ω(σ²) = Σ_h ψ0(x_h) + Σ_{x_h > x̄} ψ1(x_h),  ψ0(x) = x − log x,
//   ψ1(x) = log(τ(x) + 1) + α log(τ(x)/α + 1) − τ(x),
// over [the smallest variance the largest possible EVB rank allows, Σγ²/(LM) (everything noise)].
// Kim et al. (ICLR 2016) choose Tucker-2 ranks this way on the two channel unfoldings of each kernel.

/** The EVBMF rank of an L×M (or M×L) matrix from its singular values (all min(rows, cols) of them), and the noise variance estimated. */
export function vbmfRank(sigma: readonly number[], rows: number, cols: number): { rank: number; noiseVariance: number; threshold: number } {
  const L = Math.min(rows, cols), M = Math.max(rows, cols);
  if (sigma.length !== L) throw new Error(`vbmf: a ${rows}x${cols} matrix has ${L} singular values, got ${sigma.length}`);
  const top = sigma.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  if (top === 0) return { rank: 0, noiseVariance: 0, threshold: 0 };
  // Exactly zero singular values (a pruned or rank-deficient weight) get a floor far below the rest, so log x stays finite.
  const g2 = sigma.map((v) => Math.max(v * v, top * top * 1e-24)).sort((a, b) => b - a);
  const alpha = L / M;
  const tauBar = 2.5129 * Math.sqrt(alpha);
  const xBar = (1 + tauBar) * (1 + alpha / tauBar);
  const tau = (x: number) => 0.5 * (x - (1 + alpha) + Math.sqrt(Math.max((x - (1 + alpha)) ** 2 - 4 * alpha, 0)));
  const freeEnergy = (s2: number) => {
    let sum = 0;
    for (const g of g2) {
      const x = g / (M * s2);
      sum += x - Math.log(x);
      if (x > xBar) { const t = tau(x); sum += Math.log(t + 1) + alpha * Math.log(t / alpha + 1) - t; }
    }
    return sum;
  };
  // The EVB rank is below ⌈L/(1+α)⌉ (the paper's bound), which bounds σ² from below.
  const maxRank = Math.min(Math.ceil(L / (1 + alpha)) - 1, L);
  const tail = g2.slice(maxRank);
  const upper = g2.reduce((s, v) => s + v, 0) / (L * M);
  const lower = Math.min(upper, Math.max(tail.length ? tail[0] / (M * xBar) : 0, tail.length ? tail.reduce((s, v) => s + v, 0) / tail.length / M : 0));
  const noiseVariance = minimiseLog(freeEnergy, Math.max(lower, upper * 1e-12), upper);
  const threshold = Math.sqrt(M * noiseVariance * xBar);
  return { rank: g2.filter((g) => g > threshold * threshold).length, noiseVariance, threshold };
}

/**
 * The minimiser of f on [lo, hi] searched over log σ²: a grid (Ω need not be unimodal: each component
 * crossing the threshold adds a kink), then golden-section search between the best grid point's neighbours.
 */
function minimiseLog(f: (v: number) => number, lo: number, hi: number): number {
  if (!(hi > lo)) return hi;
  const [a0, b0] = [Math.log(lo), Math.log(hi)];
  const GRID = 200;
  let best = 0, bestValue = Infinity;
  for (let k = 0; k <= GRID; k++) {
    const v = f(Math.exp(a0 + ((b0 - a0) * k) / GRID));
    if (v < bestValue) { best = k; bestValue = v; }
  }
  let a = a0 + ((b0 - a0) * Math.max(best - 1, 0)) / GRID, b = a0 + ((b0 - a0) * Math.min(best + 1, GRID)) / GRID;
  const phi = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 60 && b - a > 1e-10; it++) {
    const c = b - phi * (b - a), d = a + phi * (b - a);
    if (f(Math.exp(c)) < f(Math.exp(d))) b = d; else a = c;
  }
  return Math.exp((a + b) / 2);
}
