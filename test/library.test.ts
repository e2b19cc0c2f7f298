// The README's library example (examples/library.ts), run as a user would: a pruner object with a user
// importance function and the caller's fine-tuning, then pruning to a latency budget.
import { describe, expect, it } from 'vitest';
import { example } from '../examples/library.js';
import { parameterCount } from '../src/model/model.js';
import { prunedSpec } from '../src/prune/history.js';
import { zooModel } from '../src/model/zoo.js';
import { structureNorms } from '../src/prune/regularize.js';

describe('the library example', () => {
  it('prunes with the pruner object and to a budget; the history rebuilds the pruned architecture', async () => {
    const lines: string[] = [];
    const { dense, small, fast, cycles, denseCycles, planned, history, sparse, penalty } = await example({ steps: 20, log: (l) => lines.push(l) });
    // The sparse-training snippet: its hooks ran (λ chosen, the structures aimed at near zero).
    expect(Number.isFinite(penalty.lambda)).toBe(true);
    const reached = penalty.reached(structureNorms(sparse, penalty.structures));
    expect(reached.nearZero).toBeGreaterThanOrEqual(0.9 * reached.penalised);
    expect(lines.some((l) => l.startsWith('sparse training: λ'))).toBe(true);
    expect(lines.filter((l) => l.startsWith('step ')).length).toBe(2);
    expect(prunedSpec(zooModel('lenet5', [1, 28, 28], 10), history)).toEqual(small.spec);
    expect(parameterCount(small)).toBeLessThan(0.7 * parameterCount(dense));
    expect(planned.cost).toBeLessThanOrEqual(0.5 * planned.denseValue);
    // The pruner to a budget: within it, and (same budget, same allocation machinery) near the one-call plan.
    expect(cycles).toBeLessThanOrEqual(0.5 * denseCycles);
    expect(cycles).toBeGreaterThan(0.4 * denseCycles);
    expect(parameterCount(fast)).toBeLessThan(parameterCount(dense));
  }, 300_000);
});
