// Quantization parameters and range calibration (host, float64): the grid of a bit width, scale and zero
// point of a range (symmetric or asymmetric), and the four calibrators PTQ tools offer — min/max, a
// percentile of |x|, entropy (TensorRT's KL-divergence calibration: Migacz, "8-bit Inference with
// TensorRT", GTC 2017) and the threshold of least quantization MSE — over a histogram of |x| that
// calibration batches accumulate into.

import { grid } from '../model/quantization.js';

export { grid };

/**
 * Scale and zero point for [lo, hi] (widened to include 0, so 0 is exact): symmetric maps ±max|x| to
 * the signed grid with zero point 0; asymmetric maps lo..hi onto the unsigned grid, zero point rounded.
 */
export function qparams(lo: number, hi: number, bits: number, symmetric: boolean): { scale: number; zeroPoint: number } {
  const g = grid(bits, symmetric);
  [lo, hi] = [Math.min(lo, 0), Math.max(hi, 0)];
  if (symmetric) {
    const m = Math.max(-lo, hi);
    return { scale: m > 0 ? m / g.qmax : 1, zeroPoint: 0 };
  }
  const scale = hi > lo ? (hi - lo) / (g.qmax - g.qmin) : 1;
  return { scale, zeroPoint: Math.min(g.qmax, Math.max(g.qmin, Math.round(g.qmin - lo / scale))) };
}

/** A histogram of |x| over [0, max] in `bins` bins; the range grows (rebinning) as larger values arrive. */
export class AbsHistogram {
  counts: Float64Array;
  max = 0;
  /** Signed extremes seen (for min/max calibration). */
  lo = Infinity;
  hi = -Infinity;
  /** Σ|x| and the count (a binary quantizer's scale is the mean |x|). */
  absSum = 0;
  count = 0;

  constructor(readonly bins = 2048) { this.counts = new Float64Array(bins); }

  add(values: ArrayLike<number>): void {
    let m = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < this.lo) this.lo = v;
      if (v > this.hi) this.hi = v;
      m = Math.max(m, Math.abs(v));
      this.absSum += Math.abs(v);
    }
    this.count += values.length;
    if (m > this.max) this.rebin(m);
    const width = this.max / this.bins;
    for (let i = 0; i < values.length; i++) this.counts[Math.min(this.bins - 1, width > 0 ? Math.floor(Math.abs(values[i]) / width) : 0)]++;
  }

  /** Stretches the range to `max` (a power-of-two multiple of the old one, so old bins merge exactly). */
  private rebin(max: number): void {
    if (this.max === 0) { this.max = max; return; }
    let factor = 1;
    while (this.max * factor < max) factor *= 2;
    const merged = new Float64Array(this.bins);
    this.counts.forEach((c, b) => { merged[Math.floor(b / factor)] += c; });
    this.counts = merged;
    this.max *= factor;
  }

  /** The upper edge of bin b. */
  edge(b: number): number { return ((b + 1) * this.max) / this.bins; }
}

/** The smallest bin edge below which `p` percent of the |x| counts lie. */
export function percentileThreshold(h: AbsHistogram, p: number): number {
  if (!(p > 0 && p <= 100)) throw new Error(`calibration: percentile must be in (0, 100], got ${p}`);
  const total = h.counts.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let b = 0; b < h.bins; b++) {
    acc += h.counts[b];
    if (acc >= (p / 100) * total * (1 - 1e-12)) return h.edge(b);
  }
  return h.max;
}

/**
 * TensorRT's entropy calibration: for each candidate threshold (bin i ≥ levels), P = the histogram up to i
 * with the outliers folded into its last bin, Q = P quantized to `levels` levels (each level's mass spread
 * over its nonzero bins); the threshold of least KL(P ‖ Q). As NVIDIA's pytorch-quantization calibrator
 * does, the zero bin counts as much as the next one, so that a ReLU's spike of exact zeros does not
 * dominate the divergence; a candidate whose Q misses mass P has (infinite divergence) is not taken.
 */
export function entropyThreshold(h: AbsHistogram, levels = 128): number {
  let best = { kl: Infinity, i: h.bins };
  const counts = Float64Array.from(h.counts);
  if (counts.length > 1) counts[0] = counts[1];
  for (let i = levels; i <= h.bins; i++) {
    const p = Array.from(counts.subarray(0, i));
    for (let b = i; b < h.bins; b++) p[i - 1] += counts[b];
    const q = new Array<number>(i).fill(0);
    const per = i / levels;
    for (let l = 0; l < levels; l++) {
      const [from, to] = [Math.floor(l * per), Math.floor((l + 1) * per)];
      let mass = 0, nonzero = 0;
      for (let b = from; b < to; b++) { mass += counts[b]; if (counts[b] > 0) nonzero++; }
      for (let b = from; b < to; b++) if (counts[b] > 0) q[b] = mass / nonzero;
    }
    const [sp, sq] = [p.reduce((a, b) => a + b, 0), q.reduce((a, b) => a + b, 0)];
    if (sp === 0 || sq === 0) continue;
    let kl = 0;
    for (let b = 0; b < i; b++) {
      if (p[b] === 0) continue;
      if (q[b] === 0) { kl = Infinity; break; }
      kl += (p[b] / sp) * Math.log((p[b] / sp) / (q[b] / sq));
    }
    if (kl < best.kl) best = { kl, i };
  }
  return h.edge(best.i - 1);
}

/** The threshold (a bin edge) whose symmetric `bits` grid gives the least expected squared error over the histogram. */
export function mseThreshold(h: AbsHistogram, bits: number): number {
  const g = grid(bits, true);
  let best = { err: Infinity, t: h.max };
  for (let i = 1; i <= h.bins; i++) {
    const t = h.edge(i - 1);
    const step = t / g.qmax;
    let err = 0;
    for (let b = 0; b < h.bins; b++) {
      if (h.counts[b] === 0) continue;
      const v = (b + 0.5) * (h.max / h.bins); // bin centre
      const q = Math.min(Math.round(v / step), g.qmax) * step;
      err += h.counts[b] * (v - q) ** 2;
    }
    if (err < best.err) best = { err, t };
  }
  return best.t;
}

/** Signal-to-quantization-noise ratio in dB: 10 log10(Σx² / Σ(x − x̃)²). */
export function sqnr(x: ArrayLike<number>, quantized: ArrayLike<number>): number {
  let s = 0, n = 0;
  for (let i = 0; i < x.length; i++) { s += x[i] * x[i]; n += (x[i] - quantized[i]) ** 2; }
  return n === 0 ? Infinity : 10 * Math.log10(s / n);
}
