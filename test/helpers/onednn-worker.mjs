// A worker thread that runs the oneDNN addon's convolutions directly (no TypeScript): forward passes of
// a few geometries, many times, reporting whether every result equals the first one it computed. Two
// such workers at once check that threads share no stream, primitive or buffer (test/native-backend.test.ts).
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const addon = createRequire(import.meta.url)(workerData.addon);
const { channels, rounds } = workerData;
const results = [];
let mismatches = 0;
for (let round = 0; round < rounds; round++) {
  for (const [k, c] of channels.entries()) {
    // geometry: batch, inC, inH, inW, outC, outH, outW, groups, kH, kW, sH, sW, padT, padL, padB, padR, dilH, dilW
    // 7x7: too few positions for the direct kernel, so oneDNN's primitives run
    const g = Int32Array.from([4, c, 7, 7, c + 3, 7, 7, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1]);
    const x = Float32Array.from({ length: 4 * c * 49 }, (_, i) => Math.sin(i * 0.37 + c));
    const w = Float32Array.from({ length: (c + 3) * c * 9 }, (_, i) => Math.cos(i * 0.11 + c));
    const y = new Float32Array(4 * (c + 3) * 49);
    addon.convolve(0, g, false, x, w, null, null, y);
    if (round === 0) results[k] = y;
    else if (!y.every((v, i) => v === results[k][i])) mismatches++;
  }
}
parentPort.postMessage({ mismatches, checksum: results.map((y) => y.reduce((a, b) => a + b, 0)), stats: addon.cacheStats() });
