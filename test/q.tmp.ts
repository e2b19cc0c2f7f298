import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { importOnnx } from '../src/onnx/import.js';
import { exportOnnx } from '../src/onnx/export.js';
import { predict } from '../src/model/predict.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { channelGroups } from '../src/prune/dependency.js';
import { pruneChannels } from '../src/prune/prune.js';
const ort = createRequire(import.meta.url)('/work/main/node_modules/onnxruntime-node');
const be = new CpuBackend();
for (const name of process.argv.slice(2)) {
  const bytes = new Uint8Array(readFileSync(`/work/main/test/fixtures/onnx/${name}.onnx`));
  const m = importOnnx(bytes, { file: name });
  const ops = new Map<string, number>(); for (const n of m.spec.nodes) ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
  const x = Float32Array.from({ length: 2 * m.spec.inputShape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i));
  const ours = await predict(be, m, x, 2);
  const s = await ort.InferenceSession.create(bytes);
  const theirs = (await s.run({ input: new ort.Tensor('float32', x, [2, ...m.spec.inputShape]) })).output.data;
  let err = 0; for (let i = 0; i < ours.length; i++) err = Math.max(err, Math.abs(ours[i] - theirs[i]));
  const groups = channelGroups(m.spec);
  console.log(name, [...ops].join(' '), 'maxerr', err.toExponential(2), 'groups', groups.length, 'prunable', groups.filter((g) => g.prunable).length);
  for (const g of groups.filter((g) => !g.prunable).slice(0, 3)) console.log('  ', g.producers.join('+').slice(0, 80), g.reason);
  const p = await pruneChannels(be, m, { criterion: 'l1', ratio: 0.3 });
  const bytes2 = exportOnnx(p.compact);
  const s2 = await ort.InferenceSession.create(bytes2);
  const t2 = (await s2.run({ input: new ort.Tensor('float32', x, [2, ...m.spec.inputShape]) })).output.data;
  const o2 = await predict(be, p.compact, x, 2), om = await predict(be, p.masked, x, 2);
  let e2 = 0, e3 = 0; for (let i = 0; i < o2.length; i++) { e2 = Math.max(e2, Math.abs(o2[i] - t2[i])); e3 = Math.max(e3, Math.abs(o2[i] - om[i])); }
  console.log('  pruned export err', e2.toExponential(2), 'compact vs masked', e3.toExponential(2), 'bytes', bytes.length, '->', bytes2.length);
}
