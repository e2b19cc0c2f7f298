// SCALE-Sim v2's files: readers for its inputs (`.cfg` architecture files and topology `.csv` files), so
// users can bring their SCALE-Sim setups, and a writer of its report files, so they can diff the two
// tools' outputs. Errors name the file, the line and the field.
import { type AcceleratorConfig, validateConfig } from './config.js';
import type { LayerCost } from './layer-cost.js';
import { presets } from './presets.js';
import { SCALESIM_REPORTS } from './scalesim.js';
import { type LayerWorkload, scaleSimExtent } from './workload.js';

/** SCALE-Sim v2 `.cfg` (INI): [architecture_presets] ArrayHeight, ArrayWidth, *SramSzkB, Dataflow, Bandwidth. */
export function parseScaleSimConfig(text: string, file = 'config.cfg'): AcceleratorConfig {
  const values = new Map<string, string>();
  let section = '';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) return;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) { section = header[1].trim().toLowerCase(); return; }
    const kv = /^([^:=]+)[:=](.*)$/.exec(line);
    if (!kv) throw new Error(`${file}:${i + 1}: expected 'Key : value' or '[section]', got '${raw.trim()}'`);
    values.set(`${section}.${kv[1].trim().toLowerCase()}`, kv[2].trim());
  });
  const get = (key: string) => values.get(`architecture_presets.${key.toLowerCase()}`) ?? values.get(`run_presets.${key.toLowerCase()}`);
  const num = (key: string, fallback?: number) => {
    const v = get(key);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new Error(`${file}: missing ${key} in [architecture_presets]`);
    }
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`${file}: ${key} must be a number, got '${v}'`);
    return n;
  };
  const base = presets['systolic-16x16'];
  // SCALE-Sim reads InterfaceBandwidth from [run_presets] and aborts on anything but USER or CALC; its
  // shipped configs use CALC, the default here when the line is absent.
  const interfaceBandwidth = (get('InterfaceBandwidth') ?? 'CALC').toUpperCase();
  if (interfaceBandwidth !== 'CALC' && interfaceBandwidth !== 'USER') throw new Error(`${file}: InterfaceBandwidth must be USER or CALC, got '${get('InterfaceBandwidth')}'`);
  // Bandwidth may list one value per port; SCALE-Sim v2 gives every operand the first.
  const bandwidths = (get('Bandwidth') ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  if (bandwidths.length > 1 && new Set(bandwidths.map(Number)).size > 1) {
    throw new Error(`${file}: Bandwidth lists ${bandwidths.join(', ')}; SCALE-Sim v2 uses the first for every operand: give one value`);
  }
  if (interfaceBandwidth === 'USER' && bandwidths.length === 0) throw new Error(`${file}: InterfaceBandwidth USER needs Bandwidth (words per cycle)`);
  const bandwidth = bandwidths.length ? Number(bandwidths[0]) : base.dramBandwidth;
  if (!Number.isFinite(bandwidth)) throw new Error(`${file}: Bandwidth must be a number, got '${bandwidths[0]}'`);
  // Offsets only place each operand's addresses in SCALE-Sim's traces (each operand has its own buffer):
  // no count depends on them. They are checked, as SCALE-Sim's int() does.
  for (const key of ['IfmapOffset', 'FilterOffset', 'OfmapOffset']) {
    const v = get(key);
    if (v !== undefined && !/^[+-]?\d+$/.test(v)) throw new Error(`${file}: ${key} must be an integer, got '${v}'`);
  }
  // SCALE-Sim v2 models one bank per buffer (it never reads MemoryBanks); more cannot be honoured here.
  if (num('MemoryBanks', 1) !== 1) throw new Error(`${file}: MemoryBanks ${get('MemoryBanks')}: SCALE-Sim v2 and wgprune model one bank per operand buffer; set MemoryBanks: 1`);
  return validateConfig({
    name: values.get('general.run_name') ?? file.replace(/^.*\//, '').replace(/\.cfg$/, ''),
    rows: num('ArrayHeight'), cols: num('ArrayWidth'),
    dataflow: (get('Dataflow') ?? '').toLowerCase(),
    ifmapSramKB: num('IfmapSramSzkB'), filterSramKB: num('FilterSramSzkB'), ofmapSramKB: num('OfmapSramSzkB'),
    // SCALE-Sim counts words; a word is one byte unless WordSize says otherwise (SCALE-Sim v2 itself
    // always uses one byte: see scalesim-memory.ts).
    wordBytes: num('WordSize', 1),
    dramBandwidth: bandwidth,
    interfaceBandwidth,
    clockMHz: num('ClockMHz', 1000),
    energy: base.energy,
    source: `SCALE-Sim config ${file} (energies: Eyeriss defaults)`,
  }, file);
}

/** SCALE-Sim topology CSV: Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides. */
export function parseScaleSimTopology(text: string, file = 'topology.csv'): LayerWorkload[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (lines.length === 0) throw new Error(`${file}: empty topology`);
  const header = lines[0].split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  if (!header[0]?.startsWith('layer')) throw new Error(`${file}:1: expected a header starting 'Layer name', got '${lines[0]}'`);
  const names = ['IFMAP Height', 'IFMAP Width', 'Filter Height', 'Filter Width', 'Channels', 'Num Filter', 'Strides'];
  if (lines.length === 1) throw new Error(`${file}: a header and no layers`);
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length < 8) throw new Error(`${file}:${i + 2}: expected 8 columns (Layer name, ${names.join(', ')}), got ${cells.length}`);
    const [name, ...rest] = cells;
    const v = rest.slice(0, 7).map((c, j) => {
      const n = Number(c);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${file}:${i + 2}: ${names[j]} of layer '${name}' must be a positive integer, got '${c}'`);
      return n;
    });
    const [ifmapH, ifmapW, filterH, filterW, channels, numFilters, stride] = v;
    if (filterH > ifmapH || filterW > ifmapW) throw new Error(`${file}:${i + 2}: filter ${filterH}x${filterW} of layer '${name}' is larger than its ifmap ${ifmapH}x${ifmapW}`);
    return {
      name, ifmapH, ifmapW, filterH, filterW, strideH: stride, strideW: stride, channels, numFilters, groups: 1,
      ofmapH: scaleSimExtent(ifmapH, filterH, stride), ofmapW: scaleSimExtent(ifmapW, filterW, stride),
    };
  });
}

/** A number as Python prints it (SCALE-Sim's reports are Python's str() of ints and floats). */
function pythonNumber(x: number, float: boolean): string {
  if (!float) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  if (x === 0 || (Math.abs(x) >= 1e-4 && Math.abs(x) < 1e16)) return String(x);
  return x.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
}

/** SCALE-Sim prints counts and its two cycle totals as integers, every other column as a float. */
const float = (column: string) => !/(Reads|Writes)$/.test(column) && column !== 'Total Cycles' && column !== 'Stall Cycles';

/**
 * SCALE-Sim v2's report files (COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv, DETAILED_ACCESS_REPORT.csv) for
 * these layers, laid out as it writes them: LayerID is the layer's index among the GEMM layers (vector
 * passes have no SCALE-Sim row), counts as integers, cycles and rates as Python floats.
 */
export function scaleSimReportFiles(layers: LayerCost[]): Record<string, string> {
  const rows = layers.filter((l) => !l.vector);
  const missing = rows.find((l) => !l.scaleSim);
  if (missing) throw new Error(`layer '${missing.name}' has no SCALE-Sim report: simulate it with --mode scalesim`);
  const files: Record<string, string> = {};
  for (const [report, columns] of Object.entries(SCALESIM_REPORTS)) {
    files[`${report}.csv`] = `LayerID, ${columns.join(', ')},\n` +
      rows.map((l, id) => `${id}, ${columns.map((c) => pythonNumber(l.scaleSim![c], float(c))).join(', ')},\n`).join('');
  }
  return files;
}
