// Tile-scheduler throughput (candidate mappings evaluated per second), the WGSL kernel against the CPU
// reference on a ResNet-18-sized layer set, and the time to build the lookup table of every resnet20 layer.
import { evaluate } from '../src/accel/cost.js';
import { buildLookupTable } from '../src/accel/lookup.js';
import { presets } from '../src/accel/presets.js';
import { gpuScheduler, scheduleProblemsOnGpu } from '../src/schedulers/webgpu.js';
import { candidateCount, scheduleOnCpu, tileProblem } from '../src/accel/tiled.js';
import { type LayerWorkload, convWorkload, linearWorkload } from '../src/accel/workload.js';
import { conv2dGeometry } from '../src/geometry.js';
import { WebGpuBackend } from '../src/webgpu/backend.js';
import { table } from './util.js';

const conv = (name: string, c: number, h: number, m: number, k: number, stride = 1) =>
  convWorkload(name, conv2dGeometry([1, c, h, h], [m, c, k, k], { stride, padding: (k - 1) >> 1 }));

/** ResNet-18 (ImageNet, 224x224): the distinct conv shapes and the classifier. */
export const resnet18Layers: LayerWorkload[] = [
  conv('conv1', 3, 224, 64, 7, 2),
  conv('layer1.conv', 64, 56, 64, 3),
  conv('layer2.0.conv1', 64, 56, 128, 3, 2), conv('layer2.0.down', 64, 56, 128, 1, 2), conv('layer2.conv', 128, 28, 128, 3),
  conv('layer3.0.conv1', 128, 28, 256, 3, 2), conv('layer3.0.down', 128, 28, 256, 1, 2), conv('layer3.conv', 256, 14, 256, 3),
  conv('layer4.0.conv1', 256, 14, 512, 3, 2), conv('layer4.0.down', 256, 14, 512, 1, 2), conv('layer4.conv', 512, 7, 512, 3),
  linearWorkload('fc', 512, 1000),
];

/** resnet20 (CIFAR, 32x32): stem, three stages of three basic blocks, 1x1 strided shortcuts, classifier. */
export function resnet20Layers(): LayerWorkload[] {
  const layers = [conv('stem', 3, 32, 16, 3)];
  let [c, h] = [16, 32];
  for (const [stage, width] of [16, 32, 64].entries()) {
    for (let block = 0; block < 3; block++) {
      const stride = stage > 0 && block === 0 ? 2 : 1;
      layers.push(conv(`s${stage}.b${block}.conv1`, c, h, width, 3, stride));
      if (stride === 2) layers.push(conv(`s${stage}.b${block}.shortcut`, c, h, width, 1, 2));
      h = Math.ceil(h / stride);
      layers.push(conv(`s${stage}.b${block}.conv2`, width, h, width, 3));
      c = width;
    }
  }
  layers.push(linearWorkload('fc', 64, 10));
  return layers;
}

export async function benchAccelerator(): Promise<void> {
  const be = await WebGpuBackend.create();
  console.log(`adapter: ${be.report.tried.at(-1)}`);
  const rows: string[][] = [];
  for (const name of ['systolic-32x32', 'eyeriss']) {
    const c = presets[name];
    const problems = resnet18Layers.map((l) => tileProblem(c, l));
    const candidates = problems.reduce((s, q) => s + candidateCount(q), 0);
    await scheduleProblemsOnGpu(be.ctx, c, problems.slice(0, 1), 'edp'); // warm-up: pipeline compilation
    let t0 = performance.now();
    await scheduleProblemsOnGpu(be.ctx, c, problems, 'edp');
    const gpuMs = performance.now() - t0;
    t0 = performance.now();
    for (const q of problems) scheduleOnCpu(c, q, 'edp');
    const cpuMs = performance.now() - t0;
    rows.push([`resnet18 layers on ${name}`, String(candidates), (candidates / gpuMs * 1000).toExponential(2), (candidates / cpuMs * 1000).toExponential(2), (cpuMs / gpuMs).toFixed(2)]);
    console.log(rows.at(-1)!.join('  '));
  }
  console.log();
  console.log(table(['layer set', 'candidates', 'GPU candidates/s', 'CPU candidates/s', 'GPU / CPU'], rows));

  const c = presets['systolic-16x16'];
  const layers = resnet20Layers();
  const t0 = performance.now();
  let entries = 0;
  for (const l of layers) entries += (await buildLookupTable(c, l, { schedule: gpuScheduler(be.ctx) })).cycles.length;
  const seconds = (performance.now() - t0) / 1000;
  const dense = await evaluate(c, layers);
  console.log(`\nresnet20 lookup tables on systolic-16x16: ${layers.length} layers, ${entries} (kept in, kept out) entries, built in ${seconds.toFixed(1)} s on the GPU`);
  console.log(`dense resnet20 on systolic-16x16: ${dense.total.cycles} cycles (${dense.latencyMs.toFixed(3)} ms), ${(dense.total.energy.total / 1e6).toFixed(2)} uJ, utilization ${(100 * dense.total.utilization).toFixed(1)}%`);
  be.destroy();
}
