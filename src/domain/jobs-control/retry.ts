// Which failed attempts the queue runs again, decided in one place for backups, restores and
// restore tests. An interrupted attempt (worker shutdown, lost lease) is always worth another try
// while retries are left. A backup also retries transient failures (network, a busy source),
// never the permanent ones below. A restore or restore test writes into a target, so a blind
// second attempt at a half-understood failure does more harm than good: only interruptions.
import { isBackupError, type BackupErrorCode } from '../../backup/errors';

export type RetriedJobKind = 'BACKUP' | 'RECOVERY' | 'VERIFICATION';

/** Failures that another attempt cannot fix: configuration, policy, limits, the user's cancel. */
const PERMANENT: ReadonlySet<BackupErrorCode | string> = new Set([
  'PG_DUMP_TOO_OLD', 'PG_TOOL_MISSING', 'PATH_ESCAPE', 'SIZE_LIMIT_EXCEEDED', 'KEY_MISMATCH', 'SOURCE_NOT_FOUND', 'TIMEOUT', 'CANCELLED', 'OUTBOUND_DENIED',
]);

export interface Failure {
  /** The BackupError code, or INTERNAL for anything unexpected. */
  code: string;
  message: string;
}

export function failureOf(err: unknown): Failure {
  return { code: isBackupError(err) ? err.code : 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

export function shouldRetry(kind: RetriedJobKind, failure: Failure, retriesLeft: boolean): boolean {
  if (!retriesLeft) return false;
  if (failure.code === 'INTERRUPTED') return true;
  return kind === 'BACKUP' && !PERMANENT.has(failure.code);
}
