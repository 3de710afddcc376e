// Chunk and object compression: zstd (Node's zlib) behind a one-byte tag, so a chunk that does
// not shrink (photos, video: already compressed) is stored as it is and costs no decode time.
import { promisify } from 'node:util';
import { constants, zstdCompress, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { IntegrityError } from '../errors';

const RAW = 0;
const ZSTD = 1;
const zstdCompressAsync = promisify(zstdCompress);

function tagged(tag: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), body]);
}

function choose(input: Uint8Array, packed: Buffer): Buffer {
  // Keep compression only when it saves at least 1/32: below that the decode time is wasted.
  return packed.length < input.length - (input.length >> 5) ? tagged(ZSTD, packed) : tagged(RAW, input);
}

/** Runs on the libuv thread pool, so two chunks compress at once on two cores. */
export async function compressChunk(input: Uint8Array, level: number): Promise<Buffer> {
  const packed = await zstdCompressAsync(input, { params: { [constants.ZSTD_c_compressionLevel]: level } });
  return choose(input, packed);
}

export function compressSync(input: Uint8Array, level = 3): Buffer {
  return choose(input, zstdCompressSync(input, { params: { [constants.ZSTD_c_compressionLevel]: level } }));
}

export function decompress(input: Buffer, what: string): Buffer {
  if (input.length === 0) throw new IntegrityError(`${what} is empty`);
  if (input[0] === RAW) return input.subarray(1);
  if (input[0] === ZSTD) {
    try {
      return zstdDecompressSync(input.subarray(1));
    } catch (err) {
      throw new IntegrityError(`${what} does not decompress`, { cause: err });
    }
  }
  throw new IntegrityError(`${what} has unknown compression tag ${input[0]}`);
}
