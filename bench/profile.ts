// `npm run bench -- profile` (issue 38): where the native backend's time goes, per backend op. Every method
// of the backend is wrapped in a timer (it computes synchronously on the host, so a call's time is its
// op's; nested helpers are not listed). Inference of VGG-small at batch 256, dense and 50%-compacted (the
// realised speed-up next to the MAC ratio), and LeNet-5's training step (batch 64, Adam).
import type { Backend } from '../src/backend.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { type Model, initModel } from '../src/model/model.js';
import { Network } from '../src/model/network.js';
import { lenet5, vggSmall } from '../src/model/zoo.js';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { macsOf } from '../src/accel/workload.js';
import { NativeBackend } from '../src/native/backend.js';
import { ChannelPruner, byRatio } from '../src/prune/pruner.js';
import { Rng } from '../src/random.js';
import { train } from '../src/train/trainer.js';
import { table } from './util.js';

/** Per op name, the milliseconds its calls took since the last clear(). */
function timeOps(be: Backend): Map<string, number> {
  const times = new Map<string, number>();
  const target = be as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(be))) {
    const f = target[name];
    if (typeof f !== 'function' || name === 'constructor' || name === 'read') continue;
    target[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      const r = f.apply(be, args);
      times.set(name, (times.get(name) ?? 0) + performance.now() - t0);
      return r;
    };
  }
  return times;
}

const HELPERS = new Set(['run', 'runAll', 'wrap', 'track']); // private helpers, timed inside the ops
const top = (times: Map<string, number>, per: number, n = 6) =>
  [...times].filter(([k]) => !HELPERS.has(k)).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${k} ${(v / per).toFixed(2)}`).join(', ');
const macs = (m: Model) => modelWorkloads(m.spec).reduce((s, l) => s + macsOf(l), 0);

export async function benchProfile(): Promise<void> {
  const be = await NativeBackend.create();
  const times = timeOps(be);
  const dense = initModel(vggSmall([3, 32, 32], 10), 1);
  const pruner = new ChannelPruner(be, dense, { importance: 'l1', allocation: byRatio(0.5) });
  await pruner.step();
  const compact = await pruner.compact();
  const x = be.upload(new Rng(1).uniformArray(256 * 3072), [256, 3, 32, 32]);
  const rows: string[][] = [];
  const ms: number[] = [];
  for (const [label, m] of [['dense', dense], ['50% channels, compacted', compact]] as const) {
    const net = Network.forInference(be, m);
    const pass = async () => { const f = net.forward(x, false); await be.read(f.logits); net.release(f); };
    await pass();
    times.clear();
    const t0 = performance.now();
    for (let r = 0; r < 5; r++) await pass();
    ms.push((performance.now() - t0) / 5);
    rows.push([label, String(macs(m)), ms.at(-1)!.toFixed(1), top(times, 5)]);
    net.dispose();
  }
  be.dispose(x);
  console.log(`VGG-small inference, batch 256 (${be.name}): ${(ms[0] / ms[1]).toFixed(2)}x faster compacted for ${(macs(dense) / macs(compact)).toFixed(2)}x fewer MACs\n`);
  console.log(`${table(['model', 'MACs', 'ms / batch', 'ms per op (top 6)'], rows)}\n`);

  const data = subset(loadMnist('train'), 64 * 60);
  const options = { epochs: 1, batchSize: 64, optimizer: 'adam' as const, learningRate: 1e-3, seed: 1, logEvery: 1000 };
  await train(be, initModel(lenet5(), 1), data, { ...options, maxSteps: 10 });
  times.clear();
  const t0 = performance.now();
  await train(be, initModel(lenet5(), 1), data, options);
  console.log(`LeNet-5 training step, batch 64, Adam: ${((performance.now() - t0) / 60).toFixed(2)} ms; per op: ${top(times, 60, 10)}`);
  be.destroy();
}
