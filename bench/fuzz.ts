// `npm run bench -- fuzz`: mutated inputs at scale (the tests run a few dozen to 1200): every ONNX
// fixture truncated or bit-flipped, and checkpoints likewise; image files (NPY of every dtype, IDX) whose
// values are non-finite, out of range or integers of any width, mutated too; checkpoints whose masks hold
// anything. Each case must end in an error naming the file, or a model that imports, exports, and that
// onnxruntime loads and runs (a data set of finite pixels in [0, 1] and class labels; a checkpoint whose
// masks are 0/1); never a crash, a non-Error throw or a slow case (over 2 s). FUZZ_CASES (default 3000)
// per kind, FUZZ_SEED.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initModel } from '../src/model/model.js';
import { lenet5 } from '../src/model/zoo.js';
import { exportOnnx } from '../src/onnx/export.js';
import { importOnnx } from '../src/onnx/import.js';
import { Rng } from '../src/random.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { datasetFromBytes } from '../src/data/dataset.js';
import { encodeNpy, parseNpy } from '../src/data/dataset.js';
import { table } from './util.js';

const FIXTURES = new URL('../test/fixtures/onnx/', import.meta.url);

/** Images of a random dtype whose values are pixels, with now and then a NaN, an infinity, a negative or a value past 255. */
function imageFile(rng: Rng, count: number): Uint8Array {
  const values = Array.from({ length: count * 16 }, () => {
    const r = rng.uniform(0, 1);
    return r < 0.002 ? Number.NaN : r < 0.004 ? Infinity : r < 0.006 ? -3 : r < 0.008 ? 300 : rng.int(0, 255);
  });
  const descr = ['|u1', '|i1', '<i4', '<i8', '<f4', '<f8'][rng.int(0, 5)];
  const integer = (v: number) => (Number.isFinite(v) ? v : 0);
  const body = descr === '|u1' ? Uint8Array.from(values, integer) : descr === '|i1' ? Int8Array.from(values, integer) : descr === '<i4' ? Int32Array.from(values, integer)
    : descr === '<i8' ? BigInt64Array.from(values, (v) => BigInt(integer(v))) : descr === '<f4' ? Float32Array.from(values, (v) => v / 255) : Float64Array.from(values, (v) => v / 255);
  return encodeNpy(descr, [count, 4, 4], body);
}

function mutate(rng: Rng, original: Uint8Array, i: number): Uint8Array {
  if (i % 3 === 0) return original.slice(0, rng.int(0, original.length - 1));
  const bytes = original.slice();
  // Half the flips aim at the first 4 KiB (graph structure, headers), half anywhere.
  for (let f = rng.int(1, 4); f > 0; f--) bytes[rng.int(0, i % 2 ? Math.min(bytes.length - 1, 4095) : bytes.length - 1)] ^= 1 << rng.int(0, 7);
  return bytes;
}

export async function benchFuzz(): Promise<void> {
  const ort = createRequire(import.meta.url)('onnxruntime-node');
  const cases = Number(process.env.FUZZ_CASES ?? 3000);
  const rng = new Rng(Number(process.env.FUZZ_SEED ?? 2026));
  const onnxFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.onnx')).map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(new URL(f, FIXTURES))) }));
  const checkpoint = encodeCheckpoint({ model: initModel(lenet5(), 1), optimizer: new Map() });
  const kinds = ['onnx', 'checkpoint', 'images', 'masks'] as const;
  const tally = Object.fromEntries(kinds.map((k) => [k, { errors: 0, valid: 0, failures: [] as string[], slowest: 0 }])) as Record<(typeof kinds)[number], { errors: number; valid: number; failures: string[]; slowest: number }>;
  /** Runs one case: a clear error names `file` (or `other`, the case's second file). */
  const attempt = async (kind: (typeof kinds)[number], file: string, work: () => Promise<void>, other?: string) => {
    const t = tally[kind];
    const t0 = performance.now();
    try {
      await work();
      t.valid++;
    } catch (e) {
      if (!(e instanceof Error)) t.failures.push(`${file}: threw a non-Error ${String(e)}`);
      else if (!e.message.startsWith(`${file}: `) && !(other && e.message.startsWith(`${other}: `)) && !e.message.startsWith('onnxruntime')) t.failures.push(`${file}: unclear error: ${e.message.slice(0, 120)}`);
      else if (e.message.startsWith('onnxruntime')) t.failures.push(`${file}: ${e.message.slice(0, 160)}`);
      else t.errors++;
    }
    const ms = performance.now() - t0;
    t.slowest = Math.max(t.slowest, ms);
    if (ms > 2000) t.failures.push(`${file}: took ${ms.toFixed(0)} ms`);
  };
  for (let i = 0; i < cases; i++) {
    const { name, bytes } = onnxFiles[i % onnxFiles.length];
    const file = `fuzz-${i}-${name}`;
    await attempt('onnx', file, async () => {
      const m = importOnnx(mutate(rng, bytes, i), { file });
      const exported = exportOnnx(m);
      try {
        const session = await ort.InferenceSession.create(exported);
        const x = new Float32Array(m.spec.inputShape.reduce((a, b) => a * b, 1)).fill(0.5);
        await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, ...m.spec.inputShape]) });
      } catch (e) {
        throw new Error(`onnxruntime refused the export of an accepted mutation: ${(e as Error).message}`);
      }
    });
    const ckpt = `fuzz-${i}.safetensors`;
    await attempt('checkpoint', ckpt, async () => { decodeCheckpoint(mutate(rng, checkpoint, i), ckpt); });
  }
  // Image files: generated with bad values, and mutated; labels small or odd.
  for (let i = 0; i < cases; i++) {
    const count = rng.int(1, 8);
    const images = i % 4 === 3 ? mutate(rng, imageFile(rng, count), i) : imageFile(rng, count);
    const labels = encodeNpy('<f8', [count], Float64Array.from({ length: count }, () => (rng.uniform(0, 1) < 0.05 ? rng.uniform(-2, 300) : rng.int(0, 9))));
    const file = `fuzz-${i}-images.npy`;
    await attempt('images', file, async () => {
      const d = datasetFromBytes({ file, bytes: images }, { file: `fuzz-${i}-labels.npy`, bytes: labels }, { normalization: { mean: 0, std: 1 } });
      // Pixels are finite; integer files are bytes scaled to [0, 1] (float files are taken as they are).
      if (!d.images.every(Number.isFinite)) throw new Error('accepted non-finite images');
      if (parseNpy(images, file).integer && !d.images.every((v) => v >= 0 && v <= 1)) throw new Error('accepted integer pixels outside 0-255');
    }, `fuzz-${i}-labels.npy`);
  }
  // Checkpoints whose masks hold anything: accepted only with every mask 0/1.
  const model = initModel(lenet5(), 1);
  for (let i = 0; i < cases; i++) {
    const mask = Float32Array.from({ length: 150 }, () => {
      const r = rng.uniform(0, 1);
      return r < 0.002 ? Number.NaN : r < 0.004 ? 1e30 : r < 0.006 ? 0.5 : r < 0.5 ? 0 : 1;
    });
    const file = `fuzz-${i}-masks.safetensors`;
    await attempt('masks', file, async () => {
      const c = decodeCheckpoint(encodeCheckpoint({ model: { ...model, masks: new Map([['conv1.weight', mask]]) }, optimizer: new Map() }), file);
      if (!c.model.masks.get('conv1.weight')!.every((v) => v === 0 || v === 1)) throw new Error('accepted a mask that is not 0/1');
    });
  }
  const rows = (['onnx', 'checkpoint', 'images', 'masks'] as const).map((k) => [k, String(cases), String(tally[k].errors), String(tally[k].valid), String(tally[k].failures.length), tally[k].slowest.toFixed(0)]);
  console.log(table(['kind', 'cases', 'clear errors', 'accepted (ONNX: exported and run in onnxruntime)', 'failures', 'slowest ms'], rows));
  const failures = kinds.flatMap((k) => tally[k].failures);
  for (const f of failures.slice(0, 20)) console.log(`FAIL ${f}`);
  if (failures.length) process.exitCode = 1;
}
