// Lookup tables: built on the GPU in one pass, equal to the CPU reference, and showing the staircase.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../src/accel/config.js';
import { evaluate } from '../src/accel/cost.js';
import { buildLookupTable, keptWorkload, lookupIndex } from '../src/accel/lookup.js';
import { presets } from '../src/accel/presets.js';
import { convWorkload } from '../src/accel/workload.js';
import { gpuScheduler } from '../src/schedulers/webgpu.js';
import { conv2dGeometry } from '../src/geometry.js';
import { webgpu } from './helpers/backends.js';

describe('latency and energy lookup tables', async () => {
  const gpu = await webgpu();
  const os16 = presets['systolic-16x16'];
  const layer = convWorkload('conv', conv2dGeometry([1, 12, 10, 10], [40, 12, 3, 3], { padding: 1 }));

  it('the GPU table equals the CPU reference table, and each entry equals evaluate() of the pruned layer', async () => {
    const [onGpu, onCpu] = [await buildLookupTable(os16, layer, { schedule: gpuScheduler(gpu.ctx) }), await buildLookupTable(os16, layer)];
    expect(Array.from(onGpu.cycles)).toEqual(Array.from(onCpu.cycles));
    expect(Array.from(onGpu.energyPJ)).toEqual(Array.from(onCpu.energyPJ));
    for (const [i, o] of [[1, 1], [5, 17], [12, 40], [7, 32]]) {
      const cost = await evaluate(os16, [keptWorkload(layer, i, o)]);
      expect(onGpu.cycles[lookupIndex(onGpu, i, o)]).toBe(cost.total.cycles);
      expect(onGpu.energyPJ[lookupIndex(onGpu, i, o)]).toBeCloseTo(cost.total.energy.total, 6);
    }
  });

  it('shows the staircase: output channels map to 16 array columns, so cost steps every 16 filters', async () => {
    const t = await buildLookupTable(os16, layer, { schedule: gpuScheduler(gpu.ctx) });
    const at = (o: number) => t.cycles[lookupIndex(t, 12, o)];
    // Within a step (17..32 filters) compute is flat; only DRAM time grows a little.
    expect(Math.abs(at(32) - at(17)) / at(32)).toBeLessThan(0.05);
    // Across a step edge (16 -> 17) the cost jumps.
    expect(at(17) / at(16)).toBeGreaterThan(1.5);
    // In `is` mode M is temporal: the cost grows about linearly with filters instead.
    const is16 = validateConfig({ ...os16, dataflow: 'is' });
    const u = await buildLookupTable(is16, layer, { schedule: gpuScheduler(gpu.ctx) });
    const atIs = (o: number) => u.cycles[lookupIndex(u, 12, o)];
    expect(atIs(32) / atIs(17)).toBeGreaterThan(1.3);
  });

  it('tabulates depthwise layers by kept channels (input and output together)', async () => {
    const dw = convWorkload('dw', conv2dGeometry([1, 24, 8, 8], [24, 1, 3, 3], { groups: 24, padding: 1 }));
    const t = await buildLookupTable(os16, dw, { schedule: gpuScheduler(gpu.ctx) });
    expect(t.depthwise).toBe(true);
    expect(t.cycles.length).toBe(24);
    expect(t.cycles[lookupIndex(t, 24, 24)]).toBe((await evaluate(os16, [dw])).total.cycles);
    expect(t.cycles[lookupIndex(t, 12, 12)] * 2).toBe(t.cycles[lookupIndex(t, 24, 24)]);
  });
});
