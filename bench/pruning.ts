// Realized speed-up of structured pruning: inference time of the compacted model against the dense
// one on our backend, at channel ratio 0.5, printed next to the MAC reduction.
import type { Model } from '../src/model/model.js';
import { initModel } from '../src/model/model.js';
import { Network } from '../src/model/network.js';
import { resnet20, vggSmall } from '../src/model/zoo.js';
import { pruneChannels } from '../src/prune/prune.js';
import { Rng } from '../src/random.js';
import { WebGpuBackend } from '../src/webgpu/backend.js';
import { median, table, time } from './util.js';

const BATCH = 32;

async function inferenceMs(be: WebGpuBackend, m: Model): Promise<number> {
  const net = Network.forInference(be, m);
  const x = be.upload(new Rng(1).uniformArray(BATCH * m.spec.inputShape.reduce((a, b) => a * b)), [BATCH, ...m.spec.inputShape]);
  const ms = median(await time(3, async () => {
    const f = net.forward(x, false);
    await be.read(f.logits);
    net.release(f);
  }));
  be.dispose(x);
  net.dispose();
  return ms;
}

export async function benchPruning(): Promise<void> {
  const be = await WebGpuBackend.create();
  console.log(`adapter: ${be.report.tried.at(-1)}`);
  const rows: string[][] = [];
  for (const spec of [vggSmall(), resnet20()]) {
    const dense = initModel(spec, 1);
    const r = await pruneChannels(be, dense, { criterion: 'l1', ratio: 0.5 });
    const [d, c] = [await inferenceMs(be, dense), await inferenceMs(be, r.compact)];
    const macRatio = r.report.total.macsBefore / r.report.total.macsAfter;
    rows.push([spec.name, d.toFixed(1), c.toFixed(1), (d / c).toFixed(2), macRatio.toFixed(2), (d / c / macRatio).toFixed(2)]);
    console.log(rows.at(-1)!.join('  '));
  }
  console.log();
  console.log(table([`model (batch ${BATCH}, ratio 0.5, l1)`, 'dense ms', 'compacted ms', 'speed-up', 'MAC reduction', 'speed-up / MAC reduction'], rows));
  be.destroy();
}
