// Accelerator configuration: a systolic PE array, its dataflow, on-chip buffers, DRAM and energy.
// Validated field by field; every error names the field and the value.

export type Dataflow = 'os' | 'ws' | 'is';

export interface EnergyTable {
  /** pJ per multiply-accumulate. */
  mac: number;
  /** pJ per register-file access inside a PE. */
  registerFile: number;
  /** pJ per SRAM (global buffer) word access. */
  sram: number;
  /** pJ per DRAM word access. */
  dram: number;
}

export interface SparsitySupport {
  /** N:M structured sparsity the array can skip (for example 2:4): N kept of every M along input channels. */
  n: number;
  m: number;
}

/**
 * Word widths in bits of each tensor class: what a layer runs at unless its model quantizes it (weights
 * and activations); partial sums at `psums` always. The energy table prices a word of `wordBytes` and a
 * MAC at `wordBytes` operands; other widths scale from it (see widths.ts).
 */
export interface Precision { weights: number; activations: number; psums: number }

export interface AcceleratorConfig {
  name: string;
  rows: number;
  cols: number;
  dataflow: Dataflow;
  /** SRAM per operand, KiB (SCALE-Sim's IfmapSramSzkB, FilterSramSzkB, OfmapSramSzkB). */
  ifmapSramKB: number;
  filterSramKB: number;
  ofmapSramKB: number;
  /** Bytes per word: the unit of the energy table and of dramBandwidth. */
  wordBytes: number;
  /** Widths of weights, activations and partial sums; all `wordBytes` × 8 when absent. */
  precision?: Precision;
  /** DRAM bandwidth in words per cycle. */
  dramBandwidth: number;
  /**
   * SCALE-Sim's InterfaceBandwidth, for `--mode scalesim`: CALC (default) estimates the DRAM bandwidth the
   * layer's reads need and never stalls on them; USER holds each operand's DRAM port to `dramBandwidth`
   * words a cycle (an integer) and stalls the array when a buffer waits for it.
   */
  interfaceBandwidth?: 'CALC' | 'USER';
  clockMHz: number;
  energy: EnergyTable;
  sparsity?: SparsitySupport;
  /** Where the numbers come from. */
  source?: string;
}

const positive = (path: string, v: unknown, integer = false): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new Error(`accelerator config: ${path} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  }
  return v;
};

/**
 * DRAM bandwidth in words per cycle, in steps of 1/16 (the tile scheduler's integer unit, so that DRAM
 * time is exact on the CPU and the GPU alike); anything else is refused rather than rounded.
 */
function bandwidth(v: unknown): number {
  const b = positive('dramBandwidth', v);
  if (!Number.isInteger(b * 16)) throw new Error(`accelerator config: dramBandwidth must be a multiple of 1/16 word per cycle (0.0625, 0.125, ..., 1, 1.5, ...), got ${b}`);
  return b;
}

/** Checks an untrusted object (parsed JSON) and returns it as a config; `origin` names the file in errors. */
export function validateConfig(raw: unknown, origin = 'accelerator config'): AcceleratorConfig {
  try {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('accelerator config: must be a JSON object');
    const c = raw as Record<string, unknown>;
    const known = new Set(['name', 'rows', 'cols', 'dataflow', 'ifmapSramKB', 'filterSramKB', 'ofmapSramKB', 'wordBytes', 'precision', 'dramBandwidth', 'interfaceBandwidth', 'clockMHz', 'energy', 'sparsity', 'source']);
    for (const key of Object.keys(c)) if (!known.has(key)) throw new Error(`accelerator config: unknown field '${key}' (known: ${[...known].join(', ')})`);
    if (c.dataflow !== 'os' && c.dataflow !== 'ws' && c.dataflow !== 'is') {
      throw new Error(`accelerator config: dataflow must be 'os', 'ws' or 'is', got ${JSON.stringify(c.dataflow)}`);
    }
    const e = c.energy as Record<string, unknown> | undefined;
    if (typeof e !== 'object' || e === null) throw new Error('accelerator config: energy must be an object {mac, registerFile, sram, dram} in pJ');
    let sparsity: SparsitySupport | undefined;
    if (c.sparsity !== undefined) {
      const s = c.sparsity as Record<string, unknown>;
      sparsity = { n: positive('sparsity.n', s?.n, true), m: positive('sparsity.m', s?.m, true) };
      if (sparsity.n >= sparsity.m) throw new Error(`accelerator config: sparsity.n (${sparsity.n}) must be below sparsity.m (${sparsity.m})`);
    }
    let precision: Precision | undefined;
    if (c.precision !== undefined) {
      const pr = c.precision as Record<string, unknown>;
      if (typeof pr !== 'object' || pr === null) throw new Error('accelerator config: precision must be an object {weights, activations, psums} of bit widths');
      const width = (k: string) => {
        const b = positive(`precision.${k}`, pr[k], true);
        if (b > 32) throw new Error(`accelerator config: precision.${k} must be at most 32 bits, got ${b}`);
        return b;
      };
      precision = { weights: width('weights'), activations: width('activations'), psums: width('psums') };
    }
    if (c.interfaceBandwidth !== undefined && c.interfaceBandwidth !== 'CALC' && c.interfaceBandwidth !== 'USER') {
      throw new Error(`accelerator config: interfaceBandwidth must be 'CALC' or 'USER', got ${JSON.stringify(c.interfaceBandwidth)}`);
    }
    if (c.interfaceBandwidth === 'USER' && !Number.isInteger(c.dramBandwidth)) {
      throw new Error(`accelerator config: interfaceBandwidth USER needs dramBandwidth in whole words per cycle (SCALE-Sim's Bandwidth), got ${JSON.stringify(c.dramBandwidth)}`);
    }
    return {
      name: typeof c.name === 'string' && c.name ? c.name : 'custom',
      rows: positive('rows', c.rows, true),
      cols: positive('cols', c.cols, true),
      dataflow: c.dataflow,
      ifmapSramKB: positive('ifmapSramKB', c.ifmapSramKB),
      filterSramKB: positive('filterSramKB', c.filterSramKB),
      ofmapSramKB: positive('ofmapSramKB', c.ofmapSramKB),
      wordBytes: positive('wordBytes', c.wordBytes, true),
      ...(precision ? { precision } : {}),
      dramBandwidth: bandwidth(c.dramBandwidth),
      ...(c.interfaceBandwidth ? { interfaceBandwidth: c.interfaceBandwidth } : {}),
      clockMHz: positive('clockMHz', c.clockMHz),
      energy: {
        mac: positive('energy.mac', e.mac), registerFile: positive('energy.registerFile', e.registerFile),
        sram: positive('energy.sram', e.sram), dram: positive('energy.dram', e.dram),
      },
      sparsity,
      source: typeof c.source === 'string' ? c.source : undefined,
    };
  } catch (err) {
    throw new Error(`${origin}: ${(err as Error).message.replace(/^accelerator config: /, '')}`);
  }
}

/** The config's widths (all the word's when it names none). */
export function precisionOf(c: AcceleratorConfig): Precision {
  const bits = c.wordBytes * 8;
  return c.precision ?? { weights: bits, activations: bits, psums: bits };
}

/** Values each SRAM holds: inputs at `activations` bits, weights at `weights`, partial sums at `psums`. */
export function sramWords(c: AcceleratorConfig, bits: Precision): { ifmap: number; filter: number; ofmap: number } {
  const values = (kb: number, b: number) => Math.floor((kb * 1024 * 8) / b);
  return { ifmap: values(c.ifmapSramKB, bits.activations), filter: values(c.filterSramKB, bits.weights), ofmap: values(c.ofmapSramKB, bits.psums) };
}
