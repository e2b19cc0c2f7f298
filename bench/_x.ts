import { openBackend } from '../src/open-backend.js';
import { zooModel } from '../src/model/zoo.js';
import { oursThroughput } from './training.js';
const name = process.argv[2] ?? 'resnet20';
const be: any = await openBackend({ backend: 'native', native: { kernels: (process.env.K ?? 'auto') as any } });
const times = new Map<string, [number, number]>();
const proto = Object.getPrototypeOf(be);
let prof = false;
for (const k of Object.getOwnPropertyNames(proto)) {
  if (k === 'constructor' || typeof be[k] !== 'function') continue;
  const f = be[k].bind(be);
  be[k] = (...a: any[]) => { if (!prof) return f(...a); const t = performance.now(); const r = f(...a); const d = performance.now() - t; const e = times.get(k) ?? [0, 0]; e[0] += d; e[1]++; times.set(k, e); return r; };
}
const spec = zooModel(name, [1, 28, 28] as any);
await oursThroughput(be, spec);
prof = true;
const t0 = performance.now();
const r = await oursThroughput(be, spec);
const tot = performance.now() - t0;
console.log(name, r.samplesPerSecond.toFixed(1), 'total ms', tot.toFixed(0));
const rows = [...times].sort((a, b) => b[1][0] - a[1][0]);
for (const [k, [ms, n]] of rows.slice(0, 25)) console.log(k.padEnd(28), ms.toFixed(1).padStart(9), String(n).padStart(6));
