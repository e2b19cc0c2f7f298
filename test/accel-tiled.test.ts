// Mode `tiled` sanity: compulsory traffic, SRAM size, bandwidth, energy bookkeeping, the staircase.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../src/accel/config.js';
import { evaluate } from '../src/accel/cost.js';
import { presets } from '../src/accel/presets.js';
import { compulsoryIfmapWords, tileProblem } from '../src/accel/tiled.js';
import { convWorkload, linearWorkload } from '../src/accel/workload.js';
import { conv2dGeometry } from '../src/geometry.js';
import { Rng } from '../src/random.js';
import { randomConfig, randomLayer } from './helpers/accel-cases.js';

const conv = (name: string, x: number[], w: number[], o = {}) => convWorkload(name, conv2dGeometry(x, w, o));

describe('tiled mode', () => {
  const rng = new Rng(21);
  const cases = Array.from({ length: 40 }, () => ({ c: randomConfig(rng), l: randomLayer(rng) }));

  it('DRAM traffic is never below the compulsory traffic (each operand read once, output written once)', async () => {
    for (const { c, l } of cases) {
      const cost = (await evaluate(c, [l])).layers[0];
      const q = tileProblem(c, l);
      const r = cost.gemm.repeats;
      expect(cost.dram.ifmapReads, `${l.name} on ${c.name}`).toBeGreaterThanOrEqual(compulsoryIfmapWords(q) * r);
      expect(cost.dram.filterReads).toBeGreaterThanOrEqual(q.K * q.M * r);
      expect(cost.dram.ofmapWrites).toBeGreaterThanOrEqual(q.P * q.M * r);
    }
  });

  it('DRAM traffic falls (never rises) as the SRAMs grow, and reaches the compulsory traffic', async () => {
    for (const { c, l } of cases.slice(0, 15)) {
      let previous = Infinity;
      for (const kb of [1, 2, 4, 8, 16, 64, 256, 4096]) {
        const big = validateConfig({ ...c, ifmapSramKB: kb, filterSramKB: kb, ofmapSramKB: kb });
        const cost = (await evaluate(big, [l], { objective: 'dram' })).layers[0];
        const dram = Object.values(cost.dram).reduce((a, b) => a + b, 0);
        expect(dram, `${l.name} ${kb} KB`).toBeLessThanOrEqual(previous);
        previous = dram;
      }
      const q = tileProblem(c, l);
      expect(previous).toBe((compulsoryIfmapWords(q) + q.K * q.M + q.P * q.M) * l.groups);
    }
  });

  it('stalls appear only when DRAM bandwidth is short', async () => {
    for (const { c, l } of cases) {
      const fast = (await evaluate(validateConfig({ ...c, dramBandwidth: 1e6 }), [l])).layers[0];
      expect(fast.stallCycles).toBe(0);
      const slow = (await evaluate(validateConfig({ ...c, dramBandwidth: 1 / 16 }), [l])).layers[0];
      expect(slow.stallCycles).toBeGreaterThan(0);
      expect(slow.cycles).toBeGreaterThan(fast.cycles);
    }
  });

  it('energy is the sum of its parts, each an access count times the energy table scaled to the widths moved (Horowitz)', async () => {
    for (const { c, l } of cases) {
      const cost = (await evaluate(c, [l])).layers[0];
      const e = cost.energy;
      expect(e.total).toBeCloseTo(e.mac + e.registerFile + e.sram + e.dram, 6);
      const word = c.wordBytes * 8;
      const [w, a, p] = [l.bits?.weights ?? c.precision?.weights ?? word, l.bits?.activations ?? c.precision?.activations ?? word, c.precision?.psums ?? word];
      // Multiply ∝ product of the operand widths (0.2 pJ at 8 x 8 bits), add ∝ the accumulator's width (0.1 pJ at 32).
      const mac = (x: number, y: number, z: number) => 0.2 * (x * y) / 64 + 0.1 * z / 32;
      const binary = w === 1 && a === 1;
      if (binary) {
        // Packed words of `word` binary MACs: word XNORs and one-bit adds, one accumulate per word.
        const words = Math.ceil(l.channels / word) * l.filterH * l.filterW * cost.gemm.P * cost.gemm.M * cost.gemm.repeats;
        expect(cost.macs).toBe(cost.gemm.P * cost.gemm.K * cost.gemm.M * cost.gemm.repeats);
        expect(e.mac / (words * c.energy.mac)).toBeCloseTo((word * (mac(1, 1, 0) + 0.1 / 32) + 0.1 * p / 32) / mac(word, word, c.precision?.psums ?? word), 9);
      } else expect(e.mac / (cost.macs * c.energy.mac)).toBeCloseTo(mac(w, a, p) / mac(word, word, c.precision?.psums ?? word), 9);
      // DRAM bits: inputs at a, weights at w, final outputs at a, spilled partial sums at p (binary: packed words in, one-bit outputs).
      const outputs = cost.gemm.P * cost.gemm.M * cost.gemm.repeats;
      const [inBits, weightBits, outBits] = binary ? [word, word, 1] : [a, w, a];
      const bits = cost.dram.ifmapReads * inBits + cost.dram.filterReads * weightBits + (cost.dram.ofmapReads + cost.dram.ofmapWrites - outputs) * p + outputs * outBits;
      expect(e.dram).toBeCloseTo((bits / word) * c.energy.dram, 6);
      expect(cost.dramBytes).toBeCloseTo(bits / 8, 6);
      if (!l.bits && !c.precision) expect(e.mac).toBeCloseTo(cost.macs * c.energy.mac, 6);
    }
  });

  it('halving the widths halves the DRAM bytes of a memory-bound layer, doubles the values each SRAM holds, and prices energy by the bits', async () => {
    // A fully connected layer: every weight is read once, so DRAM time bounds it at one word per cycle.
    const c = validateConfig({ ...presets['systolic-16x16'], dramBandwidth: 1 });
    const fc = linearWorkload('fc', 4096, 256);
    const [wide, narrow] = [(await evaluate(c, [fc])).layers[0], (await evaluate(c, [{ ...fc, bits: { weights: 8, activations: 8 } }])).layers[0]];
    expect(wide.stallCycles).toBeGreaterThan(2 * wide.computeCycles);
    expect(narrow.dramBytes).toBeCloseTo(wide.dramBytes / 2, 6);
    expect(narrow.cycles / wide.cycles).toBeGreaterThan(0.45);
    expect(narrow.cycles / wide.cycles).toBeLessThan(0.55);
    const q = (bits?: { weights: number; activations: number }) => tileProblem(c, bits ? { ...fc, bits } : fc);
    expect(q({ weights: 8, activations: 8 }).filterWords).toBe(2 * q().filterWords);
    expect(q({ weights: 4, activations: 8 }).filterWords).toBe(4 * q().filterWords);
    expect(q({ weights: 8, activations: 8 }).ifmapWords).toBe(2 * q().ifmapWords);
    // 16-bit words at 0.5 pJ per MAC (Eyeriss table); int8 operands with 16-bit partial sums: (0.2 + 0.05) / (0.8 + 0.05).
    expect(narrow.energy.mac / wide.energy.mac).toBeCloseTo(0.25 / 0.85, 9);
    expect(narrow.energy.dram / wide.energy.dram).toBeCloseTo(0.5, 6);
    // The SCALE-Sim mode keeps its one-byte convention: widths change nothing there.
    const scalesim = async (l: typeof fc) => (await evaluate(c, [l], { mode: 'scalesim' })).total;
    expect(await scalesim({ ...fc, bits: { weights: 4, activations: 4 } })).toEqual(await scalesim(fc));
    expect(() => validateConfig({ ...c, precision: { weights: 8, activations: 8 } })).toThrow(/precision.psums must be a positive integer, got undefined/);
    // Binary weights and activations: XNOR-popcount on 16-bit words, 16 input channels per PE per cycle.
    const layer = conv('b', [1, 64, 16, 16], [64, 64, 3, 3], { padding: 1 });
    const array = presets['systolic-16x16'];
    const [int8, xnor] = [(await evaluate(array, [{ ...layer, bits: { weights: 8, activations: 8 } }])).layers[0], (await evaluate(array, [{ ...layer, bits: { weights: 1, activations: 1 } }])).layers[0]];
    expect(xnor.macs).toBe(int8.macs);
    // 16x fewer word operations; each tile's fill and drain stays (so somewhat less than 16x fewer cycles).
    expect(xnor.computeCycles).toBeLessThan(int8.computeCycles / 8);
    expect(xnor.energy.mac / int8.energy.mac).toBeCloseTo((16 * (0.2 / 64 + 0.1 / 32) + 0.05) / (0.2 + 0.05) / 16, 9);
    expect(() => validateConfig({ ...c, precision: { weights: 64, activations: 8, psums: 32 } })).toThrow(/precision.weights must be at most 32 bits, got 64/);
  });

  it('reports utilization within (0, 1] and the latency staircase of a 32-wide os array', async () => {
    const c = validateConfig({ ...presets['systolic-32x32'], dataflow: 'os' });
    const layer = (m: number) => conv('l', [1, 64, 28, 28], [m, 64, 3, 3], { padding: 1 });
    const cycles = async (m: number) => (await evaluate(c, [layer(m)])).total.cycles;
    const [c64, c40, c33, c32] = [await cycles(64), await cycles(40), await cycles(33), await cycles(32)];
    // Compute is flat along a step (ceil(M / 32) folds); only DRAM time differs, by a few percent.
    expect(Math.abs(c40 - c64) / c64).toBeLessThan(0.03);
    expect(Math.abs(c33 - c64) / c64).toBeLessThan(0.03);
    expect(c32).toBeLessThan(c64 * 0.6);
    const u = (await evaluate(c, [layer(64)])).total.utilization;
    expect(u).toBeGreaterThan(0);
    expect(u).toBeLessThanOrEqual(1);
  });

  it('N:M hardware halves the weight-side compute of conforming layers only', async () => {
    const dense = presets['systolic-16x16'];
    const sparseHw = validateConfig({ ...dense, sparsity: { n: 2, m: 4 } });
    const l = conv('l', [1, 64, 14, 14], [64, 64, 3, 3], { padding: 1 });
    const [a, b, d] = [await evaluate(dense, [l]), await evaluate(sparseHw, [l]), await evaluate(sparseHw, [{ ...l, sparsity: { n: 2, m: 4 } }])];
    expect(b.total.cycles).toBe(a.total.cycles);
    expect(d.total.macs).toBe(a.total.macs / 2);
    expect(d.total.cycles).toBeLessThan(a.total.cycles * 0.6);
  });
});

describe('model workloads', () => {
  it('maps every conv and linear layer of a zoo model to its GEMM', async () => {
    const { modelWorkloads } = await import('../src/accel/model-workload.js');
    const { lenet5, mobilenet } = await import('../src/model/zoo.js');
    const { gemmOf } = await import('../src/accel/workload.js');
    expect(modelWorkloads(lenet5()).filter((l) => !l.vector).map((l) => [l.name, ...Object.values(gemmOf(l))])).toEqual([
      ['conv1', 28 * 28, 25, 6, 1], ['conv2', 10 * 10, 150, 16, 1], ['fc1', 1, 400, 120, 1], ['fc2', 1, 120, 84, 1], ['fc3', 1, 84, 10, 1],
    ]);
    const dw = modelWorkloads(mobilenet()).find((l) => l.name === 'block2.dw')!;
    expect(gemmOf(dw)).toEqual({ P: 16 * 16, K: 9, M: 1, repeats: 32 });
  });

  it('costs the ops between GEMMs as vector passes: ops on one lane per column, or DRAM words at the bandwidth', async () => {
    const { modelWorkloads } = await import('../src/accel/model-workload.js');
    const { lenet5, resnet20 } = await import('../src/model/zoo.js');
    const { GraphBuilder } = await import('../src/model/graph.js');
    const c = presets['systolic-16x16'];
    // LeNet-5: its two 2x2 max pools are passes; ReLUs, flatten and the conv biases are not.
    const passes = modelWorkloads(lenet5()).filter((l) => l.vector);
    expect(passes.map((l) => [l.vector!.op, l.channels, l.ifmapH, l.numFilters, l.ofmapH])).toEqual([['maxpool', 6, 28, 6, 14], ['maxpool', 16, 10, 16, 5]]);
    const cost = await evaluate(c, passes);
    passes.forEach((l, i) => {
      const [inWords, outWords] = [l.channels * l.ifmapH * l.ifmapW, l.numFilters * l.ofmapH * l.ofmapW];
      const expected = Math.max(Math.ceil((outWords * 4) / c.cols), Math.ceil((inWords + outWords) / c.dramBandwidth));
      expect(cost.layers[i].cycles, l.name).toBe(expected);
      expect(cost.layers[i].dram).toEqual({ ifmapReads: inWords, filterReads: 0, ofmapReads: 0, ofmapWrites: outWords });
      expect(cost.layers[i].macs).toBe(0);
    });
    // ResNet-20's residual adds read both inputs; its batch norms follow convs and fold away.
    const adds = modelWorkloads(resnet20()).filter((l) => l.vector);
    expect(new Set(adds.map((l) => l.vector!.op))).toEqual(new Set(['add', 'gap']));
    expect(adds.filter((l) => l.vector!.op === 'add').every((l) => l.vector!.inputs === 2)).toBe(true);
    // A batch norm after a concat cannot fold: it is a pass reading gamma and beta too; a layer norm likewise.
    const g = new GraphBuilder('bn-after-concat', [3, 8, 8], 4);
    const cat = g.concat([g.conv('input', { out: 4, kernel: 1 }), g.conv('input', { out: 4, kernel: 1 })]);
    const spec = g.build(g.linear(g.flatten(g.gap(g.layerNorm(g.relu(g.bn(cat))))), 4));
    const ops = modelWorkloads(spec).filter((l) => l.vector).map((l) => [l.vector!.op, l.vector!.perChannelWords]);
    expect(ops).toEqual([['batchnorm', 2], ['layernorm', 2], ['gap', 0]]);
  });
});
