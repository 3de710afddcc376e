// Pack files: many sealed chunks in one object, so a destination holds tens of MB per object
// instead of one object per chunk (S3 request costs, inode counts). Layout (version 1):
//
//   "KSPK" | version u8 (1) | salt (32)                 header; blobs are sealed under packKey(salt)
//   blob*                                               see seal.ts; offsets are from the pack start
//   trailer (a sealed object, kind "pack-trailer")      the pack's own index: JSON [{id, offset, length, rawLength}]
//   trailerLength u32be | "KSPK"
//
// The trailer makes every pack self-describing, so the repository index can be rebuilt from the
// packs alone (checkRepository compares the two). A pack's id is the SHA-256 of its bytes.
import { createHash, randomBytes } from 'node:crypto';
import { IntegrityError } from '../errors';
import type { RepositoryKeys } from './keys';
import { openObject, packKey, sealBlob, sealObject } from './seal';
import { compressSync, decompress } from './compress';

const MAGIC = Buffer.from('KSPK', 'ascii');
const VERSION = 1;
export const PACK_SALT_BYTES = 32;
export const PACK_HEADER_BYTES = MAGIC.length + 1 + PACK_SALT_BYTES;
/** "A few tens of MB": big enough to keep object counts low, small enough to buffer. */
export const DEFAULT_PACK_SIZE = 32 * 1024 * 1024;

export interface BlobEntry {
  /** Chunk id (hex HMAC). */
  id: string;
  /** Offset of the sealed blob within the pack. */
  offset: number;
  /** Sealed length (nonce + ciphertext + tag). */
  length: number;
  /** Plaintext length of the chunk. */
  rawLength: number;
}

export interface FinishedPack {
  id: string;
  salt: Buffer;
  bytes: Buffer;
  entries: BlobEntry[];
}

export class PackWriter {
  readonly salt = randomBytes(PACK_SALT_BYTES);
  private readonly key: Buffer;
  private readonly parts: Buffer[];
  private size = PACK_HEADER_BYTES;
  readonly entries: BlobEntry[] = [];
  private readonly ids = new Set<string>();

  constructor(private readonly keys: RepositoryKeys) {
    this.key = packKey(keys.sealKey, this.salt);
    this.parts = [Buffer.concat([MAGIC, Buffer.from([VERSION]), this.salt])];
  }

  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.length;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Adds an already compressed chunk (compress.ts) under its id. */
  add(id: string, compressed: Uint8Array, rawLength: number): void {
    if (this.ids.has(id)) return;
    const sealed = sealBlob(this.key, id, compressed);
    const length = sealed.reduce((n, b) => n + b.length, 0);
    this.parts.push(...sealed);
    this.entries.push({ id, offset: this.size, length, rawLength });
    this.ids.add(id);
    this.size += length;
  }

  finish(): FinishedPack {
    const trailer = sealObject(this.keys.sealKey, 'pack-trailer', compressSync(Buffer.from(JSON.stringify(this.entries))));
    const tail = Buffer.alloc(8);
    tail.writeUInt32BE(trailer.length, 0);
    MAGIC.copy(tail, 4);
    const bytes = Buffer.concat([...this.parts, trailer, tail]);
    return { id: createHash('sha256').update(bytes).digest('hex'), salt: this.salt, bytes, entries: this.entries };
  }
}

/** Reads a whole pack's own header and trailer (checkRepository, index rebuild). */
export function parsePack(keys: RepositoryKeys, packId: string, bytes: Buffer): { salt: Buffer; entries: BlobEntry[] } {
  const what = `pack ${packId}`;
  if (bytes.length < PACK_HEADER_BYTES + 8 || !bytes.subarray(0, 4).equals(MAGIC) || !bytes.subarray(bytes.length - 4).equals(MAGIC)) {
    throw new IntegrityError(`${what} is damaged: bad header or trailer`);
  }
  if (bytes[4] !== VERSION) throw new IntegrityError(`${what} has unsupported version ${bytes[4]}`);
  const trailerLength = bytes.readUInt32BE(bytes.length - 8);
  const trailerStart = bytes.length - 8 - trailerLength;
  if (trailerStart < PACK_HEADER_BYTES) throw new IntegrityError(`${what} is damaged: trailer length out of range`);
  const plain = decompress(openObject(keys.sealKey, 'pack-trailer', bytes.subarray(trailerStart, bytes.length - 8), `${what} trailer`), `${what} trailer`);
  const entries = JSON.parse(plain.toString('utf8')) as BlobEntry[];
  return { salt: Buffer.from(bytes.subarray(5, PACK_HEADER_BYTES)), entries };
}

export function packSha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
