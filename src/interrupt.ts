// Stopping long work on request (Ctrl-C in the CLI): loops that run synchronous kernels (the native
// backend, the CPU scheduler) let the event loop deliver the signal between their steps, and work with
// nothing to resume from ends by throwing StopRequested, which the CLI turns into exit 130.

/** Thrown by work that was asked to stop and has no partial result to keep. */
export class StopRequested extends Error {
  constructor(what = 'the work') {
    super(`${what} was stopped`);
  }
}

let lastYield = 0;

/**
 * Lets pending events (a signal handler, a timer) run when more than `everyMs` passed since the last time:
 * a loop of synchronous steps otherwise holds the event loop until it ends. Costs a macrotask (~µs).
 */
export async function yieldToEvents(everyMs = 50): Promise<void> {
  const now = performance.now();
  if (now - lastYield < everyMs) return;
  lastYield = now;
  await new Promise<void>((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/** Yields, then throws StopRequested when `shouldStop` says so. */
export async function checkStop(shouldStop: (() => boolean) | undefined, what?: string): Promise<void> {
  if (!shouldStop) return;
  await yieldToEvents();
  if (shouldStop()) throw new StopRequested(what);
}
