// A training run in a process of its own, for a clean peak resident memory (bench/speedup.ts), as
// bench/python/torch_training.py measures PyTorch's: one batch of random data, stepped on again and again
// (13 steps, the first left out of the rate). Prints {"<model>": samples/s, "peakRssMiB": ...}.
// Arguments: model, input (CxHxW), batch, threads.
import { readFileSync } from 'node:fs';
import { initModel } from '../src/model/model.js';
import { zooModel } from '../src/model/zoo.js';
import { NativeBackend } from '../src/native/backend.js';
import { Rng } from '../src/random.js';
import { train } from '../src/train/trainer.js';
import { median } from './util.js';

const STEPS = 13;
const [name, input, batchArg, threads] = process.argv.slice(2);
const shape = input.split('x').map(Number) as [number, number, number];
const batch = Number(batchArg);
const be = await NativeBackend.create({ threads: Number(threads) });
const rng = new Rng(1);
const data = { name: 'random', shape, classes: 10, count: batch, images: rng.uniformArray(batch * shape[0] * shape[1] * shape[2]), labels: Uint8Array.from({ length: batch }, () => rng.int(0, 9)) };
const r = await train(be, initModel(zooModel(name, shape, 10), 1), data, {
  epochs: STEPS, batchSize: batch, optimizer: 'sgd', learningRate: 1e-3, momentum: 0.9, seed: 1, logEvery: 1,
});
// VmHWM: this process's own peak (resourceUsage().maxRSS keeps the parent's RSS at fork across exec).
const peakKiB = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
console.log(JSON.stringify({ [name]: median(r.history.slice(1).map((p) => p.samplesPerSecond)), peakRssMiB: peakKiB / 1024 }));
be.destroy();
process.exit(0);
