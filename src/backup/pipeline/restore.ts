// Reading artifacts back. A restore makes two passes over the stored artifact: verifyArtifact()
// hashes it end to end first, so a corrupted copy is refused before anything is written to the
// restore target; the second pass decodes it (decrypt → decompress) and re-checks the hash, in
// case the object changed between the passes.
import { createHash } from 'node:crypto';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { reasonForFailure } from '../cancellation';
import { IntegrityError } from '../errors';
import type { Destination } from '../destinations/types';
import { createDecompressor, type Compression } from './compression';
import { createDecryptStream, type DataKeySource } from './decrypt';
import { HashCheck } from './hash';

export interface VerifyResult {
  bytes: number;
  sha256: string;
}

/** Streams the stored artifact once and throws IntegrityError unless its SHA-256 matches. */
export async function verifyArtifact(
  driver: Destination,
  key: string,
  expectedSha256: string,
  opts: { signal?: AbortSignal } = {},
): Promise<VerifyResult> {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const body = await driver.get(key, { signal: opts.signal });
    await pipeline(body, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        hash.update(chunk);
        bytes += chunk.length;
      }
    }, { signal: opts.signal });
  } catch (err) {
    throw reasonForFailure(err, opts.signal);
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== expectedSha256.toLowerCase()) {
    throw new IntegrityError(`artifact ${JSON.stringify(key)} is corrupted: SHA-256 ${sha256} does not match the recorded ${expectedSha256}`);
  }
  return { bytes, sha256 };
}

export interface DecodeOptions {
  compression: Compression;
  /** Required when the artifact was encrypted. */
  dataKey?: DataKeySource;
}

/** The stages that turn stored bytes back into raw bytes, for use in a stream pipeline. */
export function createDecodeStages(opts: DecodeOptions): Transform[] {
  const stages: Transform[] = [];
  if (opts.dataKey) stages.push(createDecryptStream(opts.dataKey));
  stages.push(createDecompressor(opts.compression));
  return stages;
}

export interface RestoreStreamOptions extends DecodeOptions {
  driver: Destination;
  /** Object key at the destination. */
  key: string;
  expectedSha256: string;
  signal?: AbortSignal;
  /** Skip the first verification pass (only when the caller just verified it). Default true. */
  verify?: boolean;
}

/**
 * Verifies the artifact, then returns a stream of its raw (decoded) bytes. The stream fails with
 * IntegrityError on any tampering, and with CancelledError when the signal fires.
 */
export async function openRestoreStream(opts: RestoreStreamOptions): Promise<Readable> {
  if (opts.verify !== false) await verifyArtifact(opts.driver, opts.key, opts.expectedSha256, { signal: opts.signal });
  const body = await opts.driver.get(opts.key, { signal: opts.signal });
  const out = new PassThrough();
  const check = new HashCheck(opts.expectedSha256, `artifact ${JSON.stringify(opts.key)}`);
  pipeline([body, check, ...createDecodeStages(opts), out], { signal: opts.signal }).catch((err: unknown) => out.destroy(asError(reasonForFailure(err, opts.signal))));
  return out;
}

function asError(err: unknown): Error {
  if (err instanceof Error) {
    // zlib/zstd report corrupt input with their own codes; for a restore that is an integrity failure.
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || code.startsWith('ERR__ZLIB') || /zstd/i.test(code)) return new IntegrityError(err.message, { cause: err });
    return err;
  }
  return new Error(String(err));
}
