// Mode `tiled` (the default): the GEMM is cut into SRAM-sized tiles (tp x tk x tm) visited in one of six
// loop orders. Folds inside a tile are pipelined (one fill and drain per tile), partial sums stay in the
// output SRAM, DRAM traffic follows the reuse the loop order allows under the SRAM capacities, and
// double-buffered prefetch stalls only when DRAM time exceeds compute time.
//
// Every count is an unsigned 32-bit integer that saturates at 2^32 - 1, computed with the helpers below,
// so that shaders/tile-scheduler.wgsl evaluates the same candidates with identical results.
import { type AcceleratorConfig, type Precision, sramWords } from './config.js';
import { macScale, packedBinary, packedMacScale, registerFileScale, widthUnits } from './widths.js';
import { type LayerWorkload, gemmOf } from './workload.js';

export const U32_MAX = 0xffffffff;
export const mul = (a: number, b: number) => Math.min(a * b, U32_MAX);
export const add = (a: number, b: number) => Math.min(a + b, U32_MAX);
export const ceilDiv = (a: number, b: number) => Math.floor((a + b - 1) / b);

/** Loop orders, outermost first. */
export const LOOP_ORDERS = ['pkm', 'pmk', 'kpm', 'kmp', 'mpk', 'mkp'] as const;
export type LoopOrder = (typeof LOOP_ORDERS)[number];

export interface Tiling { tp: number; tk: number; tm: number; order: LoopOrder }

/** Integer counts of one candidate (per group GEMM; multiply by repeats for the layer). */
export interface TileCounts {
  fits: boolean;
  computeCycles: number;
  dramCycles: number;
  prologueCycles: number;
  stallCycles: number;
  cycles: number;
  /** Sum over folds of PEs used (for mapping efficiency) and the number of folds. */
  usedPeFolds: number;
  folds: number;
  macs: number;
  registerFile: number;
  sramIfmapReads: number; sramFilterReads: number; sramOfmapReads: number; sramOfmapWrites: number;
  sramIfmapWrites: number; sramFilterWrites: number;
  dramIfmapReads: number; dramFilterReads: number; dramOfmapReads: number; dramOfmapWrites: number;
}

/** Layer and array numbers the evaluation needs, flattened (the GPU kernel receives the same). */
export interface TileProblem {
  P: number; K: number; M: number;
  ofmapW: number; ifmapH: number; ifmapW: number; filterH: number; filterW: number; strideH: number; strideW: number; channels: number;
  rows: number; cols: number; dataflow: 0 | 1 | 2; // os, ws, is
  /** SRAM capacities in values: inputs, weights and partial sums at their widths. */
  ifmapWords: number; filterWords: number; ofmapWords: number;
  /** DRAM bandwidth in width units (widths.ts) per 16 cycles (an integer, so DRAM time is exact). */
  bandwidthPer16: number;
  /** N:M sparsity skipped on the weight side: kept n of every m (n = m = 1 for dense). */
  sparseN: number; sparseM: number;
  /** Widths in units of activations (inputs), weights, partial sums and the final outputs. */
  activationUnits: number; weightUnits: number; psumUnits: number; outputUnits: number;
  /** Integer energy weights in femtojoules: per MAC, per register-file access, per SRAM and per DRAM unit. */
  energy: [number, number, number, number];
  /** The layer's widths and the counting unit in bits (host side; the kernels take the units). */
  precision: Precision; unitBits: number;
  /** Binary MACs per PE per cycle (packed XNOR-popcount; 1 otherwise): the GEMM's K counts packed words. */
  pack: number;
}

const DATAFLOWS = { os: 0, ws: 1, is: 2 } as const;

export function tileProblem(c: AcceleratorConfig, layer: LayerWorkload): TileProblem {
  if (layer.vector) throw new Error(`layer '${layer.name}' is a vector pass (${layer.vector.op}), not a GEMM: it has no tiling`);
  const { layer: l, pack, precision: bits, outputBits } = packedBinary(c, layer);
  const { P, K, M } = gemmOf(l);
  const units = widthUnits(c, bits, outputBits);
  const sram = sramWords(c, bits);
  const fj = (pj: number) => Math.max(1, Math.round(pj * 1000));
  // N:M hardware skips pruned weights only for layers whose weights conform (assumption: like NVIDIA's
  // sparse tensor cores, the array compresses K by n/m and stores only kept weights; metadata is free).
  const sparse = c.sparsity && l.sparsity && l.sparsity.n * c.sparsity.m <= c.sparsity.n * l.sparsity.m ? c.sparsity : undefined;
  return {
    P, K, M, ofmapW: l.ofmapW, ifmapH: l.ifmapH, ifmapW: l.ifmapW, filterH: l.filterH, filterW: l.filterW,
    strideH: l.strideH, strideW: l.strideW, channels: l.channels,
    rows: c.rows, cols: c.cols, dataflow: DATAFLOWS[c.dataflow],
    ifmapWords: sram.ifmap, filterWords: sram.filter, ofmapWords: sram.ofmap,
    bandwidthPer16: Math.max(1, Math.round(c.dramBandwidth * 16)) * units.word,
    sparseN: sparse?.n ?? 1, sparseM: sparse?.m ?? 1,
    activationUnits: units.activations, weightUnits: units.weights, psumUnits: units.psums, outputUnits: units.outputs, precision: bits, unitBits: units.unitBits, pack,
    energy: [
      fj(c.energy.mac * (pack > 1 ? packedMacScale(c, pack, bits.psums) : macScale(c, bits))), fj(c.energy.registerFile * registerFileScale(c, bits)),
      fj((c.energy.sram * units.unitBits) / (c.wordBytes * 8)), fj((c.energy.dram * units.unitBits) / (c.wordBytes * 8)),
    ],
  };
}

/**
 * SRAM and DRAM traffic of a candidate in width units: inputs at the activation width, weights at theirs,
 * partial sums at theirs; of the output written to DRAM, the final values at the output width (the
 * activation width: the output stage requantizes; one bit for a binary layer) and any spilled partial
 * sums at the partial-sum width.
 */
export function trafficUnits(q: TileProblem, t: Pick<TileCounts, 'sramIfmapReads' | 'sramIfmapWrites' | 'sramFilterReads' | 'sramFilterWrites' | 'sramOfmapReads' | 'sramOfmapWrites' | 'dramIfmapReads' | 'dramFilterReads' | 'dramOfmapReads' | 'dramOfmapWrites'>): { sram: number; dram: number } {
  const sram = add(add(mul(add(t.sramIfmapReads, t.sramIfmapWrites), q.activationUnits), mul(add(t.sramFilterReads, t.sramFilterWrites), q.weightUnits)), mul(add(t.sramOfmapReads, t.sramOfmapWrites), q.psumUnits));
  return { sram, dram: dramUnits(q, [t.dramIfmapReads, t.dramFilterReads, t.dramOfmapReads, t.dramOfmapWrites]) };
}

/**
 * Energy in picojoules of a candidate's counts at the layer's widths: the table's MAC and register-file
 * energies scaled by width, SRAM and DRAM by the units moved (exact floats; the integer weights of the
 * problem only rank candidates); and the DRAM bytes it moves.
 */
export function countsEnergy(c: AcceleratorConfig, q: TileProblem, t: TileCounts): { mac: number; registerFile: number; sram: number; dram: number; dramBytes: number } {
  const traffic = trafficUnits(q, t);
  const perUnit = q.unitBits / (c.wordBytes * 8);
  return {
    mac: t.macs * c.energy.mac * (q.pack > 1 ? packedMacScale(c, q.pack, q.precision.psums) : macScale(c, q.precision)), registerFile: t.registerFile * c.energy.registerFile * registerFileScale(c, q.precision),
    sram: traffic.sram * c.energy.sram * perUnit, dram: traffic.dram * c.energy.dram * perUnit, dramBytes: (traffic.dram * q.unitBits) / 8,
  };
}

/** DRAM units of (ifmap reads, filter reads, ofmap reads, ofmap writes). */
function dramUnits(q: TileProblem, d: readonly number[]): number {
  const outputs = mul(q.P, q.M);
  const spilled = add(d[2], d[3] > outputs ? d[3] - outputs : 0);
  return add(add(mul(d[0], q.activationUnits), mul(d[1], q.weightUnits)), add(mul(spilled, q.psumUnits), mul(outputs, q.outputUnits)));
}

/** Words of the input feature map that a tile of tp output pixels and tk window taps reads. */
export function ifmapTileWords(q: TileProblem, tp: number, tk: number): number {
  const taps = q.filterH * q.filterW;
  const channels = Math.min(q.channels, ceilDiv(tk, taps));
  const wo = q.ofmapW;
  let rows = q.filterH;
  let cols = Math.min(q.ifmapW, (Math.min(tp, wo) - 1) * q.strideW + q.filterW);
  if (tp >= wo) {
    rows = Math.min(q.ifmapH, (ceilDiv(tp, wo) - 1) * q.strideH + q.filterH);
    cols = Math.min(q.ifmapW, (wo - 1) * q.strideW + q.filterW);
  }
  return Math.min(mul(tp, tk), mul(mul(rows, cols), channels));
}

/** Input words the layer touches at all: no tiling can read less from DRAM. */
export function compulsoryIfmapWords(q: TileProblem): number {
  const ofmapH = ceilDiv(q.P, q.ofmapW);
  const rows = Math.min(q.ifmapH, (ofmapH - 1) * q.strideH + q.filterH);
  const cols = Math.min(q.ifmapW, (q.ofmapW - 1) * q.strideW + q.filterW);
  return Math.min(mul(q.P, q.K), mul(mul(rows, cols), q.channels));
}

/** Each loop order's dimensions, outermost first, as p = 0, k = 1, m = 2 (the shader's table). */
const ORDER_DIMS = LOOP_ORDERS.map((o) => [...o].map((d) => 'pkm'.indexOf(d)));
/** Operands by the dimensions they use, as bit masks: ifmap p, k; filter k, m; ofmap p, m. */
const USES = { ifmap: 0b011, filter: 0b110, ofmap: 0b101 } as const;

/** Fetch multiplier of an operand: product of the trip counts of loops it does not depend on that sit outside its innermost loop it does depend on. */
function refetch(orderIndex: number, trips: readonly number[], uses: number): number {
  const dims = ORDER_DIMS[orderIndex];
  let innermost = -1;
  for (let i = 0; i < 3; i++) if ((uses >> dims[i]) & 1) innermost = i;
  let f = 1;
  for (let i = 0; i < innermost; i++) if (!((uses >> dims[i]) & 1)) f = mul(f, trips[dims[i]]);
  return f;
}

/** Cycles and array-edge SRAM reads of one tile (tp, tk, tm); tk already shrunk by sparsity. */
function tileCompute(q: TileProblem, tp: number, tk: number, tm: number) {
  const [R, C] = [q.rows, q.cols];
  const [sr, sc, t] = q.dataflow === 0 ? [tp, tm, tk] : q.dataflow === 1 ? [tk, tm, tp] : [tk, tp, tm];
  const rowFolds = ceilDiv(sr, R), colFolds = ceilDiv(sc, C);
  const folds = mul(rowFolds, colFolds);
  // Pipelined folds: one fill and drain per tile. ws and is load the stationary operand, R cycles per
  // fold, hidden behind the previous fold's streaming when it lasts at least R cycles.
  const perFold = q.dataflow === 0 ? t : Math.max(t, R);
  const cycles = add(mul(folds, perFold), R + C - 2);
  const ifmap = q.dataflow === 2 ? mul(tk, tp) : mul(mul(tp, tk), ceilDiv(tm, C));
  const filter = q.dataflow === 0 ? mul(mul(tk, tm), ceilDiv(tp, R)) : q.dataflow === 1 ? mul(tk, tm) : mul(mul(tm, tk), ceilDiv(tp, C));
  // Partial-sum updates in the output SRAM: one per output per row fold of K (os accumulates in the PEs).
  const psumUpdates = mul(mul(tp, tm), q.dataflow === 0 ? 1 : rowFolds);
  return { cycles, folds, usedPeFolds: mul(sr, sc), ifmap, filter, psumUpdates };
}

/** What a tiling (tp, tk, tm) costs whatever the loop order: capacity, compute and array-edge SRAM reads. */
interface TileTotals {
  fits: boolean; ifTile: number; kEff: number; tkEff: number;
  /** Trip counts along p, k, m. */
  trips: [number, number, number];
  computeCycles: number; usedPeFolds: number; folds: number; ifmap: number; filter: number; psum: number;
}

function fitsSram(q: TileProblem, tp: number, tk: number, tm: number): boolean {
  const tkEff = ceilDiv(mul(tk, q.sparseN), q.sparseM);
  return mul(2, ifmapTileWords(q, tp, tk)) <= q.ifmapWords && mul(2, mul(tkEff, tm)) <= q.filterWords && mul(2, mul(tp, tm)) <= q.ofmapWords;
}

function tileTotals(q: TileProblem, tp: number, tk: number, tm: number): TileTotals {
  const kEff = ceilDiv(mul(q.K, q.sparseN), q.sparseM);
  const tkEff = ceilDiv(mul(tk, q.sparseN), q.sparseM);
  const ifTile = ifmapTileWords(q, tp, tk);
  const fits = fitsSram(q, tp, tk, tm);
  const trips: [number, number, number] = [ceilDiv(q.P, tp), ceilDiv(q.K, tk), ceilDiv(q.M, tm)];

  // Full tiles and the ragged remainder along each dimension, 2 x 2 x 2 combinations.
  let computeCycles = 0, usedPeFolds = 0, folds = 0, ifmap = 0, filter = 0, psum = 0;
  for (let rp = 0; rp < 2; rp++)
    for (let rk = 0; rk < 2; rk++)
      for (let rm = 0; rm < 2; rm++) {
        const [p, np] = rp ? [q.P % tp, q.P % tp ? 1 : 0] : [tp, Math.floor(q.P / tp)];
        const [k, nk] = rk ? [q.K % tk, q.K % tk ? 1 : 0] : [tk, Math.floor(q.K / tk)];
        const [m, nm] = rm ? [q.M % tm, q.M % tm ? 1 : 0] : [tm, Math.floor(q.M / tm)];
        const n = mul(mul(np, nk), nm);
        if (n === 0) continue;
        const t = tileCompute(q, p, ceilDiv(mul(k, q.sparseN), q.sparseM), m);
        computeCycles = add(computeCycles, mul(n, t.cycles));
        usedPeFolds = add(usedPeFolds, mul(n, t.usedPeFolds));
        folds = add(folds, mul(n, t.folds));
        ifmap = add(ifmap, mul(n, t.ifmap));
        filter = add(filter, mul(n, t.filter));
        psum = add(psum, mul(n, t.psumUpdates));
      }
  return { fits, ifTile, kEff, tkEff, trips, computeCycles, usedPeFolds, folds, ifmap, filter, psum };
}

/** DRAM words of a tiling in one loop order (ifmap, filter, ofmap reads, ofmap writes): the reuse the order allows. */
function dramOf(q: TileProblem, a: TileTotals, orderIndex: number): [number, number, number, number] {
  const outputs = mul(q.P, q.M);
  const spills = refetch(orderIndex, a.trips, USES.ofmap); // partial sums leave the chip when K is split outside them
  return [
    mul(mul(mul(a.trips[0], a.trips[1]), a.ifTile), refetch(orderIndex, a.trips, USES.ifmap)),
    mul(mul(a.kEff, q.M), refetch(orderIndex, a.trips, USES.filter)),
    mul(outputs, spills - 1),
    mul(outputs, spills),
  ];
}

/** Cycles to fetch the first input and filter tiles before compute starts. */
const prologueOf = (q: TileProblem, ifTile: number, tkEff: number, tm: number) => ceilDiv(mul(add(mul(ifTile, q.activationUnits), mul(mul(tkEff, tm), q.weightUnits)), 16), q.bandwidthPer16);

/** Cycles of a tiling given its DRAM traffic in units: double-buffered prefetch stalls only when DRAM time exceeds compute time. */
function cyclesOf(q: TileProblem, a: TileTotals, tm: number, dramTraffic: number) {
  const dramCycles = ceilDiv(mul(dramTraffic, 16), q.bandwidthPer16);
  const prologueCycles = prologueOf(q, a.ifTile, a.tkEff, tm);
  const stallCycles = dramCycles > a.computeCycles ? dramCycles - a.computeCycles : 0;
  return { dramCycles, prologueCycles, stallCycles, cycles: add(add(prologueCycles, a.computeCycles), stallCycles) };
}

/** The counts of a tiling in one loop order. */
function withOrder(q: TileProblem, tm: number, a: TileTotals, orderIndex: number): TileCounts {
  const [dramIfmapReads, dramFilterReads, dramOfmapReads, dramOfmapWrites] = dramOf(q, a, orderIndex);
  const outputs = mul(q.P, q.M);
  const macs = mul(mul(q.P, a.kEff), q.M);
  return {
    fits: a.fits, computeCycles: a.computeCycles,
    ...cyclesOf(q, a, tm, dramUnits(q, [dramIfmapReads, dramFilterReads, dramOfmapReads, dramOfmapWrites])),
    usedPeFolds: a.usedPeFolds, folds: a.folds, macs,
    // Each MAC reads two operands from PE registers and updates one partial sum.
    registerFile: mul(3, macs),
    sramIfmapReads: a.ifmap, sramFilterReads: a.filter,
    sramOfmapWrites: add(a.psum, dramOfmapReads),
    sramOfmapReads: add(a.psum - outputs > 0 ? a.psum - outputs : 0, dramOfmapWrites),
    sramIfmapWrites: dramIfmapReads, sramFilterWrites: dramFilterReads,
    dramIfmapReads, dramFilterReads, dramOfmapReads, dramOfmapWrites,
  };
}

/** Integer counts of one candidate tiling of one group's GEMM. */
export function evaluateCandidate(q: TileProblem, tp: number, tk: number, tm: number, orderIndex: number): TileCounts {
  return withOrder(q, tm, tileTotals(q, tp, tk, tm), orderIndex);
}

/**
 * Candidate tile sizes along a dimension of extent D: 2^i (i = 0..), then, for an array extent that is
 * not a power of two, arrayDim * 2^j (j = 0..); each capped at D. Sizes capped to D repeat; they are
 * kept so that the GPU kernel decodes an index the same way.
 */
export function tileSizeCount(extent: number, arrayDim: number): [number, number] {
  const powerOfTwo = (arrayDim & (arrayDim - 1)) === 0;
  return [ceilLog2(extent) + 1, powerOfTwo ? 0 : ceilLog2(ceilDiv(extent, arrayDim)) + 1];
}

/** ceil(log2 x), as the shader computes it. */
const ceilLog2 = (x: number) => (x <= 1 ? 0 : 32 - Math.clz32(x - 1));
const sizeChoices = (extent: number, arrayDim: number) => {
  const [a, b] = tileSizeCount(extent, arrayDim);
  return a + b;
};

export function tileSizeAt(extent: number, arrayDim: number, index: number): number {
  const [powers] = tileSizeCount(extent, arrayDim);
  return Math.min(extent, index < powers ? 2 ** index : mul(arrayDim, 2 ** (index - powers)));
}

/** The array extent each GEMM dimension maps onto (1 where it is temporal). */
export function arrayDims(q: TileProblem): { p: number; k: number; m: number } {
  if (q.dataflow === 0) return { p: q.rows, k: 1, m: q.cols };
  if (q.dataflow === 1) return { p: 1, k: q.rows, m: q.cols };
  return { p: q.cols, k: q.rows, m: 1 };
}

/** Number of candidates, and candidate `index` decoded: order fastest, then m, k, p sizes. */
export function candidateCount(q: TileProblem): number {
  const d = arrayDims(q);
  return sizeChoices(q.P, d.p) * sizeChoices(q.K, d.k) * sizeChoices(q.M, d.m) * LOOP_ORDERS.length;
}

export function candidateAt(q: TileProblem, index: number): Tiling & { orderIndex: number } {
  const d = arrayDims(q);
  const [nk, nm] = [sizeChoices(q.K, d.k), sizeChoices(q.M, d.m)];
  const orderIndex = index % 6;
  let rest = Math.floor(index / 6);
  const im = rest % nm; rest = Math.floor(rest / nm);
  const ik = rest % nk; const ip = Math.floor(rest / nk);
  return {
    tp: tileSizeAt(q.P, d.p, ip), tk: tileSizeAt(q.K, d.k, ik), tm: tileSizeAt(q.M, d.m, im),
    order: LOOP_ORDERS[orderIndex], orderIndex,
  };
}

export type Objective = 'latency' | 'energy' | 'edp' | 'dram';

export function dramAccesses(t: TileCounts): number {
  return t.dramIfmapReads + t.dramFilterReads + t.dramOfmapReads + t.dramOfmapWrites;
}

/**
 * The scheduler's score, exact: cycles; DRAM traffic in width units; energy in femtojoules (64-bit); or
 * energy x cycles (96-bit). Non-fitting candidates score 2^96 - 1. The sums saturate like the GPU's.
 */
export function score(q: TileProblem, t: TileCounts, objective: Objective): bigint {
  const MAX96 = (1n << 96n) - 1n;
  if (!t.fits) return MAX96;
  if (objective === 'latency') return BigInt(t.cycles);
  const { sram, dram } = trafficUnits(q, t);
  if (objective === 'dram') return BigInt(dram);
  const energy = [t.macs, t.registerFile, sram, dram].reduce((e, count, i) => e + BigInt(count) * BigInt(q.energy[i]), 0n);
  return objective === 'energy' ? energy : energy * BigInt(t.cycles);
}

export interface Scheduled { index: number; tiling: Tiling; counts: TileCounts; candidates: number }

/**
 * CPU reference scheduler: the best score over every candidate (lowest index on ties), as the GPU
 * kernel picks it. Tilings that overflow an SRAM score 2^96 - 1 and cannot win unless none fits (an
 * error), so they are skipped; a tiling's order-independent part is computed once for its six orders;
 * for latency, tilings whose cycle lower bound cannot beat the best so far are skipped unevaluated.
 */
export function scheduleOnCpu(c: AcceleratorConfig, q: TileProblem, objective: Objective): Scheduled {
  const d = arrayDims(q);
  const [np, nk, nm] = [sizeChoices(q.P, d.p), sizeChoices(q.K, d.k), sizeChoices(q.M, d.m)];
  // Cycles and DRAM units are below 2^32: plain numbers compare them exactly.
  const numeric = objective === 'latency' || objective === 'dram';
  let best = -1;
  let bestNumber = Infinity;
  let bestBig = 0n;
  let bestTiling: { tp: number; tk: number; tm: number; o: number; totals: TileTotals } | undefined;
  const [R, C] = [q.rows, q.cols];
  // A lower bound on any tiling's compute cycles: every PE busy every cycle, plus each tile's fill and drain.
  const denseCycles = Math.floor((q.P * Math.ceil((q.K * q.sparseN) / q.sparseM) * q.M) / (R * C));
  const better = (s: number, index: number) => best < 0 || s < bestNumber || (s === bestNumber && index < best);
  // Large tiles first: they usually win, and the bounds below then skip most of the rest. A size capped
  // to the extent repeats at a higher index; the repeat scores the same and loses the tie, so it is skipped.
  const sizes = (extent: number, dim: number, n: number) => Array.from({ length: n }, (_, i) => tileSizeAt(extent, dim, i));
  const [tps, tks, tms] = [sizes(q.P, d.p, np), sizes(q.K, d.k, nk), sizes(q.M, d.m, nm)];
  for (let ip = np - 1; ip >= 0; ip--) {
    const tp = tps[ip];
    if (tps.indexOf(tp) !== ip) continue;
    for (let ik = nk - 1; ik >= 0; ik--) {
      const tk = tks[ik];
      if (tks.indexOf(tk) !== ik) continue;
      for (let im = nm - 1; im >= 0; im--) {
        const tm = tms[im];
        if (tms.indexOf(tm) !== im) continue;
        if (!fitsSram(q, tp, tk, tm)) continue;
        const first = ((ip * nk + ik) * nm + im) * LOOP_ORDERS.length;
        if (objective === 'latency' && best >= 0) {
          const tiles = ceilDiv(q.P, tp) * ceilDiv(q.K, tk) * ceilDiv(q.M, tm);
          const prologue = prologueOf(q, ifmapTileWords(q, tp, tk), ceilDiv(mul(tk, q.sparseN), q.sparseM), tm);
          if (!better(prologue + tiles * (R + C - 2) + denseCycles, first)) continue;
        }
        const totals = tileTotals(q, tp, tk, tm);
        // Stalls only add: a tiling whose prologue and compute alone cannot beat the best is not expanded.
        if (objective === 'latency' && best >= 0 && !better(cyclesOf(q, totals, tm, 0).cycles, first)) continue;
        for (let o = 0; o < LOOP_ORDERS.length; o++) {
          const index = first + o;
          if (numeric) {
            const traffic = dramUnits(q, dramOf(q, totals, o));
            const s = objective === 'latency' ? cyclesOf(q, totals, tm, traffic).cycles : traffic;
            if (better(s, index)) [best, bestNumber, bestTiling] = [index, s, { tp, tk, tm, o, totals }];
          } else {
            const s = score(q, withOrder(q, tm, totals, o), objective);
            if (best < 0 || s < bestBig || (s === bestBig && index < best)) [best, bestBig, bestTiling] = [index, s, { tp, tk, tm, o, totals }];
          }
        }
      }
    }
  }
  if (!bestTiling) throw new Error(`tiled mode: no tiling of a ${q.P}x${q.K}x${q.M} GEMM fits the SRAMs of this accelerator (even 1x1x1 tiles)`);
  const { tp, tk, tm, o, totals } = bestTiling;
  return { index: best, tiling: { tp, tk, tm, order: LOOP_ORDERS[o] }, counts: withOrder(q, tm, totals, o), candidates: np * nk * nm * LOOP_ORDERS.length };
}
