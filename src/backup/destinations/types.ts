// What every destination driver offers the pipeline and the job layer. Keys are '/'-separated
// relative names (see object-key.ts); a driver maps them into its own namespace (a root
// directory, a bucket prefix) and must never write outside it.
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

export interface PutOptions {
  /** Aborting stops the write and removes whatever was partially written. */
  signal?: AbortSignal;
}

export interface PutResult {
  key: string;
  bytes: number;
}

export interface ProbeResult {
  /** Round trip of write + read back + delete of the probe object. */
  latencyMs: number;
}

export interface Destination {
  readonly kind: 'LOCAL' | 'S3';
  /**
   * Writes `body` under `key`, atomically: either the complete object exists afterwards or,
   * on failure or abort, nothing does (not even a partial upload).
   */
  put(key: string, body: Readable, opts?: PutOptions): Promise<PutResult>;
  get(key: string, opts?: { signal?: AbortSignal }): Promise<Readable>;
  /**
   * Reads `length` bytes from `offset` (chunked repositories read single chunks out of packs).
   * Returns fewer bytes only when the object is shorter; a missing object is an error.
   */
  getRange(key: string, offset: number, length: number, opts?: { signal?: AbortSignal }): Promise<Buffer>;
  head(key: string): Promise<ObjectInfo | null>;
  exists(key: string): Promise<boolean>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Objects whose key starts with `prefix` (a plain string prefix, '' for all). */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Writes, reads back and deletes a small object; throws DestinationError if any step fails. */
  probe(): Promise<ProbeResult>;
}
