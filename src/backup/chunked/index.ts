// The repository index: where each chunk lives (pack, offset, length). Stored as one small
// sealed object per pack (index/<packId>), written right after the pack, so a crash between the
// two leaves a pack without an index entry (never used, removed by prune) and never an index
// entry without its pack. Loaded whole at the start of a backup or restore; a chunk listed by
// several packs (two backups raced, or a repack crashed half way) is fine: any copy will do.
import type { RepositoryKeys } from './keys';
import type { BlobEntry } from './pack';
import { compressSync, decompress } from './compress';
import { openObject, sealObject } from './seal';

export interface PackInfo {
  id: string;
  salt: Buffer;
  /** Bytes of the whole pack object. */
  size: number;
  entries: BlobEntry[];
}

export interface ChunkLocation {
  pack: string;
  offset: number;
  length: number;
  rawLength: number;
}

interface IndexFile {
  version: 1;
  pack: string;
  salt: string;
  size: number;
  entries: BlobEntry[];
}

export function encodeIndexFile(keys: RepositoryKeys, pack: PackInfo): Buffer {
  const file: IndexFile = { version: 1, pack: pack.id, salt: pack.salt.toString('hex'), size: pack.size, entries: pack.entries };
  return sealObject(keys.sealKey, 'index', compressSync(Buffer.from(JSON.stringify(file))));
}

export function decodeIndexFile(keys: RepositoryKeys, bytes: Buffer, what: string): PackInfo {
  const file = JSON.parse(decompress(openObject(keys.sealKey, 'index', bytes, what), what).toString('utf8')) as IndexFile;
  return { id: file.pack, salt: Buffer.from(file.salt, 'hex'), size: file.size, entries: file.entries };
}

export class RepositoryIndex {
  readonly packs = new Map<string, PackInfo>();
  private readonly chunks = new Map<string, ChunkLocation>();

  add(pack: PackInfo): void {
    this.packs.set(pack.id, pack);
    for (const e of pack.entries) {
      if (!this.chunks.has(e.id)) this.chunks.set(e.id, { pack: pack.id, offset: e.offset, length: e.length, rawLength: e.rawLength });
    }
  }

  has(id: string): boolean {
    return this.chunks.has(id);
  }

  get(id: string): ChunkLocation | undefined {
    return this.chunks.get(id);
  }

  get chunkCount(): number {
    return this.chunks.size;
  }
}
