// Backing up a tree into chunked repositories (one per destination, same keys). A file whose
// size, mtime and inode match the parent snapshot is not read: its chunk list is reused. Other
// files are cut into chunks; a chunk every destination already holds (or this run already
// stored) is referenced, a new one is compressed (on the thread pool), sealed into the current
// pack, and packs go to every destination as they fill. The snapshot is returned, not written:
// the caller stores it beside the recovery point once everything it names is safely stored.
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import { throwIfAborted } from '../cancellation';
import { SizeLimitExceededError, SourceAccessError } from '../errors';
import type { TreeEntry } from '../engines/tar-tree';
import { Chunker, DEFAULT_CHUNKER, type ChunkerParams } from './chunker';
import { compressChunk } from './compress';
import { ChunkReader } from './files';
import type { RepositoryIndex } from './index';
import { chunkId, type RepositoryKeys } from './keys';
import { DEFAULT_PACK_SIZE, PackWriter } from './pack';
import type { Repository } from './repository';
import { SNAPSHOT_VERSION, type Snapshot, type SnapshotEntry } from './snapshot';

export interface TreeBackupOptions {
  /** The real path of the source root; `entries` come from walkTree on it. */
  root: string;
  entries: TreeEntry[];
  parent: Snapshot | null;
  parentId: string | null;
  /** One repository per destination, with its loaded index at the same position. */
  repositories: Repository[];
  indexes: RepositoryIndex[];
  keys: RepositoryKeys;
  compressionLevel?: number;
  packSize?: number;
  chunker?: ChunkerParams;
  /** Limit on the bytes this run adds to each destination. */
  maxBytes?: number;
  signal: AbortSignal;
  onProgress?: (p: { bytesDone: number; bytesAdded: number }) => void;
  meta: Record<string, string | null>;
}

export interface TreeBackupStats {
  filesNew: number;
  filesChanged: number;
  filesUnchanged: number;
  directories: number;
  symlinks: number;
  /** Sum of file sizes in the snapshot. */
  totalBytes: number;
  /** Bytes read from the source (files not skipped as unchanged). */
  bytesRead: number;
  /** Pack bytes this run added to each destination. */
  bytesAdded: number;
  chunksNew: number;
  chunksReused: number;
  packs: number;
}

export interface TreeBackupResult {
  snapshot: Snapshot;
  stats: TreeBackupStats;
  /** Per destination: every pack the snapshot's chunks live in (checked before commit). */
  referencedPacks: Array<Set<string>>;
}

const COMPRESS_WINDOW = 4;

export async function backupTree(opts: TreeBackupOptions): Promise<TreeBackupResult> {
  const { keys, signal } = opts;
  const chunker = new Chunker(keys.gear, opts.chunker ?? DEFAULT_CHUNKER);
  const reader = new ChunkReader(chunker);
  const level = opts.compressionLevel ?? 1;
  const packSize = opts.packSize ?? DEFAULT_PACK_SIZE;
  const stats: TreeBackupStats = { filesNew: 0, filesChanged: 0, filesUnchanged: 0, directories: 0, symlinks: 0, totalBytes: 0, bytesRead: 0, bytesAdded: 0, chunksNew: 0, chunksReused: 0, packs: 0 };
  const parentByPath = new Map((opts.parent?.entries ?? []).map((e) => [e.path, e]));
  /** Chunks this run stored (or is storing): in the current pack, being compressed, or uploaded. */
  const stored = new Set<string>();
  const everywhere = (id: string) => stored.has(id) || opts.indexes.every((ix) => ix.has(id));

  let pack = new PackWriter(keys);
  let uploading: Promise<void> | undefined;
  let uploadError: unknown;
  const window: Array<Promise<{ id: string; compressed: Buffer; raw: number }>> = [];
  let bytesDone = 0;
  const progress = () => opts.onProgress?.({ bytesDone, bytesAdded: stats.bytesAdded });

  const awaitUpload = async () => {
    await uploading;
    if (uploadError !== undefined) throw uploadError;
  };
  const rotate = async () => {
    if (pack.count === 0) return;
    const finished = pack.finish();
    pack = new PackWriter(keys);
    stats.bytesAdded += finished.bytes.length;
    stats.packs++;
    if (opts.maxBytes !== undefined && stats.bytesAdded > opts.maxBytes) throw new SizeLimitExceededError(opts.maxBytes);
    await awaitUpload(); // one pack uploading while the next fills: memory stays at about two packs
    uploading = Promise.all(opts.repositories.map((r, i) => r.writePack(finished, signal).then((info) => opts.indexes[i]!.add(info)))).then(
      () => undefined,
      (err: unknown) => {
        uploadError ??= err;
      },
    );
    progress();
  };
  const drainOne = async () => {
    const done = await window.shift()!;
    pack.add(done.id, done.compressed, done.raw);
    if (pack.bytes >= packSize) await rotate();
  };

  const out: SnapshotEntry[] = [];
  const reuse = (e: TreeEntry, prev: SnapshotEntry | undefined) =>
    prev !== undefined && prev.type === 'file' && prev.size === Number(e.stat.size) && prev.mtimeMs === mtimeMsOf(e) && prev.inode === Number(e.stat.ino)
    && (prev.chunks ?? []).every(everywhere);

  try {
    for (const e of opts.entries) {
      throwIfAborted(signal);
      if (uploadError !== undefined) throw uploadError;
      const base = { path: e.rel, mode: Number(e.stat.mode) & 0o7777, mtimeMs: mtimeMsOf(e), uid: Number(e.stat.uid), gid: Number(e.stat.gid), inode: Number(e.stat.ino) };
      if (e.kind === 'directory') {
        out.push({ ...base, type: 'dir', size: 0 });
        stats.directories++;
        continue;
      }
      if (e.kind === 'symlink') {
        const target = await readlink(path.join(opts.root, e.rel)).catch(() => undefined);
        if (target === undefined) continue; // vanished since the walk
        out.push({ ...base, type: 'symlink', size: 0, target });
        stats.symlinks++;
        continue;
      }
      const prev = parentByPath.get(e.rel);
      if (reuse(e, prev)) {
        out.push({ ...base, type: 'file', size: prev!.size, chunks: prev!.chunks ?? [] });
        for (const _ of prev!.chunks ?? []) stats.chunksReused++;
        stats.filesUnchanged++;
        stats.totalBytes += prev!.size;
        bytesDone += prev!.size;
        progress();
        continue;
      }
      const chunks: string[] = [];
      let size = 0;
      try {
        for await (const data of reader.chunks(path.join(opts.root, e.rel), signal)) {
          const id = chunkId(keys, data);
          chunks.push(id);
          size += data.length;
          bytesDone += data.length;
          if (everywhere(id)) {
            stats.chunksReused++;
          } else {
            stored.add(id);
            stats.chunksNew++;
            const copy = Buffer.from(data); // the reader reuses its buffer
            window.push(compressChunk(copy, level).then((compressed) => ({ id, compressed, raw: copy.length })));
            if (window.length >= COMPRESS_WINDOW) await drainOne();
          }
          progress();
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue; // deleted since the walk: not part of this snapshot
        if (code === 'EACCES' || code === 'EPERM') throw new SourceAccessError(`cannot read ${e.rel}: ${(err as Error).message}`);
        throw err;
      }
      out.push({ ...base, type: 'file', size, chunks });
      stats.bytesRead += size;
      stats.totalBytes += size;
      if (prev) stats.filesChanged++;
      else stats.filesNew++;
    }
    while (window.length) await drainOne();
    await rotate();
    await awaitUpload();
  } catch (err) {
    // Let in-flight work settle before the caller cleans up, so nothing is written after it.
    await Promise.allSettled([...window, uploading]);
    throw err;
  }

  const referencedPacks = opts.indexes.map((ix) => {
    const packs = new Set<string>();
    for (const e of out) for (const c of e.chunks ?? []) {
      const loc = ix.get(c);
      if (loc) packs.add(loc.pack);
    }
    return packs;
  });
  const snapshot: Snapshot = {
    header: {
      version: SNAPSHOT_VERSION, keyId: keys.keyId, createdAt: new Date().toISOString(), parent: opts.parentId, meta: opts.meta,
      entries: out.length, bytes: stats.totalBytes,
    },
    entries: out,
  };
  return { snapshot, stats, referencedPacks };
}

/** The entry's mtime in milliseconds with its sub-millisecond part (microseconds survive a double). */
function mtimeMsOf(e: TreeEntry): number {
  return Number(e.stat.mtimeNs / 1000n) / 1000;
}
