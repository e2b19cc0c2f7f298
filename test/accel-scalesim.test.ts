// Mode `scalesim` against rows from real SCALE-Sim v2 runs (../shared/docs/scalesim-examples.csv, copied
// into test/fixtures) and against cases derived by hand from its formulas.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../src/accel/config.js';
import { presets } from '../src/accel/presets.js';
import { parseScaleSimConfig, parseScaleSimTopology } from '../src/accel/scalesim-io.js';
import { scaleSimLayer } from '../src/accel/scalesim.js';
import { convWorkload, linearWorkload, scaleSimExtent } from '../src/accel/workload.js';
import { conv2dGeometry } from '../src/geometry.js';

const csv = readFileSync(new URL('./fixtures/scalesim-examples.csv', import.meta.url), 'utf8').trim().split(/\r?\n/).map((l) => l.trim());
const header = csv[0].split(',');
const rows = csv.slice(1).map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i], v])));

function configFor(row: Record<string, string>) {
  return validateConfig({ ...presets['systolic-16x16'], rows: Number(row.array_rows), cols: Number(row.array_cols), dataflow: row.dataflow });
}

describe('scalesim mode reproduces SCALE-Sim v2 exactly', () => {
  for (const row of rows) {
    it(`${row.layer} on ${row.array_rows}x${row.array_cols} ${row.dataflow}`, () => {
      const [layer] = parseScaleSimTopology(
        `Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n` +
        `${row.layer}, ${row.ifmap_h}, ${row.ifmap_w}, ${row.filter_h}, ${row.filter_w}, ${row.channels}, ${row.num_filters}, ${row.stride},`,
      );
      const r = scaleSimLayer(configFor(row), layer);
      expect([r.Sr, r.Sc, r.T, r.rowFolds, r.colFolds, r.totalCycles]).toEqual(
        ['Sr', 'Sc', 'T', 'row_folds', 'col_folds', 'total_cycles'].map((k) => Number(row[k])));
      expect(r.overallUtilPct.toFixed(4)).toBe(Number(row.overall_util_pct).toFixed(4));
      expect(r.mappingEffPct.toFixed(4)).toBe(Number(row.mapping_eff_pct).toFixed(4));
      expect([r.sramIfmapReads, r.sramFilterReads, r.sramOfmapWrites]).toEqual(
        [Number(row.sram_ifmap_reads), Number(row.sram_filter_reads), Number(row.sram_ofmap_writes)]);
    });
  }
});

describe('scalesim mode, cases derived by hand', () => {
  const array = (rows: number, cols: number, dataflow: 'os' | 'ws' | 'is') => validateConfig({ ...presets['systolic-16x16'], rows, cols, dataflow });

  it('strided 3x3 conv, ws: ofmap extent rounds up, folds and cycles', () => {
    // 15x15 input, 3x3, stride 2: ofmap ceil((15-3+2)/2) = 7 -> P = 49, K = 3*3*4 = 36, M = 10.
    const [l] = parseScaleSimTopology('Layer name,a,b,c,d,e,f,g,\nconv,15,15,3,3,4,10,2,');
    expect([l.ofmapH, l.ofmapW]).toEqual([7, 7]);
    const r = scaleSimLayer(array(8, 8, 'ws'), l);
    // ws: Sr = K = 36 -> 5 row folds, Sc = M = 10 -> 2 col folds, T = P = 49; per fold 2*8 + 8 + 49 - 2 = 71.
    expect([r.rowFolds, r.colFolds, r.totalCycles]).toEqual([5, 2, 10 * 71 - 1]);
    expect(r.sramIfmapReads).toBe(49 * 36 * 2);
    expect(r.sramFilterReads).toBe(36 * 10);
    expect(r.sramOfmapWrites).toBe(49 * 10 * 5);
    expect(r.mappingEffPct).toBeCloseTo((100 * 36 * 10) / (10 * 64), 10);
  });

  it('depthwise 3x3 over 32 channels, os: one single-channel GEMM per channel', () => {
    const g = conv2dGeometry([1, 32, 16, 16], [32, 1, 3, 3], { groups: 32, padding: 1 });
    const l = convWorkload('dw', g);
    expect([l.channels, l.numFilters, l.groups, l.ifmapH]).toEqual([1, 1, 32, 18]);
    const r = scaleSimLayer(array(16, 16, 'os'), l);
    // Per channel: Sr = P = 256 -> 16 row folds, Sc = 1 -> 1 col fold, T = 9: 16 * (9 + 16 + 16 - 2) - 1 cycles.
    expect(r.totalCycles).toBe(32 * (16 * 39 - 1));
    expect(r.mappingEffPct).toBeCloseTo(100 / 16, 10);
    expect(r.macs).toBe(32 * 256 * 9);
  });

  it('fully connected as a 1x1 conv, is', () => {
    const r = scaleSimLayer(array(32, 32, 'is'), linearWorkload('fc', 400, 120));
    // is: Sr = K = 400 -> 13 row folds, Sc = P = 1 -> 1 col fold, T = M = 120; per fold 64 + 32 + 120 - 2 = 214.
    expect([r.Sr, r.Sc, r.T, r.totalCycles]).toEqual([400, 1, 120, 13 * 214 - 1]);
    expect([r.sramIfmapReads, r.sramFilterReads, r.sramOfmapWrites]).toEqual([400, 120 * 400, 120 * 13]);
  });

  it('the latency staircase: on a 32-wide os array, 33..64 filters cost the same, 32 costs half', () => {
    const layer = (m: number) => ({ ...parseScaleSimTopology('Layer name,a,b,c,d,e,f,g,\nl,58,58,3,3,64,64,1,')[0], numFilters: m });
    const cfg = array(32, 32, 'os');
    expect(scaleSimExtent(58, 3, 1)).toBe(56);
    const cycles = (m: number) => scaleSimLayer(cfg, layer(m)).totalCycles;
    expect(cycles(33)).toBe(cycles(64));
    expect(cycles(32)).toBeLessThan(cycles(64) * 0.51);
  });
});

describe('SCALE-Sim input readers', () => {
  it('reads a .cfg file', () => {
    const c = parseScaleSimConfig(`[general]\nrun_name = google\n\n[architecture_presets]\nArrayHeight:    128\nArrayWidth:     128\nIfmapSramSzkB:    6144\nFilterSramSzkB:   6144\nOfmapSramSzkB:    2048\nIfmapOffset:    0\nFilterOffset:   10000000\nOfmapOffset:    20000000\nDataflow : ws\nBandwidth : 10\nMemoryBanks: 1\n\n[run_presets]\nInterfaceBandwidth: CALC\n`, 'google.cfg');
    expect(c).toMatchObject({ name: 'google', rows: 128, cols: 128, dataflow: 'ws', ifmapSramKB: 6144, filterSramKB: 6144, ofmapSramKB: 2048, dramBandwidth: 10, wordBytes: 1 });
  });

  it('reads InterfaceBandwidth, Bandwidth, offsets and MemoryBanks as SCALE-Sim v2 does, refusing what it cannot honour', () => {
    const cfg = (extra: string, run = 'InterfaceBandwidth: USER') => `[general]\nrun_name = u\n\n[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 1\nFilterSramSzkB: 1\nOfmapSramSzkB: 1\nDataflow: os\n${extra}\n[run_presets]\n${run}\n`;
    expect(parseScaleSimConfig(cfg('Bandwidth: 3\nIfmapOffset: 0\nFilterOffset: 10000000\nOfmapOffset: 20000000\nMemoryBanks: 1'), 'u.cfg')).toMatchObject({ interfaceBandwidth: 'USER', dramBandwidth: 3 });
    expect(parseScaleSimConfig(cfg('Bandwidth: 4,4,4'), 'u.cfg').dramBandwidth).toBe(4);
    expect(parseScaleSimConfig(cfg('', 'InterfaceBandwidth: CALC'), 'c.cfg').interfaceBandwidth).toBe('CALC');
    expect(parseScaleSimConfig(cfg('Bandwidth: 10', ''), 'c.cfg').interfaceBandwidth).toBe('CALC');
    expect(() => parseScaleSimConfig(cfg('Bandwidth: 3', 'InterfaceBandwidth: FAST'), 'b.cfg')).toThrow(/b\.cfg: InterfaceBandwidth must be USER or CALC, got 'FAST'/);
    expect(() => parseScaleSimConfig(cfg(''), 'b.cfg')).toThrow(/b\.cfg: InterfaceBandwidth USER needs Bandwidth/);
    expect(() => parseScaleSimConfig(cfg('Bandwidth: 2,8'), 'b.cfg')).toThrow(/b\.cfg: Bandwidth lists 2, 8; SCALE-Sim v2 uses the first/);
    expect(() => parseScaleSimConfig(cfg('Bandwidth: 2.5'), 'b.cfg')).toThrow(/b\.cfg: interfaceBandwidth USER needs dramBandwidth in whole words per cycle/);
    expect(() => parseScaleSimConfig(cfg('Bandwidth: 2\nMemoryBanks: 4'), 'b.cfg')).toThrow(/b\.cfg: MemoryBanks 4: .* set MemoryBanks: 1/);
    expect(() => parseScaleSimConfig(cfg('Bandwidth: 2\nFilterOffset: 1e7'), 'b.cfg')).toThrow(/b\.cfg: FilterOffset must be an integer, got '1e7'/);
    expect(() => validateConfig({ ...presets.eyeriss, interfaceBandwidth: 'user' }, 'x.json')).toThrow(/x\.json: interfaceBandwidth must be 'CALC' or 'USER', got "user"/);
  });

  it('names the file, line and field in errors', () => {
    expect(() => parseScaleSimConfig('[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 1\nFilterSramSzkB: 1\nOfmapSramSzkB: 1\nDataflow: xs\n', 'bad.cfg'))
      .toThrow(/bad\.cfg: dataflow must be 'os', 'ws' or 'is', got "xs"/);
    expect(() => parseScaleSimConfig('[architecture_presets]\nArrayHeight: 8\n', 'short.cfg')).toThrow(/short\.cfg: missing ArrayWidth/);
    expect(() => parseScaleSimTopology('Layer name,a,b,c,d,e,f,g,\nconv1,32,32,5,5,x,6,1,', 'net.csv'))
      .toThrow(/net\.csv:2: Channels of layer 'conv1' must be a positive integer, got 'x'/);
    expect(() => validateConfig({ ...presets.eyeriss, rows: 0 }, 'my.json')).toThrow(/my\.json: rows must be a positive integer, got 0/);
    expect(() => validateConfig({ ...presets.eyeriss, energy: { ...presets.eyeriss.energy, dram: -1 } })).toThrow(/energy\.dram must be a positive number/);
    expect(() => validateConfig({ ...presets.eyeriss, colz: 3 })).toThrow(/unknown field 'colz'/);
  });
});
