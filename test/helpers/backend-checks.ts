// Checks every non-reference backend runs besides the shared op suites: the magnitude-selection ops of
// unstructured pruning (exact histograms and masks) and shape errors that name the op and the shapes.
import { expect } from 'vitest';
import type { Backend } from '../../src/backend.js';
import { magnitudeBits } from '../../src/backend.js';
import { Rng } from '../../src/random.js';
import { binaryMask, randomInput } from './op-cases.js';

export async function expectMagnitudeSelectionAgrees(be: Backend, reference: Backend): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const rng = new Rng(500 + i);
    const shape = [rng.int(1, 40), rng.int(1, 30)];
    const x = randomInput(rng, shape, -2, 2), mask = binaryMask(rng, shape);
    const threshold = magnitudeBits(rng.uniform(0, 1.5));
    const results = [];
    // Every other case as a pruned weight: 0 where the mask is.
    const values = i % 2 ? x.data.map((v, j) => (mask.data[j] === 0 ? 0 : v)) : x.data;
    for (const b of [be, reference]) {
      const t = b.upload(values, shape);
      const top = await b.magnitudeHistogram([t], 24, 0);
      const prefix = top.findIndex((c) => c > 0);
      results.push({ top, next: await b.magnitudeHistogram([t], 16, prefix), mask: await b.read(b.thresholdMask(t, threshold)) });
    }
    expect(results[0]).toEqual(results[1]);
  }
}

export function expectNamedShapeErrors(be: Backend): void {
  const x = be.upload(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]);
  const w = be.upload(new Float32Array(5 * 2 * 3 * 3), [5, 2, 3, 3]);
  expect(() => be.conv2d(x, w)).toThrow(/conv2d: weight has 2 input channels per group, input has 3/);
  expect(() => be.add(x, w)).toThrow(/add: second input has shape \[5, 2, 3, 3\]/);
  be.dispose(x, w);
}
