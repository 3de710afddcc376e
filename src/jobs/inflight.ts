// The handlers this process is running, so a shutdown can stop them itself instead of trusting
// pg-boss's own stop. pg-boss's graceful stop ends its handler race on abort and returns while the
// abandoned handler is still recording its outcome; the process then closed its pool and exited
// with the job row still RUNNING. Here every handler is awaited until it has written INTERRUPTED.
export class InflightJobs {
  private readonly running = new Map<symbol, AbortController>();
  private readonly idleWaiters = new Set<() => void>();

  get size(): number {
    return this.running.size;
  }

  /** Runs `fn` with a signal that the queue (lost claim) or `abortAll` (shutdown) aborts. */
  async run<T>(queueSignal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const signal = queueSignal ? AbortSignal.any([queueSignal, controller.signal]) : controller.signal;
    const id = Symbol('job');
    this.running.set(id, controller);
    try {
      return await fn(signal);
    } finally {
      this.running.delete(id);
      if (this.running.size === 0) for (const wake of [...this.idleWaiters]) wake();
    }
  }

  /** Aborts every running handler with `reason` (they record it as INTERRUPTED). */
  abortAll(reason: Error): void {
    for (const controller of this.running.values()) if (!controller.signal.aborted) controller.abort(reason);
  }

  /** Resolves true once no handler runs, or false after `ms` (forever without it). */
  idle(ms?: number): Promise<boolean> {
    if (this.running.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => { this.idleWaiters.delete(wake); resolve(false); }, ms);
      const wake = () => { clearTimeout(timer); this.idleWaiters.delete(wake); resolve(true); };
      this.idleWaiters.add(wake);
    });
  }
}

/** What the job workers share: who this worker is, and its running handlers. */
export interface WorkerContext {
  workerId: string;
  inflight: InflightJobs;
}
