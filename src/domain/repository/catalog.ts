// The file catalog of chunked recovery points: BackupFile rows written in the same transaction
// as the point (backups/run.ts), listed and searched by the API, and checked by restore
// requests (a path outside the snapshot or a glob that matches nothing is a typed error before
// any job exists).
import path from 'node:path';
import { globMatcher } from '../../backup/engines/directory';
import { normalizeSnapshotPath, SelectionError } from '../../backup/chunked/select';
import type { SnapshotEntry } from '../../backup/chunked/snapshot';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import type { OrgScope } from '../../auth/scope';
import { NotFoundError, ValidationError } from '../errors';

export function catalogRows(orgId: string, recoveryPointId: string, sourceId: string, entries: SnapshotEntry[]) {
  return entries.map((e) => {
    const parent = path.posix.dirname(e.path);
    return {
      orgId, recoveryPointId, sourceId, path: e.path, parent: parent === '.' ? '' : parent, type: e.type, size: BigInt(e.size), mode: e.mode,
      mtime: new Date(Math.floor(e.mtimeMs)), uid: e.uid, gid: e.gid, target: e.target ?? null, chunks: e.chunks?.length ?? 0,
    };
  });
}

function snapshotPath(field: string, p: string): string {
  try {
    return normalizeSnapshotPath(p);
  } catch (err) {
    if (err instanceof SelectionError) throw new ValidationError([{ path: [field], message: err.message }]);
    throw err;
  }
}

export interface FilesQuery {
  /** A directory to list ('' or null: the root), or a file. */
  path?: string | null;
  /** Search under `path` instead of listing it (.gitignore-like glob). */
  glob?: string | null;
}

/** Catalog entries of a point, sorted by path; the caller pages them. */
export async function listRecoveryPointFiles(db: Db, scope: OrgScope, recoveryPointId: string, q: FilesQuery) {
  const dir = snapshotPath('path', q.path ?? '');
  if (q.glob != null && (q.glob.length === 0 || q.glob.length > 1000 || q.glob.includes('\0'))) throw new ValidationError([{ path: ['glob'], message: 'must be 1..1000 characters without NUL' }]);
  return withTenant(db, scope.orgId, async (tx) => {
    const point = await tx.recoveryPoint.findFirst({ where: { id: recoveryPointId, orgId: scope.orgId }, select: { id: true } });
    if (!point) throw new NotFoundError('RecoveryPoint');
    if (dir !== '') {
      const self = await tx.backupFile.findFirst({ where: { recoveryPointId, orgId: scope.orgId, path: dir } });
      if (!self) throw new ValidationError([{ path: ['path'], message: `${dir} is not in this recovery point` }]);
      if (self.type !== 'dir') return [self];
    }
    if (!q.glob) return tx.backupFile.findMany({ where: { recoveryPointId, orgId: scope.orgId, parent: dir }, orderBy: { path: 'asc' } });
    const match = globMatcher([q.glob])!;
    const under = await tx.backupFile.findMany({
      where: { recoveryPointId, orgId: scope.orgId, ...(dir ? { path: { startsWith: `${dir}/` } } : {}) },
      orderBy: { path: 'asc' },
    });
    const found = under.filter((f) => match(f.path));
    if (found.length === 0) throw new ValidationError([{ path: ['glob'], message: `${q.glob} matches nothing under ${dir || '/'}` }]);
    return found;
  });
}

/** One file across the recovery points of a source, newest first. */
export async function fileVersions(db: Db, scope: OrgScope, sourceId: string, filePath: string, first: number, query: { include?: object; select?: object } = {}) {
  const p = snapshotPath('path', filePath);
  if (p === '') throw new ValidationError([{ path: ['path'], message: 'must name a file' }]);
  return withTenant(db, scope.orgId, async (tx) => {
    const source = await tx.source.findFirst({ where: { id: sourceId, orgId: scope.orgId }, select: { id: true } });
    if (!source) throw new NotFoundError('Source');
    return tx.backupFile.findMany({
      ...query,
      where: { orgId: scope.orgId, sourceId, path: p, recoveryPoint: { deletingSince: null } },
      orderBy: { recoveryPoint: { takenAt: 'desc' } },
      take: first,
    });
  });
}

/** Restore request checks for a chunked point: every path is in the catalog, a glob matches something. */
export async function checkChunkedSelection(tx: Parameters<Parameters<typeof withTenant>[2]>[0], orgId: string, recoveryPointId: string, paths: string[], glob: string | null | undefined) {
  for (const raw of paths) {
    const p = snapshotPath('paths', raw);
    if (p === '') continue;
    const found = await tx.backupFile.findFirst({ where: { orgId, recoveryPointId, path: p }, select: { path: true } });
    if (!found) throw new ValidationError([{ path: ['input', 'paths'], message: `${p} is not in this recovery point` }]);
  }
  if (glob) {
    const match = globMatcher([glob])!;
    const all = await tx.backupFile.findMany({ where: { orgId, recoveryPointId }, select: { path: true } });
    if (!all.some((f) => match(f.path))) throw new ValidationError([{ path: ['input', 'glob'], message: `${glob} matches nothing in this recovery point` }]);
  }
}
