// What the array asks of its SRAMs, cycle by cycle, as SCALE-Sim v2 builds it (scalesim-project/
// scale-sim-v2 22f88b1, compute/operand_matrix.py and compute/systolic_compute_{os,ws,is}.py): per fold,
// each operand's demand is a block of its operand matrix laid on the array's lanes, padded with -1 for
// idle lanes, flipped, framed by idle cycles and skewed as the dataflow feeds it. Also the order in which
// each read buffer fetches its operand from DRAM (SCALE-Sim's prefetch matrices).
import type { Dataflow } from './config.js';
import type { LayerWorkload } from './workload.js';

/** The element addresses of one GEMM's operands (SCALE-Sim's operand matrices, without their offsets). */
export interface OperandAddresses {
  P: number; K: number; M: number;
  /** Input pixel read by output pixel p at window tap k (-1 where the window leaves the ifmap). */
  ifmap(p: number, k: number): number;
  filter(k: number, m: number): number;
  ofmap(p: number, m: number): number;
  /** Distinct ifmap and filter addresses: valid addresses are below these. */
  ifmapWords: number; filterWords: number;
}

/** One group of a layer (grouped layers repeat it): the taps run filter row, filter column, channel. */
export function operandAddresses(l: LayerWorkload): OperandAddresses {
  const P = l.ofmapH * l.ofmapW, K = l.filterH * l.filterW * l.channels, M = l.numFilters;
  const C = l.channels, W = l.ifmapW, rowTaps = l.filterW * C;
  return {
    P, K, M, ifmapWords: l.ifmapH * W * C, filterWords: K * M,
    ifmap(p, k) {
      const oy = Math.floor(p / l.ofmapW), ox = p - oy * l.ofmapW;
      const iy = oy * l.strideH, ix = ox * l.strideW;
      const fy = Math.floor(k / rowTaps), rest = k - fy * rowTaps;
      const fx = Math.floor(rest / C), ch = rest - fx * C;
      if (iy + fy >= l.ifmapH || ix + fx >= W) return -1;
      return ((iy + fy) * W + ix + fx) * C + ch;
    },
    filter: (k, m) => m * K + k,
    ofmap: (p, m) => M * p + m,
  };
}

/**
 * A fold's demand for one operand: `h` rows of `w` lanes from `at` (-1 past `usedRows` x `usedCols`),
 * optionally flipped top to bottom, after `prefix` and before `suffix` idle rows, optionally skewed (lane
 * c delayed c cycles).
 */
interface Block {
  h: number; w: number; usedRows: number; usedCols: number;
  at(r: number, c: number): number;
  flip?: boolean; prefix?: number; suffix?: number; skew?: boolean;
}

export interface FoldDemand { rows: number; width: number; data: Int32Array }

function blockDemand(b: Block): FoldDemand {
  const prefix = b.prefix ?? 0;
  const rows = prefix + b.h + (b.suffix ?? 0) + (b.skew ? b.w - 1 : 0);
  const data = new Int32Array(rows * b.w).fill(-1);
  for (let r = 0; r < b.usedRows; r++) {
    const source = b.flip ? b.h - 1 - r : r;
    for (let c = 0; c < b.usedCols; c++) data[(prefix + source + (b.skew ? c : 0)) * b.w + c] = b.at(r, c);
  }
  return { rows, width: b.w, data };
}

export interface Folds { rowFolds: number; colFolds: number; cyclesPerFold: number }

/** Folds and cycles per fold: (Sr, Sc, T) = os (P, M, K), ws (K, M, P), is (K, P, M). */
export function foldsOf(df: Dataflow, a: { P: number; K: number; M: number }, R: number, C: number): Folds {
  const [Sr, Sc, T] = df === 'os' ? [a.P, a.M, a.K] : df === 'ws' ? [a.K, a.M, a.P] : [a.K, a.P, a.M];
  return { rowFolds: Math.ceil(Sr / R), colFolds: Math.ceil(Sc / C), cyclesPerFold: df === 'os' ? T + R + C - 2 : 2 * R + C + T - 2 };
}

/** The three operands' demand in fold (fr, fc); SCALE-Sim runs folds column fold by column fold. */
export function foldDemand(df: Dataflow, a: OperandAddresses, R: number, C: number, fr: number, fc: number): { ifmap: FoldDemand; filter: FoldDemand; ofmap: FoldDemand } {
  const { P, K, M } = a;
  const r0 = fr * R, c0 = fc * C;
  if (df === 'os') {
    const rows = Math.min(R, P - r0), cols = Math.min(C, M - c0);
    return {
      ifmap: blockDemand({ h: K, w: R, usedRows: K, usedCols: rows, at: (t, c) => a.ifmap(r0 + c, t), suffix: C - 1, skew: true }),
      filter: blockDemand({ h: K, w: C, usedRows: K, usedCols: cols, at: (t, c) => a.filter(t, c0 + c), suffix: R - 1, skew: true }),
      ofmap: blockDemand({ h: R, w: C, usedRows: rows, usedCols: cols, at: (r, c) => a.ofmap(r0 + r, c0 + c), flip: true, prefix: K - 1, skew: true }),
    };
  }
  if (df === 'ws') {
    const rows = Math.min(R, K - r0), cols = Math.min(C, M - c0);
    return {
      ifmap: blockDemand({ h: P, w: R, usedRows: P, usedCols: rows, at: (t, c) => a.ifmap(t, r0 + c), prefix: R, suffix: C - 1, skew: true }),
      filter: blockDemand({ h: R, w: C, usedRows: rows, usedCols: cols, at: (r, c) => a.filter(r0 + r, c0 + c), flip: true, suffix: R + C + P - 2 }),
      ofmap: blockDemand({ h: P, w: C, usedRows: P, usedCols: cols, at: (t, c) => a.ofmap(t, c0 + c), prefix: 2 * R - 1, skew: true }),
    };
  }
  const rows = Math.min(R, K - r0), cols = Math.min(C, P - c0);
  return {
    ifmap: blockDemand({ h: R, w: C, usedRows: rows, usedCols: cols, at: (r, c) => a.ifmap(c0 + c, r0 + r), flip: true, suffix: R + C + M - 2 }),
    filter: blockDemand({ h: M, w: R, usedRows: M, usedCols: rows, at: (t, c) => a.filter(r0 + c, t), prefix: R, suffix: C - 1, skew: true }),
    ofmap: blockDemand({ h: M, w: C, usedRows: M, usedCols: cols, at: (t, c) => a.ofmap(c0 + c, t), prefix: 2 * R - 1, skew: true }),
  };
}

/** A read buffer's fetch order: its prefetch matrix's entries in order (-1 included) and their number. */
export interface FetchOrder { size: number; order: Int32Array }

/**
 * Folds of `h` x `w` blocks stacked top to bottom (lane c of fold f: `at(f, t, c)`, -1 past `used(f)`
 * lanes), read row by row or, where SCALE-Sim flattens it, anti-diagonal by anti-diagonal (each from its
 * bottom row up).
 */
function stacked(folds: number, h: number, w: number, used: (f: number) => number, at: (f: number, t: number, c: number) => number, diagonal: boolean): FetchOrder {
  const rows = folds * h, size = rows * w;
  const order = new Int32Array(size);
  const get = (row: number, c: number) => {
    const f = Math.floor(row / h);
    return c < used(f) ? at(f, row - f * h, c) : -1;
  };
  let n = 0;
  if (diagonal) {
    for (let d = 0; d < rows + w - 1; d++) {
      for (let row = Math.min(d, rows - 1); row >= Math.max(0, d - w + 1); row--) order[n++] = get(row, d - row);
    }
  } else {
    for (let row = 0; row < rows; row++) for (let c = 0; c < w; c++) order[n++] = get(row, c);
  }
  return { size, order };
}

/** The ifmap and filter buffers' fetch orders (SCALE-Sim's create_{ifmap,filter}_prefetch_mat). */
export function fetchOrders(df: Dataflow, a: OperandAddresses, R: number, C: number): { ifmap: FetchOrder; filter: FetchOrder } {
  const { P, K, M } = a;
  const rowFolds = (n: number) => Math.ceil(n / R), colFolds = (n: number) => Math.ceil(n / C);
  const lanes = (n: number, width: number) => (f: number) => Math.min(width, n - f * width);
  if (df === 'os') {
    return {
      ifmap: stacked(rowFolds(P), K, R, lanes(P, R), (f, t, c) => a.ifmap(f * R + c, t), true),
      filter: stacked(colFolds(M), K, C, lanes(M, C), (f, t, c) => a.filter(t, f * C + c), true),
    };
  }
  if (df === 'ws') {
    return {
      ifmap: stacked(rowFolds(K), P, R, lanes(K, R), (f, t, c) => a.ifmap(t, f * R + c), true),
      filter: stacked(colFolds(M), K, C, lanes(M, C), (f, t, c) => a.filter(t, f * C + c), false),
    };
  }
  return {
    ifmap: stacked(colFolds(P), K, C, lanes(P, C), (f, t, c) => a.ifmap(f * C + c, t), false),
    filter: stacked(rowFolds(K), M, R, lanes(K, R), (f, t, c) => a.filter(f * R + c, t), true),
  };
}
