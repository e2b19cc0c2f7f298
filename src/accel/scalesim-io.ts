// Readers for SCALE-Sim v2 inputs: `.cfg` architecture files and topology `.csv` files, so users can
// bring their SCALE-Sim setups. Errors name the file, the line and the field.
import { type AcceleratorConfig, validateConfig } from './config.js';
import { presets } from './presets.js';
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
  return validateConfig({
    name: values.get('general.run_name') ?? file.replace(/^.*\//, '').replace(/\.cfg$/, ''),
    rows: num('ArrayHeight'), cols: num('ArrayWidth'),
    dataflow: (get('Dataflow') ?? '').toLowerCase(),
    ifmapSramKB: num('IfmapSramSzkB'), filterSramKB: num('FilterSramSzkB'), ofmapSramKB: num('OfmapSramSzkB'),
    // SCALE-Sim counts words; a word is one byte unless WordSize says otherwise.
    wordBytes: num('WordSize', 1),
    dramBandwidth: num('Bandwidth', base.dramBandwidth),
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
