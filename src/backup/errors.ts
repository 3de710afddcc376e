// Failures of the backup data path. Each carries a stable `code` so the job layer can record
// it on BackupJob/RecoveryJob rows and decide retries without parsing messages.

export type BackupErrorCode =
  | 'PG_DUMP_TOO_OLD'
  | 'PG_DUMP_FAILED'
  | 'PG_TOOL_MISSING'
  | 'PATH_ESCAPE'
  | 'INTEGRITY_ERROR'
  | 'KEY_MISMATCH'
  | 'SIZE_LIMIT_EXCEEDED'
  | 'DESTINATION_ERROR'
  | 'SOURCE_CHANGED'
  | 'SOURCE_NOT_FOUND'
  | 'SOURCE_ACCESS_FAILED'
  | 'CANCELLED'
  | 'TIMEOUT'
  | 'INTERRUPTED'
  | 'PG_RESTORE_FAILED'
  | 'TARGET_EXISTS'
  | 'TARGET_ACCESS_FAILED'
  | 'VALIDATION_FAILED'
  | 'OUTBOUND_DENIED'
  | 'NOT_IN_ARCHIVE';

export class BackupError extends Error {
  readonly code: BackupErrorCode;
  constructor(code: BackupErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** pg_dump refuses servers newer than itself; the message names the client package to install. */
export class PgDumpTooOldError extends BackupError {
  constructor(
    readonly pgDumpVersion: string,
    readonly serverVersion: string,
    readonly requiredMajor: number,
  ) {
    super(
      'PG_DUMP_TOO_OLD',
      `pg_dump ${pgDumpVersion} cannot dump a PostgreSQL ${serverVersion} server: install the PostgreSQL ` +
        `${requiredMajor} (or newer) client tools (Debian/Ubuntu: postgresql-client-${requiredMajor}) and point ` +
        `PG_BIN_DIR at their bin directory (e.g. /usr/lib/postgresql/${requiredMajor}/bin).`,
    );
  }
}

/** pg_dump (or pg_restore/psql) exited non-zero; `stderr` is its diagnostic tail. */
export class PgToolFailedError extends BackupError {
  constructor(
    readonly tool: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly signal: NodeJS.Signals | null = null,
  ) {
    const how = exitCode !== null ? `exited with code ${exitCode}` : `was killed by ${signal ?? 'a signal'}`;
    super(tool === 'pg_dump' ? 'PG_DUMP_FAILED' : 'PG_RESTORE_FAILED', `${tool} ${how}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
  }
}

export class PgToolMissingError extends BackupError {
  constructor(readonly tool: string, readonly binDir: string | undefined, cause?: unknown) {
    super(
      'PG_TOOL_MISSING',
      `${tool} was not found${binDir ? ` in ${binDir}` : ' on PATH'}: install the PostgreSQL client tools ` +
        `(Debian/Ubuntu: postgresql-client) or set PG_BIN_DIR`,
      { cause },
    );
  }
}

/** A key, archive entry or link that would resolve outside its root. */
export class PathEscapeError extends BackupError {
  constructor(readonly path: string, message = `path escapes its root: ${JSON.stringify(path)}`) {
    super('PATH_ESCAPE', message);
  }
}

/** A download asked for a path the archive does not contain. */
export class NotFoundInArchiveError extends BackupError {
  constructor(readonly path: string) {
    super('NOT_IN_ARCHIVE', `the backup contains nothing at ${JSON.stringify(path)}`);
  }
}

/** Checksum mismatch, failed authentication tag, truncation or malformed framing. */
export class IntegrityError extends BackupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTEGRITY_ERROR', message, options);
  }
}

/** The artifact was encrypted under another data key than the one supplied. */
export class KeyMismatchError extends BackupError {
  constructor(readonly expectedKeyId: string, readonly actualKeyId: string) {
    super('KEY_MISMATCH', `artifact is encrypted with key ${JSON.stringify(actualKeyId)}, not ${JSON.stringify(expectedKeyId)}`);
  }
}

export class SizeLimitExceededError extends BackupError {
  constructor(readonly limitBytes: number) {
    super('SIZE_LIMIT_EXCEEDED', `backup exceeds the limit of ${limitBytes} bytes`);
  }
}

/** A destination operation failed; the driver's (e.g. S3's) own message is kept in the text and as cause. */
export class DestinationError extends BackupError {
  constructor(readonly operation: string, readonly key: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('DESTINATION_ERROR', `${operation} ${JSON.stringify(key)} failed: ${detail}`, { cause });
  }
}

/** A source file changed size while it was being archived. */
export class SourceChangedError extends BackupError {
  constructor(readonly path: string, message: string) {
    super('SOURCE_CHANGED', message);
  }
}

/** The source does not exist: a missing directory, or a database the server does not know. */
export class SourceNotFoundError extends BackupError {
  constructor(readonly source: string, message: string) {
    super('SOURCE_NOT_FOUND', message);
  }
}

/**
 * Connecting to or querying a source failed (authentication, network, permissions, a bad
 * connection URL). `sqlState` is the PostgreSQL error code when there is one (e.g. 28P01 for a
 * wrong password), so retry decisions need not parse the message. Messages never carry secrets.
 */
export class SourceAccessError extends BackupError {
  constructor(message: string, readonly sqlState?: string) {
    super('SOURCE_ACCESS_FAILED', message);
  }
}

export class CancelledError extends BackupError {
  constructor(reason?: unknown) {
    super('CANCELLED', reason instanceof Error && reason.message ? `cancelled: ${reason.message}` : 'cancelled', {
      cause: reason,
    });
  }
}

export function isBackupError(err: unknown): err is BackupError {
  return err instanceof BackupError;
}

/** The run took longer than its strategy allows. */
export class JobTimeoutError extends BackupError {
  constructor(readonly seconds: number) {
    super('TIMEOUT', `the backup did not finish within its ${seconds}-second timeout`);
  }
}

/** The worker holding the job stopped it (shutdown, lost queue lease): the queue retries it. */
export class InterruptedError extends BackupError {
  constructor(reason?: unknown) {
    super('INTERRUPTED', `interrupted by the worker${reason instanceof Error && reason.message ? `: ${reason.message}` : ''}`, { cause: reason });
  }
}

/** A restore target that must not exist does (a new database), or is not empty (a directory). */
export class TargetExistsError extends BackupError {
  constructor(message: string) {
    super('TARGET_EXISTS', message);
  }
}

/** The restore target cannot be reached or written (connection refused, no privilege). */
export class TargetAccessError extends BackupError {
  constructor(message: string) {
    super('TARGET_ACCESS_FAILED', message);
  }
}

/** The restored data does not match what the backup recorded (row counts, files, probe queries). */
export class RestoreValidationError extends BackupError {
  constructor(message: string) {
    super('VALIDATION_FAILED', message);
  }
}

/** A tenant-named host or address that the outbound policy (OUTBOUND_DENY/ALLOW) forbids. */
export class OutboundDeniedError extends BackupError {
  constructor(message: string) {
    super('OUTBOUND_DENIED', message);
  }
}
