// A snapshot: the tree of one recovery point. One sealed object (kind "snapshot"): zstd of JSON
// lines, a header line then one line per entry in pre-order (a directory before its contents,
// names sorted), so the catalog, an incremental backup and a restore can all read it in order.
// Entries carry what restoring and change detection need: path, type, size, mode, mtime, owner,
// inode, symlink target, and a file's chunk list.
import { z } from 'zod';
import { IntegrityError } from '../errors';
import { compressSync, decompress } from './compress';
import type { RepositoryKeys } from './keys';
import { openObject, sealObject } from './seal';

export const SNAPSHOT_VERSION = 1;

export const SnapshotEntrySchema = z.object({
  /** '/'-separated, relative to the source root, no leading './'. */
  path: z.string().min(1),
  type: z.enum(['file', 'dir', 'symlink']),
  size: z.number().int().nonnegative(),
  mode: z.number().int().nonnegative(),
  /** Milliseconds since the epoch, with the file system's sub-millisecond fraction. */
  mtimeMs: z.number(),
  uid: z.number().int(),
  gid: z.number().int(),
  inode: z.number().int().nonnegative(),
  target: z.string().optional(),
  chunks: z.array(z.string().regex(/^[0-9a-f]{64}$/)).optional(),
});
export type SnapshotEntry = z.infer<typeof SnapshotEntrySchema>;

export const SnapshotHeaderSchema = z.object({
  version: z.literal(SNAPSHOT_VERSION),
  keyId: z.string(),
  createdAt: z.string(),
  /** The snapshot this one was taken against (unchanged files were not read again). */
  parent: z.string().nullable(),
  /** Free-form provenance (org, strategy, source, job ids) written by the caller. */
  meta: z.record(z.string(), z.string().nullable()),
  entries: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});
export type SnapshotHeader = z.infer<typeof SnapshotHeaderSchema>;

export interface Snapshot {
  header: SnapshotHeader;
  entries: SnapshotEntry[];
}

export function encodeSnapshot(keys: RepositoryKeys, snapshot: Snapshot): Buffer {
  const lines = [JSON.stringify(snapshot.header), ...snapshot.entries.map((e) => JSON.stringify(e))];
  return sealObject(keys.sealKey, 'snapshot', compressSync(Buffer.from(lines.join('\n') + '\n'), 3));
}

export function decodeSnapshot(keys: RepositoryKeys, bytes: Buffer, what = 'snapshot'): Snapshot {
  const text = decompress(openObject(keys.sealKey, 'snapshot', bytes, what), what).toString('utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  try {
    const header = SnapshotHeaderSchema.parse(JSON.parse(lines[0] ?? 'null'));
    const entries = lines.slice(1).map((l) => SnapshotEntrySchema.parse(JSON.parse(l)));
    if (entries.length !== header.entries) throw new Error(`${entries.length} entries, header says ${header.entries}`);
    return { header, entries };
  } catch (err) {
    throw new IntegrityError(`${what} is malformed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Every chunk id a snapshot references (prune's mark phase, verification). */
export function snapshotChunks(snapshot: Snapshot): Set<string> {
  const out = new Set<string>();
  for (const e of snapshot.entries) for (const c of e.chunks ?? []) out.add(c);
  return out;
}
