// Every reason a running job must stop, as one AbortSignal whose reason is the typed error the job
// records: the user's cancel (heard as a 'cancelling' event, or noticed by the progress writer),
// the queue taking the job back (worker shutdown, lost lease), a timeout, or the job's own failure.
import { CancelledError, InterruptedError, JobTimeoutError } from '../../backup/errors';
import type { EventBus, JobKind } from '../../events/bus';

export interface JobStop {
  signal: AbortSignal;
  /** Stops the job with this reason (the first reason wins). */
  stop(reason: Error): void;
  /** The user's cancel, for callers that notice it themselves (the progress writer). */
  cancelled(): void;
  /** Stops listening; call when the attempt ends. */
  dispose(): void;
}

export function jobStop(events: EventBus, kind: JobKind, jobId: string, queueSignal?: AbortSignal, timeoutSeconds?: number | null): JobStop {
  const controller = new AbortController();
  const stop = (reason: Error) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const cancelled = () => stop(new CancelledError(new Error('cancelled by request')));
  const off = events.on((e) => {
    if (e.kind === kind && e.id === jobId && e.phase === 'cancelling') cancelled();
  });
  const onQueueAbort = () => stop(new InterruptedError(queueSignal?.reason));
  queueSignal?.addEventListener('abort', onQueueAbort, { once: true });
  if (queueSignal?.aborted) onQueueAbort(); // already aborted: the listener would never fire
  const timer = timeoutSeconds ? setTimeout(() => stop(new JobTimeoutError(timeoutSeconds)), timeoutSeconds * 1000) : undefined;
  return {
    signal: controller.signal,
    stop,
    cancelled,
    dispose: () => {
      clearTimeout(timer);
      off();
      queueSignal?.removeEventListener('abort', onQueueAbort);
    },
  };
}
