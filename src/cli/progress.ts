// Progress for long runs (fine-tuning, budget planning): a redrawn bar with ETA on a TTY; plain lines
// otherwise (logs, CI, pipes); with --json, one JSON event per line. Everything goes to stderr so that
// --json output on stdout stays clean.
import type { Progress } from '../train/trainer.js';

export class ProgressView {
  private drawn = false;
  /** Planning: when the current phase started, and when a plain line was last written. */
  private planning = { phase: '', startMs: 0, lastLineMs: 0 };
  constructor(private readonly tty = process.stderr.isTTY === true, private readonly quiet = false, private readonly json = false) {}

  phase(text: string): void {
    if (this.quiet) return;
    this.clear();
    process.stderr.write(this.json ? `${JSON.stringify({ event: 'phase', text })}\n` : `${text}\n`);
  }

  update(p: Progress, label: string): void {
    if (this.quiet) return;
    const done = p.totalSteps ? p.step / p.totalSteps : 1;
    const eta = done > 0 ? (p.elapsedMs / done - p.elapsedMs) / 1000 : 0;
    if (this.json) return void process.stderr.write(`${JSON.stringify({ event: 'progress', phase: label, ...p, etaSeconds: eta })}\n`);
    this.draw(label, done, `step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  ${Number.isFinite(p.accuracy) ? `acc ${(100 * p.accuracy).toFixed(1)}%  ` : ''}${p.samplesPerSecond.toFixed(0)} samples/s  ETA ${formatSeconds(eta)}`);
  }

  /** Budget planning: `fraction` of the way from the starting cost to the budget. */
  plan(p: { phase: string; fraction: number }): void {
    if (this.quiet) return;
    const t = performance.now();
    if (p.phase !== this.planning.phase) this.planning = { phase: p.phase, startMs: t, lastLineMs: 0 };
    const elapsed = (t - this.planning.startMs) / 1000;
    const eta = p.fraction > 0 ? elapsed / p.fraction - elapsed : NaN;
    if (this.json) return void process.stderr.write(`${JSON.stringify({ event: 'planning', phase: p.phase, fraction: p.fraction, elapsedSeconds: elapsed, etaSeconds: Number.isFinite(eta) ? eta : null })}\n`);
    // Plain lines at most every 5 s; a TTY bar on every step.
    if (!this.tty && t - this.planning.lastLineMs < 5000 && p.fraction < 1) return;
    this.planning.lastLineMs = t;
    this.draw(p.phase, p.fraction, `${(100 * p.fraction).toFixed(0)}%  ${elapsed.toFixed(0)} s  ETA ${formatSeconds(eta)}`);
  }

  private draw(label: string, done: number, stats: string): void {
    if (this.tty) {
      const width = 24;
      const filled = Math.round(width * Math.min(1, Math.max(0, done)));
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
