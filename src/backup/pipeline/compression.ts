// Compression stages of the pipeline. ZSTD is the default: better ratio and much faster than gzip
// at its default level; GZIP stays for consumers that must open artifacts with common tools.
import { PassThrough, type Transform } from 'node:stream';
import zlib from 'node:zlib';

export type Compression = 'ZSTD' | 'GZIP' | 'NONE';

export const DEFAULT_COMPRESSION: Compression = 'ZSTD';

const CHUNK = 1024 * 1024;

/**
 * zstd's own default is 3. Level 1 is the backup default: measured on a 1 GiB database dump here
 * (bench/backup-overhead.ts) it stored 357 MiB against 367 MiB at level 3 and kept the whole
 * backup within 1.15× of an uncompressed pg_dump (1.42× at level 3), since Node's zstd is single
 * threaded and competes with pg_dump and the server for two cores. Strategies can ask for more.
 */
export const DEFAULT_ZSTD_LEVEL = 1;

const LEVELS: Record<Exclude<Compression, 'NONE'>, { min: number; max: number }> = {
  // zstd's negative "fast" levels are left out on purpose: they rarely help a backup.
  ZSTD: { min: 1, max: 19 },
  GZIP: { min: 0, max: 9 },
};

export function createCompressor(compression: Compression, level?: number): Transform {
  if (compression === 'NONE') return new PassThrough();
  if (level !== undefined) {
    const { min, max } = LEVELS[compression];
    if (!Number.isInteger(level) || level < min || level > max) {
      throw new RangeError(`${compression} level must be an integer from ${min} to ${max}, got ${level}`);
    }
  }
  // 1 MiB output chunks instead of zlib's 16 KiB: every later stage (encryption, hashing, the
  // fan-out to destinations) pays per chunk, and decompression is about twice as fast with them.
  if (compression === 'GZIP') return zlib.createGzip({ chunkSize: CHUNK, ...(level === undefined ? {} : { level }) });
  return zlib.createZstdCompress({ chunkSize: CHUNK, params: { [zlib.constants.ZSTD_c_compressionLevel]: level ?? DEFAULT_ZSTD_LEVEL } });
}

export function createDecompressor(compression: Compression): Transform {
  if (compression === 'NONE') return new PassThrough();
  if (compression === 'GZIP') return zlib.createGunzip({ chunkSize: CHUNK });
  return zlib.createZstdDecompress({ chunkSize: CHUNK });
}
