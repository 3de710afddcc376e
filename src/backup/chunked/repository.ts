// One organization's repository at one destination: packs, their index files and nothing else
// (snapshots live with their recovery point's run, see snapshotKey). Layout under `prefix`
// (keepsake/<orgId>/repository/):
//
//   packs/<id[0..2]>/<id>     pack files (pack.ts); id = SHA-256 of the pack
//   index/<id>                the index file of that pack (index.ts)
//
// Every chunk read is checked three ways: the blob's AES-GCM tag, its decompression, and its
// keyed hash against the id it was asked for. Any failure names the pack.
import { Readable } from 'node:stream';
import { DestinationError, IntegrityError } from '../errors';
import type { Destination } from '../destinations/types';
import { decompress } from './compress';
import { decodeIndexFile, encodeIndexFile, RepositoryIndex, type ChunkLocation, type PackInfo } from './index';
import { chunkId, type RepositoryKeys } from './keys';
import type { FinishedPack } from './pack';
import { openBlob, packKey } from './seal';

export const repositoryPrefix = (orgPrefix: string) => `${orgPrefix}repository/`;

/** A chunk's sealed bytes as read from a pack. */
export interface SealedChunk {
  id: string;
  location: ChunkLocation;
  sealed: Buffer;
}

export class Repository {
  private readonly packKeys = new Map<string, Buffer>();

  constructor(
    readonly driver: Destination,
    /** keepsake/<orgId>/repository/ */
    readonly prefix: string,
    readonly keys: RepositoryKeys,
  ) {}

  packKey(id: string): string {
    return `${this.prefix}packs/${id.slice(0, 2)}/${id}`;
  }

  indexKey(id: string): string {
    return `${this.prefix}index/${id}`;
  }

  async loadIndex(signal?: AbortSignal): Promise<RepositoryIndex> {
    const index = new RepositoryIndex();
    const keys: string[] = [];
    for await (const obj of this.driver.list(`${this.prefix}index/`)) keys.push(obj.key);
    // A few at a time: hundreds of small GETs against S3 are latency-bound.
    for (let i = 0; i < keys.length; i += 8) {
      const batch = await Promise.all(keys.slice(i, i + 8).map((k) => this.readIndexFile(k, signal)));
      for (const pack of batch) index.add(pack);
    }
    return index;
  }

  async readIndexFile(key: string, signal?: AbortSignal): Promise<PackInfo> {
    const bytes = await readAll(await this.driver.get(key, { signal }));
    return decodeIndexFile(this.keys, bytes, `index file ${key}`);
  }

  /** The pack first, then its index file: an index entry never names a pack that is not there. */
  async writePack(pack: FinishedPack, signal?: AbortSignal): Promise<PackInfo> {
    await this.driver.put(this.packKey(pack.id), Readable.from([pack.bytes]), { signal });
    const info: PackInfo = { id: pack.id, salt: pack.salt, size: pack.bytes.length, entries: pack.entries };
    await this.driver.put(this.indexKey(pack.id), Readable.from([encodeIndexFile(this.keys, info)]), { signal });
    return info;
  }

  /** The index file first: a crash in between leaves an unindexed pack, which prune removes. */
  async deletePack(id: string): Promise<void> {
    await this.driver.delete(this.indexKey(id));
    await this.driver.delete(this.packKey(id));
  }

  /** Reads `[offset, offset + length)` of a pack; a missing or short pack is an IntegrityError naming it. */
  async readPackRange(packId: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await this.driver.getRange(this.packKey(packId), offset, length, { signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      const missing = await this.driver.head(this.packKey(packId)).then((h) => h === null, () => false);
      if (missing) throw new IntegrityError(`pack ${packId} is missing at the ${this.driver.kind} destination`);
      throw err instanceof DestinationError ? err : new DestinationError('get', this.packKey(packId), err);
    }
    if (bytes.length !== length) throw new IntegrityError(`pack ${packId} is damaged: ${bytes.length} of ${length} bytes at offset ${offset}`);
    return bytes;
  }

  /** Decrypts, decompresses and checks one chunk; throws IntegrityError naming the pack. */
  openChunk(id: string, location: ChunkLocation, sealed: Buffer, salt: Buffer): Buffer {
    let key = this.packKeys.get(location.pack);
    if (!key) {
      key = packKey(this.keys.sealKey, salt);
      this.packKeys.set(location.pack, key);
    }
    const what = `chunk ${id.slice(0, 12)} in pack ${location.pack}`;
    const plain = decompress(openBlob(key, id, sealed, what), what);
    if (plain.length !== location.rawLength || chunkId(this.keys, plain) !== id) throw new IntegrityError(`${what} does not match its id (pack ${location.pack} is damaged)`);
    return plain;
  }
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
