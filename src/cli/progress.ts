// Progress for long runs: a redrawn bar with ETA, loss and accuracy on a TTY; plain lines otherwise
// (logs, CI, pipes). Everything goes to stderr so that --json output on stdout stays clean.
import type { Progress } from '../train/trainer.js';

export class ProgressView {
  private drawn = false;
  constructor(private readonly tty = process.stderr.isTTY === true, private readonly quiet = false) {}

  phase(text: string): void {
    if (this.quiet) return;
    this.clear();
    process.stderr.write(`${text}\n`);
  }

  update(p: Progress, label: string): void {
    if (this.quiet) return;
    const done = p.totalSteps ? p.step / p.totalSteps : 1;
    const eta = done > 0 ? (p.elapsedMs / done - p.elapsedMs) / 1000 : 0;
    const stats = `step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  acc ${(100 * p.accuracy).toFixed(1)}%  ${p.samplesPerSecond.toFixed(0)} samples/s  ETA ${formatSeconds(eta)}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(width * Math.min(1, done));
      process.stderr.write(`\r\x1b[K${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${stats}`);
      this.drawn = true;
    } else {
      process.stderr.write(`${label}: ${stats}\n`);
    }
  }

  clear(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}
