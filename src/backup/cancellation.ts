// One way to turn an AbortSignal into the typed CancelledError, so every layer reports a
// user-initiated stop the same way (the job layer records CANCELLED, not a random AbortError).
import { BackupError, CancelledError } from './errors';

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledFrom(signal);
}

export function cancelledFrom(signal: AbortSignal): CancelledError {
  const reason: unknown = signal.reason;
  // Someone may abort with a typed error on purpose (e.g. a size limit): keep it as is.
  if (reason instanceof CancelledError) return reason;
  return new CancelledError(reason);
}

/**
 * The error to report after an operation failed: a typed reason the signal was aborted with wins
 * over the generic AbortError that streams and the AWS SDK raise when their signal fires.
 */
export function reasonForFailure(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof BackupError) return reason;
    return cancelledFrom(signal);
  }
  return err;
}
