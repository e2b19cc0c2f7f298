// `npm run bench -- fuzz`: mutated inputs at scale (the tests run a few dozen to 1200): every ONNX
// fixture truncated or bit-flipped, and checkpoints likewise. Each case must end in an error naming the
// file, or a model that imports, exports, and that onnxruntime loads and runs; never a crash, a non-Error
// throw or a slow case (over 2 s). FUZZ_CASES (default 3000) per kind, FUZZ_SEED.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initModel } from '../src/model/model.js';
import { lenet5 } from '../src/model/zoo.js';
import { exportOnnx } from '../src/onnx/export.js';
import { importOnnx } from '../src/onnx/import.js';
import { Rng } from '../src/random.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { table } from './util.js';

const FIXTURES = new URL('../test/fixtures/onnx/', import.meta.url);

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
  const tally = { onnx: { errors: 0, valid: 0, failures: [] as string[], slowest: 0 }, checkpoint: { errors: 0, valid: 0, failures: [] as string[], slowest: 0 } };
  const attempt = async (kind: 'onnx' | 'checkpoint', file: string, work: () => Promise<void>) => {
    const t = tally[kind];
    const t0 = performance.now();
    try {
      await work();
      t.valid++;
    } catch (e) {
      if (!(e instanceof Error)) t.failures.push(`${file}: threw a non-Error ${String(e)}`);
      else if (!e.message.startsWith(`${file}: `) && !e.message.startsWith('onnxruntime')) t.failures.push(`${file}: unclear error: ${e.message.slice(0, 120)}`);
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
  const rows = (['onnx', 'checkpoint'] as const).map((k) => [k, String(cases), String(tally[k].errors), String(tally[k].valid), String(tally[k].failures.length), tally[k].slowest.toFixed(0)]);
  console.log(table(['kind', 'cases', 'clear errors', 'accepted (ONNX: exported and run in onnxruntime)', 'failures', 'slowest ms'], rows));
  for (const f of [...tally.onnx.failures, ...tally.checkpoint.failures].slice(0, 20)) console.log(`FAIL ${f}`);
  if (tally.onnx.failures.length + tally.checkpoint.failures.length) process.exitCode = 1;
}
