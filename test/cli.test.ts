// The wgprune CLI end to end, as a subprocess: simulate --json against the library, a small budget
// prune whose ONNX file onnxruntime-node loads and whose HTML report renders its charts in headless
// Chromium, usage errors (exit 2), and a run stopped with Ctrl-C (SIGINT) that resumes.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../src/accel/cost.js';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { preset } from '../src/accel/presets.js';
import { lenet5 } from '../src/model/zoo.js';
import type { RunReport } from '../src/report/report.js';
import { DEFAULT_CHECKPOINT } from '../src/cli/inputs.js';
import { type PruningHistory, prunedSpec } from '../src/prune/history.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { cli } from './helpers/cli.js';

const ort = createRequire(import.meta.url)('onnxruntime-node');

const tmp = () => mkdtempSync(join(tmpdir(), 'wgprune-cli-'));
const SMALL = ['--train-limit', '512', '--test-limit', '300', '--batch-size', '32'];

describe('wgprune CLI', () => {
  it('simulate --json gives the library numbers per layer and in total', async () => {
    const r = await cli(['simulate', '--model', 'lenet5', '--accel', 'systolic-32x32', '--objective', 'energy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const expected = await evaluate(preset('systolic-32x32'), modelWorkloads(lenet5()), { objective: 'energy' });
    expect(out.layers.map((l: { name: string }) => l.name)).toEqual(expected.layers.map((l) => l.name));
    out.layers.forEach((l: (typeof expected.layers)[0], i: number) => {
      const e = expected.layers[i];
      expect({ gemm: l.gemm, cycles: l.cycles, stallCycles: l.stallCycles, sram: l.sram, dram: l.dram, energy: l.energy, utilization: l.utilization, mappingEfficiency: l.mappingEfficiency })
        .toEqual({ gemm: e.gemm, cycles: e.cycles, stallCycles: e.stallCycles, sram: e.sram, dram: e.dram, energy: e.energy, utilization: e.utilization, mappingEfficiency: e.mappingEfficiency });
    });
    expect(out.total.cycles).toBe(expected.total.cycles);
    // SCALE-Sim topology input and mode.
    const dir = tmp();
    writeFileSync(join(dir, 'net.csv'), 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\nconv1, 30, 30, 3, 3, 8, 16, 1,\n');
    const s = await cli(['simulate', '--topology', join(dir, 'net.csv'), '--mode', 'scalesim', '--json']);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).layers[0].gemm).toEqual({ P: 784, K: 72, M: 16, repeats: 1 });
    // SCALE-Sim's report columns in the JSON, and its report files with --reports.
    const report = JSON.parse(s.stdout).layers[0].scaleSim;
    expect(report['Total Cycles']).toBe(JSON.parse(s.stdout).layers[0].cycles);
    const reports = await cli(['simulate', '--topology', join(dir, 'net.csv'), '--mode', 'scalesim', '--reports', join(dir, 'reports')]);
    expect(reports.code, reports.stderr).toBe(0);
    expect(readFileSync(join(dir, 'reports', 'COMPUTE_REPORT.csv'), 'utf8')).toBe(`LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,\n0, ${report['Total Cycles']}, 0, ${report['Overall Util %']}, ${report['Mapping Efficiency %']}.0, ${report['Compute Util %']},\n`);
    expect(readFileSync(join(dir, 'reports', 'DETAILED_ACCESS_REPORT.csv'), 'utf8')).toContain(`, ${report['DRAM OFMAP Writes']},\n`);
  });

  it('bad arguments exit 2 with a message naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['prune', '--ratio', '1.5'], /--ratio must be in \[0, 1\), got 1.5/],
      [['prune', '--budget', 'speed=0.5'], /unknown metric 'speed'/],
      [['prune'], /prune needs --ratio R or --budget/],
      [['simulate', '--accel', 'nope'], /--accel 'nope': not a preset/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['simulate', '--reports', 'out/r'], /--reports out\/r: SCALE-Sim's report files come from --mode scalesim/],
      [['simulate', '--mode', 'scalesim', '--objective', 'energy'], /--objective energy: SCALE-Sim's mapping is fixed by its dataflow/],
      [['eval', '--bogus'], /unknown option '--bogus'/],
      [['prune', '--ratio', '0.3', '--lambda', '0.01'], /--lambda configure sparse training: add --sparse-train N/],
      [['prune', '--ratio', '0.3', '--sparse-train', '10', '--reg', 'bogus'], /--reg 'bogus': use one of group-lasso, slimming, filter-shape, depth/],
      [['prune', '--ratio', '0.3', '--sparse-train', '10', '--lambda-grow', '0.5:10'], /--lambda-grow takes FACTOR:STEPS with FACTOR > 1/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    const missing = await cli(['eval', '--model', 'missing.onnx', '--test-limit', '10']);
    expect(missing.code).toBe(2); // a file the user named that is not there: a usage error
    expect(missing.stderr).toMatch(/missing\.onnx: no such file/);
    const help = await cli(['simulate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--topology F/);
  });

  it('prune to a budget: ONNX that onnxruntime loads, report.json within budget, report.html renders its charts', async () => {
    const out = tmp();
    const config = join(out, 'options.json');
    writeFileSync(config, JSON.stringify({ budget: 'latency=0.6', accel: 'edge-8x8', 'max-steps': 6, sweep: '0.8,0.6' }));
    const r = await cli(['prune', '--model', 'default', '--config', config, '--kd', ...SMALL, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report: RunReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.budget!.met).toBe(true);
    expect(report.pruned.cycles).toBeLessThanOrEqual(0.6 * report.dense.cycles);
    expect(report.accelerator.name).toBe('edge-8x8');
    expect(report.pruned.accuracy).toBeGreaterThan(0.5);
    const session = await ort.InferenceSession.create(readFileSync(join(out, 'pruned.onnx')));
    const y = await session.run({ input: new ort.Tensor('float32', new Float32Array(2 * 784), [2, 1, 28, 28]) });
    expect(y.output.dims).toEqual([2, 10]);
    // The sweep: a Pareto point per budget, aware and uniform, each within its budget.
    const pareto = JSON.parse(readFileSync(join(out, 'pareto.json'), 'utf8'));
    expect(pareto.map((p: { fraction: number }) => p.fraction)).toEqual([0.8, 0.6]);
    for (const p of pareto) {
      expect(p.aware.cycles).toBeLessThanOrEqual(p.fraction * report.dense.cycles);
      expect(p.uniform.cycles).toBeLessThanOrEqual(p.fraction * report.dense.cycles);
    }
    expect(readFileSync(join(out, 'pareto.svg'), 'utf8')).toMatch(/^<svg[^>]*>.*<circle/s);
    // --json: progress comes as JSON events on stderr, planning included (its share of the way to the budget, an ETA).
    const events = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const planning = events.filter((e) => e.event === 'planning');
    expect(planning.length).toBeGreaterThan(2);
    for (const e of planning) expect(e.fraction).toBeGreaterThanOrEqual(0), expect(e.fraction).toBeLessThanOrEqual(1);
    expect(planning.map((e) => e.phase)).toContain('planning: from the whole model: descent');
    expect(events.some((e) => e.event === 'progress' && e.phase === 'fine-tune' && e.step > 0)).toBe(true);
    // No GPU in CI: auto ran the job on the native backend, and the report says so.
    expect(report.backend).toMatch(/^native \(onnxruntime CPU kernels \+ oneDNN [\d.]+, \d+ threads\)$/);

    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      const requests: string[] = [];
      page.on('request', (q) => { if (!q.url().startsWith('file:')) requests.push(q.url()); });
      await page.goto(`file://${join(out, 'report.html')}`);
      expect(await page.locator('svg').count()).toBeGreaterThanOrEqual(5); // channels, cycles, energy, staircases, Pareto front
      expect(await page.locator('svg rect.bar').count()).toBeGreaterThan(10);
      expect(await page.locator('svg path.series').count()).toBeGreaterThanOrEqual(3);
      expect(await page.locator('svg circle').count()).toBe(4);
      expect(await page.locator('svg line.mark').count()).toBeGreaterThanOrEqual(1);
      expect(await page.title()).toContain('wgprune report');
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('--round-to N keeps a multiple of N channels in each group (or all of them), by ratio and to a budget', async () => {
    for (const target of [['--ratio', '0.5'], ['--budget', 'latency=0.5']]) {
      const out = tmp();
      const r = await cli(['prune', '--model', 'default', ...target, '--round-to', '4', '--max-steps', '2', ...SMALL, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const report: RunReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      const cut = report.layers.filter((l) => l.channelsAfter < l.channelsBefore);
      expect(cut.length, target.join(' ')).toBeGreaterThan(0);
      for (const l of cut) expect(l.channelsAfter % 4, `${l.name}: ${l.channelsAfter}`).toBe(0);
      if (report.budget) expect(report.budget.met).toBe(true);
    }
  });

  it('doctor: every backend with a timed conv, and why auto takes the one it takes', async () => {
    const d = await cli(['doctor', '--json']);
    expect(d.code, d.stderr).toBe(0);
    const doctor = JSON.parse(d.stdout);
    expect(doctor.native.available).toBe(true);
    expect(doctor.native.convMs).toBeGreaterThan(0);
    expect(doctor.native.onednn).toMatch(/^oneDNN \d/);
    expect(doctor.webgpu.available).toBe(true);
    // CI has no GPU: WebGPU is SwiftShader, which auto passes over for the native backend.
    expect(doctor.webgpu.software).toBe(true);
    expect(doctor.backend).toBe('native');
    expect(doctor.reason).toMatch(/^no hardware GPU \(.+\); running on the native CPU backend/);
    const forced = JSON.parse((await cli(['doctor', '--json', '--backend', 'gpujs'])).stdout);
    // gpu.js takes its fastest working mode, whichever this machine has.
    const best = forced.gpujs.modes.find((m: { works: boolean }) => m.works).mode;
    expect([forced.backend, forced.reason]).toEqual([`gpujs (${best})`, 'asked for with --backend gpujs']);
  });

  it('without WebGPU and the native backend: doctor names the gpu.js mode, and prune falls back to it with a one-line notice', async () => {
    const env = { WGPRUNE_WEBGPU: 'off', WGPRUNE_NATIVE: 'off' };
    const d = await cli(['doctor', '--json'], { env });
    expect(d.code, d.stderr).toBe(0);
    const doctor = JSON.parse(d.stdout);
    const working = doctor.gpujs.modes.filter((m: { works: boolean }) => m.works).map((m: { mode: string }) => m.mode);
    expect(working).toContain('cpu'); // plain JavaScript works everywhere
    expect(doctor.backend).toBe(`gpujs (${working[0]})`);
    expect(doctor.webgpu.available).toBe(false);
    expect(doctor.native).toEqual({ available: false, reason: 'native backend turned off (WGPRUNE_NATIVE=off)' });
    const out = tmp();
    const r = await cli(['prune', '--model', 'default', '--budget', 'latency=0.5', '--max-steps', '4', ...SMALL, '--out', out, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const notices = r.stderr.split('\n').filter((l) => l.startsWith('wgprune:'));
    expect(notices).toEqual([expect.stringMatching(new RegExp(`^wgprune: WebGPU unavailable \\(no WebGPU adapter: WebGPU turned off \\(WGPRUNE_WEBGPU=off\\)\\); native backend turned off \\(WGPRUNE_NATIVE=off\\); running on gpu\\.js \\(${working[0]}\\)`))]);
    const report: RunReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.pruned.cycles).toBeLessThanOrEqual(0.5 * report.dense.cycles);
    expect(report.pruned.accuracy).toBeGreaterThan(0.5);
    // The pruned checkpoint records its pruning history: the original model plus it give the pruned architecture.
    const pruned = await loadCheckpoint(join(out, 'pruned.safetensors'));
    const original = await loadCheckpoint(DEFAULT_CHECKPOINT);
    expect(prunedSpec(original.model.spec, pruned.info!.pruning as PruningHistory)).toEqual(pruned.model.spec);
  });

  it('N:M and unstructured granularities: masked exports, and the report says what the array makes of them', async () => {
    const out = tmp();
    const nm = await cli(['prune', '--model', 'default', '--granularity', 'nm', '--nm', '2:4', '--max-steps', '3', ...SMALL, '--out', out, '--json']);
    expect(nm.code, nm.stderr).toBe(0);
    const report: RunReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.method.nm).toBe('2:4');
    expect(report.notes.join(' ')).toMatch(/no N:M sparsity support/);
    expect(report.pruned.params).toBeLessThan(0.6 * report.dense.params);
    const un = await cli(['prune', '--model', 'default', '--granularity', 'unstructured', '--ratio', '0.8', '--max-steps', '3', ...SMALL, '--out', out, '--json']);
    expect(un.code, un.stderr).toBe(0);
    const r2: RunReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(r2.pruned.cycles).toBe(r2.dense.cycles);
    expect(r2.notes.join(' ')).toMatch(/unstructured sparsity removes no whole rows/);
  });

  it('Ctrl-C during fine-tuning saves the run; --resume continues it to the end', async () => {
    const out = tmp();
    let sent = false;
    const first = await cli(['prune', '--model', 'default', '--ratio', '0.5', ...SMALL, '--epochs', '10', '--max-steps', '120', '--out', out], {
      onStderr: (text, child) => {
        if (!sent && /fine-tune: step 20\//.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(first.code, first.stderr).toBe(130);
    expect(first.stdout).toMatch(/wgprune prune --resume/);
    expect(existsSync(join(out, 'resume.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'report.json'))).toBe(false);
    const second = await cli(['prune', '--resume', '--out', out]);
    expect(second.code, second.stderr).toBe(0);
    const steps = [...second.stderr.matchAll(/fine-tune: step (\d+)\/(\d+)/g)].map((m) => Number(m[1]));
    expect(steps[0]).toBeGreaterThan(20); // continued, not restarted
    expect(steps.at(-1)).toBe(120);
    const report: RunReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.method.ratio).toBe(0.5);
  });

  it('sparse training before pruning: the report has the norms before and after and their histogram; Ctrl-C in it resumes', async () => {
    const out = tmp();
    let sent = false;
    const args = ['prune', '--model', 'default', '--ratio', '0.3', '--sparse-train', '60', '--reg', 'group-lasso', '--lambda', '60', '--lambda-grow', '2:20', ...SMALL, '--epochs', '10', '--max-steps', '4', '--out', out];
    const first = await cli(args, { onStderr: (text, child) => { if (!sent && /sparse training: step 20\//.test(text)) { sent = true; child.kill('SIGINT'); } } });
    expect(sent).toBe(true);
    expect(first.code, first.stderr).toBe(130);
    const second = await cli(['prune', '--resume', '--out', out]);
    expect(second.code, second.stderr).toBe(0);
    expect(Number(/sparse training: step (\d+)\//.exec(second.stderr)![1])).toBeGreaterThan(20); // continued
    const report: RunReport = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const sp = report.sparsity!;
    expect(sp.kind).toBe('group-lasso');
    expect(report.method.criterion).toBe('group-norm'); // the learned sparsity is what ranks channels
    expect(sp.before.length).toBe(sp.after.length);
    expect(sp.after.length).toBeGreaterThan(0);
    expect(sp.finalLambda).toBeGreaterThanOrEqual(sp.lambda);
    // The penalty shrinks the structures' total norm and empties some.
    expect(sp.after.reduce((a, b) => a + b, 0)).toBeLessThan(sp.before.reduce((a, b) => a + b, 0));
    expect(sp.nearZero.length).toBeGreaterThan(0);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/Structure norms \(group-lasso\) before and after sparse training/);
    expect(html).toMatch(/<h2>Sparse training<\/h2>/);
  });

  it('Ctrl-C in every phase: exit 130, and --resume continues unstructured fine-tuning, the uniform baseline and the sweep where they stopped', async () => {
    const stopAt = (pattern: RegExp) => {
      let sent = false;
      return { sent: () => sent, onStderr: (text: string, child: import('node:child_process').ChildProcess) => { if (!sent && pattern.test(text)) { sent = true; child.kill('SIGINT'); } } };
    };
    const out = tmp();
    const a = stopAt(/fine-tune: step 10\//);
    const first = await cli(['prune', '--model', 'default', '--granularity', 'unstructured', '--ratio', '0.7', ...SMALL, '--epochs', '10', '--max-steps', '60', '--out', out], a);
    expect(a.sent()).toBe(true);
    expect(first.code, first.stderr).toBe(130);
    expect(existsSync(join(out, 'report.json'))).toBe(false);
    const second = await cli(['prune', '--resume', '--out', out]);
    expect(second.code, second.stderr).toBe(0);
    expect(Number(/fine-tune: step (\d+)\//.exec(second.stderr)![1])).toBeGreaterThan(10);
    const out2 = tmp();
    const b = stopAt(/fine-tune \(uniform\): step 10\//);
    const baseline = await cli(['prune', '--model', 'default', '--budget', 'latency=0.5', '--compare-uniform', ...SMALL, '--epochs', '10', '--max-steps', '60', '--out', out2], b);
    expect(b.sent()).toBe(true);
    expect(baseline.code, baseline.stderr).toBe(130);
    const report: RunReport = JSON.parse(readFileSync(join(out2, 'report.json'), 'utf8'));
    expect(report.stopped).toMatch(/stopped during the uniform baseline/);
    expect(report.uniform).toBeUndefined();
    // --resume continues the baseline's fine-tuning where it stopped and finishes the report.
    const resumed = await cli(['prune', '--resume', '--out', out2]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).not.toMatch(/fine-tune: step/); // the pruned model is not made again
    expect(Number(/fine-tune \(uniform\): step (\d+)\//.exec(resumed.stderr)![1])).toBeGreaterThan(10);
    const finished: RunReport = JSON.parse(readFileSync(join(out2, 'report.json'), 'utf8'));
    expect(finished.stopped).toBeUndefined();
    expect(finished.notes.join(' ')).not.toMatch(/stopped/);
    expect(finished.pruned).toEqual(report.pruned);
    expect(finished.uniform!.cycles).toBeLessThanOrEqual(finished.budget!.value);
    expect(existsSync(join(out2, 'resume.safetensors'))).toBe(false);
    // The sweep too: stopped in its second point's uniform run, resumed to both points.
    const out3 = tmp();
    const s = stopAt(/sweep 0\.6 uniform: step 10\//);
    const swept = await cli(['prune', '--model', 'default', '--budget', 'latency=0.7', '--sweep', '0.8,0.6', ...SMALL, '--epochs', '10', '--max-steps', '60', '--out', out3], s);
    expect(s.sent()).toBe(true);
    expect(swept.code, swept.stderr).toBe(130);
    expect(JSON.parse(readFileSync(join(out3, 'report.json'), 'utf8')).sweep).toHaveLength(1);
    const sweepResumed = await cli(['prune', '--resume', '--out', out3]);
    expect(sweepResumed.code, sweepResumed.stderr).toBe(0);
    expect(sweepResumed.stderr).not.toMatch(/sweep 0\.8/); // finished points are kept, not run again
    const full: RunReport = JSON.parse(readFileSync(join(out3, 'report.json'), 'utf8'));
    expect(full.sweep!.map((p) => p.fraction)).toEqual([0.8, 0.6]);
    expect(full.sweep!.every((p) => p.aware.cycles <= p.fraction * full.dense.cycles && p.uniform!.cycles <= p.fraction * full.dense.cycles)).toBe(true);
  });
});
