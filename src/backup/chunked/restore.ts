// Restoring snapshot entries into a directory the caller just created and owns. Only the packs
// holding the selected files' chunks are read, and only the byte ranges of those chunks (nearby
// ranges of one pack are read together). Files are written in snapshot order in batches of
// about 32 MiB of chunks; every chunk is authenticated and checked against its keyed id before
// its bytes are written (repository.ts), so a damaged pack stops the restore with its name.
import { chmod, lutimes, mkdir, open, symlink, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { throwIfAborted } from '../cancellation';
import { IntegrityError } from '../errors';
import { safeEntryName } from '../restore/extract-tar';
import type { ChunkLocation, RepositoryIndex } from './index';
import type { Repository } from './repository';
import type { SnapshotEntry } from './snapshot';

export interface TreeRestoreResult {
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
}

const BATCH_BYTES = 32 * 1024 * 1024;
/** Ranges of one pack closer than this are fetched as one read. */
const MERGE_GAP = 256 * 1024;
const MODE_MASK = 0o1777; // setuid/setgid bits are never restored

interface Piece {
  entry: SnapshotEntry;
  /** Index into entry.chunks; -1 for an empty file. */
  chunk: number;
}

export async function restoreEntries(
  repo: Repository,
  index: RepositoryIndex,
  entries: SnapshotEntry[],
  targetDir: string,
  opts: { signal?: AbortSignal; onProgress?: (bytes: number) => void } = {},
): Promise<TreeRestoreResult> {
  const result: TreeRestoreResult = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
  const full = (rel: string) => path.join(targetDir, ...safeEntryName(rel).split('/'));
  const dirs: SnapshotEntry[] = [];
  for (const e of entries) {
    if (e.type !== 'dir') continue;
    await mkdir(full(e.path), { recursive: true });
    dirs.push(e);
  }

  let open_: { entry: SnapshotEntry; fh: FileHandle } | undefined;
  const closeFile = async () => {
    if (!open_) return;
    const { entry, fh } = open_;
    open_ = undefined;
    await fh.close();
    await chmod(full(entry.path), entry.mode & MODE_MASK);
    const t = entry.mtimeMs / 1000;
    await utimes(full(entry.path), t, t);
    result.files++;
  };
  const writePiece = async (p: Piece, data: Buffer | undefined) => {
    if (open_?.entry !== p.entry) {
      await closeFile();
      const file = full(p.entry.path);
      await mkdir(path.dirname(file), { recursive: true });
      open_ = { entry: p.entry, fh: await open(file, 'wx', 0o600) };
    }
    if (data) {
      await open_.fh.write(data);
      result.bytes += data.length;
      opts.onProgress?.(result.bytes);
    }
  };

  let batch: Piece[] = [];
  let batchBytes = 0;
  const flush = async () => {
    throwIfAborted(opts.signal);
    const chunks = await fetchChunks(repo, index, batch.filter((p) => p.chunk >= 0).map((p) => p.entry.chunks![p.chunk]!), opts.signal);
    for (const p of batch) await writePiece(p, p.chunk >= 0 ? chunks.get(p.entry.chunks![p.chunk]!) : undefined);
    batch = [];
    batchBytes = 0;
  };
  try {
    for (const e of entries) {
      if (e.type !== 'file') continue;
      const ids = e.chunks ?? [];
      if (ids.length === 0) batch.push({ entry: e, chunk: -1 });
      for (let i = 0; i < ids.length; i++) {
        batch.push({ entry: e, chunk: i });
        batchBytes += index.get(ids[i]!)?.rawLength ?? 0;
        if (batchBytes >= BATCH_BYTES) await flush();
      }
    }
    await flush();
    await closeFile();
  } finally {
    await open_?.fh.close().catch(() => undefined);
  }

  // Symlinks after every file, so nothing is ever written through a link; directory modes and
  // times last, since creating their contents changed both.
  for (const e of entries) {
    if (e.type !== 'symlink' || e.target === undefined) continue;
    const file = full(e.path);
    await mkdir(path.dirname(file), { recursive: true });
    await symlink(e.target, file);
    const t = e.mtimeMs / 1000;
    await lutimes(file, t, t).catch(() => undefined);
    result.symlinks++;
  }
  for (const d of dirs.reverse()) {
    await chmod(full(d.path), d.mode & MODE_MASK);
    const t = d.mtimeMs / 1000;
    await utimes(full(d.path), t, t);
    result.directories++;
  }
  return result;
}

/** Reads and opens the given chunks, grouped into as few range reads as is sensible. */
export async function fetchChunks(repo: Repository, index: RepositoryIndex, ids: string[], signal?: AbortSignal): Promise<Map<string, Buffer>> {
  const wanted = new Map<string, ChunkLocation>();
  for (const id of ids) {
    if (wanted.has(id)) continue;
    const loc = index.get(id);
    if (!loc) throw new IntegrityError(`chunk ${id.slice(0, 12)} is in no pack of the repository index (its pack was removed or never written)`);
    wanted.set(id, loc);
  }
  const byPack = new Map<string, Array<[string, ChunkLocation]>>();
  for (const item of wanted) byPack.set(item[1].pack, [...(byPack.get(item[1].pack) ?? []), item]);
  const out = new Map<string, Buffer>();
  const reads: Array<{ pack: string; start: number; end: number; items: Array<[string, ChunkLocation]> }> = [];
  for (const [pack, items] of byPack) {
    items.sort((a, b) => a[1].offset - b[1].offset);
    let cur: (typeof reads)[number] | undefined;
    for (const item of items) {
      const [, loc] = item;
      if (cur && loc.offset - cur.end <= MERGE_GAP && loc.offset + loc.length - cur.start <= BATCH_BYTES * 2) {
        cur.end = Math.max(cur.end, loc.offset + loc.length);
        cur.items.push(item);
      } else {
        cur = { pack, start: loc.offset, end: loc.offset + loc.length, items: [item] };
        reads.push(cur);
      }
    }
  }
  // Two reads at a time: one decrypting while the next is in flight.
  const run = async (r: (typeof reads)[number]) => {
    const bytes = await repo.readPackRange(r.pack, r.start, r.end - r.start, signal);
    const salt = index.packs.get(r.pack)!.salt;
    for (const [id, loc] of r.items) out.set(id, repo.openChunk(id, loc, bytes.subarray(loc.offset - r.start, loc.offset - r.start + loc.length), salt));
  };
  for (let i = 0; i < reads.length; i += 2) await Promise.all(reads.slice(i, i + 2).map(run));
  return out;
}
