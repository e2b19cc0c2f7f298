// A trained model and no data at all (issue 34): prune --data none prunes by a data-free criterion,
// without fine-tuning or evaluation, says what it skipped, and refuses what needs data.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parameterCount } from '../src/model/model.js';
import { importOnnx } from '../src/onnx/import.js';
import { cli } from './helpers/cli.js';

const FIXTURE = new URL('./fixtures/onnx/unet-mini.onnx', import.meta.url).pathname;

describe('pruning without data', () => {
  it('prunes an ONNX model to a budget by L1 with the uniform baseline beside it, and says nothing was evaluated', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'wgprune-nodata-')), 'out');
    const r = await cli(['prune', '--model', FIXTURE, '--data', 'none', '--budget', 'latency=0.6', '--compare-uniform', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.data).toEqual({ train: 'none', test: 'none', testCount: 0 });
    expect(report.dense.accuracy).toBeUndefined();
    expect(report.pruned.accuracy).toBeUndefined();
    expect(report.uniform.accuracy).toBeUndefined();
    expect(report.method.fineTune).toBe(false); // nothing was fine-tuned, and the report does not say otherwise
    expect(report.notes.join(' ')).toMatch(/no data: pruned by the l1 criterion alone, without fine-tuning, and no model evaluated/);
    expect(report.pruned.cycles).toBeLessThanOrEqual(0.6 * report.dense.cycles);
    const pruned = importOnnx(new Uint8Array(readFileSync(join(out, 'pruned.onnx'))));
    expect(parameterCount(pruned)).toBe(report.pruned.params);
    expect(parameterCount(pruned)).toBeLessThan(parameterCount(importOnnx(new Uint8Array(readFileSync(FIXTURE)))));
  });

  it('refuses what needs data, naming it', async () => {
    const cases: [string[], RegExp][] = [
      [['prune', '--model', FIXTURE, '--data', 'none', '--ratio', '0.3', '--epochs', '1', '--kd'], /--data none prunes without data \(no fine-tuning, no evaluation\); --kd, --epochs need data/],
      [['prune', '--model', FIXTURE, '--data', 'none', '--ratio', '0.3', '--criterion', 'taylor'], /--criterion taylor needs data/],
      [['prune', '--model', FIXTURE, '--data', 'none', '--ratio', '0.3', '--restore-bn', 'on'], /--restore-bn on needs data/],
      [['prune', '--model', 'resnet20', '--data', 'none', '--ratio', '0.3'], /a zoo model is untrained/],
      [['eval', '--model', FIXTURE, '--data', 'none'], /--data none: only prune runs without data/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
