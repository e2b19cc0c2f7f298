// The CNN families the importer reads, each from its PyTorch-exported fixture (test/fixtures/onnx):
// import, prune 30% of the channels (l1) and compact, export, and check the exported model in
// onnxruntime against our inference; the parameter and simulated-latency reduction at that ratio; and
// a plan to 0.5 of the dense latency (no fine-tuning) on systolic-16x16 with the time it took.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { evaluate } from '../src/accel/cost.js';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { preset } from '../src/accel/presets.js';
import { type Model, parameterCount } from '../src/model/model.js';
import { predict } from '../src/model/predict.js';
import { exportOnnx } from '../src/onnx/export.js';
import { importOnnx } from '../src/onnx/import.js';
import { openBackend, schedulerFor } from '../src/open-backend.js';
import { parseBudget } from '../src/plan/budget.js';
import { pruneChannels } from '../src/prune/prune.js';
import { pruneToBudget } from '../src/plan/prune-to-budget.js';
import { Rng } from '../src/random.js';
import { table } from './util.js';

const require = createRequire(import.meta.url);
const FAMILIES: [string, string][] = [
  ['EfficientNet-B0 (torchvision, 1/4 width and depth)', 'efficientnet-b0-mini'],
  ['MobileNetV3-Small (torchvision, 1/4 width)', 'mobilenet-v3-small-mini'],
  ['ShuffleNetV2 (torchvision, stages of 16-64 channels)', 'shufflenet-v2-mini'],
  ['MNASNet (torchvision, 1/4 width)', 'mnasnet-mini'],
  ['RegNetY (torchvision, widths 8-24, SE)', 'regnet-y-mini'],
  ['ResNet-style (basic blocks)', 'resnet-mini'],
  ['MobileNetV2-style (depthwise separable)', 'mobilenet-mini'],
  ['SqueezeNet-style (fire modules)', 'squeezenet-mini'],
  ['Inception-style (padded average pool, static batch)', 'inception-mini'],
  ['smooth activations (SiLU, hard swish, GELU)', 'activations-mini'],
  ['ConvNeXt (torchvision, stages of 16 and 32 channels)', 'convnext-mini'],
  ['channel split and strided slice', 'channel-split-mini'],
  ['feature-pyramid resize (nearest, bilinear) and concat', 'resize-mini'],
  ['PReLU (per channel, single slope) and a BatchNorm1d embedding head', 'prelu-mini'],
  ['U-Net-style decoder (ConvTranspose, skip concats), classifier head', 'unet-mini'],
  ['GroupNorm (affine and not), InstanceNorm2d, PReLU, BatchNorm1d head', 'groupnorm-mini'],
];

export async function benchFamilies(): Promise<void> {
  const ort = require('onnxruntime-node');
  const be = await openBackend({ backend: (process.env.BENCH_BACKEND ?? 'auto') as 'auto' });
  const accel = preset('systolic-16x16');
  const cycles = async (m: Model) => (await evaluate(accel, modelWorkloads(m.spec), { schedule: schedulerFor(be) })).total.cycles;
  const rows: string[][] = [];
  for (const [family, file] of FAMILIES) {
    const dense = importOnnx(new Uint8Array(readFileSync(new URL(`../test/fixtures/onnx/${file}.onnx`, import.meta.url))), { file });
    const pruned = await pruneChannels(be, dense, { criterion: 'l1', ratio: 0.3 });
    const bytes = exportOnnx(pruned.compact);
    const rng = new Rng(3);
    const x = rng.uniformArray(2 * dense.spec.inputShape.reduce((a, b) => a * b, 1));
    const session = await ort.InferenceSession.create(bytes);
    const theirs = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [2, ...dense.spec.inputShape]) }))[session.outputNames[0]].data as Float32Array;
    const ours = await predict(be, pruned.compact, x, 2);
    const agrees = theirs.every((v, i) => Math.abs(v - ours[i]) <= 1e-4 * (1 + Math.abs(v)));
    const t0 = performance.now();
    const [denseCycles, ratioCycles] = [await cycles(dense), await cycles(pruned.compact)];
    const planned = await pruneToBudget(be, dense, { criterion: 'l1', budget: parseBudget('latency=0.5'), accelerator: accel, schedule: schedulerFor(be), seed: 1 }).catch((e: Error) => {
      // A small net whose unprunable layers alone cost more than the budget: say how low it goes.
      const floor = /smallest achievable cost is (\d+)/.exec(e.message);
      if (!floor) throw e;
      return `floor ${(Number(floor[1]) / denseCycles).toFixed(3)}`;
    });
    const planSeconds = (performance.now() - t0) / 1000;
    const [params, latency] = typeof planned === 'string' ? ['n/a', planned] : [(parameterCount(planned.compact) / parameterCount(dense)).toFixed(3), (planned.cost / planned.denseValue).toFixed(3)];
    rows.push([family, 'yes', 'yes', agrees ? 'yes' : 'NO', (parameterCount(pruned.compact) / parameterCount(dense)).toFixed(3), (ratioCycles / denseCycles).toFixed(3),
      params, latency, planSeconds.toFixed(1)]);
    console.log(rows.at(-1)!.join('  '));
  }
  console.log();
  console.log(table(['family (fixture)', 'imports', 'prunes + compacts', 'export = onnxruntime', 'params @ 30%', 'latency @ 30%', 'params @ latency 0.5', 'latency @ budget 0.5', 'planning s'], rows));
  be.destroy();
}
