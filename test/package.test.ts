// The package as a user installs it: `npm pack` (which builds dist/), the tarball installed into an empty
// project, then the `wgprune` bin, a small prune, and a script importing the API from 'wgprune'.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;

describe('the npm package', () => {
  it('packs, installs into an empty project, and runs its bin and its API without TypeScript', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgprune-package-'));
    const run = (cmd: string, args: string[], cwd = dir) => execFileSync(cmd, args, {
      cwd, encoding: 'utf8', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_audit: 'false', npm_config_fund: 'false' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tarball = run('npm', ['pack', '--silent', '--pack-destination', dir], ROOT).trim().split('\n').at(-1)!;
    // npm pack rebuilt dist/: the checkout's bin keeps its exec bit (npx wgprune in the checkout runs it).
    expect(statSync(join(ROOT, 'dist', 'cli', 'bin.js')).mode & 0o111).toBe(0o111);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    run('npm', ['install', '--prefer-offline', join(dir, tarball)]);
    expect(existsSync(join(dir, 'node_modules', 'wgprune', 'dist', 'cli', 'bin.js'))).toBe(true);
    expect(existsSync(join(dir, 'node_modules', 'tsx'))).toBe(false); // no TypeScript loader at run time
    expect(run('npx', ['wgprune', '--help'])).toMatch(/usage: wgprune <command>/);
    run('npx', ['wgprune', 'prune', '--model', 'default', '--ratio', '0.5', '--max-steps', '3', '--train-limit', '256', '--test-limit', '100', '--out', 'out']);
    expect(existsSync(join(dir, 'out', 'pruned.onnx'))).toBe(true);
    writeFileSync(join(dir, 'use.mjs'), `
      import { ChannelPruner, CpuBackend, byRatio, initModel, zooModel } from 'wgprune';
      const pruner = new ChannelPruner(new CpuBackend(), initModel(zooModel('lenet5'), 1), { importance: 'l1', allocation: byRatio(0.5) });
      const step = await pruner.step();
      console.log(JSON.stringify({ removed: [...step.removed.values()].reduce((n, c) => n + c.length, 0) }));
    `);
    expect(JSON.parse(run('node', ['use.mjs']).trim().split('\n').at(-1)!).removed).toBeGreaterThan(50);
  }, 600_000);
});
