// Compression stages of the pipeline. ZSTD is the default: better ratio and much faster than gzip
// at its default level; GZIP stays for consumers that must open artifacts with common tools.
import { PassThrough, type Transform } from 'node:stream';
import zlib from 'node:zlib';

export type Compression = 'ZSTD' | 'GZIP' | 'NONE';

export const DEFAULT_COMPRESSION: Compression = 'ZSTD';

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
  if (compression === 'GZIP') return zlib.createGzip(level === undefined ? {} : { level });
  return zlib.createZstdCompress(
    level === undefined ? {} : { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } },
  );
}

export function createDecompressor(compression: Compression): Transform {
  if (compression === 'NONE') return new PassThrough();
  if (compression === 'GZIP') return zlib.createGunzip();
  return zlib.createZstdDecompress();
}
