// What the array asks of its SRAMs, cycle by cycle, as SCALE-Sim v2 builds it (scalesim-project/
// scale-sim-v2 22f88b1, compute/operand_matrix.py and compute/systolic_compute_{os,ws,is}.py): per fold,
// each operand's demand is a block of its operand matrix laid on the array's lanes, padded with -1 for
// idle lanes, flipped, framed by idle cycles and skewed as the dataflow feeds it. Also the order in which
// each read buffer fetches its operand from DRAM (SCALE-Sim's prefetch matrices).
import type { Dataflow } from './config.js';
import type { LayerWorkload } from './workload.js';

/**
 * One GEMM's operands as SCALE-Sim addresses them (its operand matrices, without their offsets): the
 * filter word for tap k of filter m is m K + k, the ofmap word of pixel p and filter m is M p + m, and
 * the ifmap word a window reads is looked up in `ifmap` (P x K, row-major; -1 where the window leaves the
 * ifmap).
 */
export interface OperandAddresses {
  P: number; K: number; M: number;
  ifmap: Int32Array;
  /** Distinct ifmap and filter addresses: valid addresses are below these. */
  ifmapWords: number; filterWords: number;
}

/** One group of a layer (grouped layers repeat it): the taps run filter row, filter column, channel. */
export function operandAddresses(l: LayerWorkload): OperandAddresses {
  const P = l.ofmapH * l.ofmapW, K = l.filterH * l.filterW * l.channels, M = l.numFilters;
  const C = l.channels, W = l.ifmapW;
  const ifmap = new Int32Array(P * K);
  let i = 0;
  for (let oy = 0; oy < l.ofmapH; oy++) {
    for (let ox = 0; ox < l.ofmapW; ox++) {
      const iy = oy * l.strideH, ix = ox * l.strideW;
      for (let fy = 0; fy < l.filterH; fy++) {
        for (let fx = 0; fx < l.filterW; fx++) {
          const inside = iy + fy < l.ifmapH && ix + fx < W;
          const start = ((iy + fy) * W + ix + fx) * C;
          for (let ch = 0; ch < C; ch++) ifmap[i++] = inside ? start + ch : -1;
        }
      }
    }
  }
  return { P, K, M, ifmap, ifmapWords: l.ifmapH * W * C, filterWords: K * M };
}

/**
 * Where a block's element (r, c) comes from: index base + r rowStep + c colStep, looked up in `source`
 * (the ifmap's windows) or, without one, the address itself (filters and ofmap are laid out linearly).
 */
interface Lanes { source?: Int32Array; base: number; rowStep: number; colStep: number }

const element = (s: Lanes, r: number, c: number) => {
  const index = s.base + r * s.rowStep + c * s.colStep;
  return s.source ? s.source[index] : index;
};

/**
 * A fold's demand for one operand: `h` rows of `w` lanes (-1 past `usedRows` x `usedCols`), optionally
 * flipped top to bottom, after `prefix` and before `suffix` idle rows, optionally skewed (lane c delayed
 * c cycles).
 */
interface Block extends Lanes {
  h: number; w: number; usedRows: number; usedCols: number;
  flip?: boolean; prefix?: number; suffix?: number; skew?: boolean;
}

/**
 * A fold's demand for one operand, `rows` cycles long: its block of addresses (`h` x `w`, row-major, in
 * the order the array reads it, -1 idle) after `prefix` idle cycles; cycle i reads lane c of block row
 * i - prefix - c when skewed, else block row i - prefix whole. `row()` says where in `block` a cycle's
 * lanes lie: `count` entries from `start`, `stride` apart (a skewed row is an anti-diagonal of the block).
 */
export interface FoldDemand {
  rows: number; h: number; w: number; prefix: number; skew: boolean; block: Int32Array;
  start: number; count: number; stride: number;
  /** Sets start, count and stride to cycle i's lanes. */
  row(i: number): void;
}

/** Writes the block into `out` (a previous fold's demand of the same operand, whose shape it shares) or a new one. */
function blockDemand(b: Block, out?: FoldDemand): FoldDemand {
  const prefix = b.prefix ?? 0, skew = b.skew ?? false, { h, w } = b;
  const d: FoldDemand = out ?? {
    rows: prefix + h + (b.suffix ?? 0) + (skew ? w - 1 : 0), h, w, prefix, skew, block: new Int32Array(h * w), start: 0, count: 0, stride: 1,
    row(i) {
      const r = i - this.prefix;
      if (!this.skew) {
        const inside = r >= 0 && r < this.h;
        this.start = inside ? r * this.w : 0;
        this.count = inside ? this.w : 0;
        this.stride = 1;
        return;
      }
      const lo = Math.max(0, r - this.h + 1), hi = Math.min(this.w - 1, r);
      this.start = (r - lo) * this.w + lo;
      this.count = hi - lo + 1;
      this.stride = 1 - this.w;
    },
  };
  if (b.usedRows < h || b.usedCols < w) d.block.fill(-1);
  for (let r = 0; r < b.usedRows; r++) {
    const at = (b.flip ? h - 1 - r : r) * w;
    for (let c = 0; c < b.usedCols; c++) d.block[at + c] = element(b, r, c);
  }
  return d;
}

export interface Folds { rowFolds: number; colFolds: number; cyclesPerFold: number }

/** Folds and cycles per fold: (Sr, Sc, T) = os (P, M, K), ws (K, M, P), is (K, P, M). */
export function foldsOf(df: Dataflow, a: { P: number; K: number; M: number }, R: number, C: number): Folds {
  const [Sr, Sc, T] = df === 'os' ? [a.P, a.M, a.K] : df === 'ws' ? [a.K, a.M, a.P] : [a.K, a.P, a.M];
  return { rowFolds: Math.ceil(Sr / R), colFolds: Math.ceil(Sc / C), cyclesPerFold: df === 'os' ? T + R + C - 2 : 2 * R + C + T - 2 };
}

export interface Demand { ifmap: FoldDemand; filter: FoldDemand; ofmap: FoldDemand }

/**
 * The three operands' demand in fold (fr, fc), written over `out` (the previous fold's) when given;
 * SCALE-Sim runs folds column fold by column fold.
 */
export function foldDemand(df: Dataflow, a: OperandAddresses, R: number, C: number, fr: number, fc: number, out?: Demand): Demand {
  const { P, K, M, ifmap: windows } = a;
  const r0 = fr * R, c0 = fc * C;
  if (df === 'os') {
    const rows = Math.min(R, P - r0), cols = Math.min(C, M - c0);
    return {
      ifmap: blockDemand({ h: K, w: R, usedRows: K, usedCols: rows, source: windows, base: r0 * K, rowStep: 1, colStep: K, suffix: C - 1, skew: true }, out?.ifmap),
      filter: blockDemand({ h: K, w: C, usedRows: K, usedCols: cols, base: c0 * K, rowStep: 1, colStep: K, suffix: R - 1, skew: true }, out?.filter),
      ofmap: blockDemand({ h: R, w: C, usedRows: rows, usedCols: cols, base: M * r0 + c0, rowStep: M, colStep: 1, flip: true, prefix: K - 1, skew: true }, out?.ofmap),
    };
  }
  if (df === 'ws') {
    const rows = Math.min(R, K - r0), cols = Math.min(C, M - c0);
    return {
      ifmap: blockDemand({ h: P, w: R, usedRows: P, usedCols: rows, source: windows, base: r0, rowStep: K, colStep: 1, prefix: R, suffix: C - 1, skew: true }, out?.ifmap),
      filter: blockDemand({ h: R, w: C, usedRows: rows, usedCols: cols, base: c0 * K + r0, rowStep: 1, colStep: K, flip: true, suffix: R + C + P - 2 }, out?.filter),
      ofmap: blockDemand({ h: P, w: C, usedRows: P, usedCols: cols, base: c0, rowStep: M, colStep: 1, prefix: 2 * R - 1, skew: true }, out?.ofmap),
    };
  }
  const rows = Math.min(R, K - r0), cols = Math.min(C, P - c0);
  return {
    ifmap: blockDemand({ h: R, w: C, usedRows: rows, usedCols: cols, source: windows, base: c0 * K + r0, rowStep: 1, colStep: K, flip: true, suffix: R + C + M - 2 }, out?.ifmap),
    filter: blockDemand({ h: M, w: R, usedRows: M, usedCols: rows, base: r0, rowStep: K, colStep: 1, prefix: R, suffix: C - 1, skew: true }, out?.filter),
    ofmap: blockDemand({ h: M, w: C, usedRows: M, usedCols: cols, base: M * c0, rowStep: 1, colStep: M, prefix: 2 * R - 1, skew: true }, out?.ofmap),
  };
}

/** A read buffer's fetch order: its prefetch matrix's entries in order (-1 included) and their number. */
export interface FetchOrder { size: number; order: Int32Array }

/**
 * Folds of `h` x `w` blocks stacked top to bottom (fold f's lane c: `lanes(f)`, -1 past the `n`
 * lanes the folds share out `w` at a time), read row by row or, where SCALE-Sim flattens it,
 * anti-diagonal by anti-diagonal (each from its bottom row up).
 */
function stacked(n: number, h: number, w: number, lanes: (f: number) => Lanes, diagonal: boolean): FetchOrder {
  const folds = Math.ceil(n / w), rows = folds * h, size = rows * w;
  const order = new Int32Array(size);
  const foldLanes = Array.from({ length: folds }, (_, f) => lanes(f));
  const get = (row: number, c: number) => {
    const f = Math.floor(row / h);
    return c < Math.min(w, n - f * w) ? element(foldLanes[f], row - f * h, c) : -1;
  };
  let i = 0;
  if (diagonal) {
    for (let d = 0; d < rows + w - 1; d++) {
      for (let row = Math.min(d, rows - 1); row >= Math.max(0, d - w + 1); row--) order[i++] = get(row, d - row);
    }
  } else {
    for (let row = 0; row < rows; row++) for (let c = 0; c < w; c++) order[i++] = get(row, c);
  }
  return { size, order };
}

/** The ifmap and filter buffers' fetch orders (SCALE-Sim's create_{ifmap,filter}_prefetch_mat). */
export function fetchOrders(df: Dataflow, a: OperandAddresses, R: number, C: number): { ifmap: FetchOrder; filter: FetchOrder } {
  const { P, K, M, ifmap: windows } = a;
  if (df === 'os') {
    return {
      ifmap: stacked(P, K, R, (f) => ({ source: windows, base: f * R * K, rowStep: 1, colStep: K }), true),
      filter: stacked(M, K, C, (f) => ({ base: f * C * K, rowStep: 1, colStep: K }), true),
    };
  }
  if (df === 'ws') {
    return {
      ifmap: stacked(K, P, R, (f) => ({ source: windows, base: f * R, rowStep: K, colStep: 1 }), true),
      filter: stacked(M, K, C, (f) => ({ base: f * C * K, rowStep: 1, colStep: K }), false),
    };
  }
  return {
    ifmap: stacked(P, K, C, (f) => ({ source: windows, base: f * C * K, rowStep: 1, colStep: K }), false),
    filter: stacked(K, M, R, (f) => ({ base: f * R, rowStep: K, colStep: 1 }), true),
  };
}
