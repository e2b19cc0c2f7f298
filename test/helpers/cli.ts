// The wgprune CLI as a subprocess, its exit code and output.
import { type ChildProcess, spawn } from 'node:child_process';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface Run { code: number | null; stdout: string; stderr: string }

export function cli(args: string[], o: { onStderr?: (text: string, child: ChildProcess) => void; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    // An empty value in o.env removes that variable.
    const env = Object.fromEntries(Object.entries({ ...process.env, FORCE_COLOR: '0', ...o.env }).filter(([, v]) => v !== ''));
    const child = spawn(process.execPath, ['src/cli/bin.mjs', ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => {
      stderr += d;
      o.onStderr?.(stderr, child);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
