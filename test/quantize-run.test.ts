// Quantization as a user runs it: `wgprune quantize` (PTQ, then QAT with Ctrl-C and --resume, usage
// errors), its QDQ ONNX run by onnxruntime, and quantization-aware training of a pruned model keeping its
// pruned weights at exactly zero.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/sources.js';
import { NativeBackend } from '../src/native/backend.js';
import { unstructuredMasks } from '../src/prune/sparsity.js';
import { quantizeModel } from '../src/quantize/ptq.js';
import type { QuantizeReport } from '../src/report/quantize-report.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { train } from '../src/train/trainer.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { cli } from './helpers/cli.js';
import { presets } from '../src/accel/presets.js';
import { CostModel } from '../src/plan/budget.js';
import { toBudget } from '../src/plan/to-budget.js';
import { planMixedPrecision } from '../src/plan/mixed-precision.js';
import { ChannelPruner } from '../src/prune/pruner.js';
import type { RunReport } from '../src/report/report.js';

const ort = createRequire(import.meta.url)('onnxruntime-node');
const shipped = new URL('../models/lenet5-mnist.safetensors', import.meta.url).pathname;

describe('wgprune quantize', () => {
  it('PTQ at 8 bits keeps accuracy and cuts simulated energy and DRAM bytes; the QDQ ONNX runs in onnxruntime', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wgprune-quantize-'));
    const r = await cli(['quantize', '--model', 'default', '--bits', '8', '--calibration-images', '256', '--train-limit', '1000', '--test-limit', '500', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report: QuantizeReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(Math.abs(report.ptq.accuracy! - report.float.accuracy!)).toBeLessThanOrEqual(0.01);
    expect(report.layers.map((l) => l.weightBits)).toEqual([8, 8, 8, 8, 8]);
    expect(report.ptq.energyUJ).toBeLessThan(0.7 * report.float.energyUJ);
    expect(report.ptq.dramBytes).toBeLessThan(0.7 * report.float.dramBytes);
    expect(report.qat).toBeUndefined();
    // What binarizing fc1 would buy: XNOR-popcount on 16-bit words, 16 input channels per PE per cycle.
    const fc1 = report.layers.find((l) => l.layer === 'fc1')!;
    expect(fc1.binaryCycles).toBeLessThan(fc1.cyclesAfter / 8);
    expect(fc1.binaryEnergy).toBeLessThan(fc1.energyAfter / 4);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/SQNR of each quantized layer/);
    const test = subset(loadMnist('test'), 500);
    const session = await ort.InferenceSession.create(readFileSync(join(out, 'quantized.onnx')));
    const logits = (await session.run({ input: new ort.Tensor('float32', test.images, [500, 1, 28, 28]) })).output.data as Float32Array;
    let correct = 0;
    for (let i = 0; i < 500; i++) {
      const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
      if (row.indexOf(Math.max(...row)) === test.labels[i]) correct++;
    }
    expect(Math.abs(correct / 500 - report.ptq.accuracy!)).toBeLessThanOrEqual(0.004);
    // A quantized model is no float reference: mixed precision refuses it, as quantize does.
    const again = await cli(['prune', '--model', join(out, 'quantized.safetensors'), '--budget', 'energy=0.5', '--bits', '4,8', '--out', join(out, 'p')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/quantized\.safetensors: the model is quantized already; --bits plans widths from a float model/);
  }, 120_000);

  it('QAT stops with Ctrl-C and resumes; options it cannot honour exit 2 with the reason', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wgprune-quantize-'));
    let sent = false;
    const first = await cli(['quantize', '--model', 'default', '--bits', '4', '--qat', '--epochs', '10', '--max-steps', '60', '--train-limit', '512', '--test-limit', '200', '--batch-size', '32', '--out', out], {
      onStderr: (text, child) => { if (!sent && /QAT: step 10\//.test(text)) { sent = true; child.kill('SIGINT'); } },
    });
    expect(sent).toBe(true);
    expect(first.code, first.stderr).toBe(130);
    const second = await cli(['quantize', '--resume', '--out', out]);
    expect(second.code, second.stderr).toBe(0);
    expect(Number(/QAT: step (\d+)\//.exec(second.stderr)![1])).toBeGreaterThan(10);
    const report: QuantizeReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.settings.bits).toBe(4);
    expect(report.qat!.training.maxSteps).toBe(60);
    for (const [args, message] of [
      [['--bits', '17'], /--bits must be an integer from 1 \(binary\) to 16, got 17/],
      [['--calibrate', 'kl'], /--calibrate/],
      [['--calibrate', 'mse', '--percentile', '99'], /--percentile applies to --calibrate percentile, not mse/],
      [['--kd'], /--kd applies to quantization-aware training: add --qat/],
      [['--activation-bits', '1', '--activations', 'symmetric'], /--activations does not apply to one-bit activations/],
      [['--weights', 'per-row'], /--weights/],
    ] as const) {
      const bad = await cli(['quantize', '--model', 'default', ...args, '--out', out]);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
  }, 180_000);
});

describe('quantization-aware training', () => {
  it('of a pruned LeNet-5 at 3 bits recovers accuracy PTQ lost, and pruned weights stay exactly zero', async () => {
    const be = await NativeBackend.create();
    try {
      const { model } = await loadCheckpoint(shipped);
      const pruned = unstructuredMasks(model, 0.5);
      const [trainSet, test] = [subset(loadMnist('train'), 4000), subset(loadMnist('test'), 1000)];
      const ptq = await quantizeModel(be, pruned, trainSet, { bits: 3, calibrator: 'mse', calibrationImages: 256 });
      const before = (await evaluateModel(be, ptq.model, test)).accuracy;
      const qat = await train(be, ptq.model, trainSet, { epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 1e-4, seed: 1, maxSteps: 60 });
      const after = (await evaluateModel(be, qat.model, test)).accuracy;
      expect(after).toBeGreaterThan(before + 0.003);
      for (const [name, mask] of pruned.masks) {
        const w = qat.model.params.get(name)!;
        expect(w.every((v, i) => mask[i] !== 0 || v === 0), name).toBe(true);
      }
      expect(qat.model.spec.quantization).toEqual(ptq.model.spec.quantization);
    } finally {
      be.destroy();
    }
  }, 120_000);
});

describe('mixed precision with channel pruning at one budget', () => {
  it('plans 4/8-bit widths that leave room for channels: lower loss than the widest widths and than float pruning at the same energy, budget met', async () => {
    const be = await NativeBackend.create();
    try {
      const { model } = await loadCheckpoint(shipped);
      const data = subset(loadMnist('train'), 2000);
      const accel = presets['systolic-16x16'];
      const costs = new CostModel(accel, { metric: 'energy' });
      const budget = { metric: 'energy' as const, fraction: 0.15 };
      const plan = await planMixedPrecision(be, model, { bits: [4, 8], budget, costs, importance: 'l1', data });
      expect(Object.values(plan.bits).every((b) => b === 4 || b === 8)).toBe(true);
      expect(Object.values(plan.bits)).toContain(4);
      expect(plan.loss).toBeLessThan(plan.widestLoss);
      expect(plan.budget).toBeCloseTo(0.15 * (await costs.cost(model.spec)), 3);
      // The planned model pruned to the budget meets it at its widths; float pruning to the same energy loses more.
      // Pruned in a fresh cost session: nothing the planner recorded is replayed, so this is the plan the run would make on its own.
      const prune = async (m: typeof model) => {
        const pruner = new ChannelPruner(be, m, { importance: 'l1', allocation: toBudget(m.spec, { metric: 'energy', value: plan.budget }, { costs: new CostModel(accel, { metric: 'energy' }) }) });
        await pruner.step();
        return { cost: await costs.cost((await pruner.compact()).spec), loss: (await evaluateModel(be, pruner.model, subset(data, 512))).loss };
      };
      const [mixed, float] = [await prune(plan.model), await prune(model)];
      expect(mixed.cost).toBeLessThanOrEqual(plan.budget * (1 + 1e-9));
      expect(mixed.loss).toBeCloseTo(plan.loss, 4);
      expect(float.loss).toBeGreaterThan(mixed.loss);
      await expect(planMixedPrecision(be, model, { bits: [1, 8], budget, costs, importance: 'l1', data })).rejects.toThrow(/bits must be integers in \[2, 16\], got 1,8/);
    } finally {
      be.destroy();
    }
  }, 180_000);

  it('prune --bits plans widths and channels, reports both against the float model, and exports QDQ; usage errors exit 2', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wgprune-mixed-'));
    const r = await cli(['prune', '--model', 'default', '--budget', 'energy=0.2', '--bits', '4,8', '--max-steps', '20', '--train-limit', '1000', '--test-limit', '300', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report: RunReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const p = report.precision!;
    expect(Object.keys(p.bits)).toEqual(['conv1', 'conv2', 'fc1', 'fc2', 'fc3']);
    expect(report.pruned.energyUJ).toBeLessThanOrEqual(0.2 * p.float.energyUJ * (1 + 1e-9));
    expect(report.dense.energyUJ).toBeLessThan(p.float.energyUJ); // the quantized model before pruning
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/Mixed precision/);
    const session = await ort.InferenceSession.create(readFileSync(join(out, 'pruned.onnx')));
    expect(session.inputNames).toEqual(['input']);
    for (const [args, message] of [
      [['--ratio', '0.5', '--bits', '4,8'], /--bits plans bit widths with the channels against a budget: add --budget/],
      [['--budget', 'energy=0.3', '--bits', '1,8'], /--bits takes widths from 2 to 8 .*, got '1'/],
      [['--budget', 'energy=0.3', '--bits', '8,16'], /--bits takes widths from 2 to 8 \(the exported QDQ ONNX holds 8-bit integers at most\), e.g. 4,8, got '16'/],
      [['--budget', 'energy=0.3', '--bits', '4,8', '--sweep', '0.5'], /--sweep and --bits do not combine yet/],
    ] as const) {
      const bad = await cli(['prune', '--model', 'default', ...args, '--out', out]);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
  }, 180_000);
});
