// The import graph of src/ as docs/architecture.md draws it: no module imports itself back through others
// (no cycles between files), and each folder imports only folders of lower layers.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../src/', import.meta.url).pathname;

/** The layers, lowest first; a folder (or top-level file) may import its own layer's files and lower layers' only. */
export const LAYERS: string[][] = [
  ['geometry', 'random', 'interrupt', 'shader-sources'],
  ['backend'],
  ['probe', 'samplewise'],
  ['cpu', 'webgpu', 'gpujs', 'model'],
  ['data', 'onnx', 'accel'],
  ['native', 'train', 'quantize', 'report', 'schedulers'],
  ['open-backend', 'prune', 'decompose'],
  ['plan'],
  ['run'],
  ['cli', 'index'],
  ['node', 'main'],
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const files = sources(SRC);
const imports = new Map(files.map((f) => {
  const text = readFileSync(f, 'utf8');
  const specifiers = [...text.matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g), ...text.matchAll(/import\('(\.[^']+)'\)/g)].map((m) => m[1]);
  return [f, specifiers.map((s) => resolve(dirname(f), s).replace(/\.js$/, '.ts')).filter((d) => files.includes(d))];
}));
const unit = (f: string) => relative(SRC, f).split('/')[0].replace(/\.ts$/, '');

describe('architecture', () => {
  it('every folder of src/ has a layer', () => {
    const placed = new Set(LAYERS.flat());
    expect([...new Set(files.map(unit))].filter((u) => !placed.has(u))).toEqual([]);
  });

  it('imports go down the layers only', () => {
    const layerOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));
    const upward = [...imports].flatMap(([f, deps]) => deps.filter((d) => unit(d) !== unit(f) && layerOf.get(unit(d))! >= layerOf.get(unit(f))!)
      .map((d) => `${relative(SRC, f)} imports ${relative(SRC, d)}`));
    expect(upward).toEqual([]);
  });

  it('the planners have one entry: code outside plan/ imports plan/index.ts only', () => {
    const entry = join(SRC, 'plan', 'index.ts');
    const around = [...imports].flatMap(([f, deps]) => deps.filter((d) => unit(f) !== 'plan' && unit(d) === 'plan' && d !== entry)
      .map((d) => `${relative(SRC, f)} imports ${relative(SRC, d)}`));
    expect(around).toEqual([]);
  });

  it('no file imports itself back through others', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      state.set(f, 'open');
      for (const d of imports.get(f)!) {
        if (state.get(d) === 'open') cycles.push([...path.slice(path.indexOf(d)), d].map((x) => relative(SRC, x)).join(' -> '));
        else if (!state.has(d)) visit(d, [...path, d]);
      }
      state.set(f, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f, [f]);
    expect(cycles).toEqual([]);
  });
});
