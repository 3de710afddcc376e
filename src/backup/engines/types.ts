// What every source engine (pg_dump, directory tar) hands the backup pipeline: a byte stream
// plus a promise of the metadata that is only known once the stream is complete.
import type { Readable } from 'node:stream';

export interface EngineResult {
  /** 'custom' | 'plain' | 'tar' | 'directory' for POSTGRES (pg_dump -F), 'tar' for DIRECTORY sources. */
  format: string;
  /** e.g. { pg_dump: '15.18', server: '15.18' } or { tar: 'ustar' } */
  versions: Record<string, string>;
  /** POSTGRES: exact row count per "schema.table" of the tables the dump covers, taken in the same snapshot as the dump when possible. */
  rowCounts?: Record<string, number>;
  /** POSTGRES: "schema.name" of every relation (tables, partitioned tables, views, materialized views, foreign tables) the dump covers. */
  relations?: string[];
  /** POSTGRES: true when the row counts and the dump read the same exported snapshot. */
  snapshotShared?: boolean;
  /** DIRECTORY: number of entries archived */
  files?: number;
}

export interface EngineRun {
  /** The archive bytes; ends when the dump is complete. */
  stream: Readable;
  /** Settles after the stream ended: resolves with metadata, rejects with a typed BackupError (e.g. PgToolFailedError with pg_dump's stderr tail). Always settles, also on abort. */
  done: Promise<EngineResult>;
  /** POSTGRES: pg_dump's process id (it leads its own process group), for diagnostics. */
  pid?: number;
}

export interface BackupEngine {
  /** Best-effort size of the raw dump, for progress percent/ETA (pg_database_size or sum of file sizes); null if unknown. */
  estimateBytes(): Promise<number | null>;
  /** Checks prerequisites (e.g. pg_dump version vs the server) and starts producing bytes. Aborting `signal` kills the child process / stops reading, removes any temporary files, and makes `done` reject with CancelledError. */
  start(signal: AbortSignal): Promise<EngineRun>;
}
