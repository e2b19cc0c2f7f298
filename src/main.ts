// `npm start`: the main job on the embedded default. Loads the shipped LeNet-5 MNIST checkpoint,
// evaluates it on the MNIST test set on WebGPU, and prints its per-layer cost on the default
// accelerator preset (tile-scheduled on the GPU). Pruning to a budget joins this job with the CLI.
import { fileURLToPath } from 'node:url';
import { evaluate } from './accel/cost.js';
import { modelWorkloads } from './accel/model-workload.js';
import { DEFAULT_PRESET, preset } from './accel/presets.js';
import { gpuScheduler } from './accel/tile-scheduler-gpu.js';
import { loadMnist } from './data/sources.js';
import { loadCheckpoint } from './train/checkpoint.js';
import { evaluateModel } from './train/trainer.js';
import { WebGpuBackend } from './webgpu/backend.js';

export const DEFAULT_CHECKPOINT = fileURLToPath(new URL('../models/lenet5-mnist.safetensors', import.meta.url));

async function main() {
  const be = await WebGpuBackend.create();
  console.log(`WebGPU: ${be.report.tried.at(-1)}`);
  const checkpoint = await loadCheckpoint(DEFAULT_CHECKPOINT);
  const model = checkpoint.model;
  const test = await evaluateModel(be, model, loadMnist('test'));
  console.log(`${model.spec.name} on the MNIST test set: accuracy ${(100 * test.accuracy).toFixed(2)}%, loss ${test.loss.toFixed(4)} (${test.count} images)`);
  const accel = preset(DEFAULT_PRESET);
  const cost = await evaluate(accel, modelWorkloads(model.spec), { objective: 'latency', schedule: gpuScheduler(be.ctx) });
  console.log(`\n${accel.name}: ${accel.rows}x${accel.cols} ${accel.dataflow} array, ${accel.clockMHz} MHz (${accel.source})`);
  console.log('layer      GEMM (P x K x M)      cycles   stalls  util   DRAM words  energy nJ  tiling');
  for (const l of cost.layers) {
    const t = l.tiling!;
    console.log([
      l.name.padEnd(10), `${l.gemm.P} x ${l.gemm.K} x ${l.gemm.M}`.padEnd(20), String(l.cycles).padStart(8), String(l.stallCycles).padStart(8),
      `${(100 * l.utilization).toFixed(1)}%`.padStart(6), String(Object.values(l.dram).reduce((a, b) => a + b, 0)).padStart(12),
      (l.energy.total / 1000).toFixed(1).padStart(10), ` ${t.tp}x${t.tk}x${t.tm} ${t.order}`,
    ].join(' '));
  }
  console.log(`total: ${cost.total.cycles} cycles = ${cost.latencyMs.toFixed(4)} ms, ${(cost.total.energy.total / 1e6).toFixed(3)} uJ, utilization ${(100 * cost.total.utilization).toFixed(1)}%`);
  be.destroy();
}

main().then(() => process.exit(0), (e) => {
  console.error(`wgprune: ${(e as Error).message}`);
  process.exit(1);
});
