// The backup data path: source → count + hash raw bytes → compress → encrypt → size limit →
// count + hash stored bytes → every destination in parallel. Either every destination holds the
// complete artifact and the checksums are returned, or the call throws and no destination holds
// anything (partial writes are cleaned by the drivers, completed copies deleted here).
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Transform } from 'node:stream';
import { cancelledFrom } from '../cancellation';
import { BackupError, DestinationError } from '../errors';
import type { Destination } from '../destinations/types';
import { ByteCounter } from './byte-counter';
import { createCompressor, type Compression } from './compression';
import { createEncryptStream } from './encrypt';
import type { DataKey } from './encryption-format';
import { createFanOut } from './fan-out';
import { HashTap } from './hash';
import { SizeLimit } from './size-limit';

export interface BackupTarget {
  driver: Destination;
  key: string;
}

export interface BackupProgress {
  /** Raw (source) bytes read so far. */
  bytesDone: number;
  /** Bytes written towards the destinations so far (after compression and encryption). */
  storedBytes: number;
}

export interface BackupPipelineOptions {
  input: Readable;
  compression: Compression;
  level?: number;
  /** Encrypt with this data key; omitted means the artifact is stored unencrypted. */
  key?: DataKey;
  destinations: BackupTarget[];
  onProgress?: (progress: BackupProgress) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  /** Limit on the stored artifact size (what lands at each destination). */
  maxBytes?: number;
}

export interface BackupPipelineResult {
  rawBytes: number;
  storedBytes: number;
  /** SHA-256 (hex) of the stored artifact, as each destination holds it. */
  sha256: string;
  /** SHA-256 (hex) of the source bytes before compression/encryption. */
  rawSha256: string;
}

export async function runBackupPipeline(opts: BackupPipelineOptions): Promise<BackupPipelineResult> {
  if (opts.destinations.length === 0) throw new RangeError('runBackupPipeline needs at least one destination');
  const controller = new AbortController();
  let firstError: unknown;
  const fail = (err: unknown) => {
    if (firstError === undefined) firstError = err;
    if (!controller.signal.aborted) controller.abort(err);
  };
  const onCallerAbort = () => fail(cancelledFrom(opts.signal!));
  if (opts.signal?.aborted) onCallerAbort();
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });

  const stored = new ByteCounter();
  const raw = new ByteCounter({
    intervalMs: opts.progressIntervalMs,
    onProgress: opts.onProgress && ((bytesDone) => opts.onProgress!({ bytesDone, storedBytes: stored.bytes })),
  });
  const rawHash = new HashTap();
  const storedHash = new HashTap();
  const stages: Transform[] = [raw, rawHash, createCompressor(opts.compression, opts.level)];
  if (opts.key) stages.push(createEncryptStream(opts.key));
  if (opts.maxBytes !== undefined) stages.push(new SizeLimit(opts.maxBytes));
  stages.push(stored, storedHash);

  const { sink, branches } = createFanOut(opts.destinations.length);
  const puts = opts.destinations.map((d, i) =>
    d.driver.put(d.key, branches[i]!, { signal: controller.signal }).then(
      (r) => r,
      (err: unknown) => {
        fail(err);
        throw err;
      },
    ),
  );

  try {
    await pipeline([opts.input, ...stages, sink], { signal: controller.signal }).catch(fail);
    const settled = await Promise.allSettled(puts);
    if (firstError === undefined) {
      // A driver that resolved without consuming everything would silently store a short copy.
      settled.forEach((s, i) => {
        if (s.status === 'fulfilled' && s.value.bytes !== stored.bytes) {
          fail(new DestinationError('put', opts.destinations[i]!.key, new Error(`stored ${s.value.bytes} of ${stored.bytes} bytes`)));
        }
      });
    }
    if (firstError !== undefined) {
      // Copies that completed before another destination failed must not survive as orphans.
      await Promise.all(
        settled.map((s, i) =>
          s.status === 'fulfilled' ? opts.destinations[i]!.driver.delete(opts.destinations[i]!.key).catch(() => undefined) : undefined,
        ),
      );
      throw normalize(firstError, opts.signal);
    }
    return { rawBytes: raw.bytes, storedBytes: stored.bytes, sha256: storedHash.digest(), rawSha256: rawHash.digest() };
  } finally {
    opts.signal?.removeEventListener('abort', onCallerAbort);
  }
}

function normalize(err: unknown, signal: AbortSignal | undefined): unknown {
  if (err instanceof BackupError) return err;
  if (signal?.aborted) return cancelledFrom(signal);
  return err;
}
