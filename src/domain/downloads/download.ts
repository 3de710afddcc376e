// A download of a recovery point: the role is checked, an intact copy chosen exactly as a restore
// chooses it (restores/copy.ts: each copy hashed end to end against the catalog before it is used,
// a damaged or unreachable one skipped for the next destination), then the decoded stream is
// returned with what the HTTP layer needs for its headers. Nothing is sent before a copy has been
// verified, so "no intact copy" is an error response, never a truncated file. The stream itself
// re-checks the SHA-256 (and AES-GCM each chunk) while it runs: if the object changed since it was
// verified, it errors and the HTTP layer aborts the connection instead of ending the body.
import type { Readable } from 'node:stream';
import { recordAudit } from '../../audit/writer';
import type { OrgScope } from '../../auth/scope';
import { isBackupError } from '../../backup/errors';
import { selectFromTar, selectionPath } from '../../backup/restore/select-tar';
import { withTenant } from '../../db/context';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors';
import { chooseIntactCopy, openDecodedCopy, type PointWithCopies, type RestoreDeps } from '../restores/copy';

export const DOWNLOAD_ROLES: ReadonlyArray<string> = ['OWNER', 'ADMIN', 'OPERATOR'];

export function assertMayDownload(scope: OrgScope): void {
  if (!DOWNLOAD_ROLES.includes(scope.actor.role)) throw new ForbiddenError('Downloading a backup needs the OPERATOR role or above');
}

export interface DownloadRequest {
  recoveryPointId: string;
  /** Directory backups: one file or folder, relative to the backed-up directory. */
  path?: string | null;
  via: 'credentials' | 'link';
}

export interface PreparedDownload {
  filename: string;
  contentType: string;
  /** Known for a whole artifact (the catalog's raw size) and for a single file. */
  contentLength?: number;
  stream: Readable;
  destinationId: string;
}

const EXTENSION: Record<string, { ext: string; type: string }> = {
  custom: { ext: 'dump', type: 'application/octet-stream' },
  plain: { ext: 'sql', type: 'application/sql' },
  tar: { ext: 'tar', type: 'application/x-tar' },
  // pg_dump's directory format is stored as a tar of the dump directory.
  directory: { ext: 'tar', type: 'application/x-tar' },
};

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'recovery-point';

/** A normalised selection path, or a ValidationError naming the field. */
export function downloadPath(point: { sourceKind: string }, requested: string | null | undefined, field: string[]): string | undefined {
  if (requested === undefined || requested === null || requested === '') return undefined;
  if (point.sourceKind !== 'DIRECTORY') throw ValidationError.field(field, 'only a directory backup can be downloaded in part');
  try {
    return selectionPath(requested);
  } catch {
    throw ValidationError.field(field, 'must be a relative path inside the backup (no "..", no NUL)');
  }
}

export async function findDownloadablePoint(deps: Pick<RestoreDeps, 'db'>, scope: OrgScope, recoveryPointId: string) {
  const point = await withTenant(deps.db, scope.orgId, (tx) =>
    tx.recoveryPoint.findFirst({
      where: { id: recoveryPointId, orgId: scope.orgId },
      include: { artifacts: { include: { destination: true } }, strategy: { select: { name: true } } },
    }),
  );
  if (!point) throw new NotFoundError('RecoveryPoint');
  if (point.deletingSince) throw new ConflictError('The recovery point is being deleted');
  return point;
}

export async function prepareDownload(deps: RestoreDeps, scope: OrgScope, req: DownloadRequest, signal: AbortSignal): Promise<PreparedDownload> {
  assertMayDownload(scope);
  const point = await findDownloadablePoint(deps, scope, req.recoveryPointId);
  const wanted = downloadPath(point, req.path, ['path']);
  const chosen = await chooseIntactCopy(deps, point as PointWithCopies, signal);
  const decoded = await openDecodedCopy(deps, point as PointWithCopies, chosen, signal);
  const taken = point.takenAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = `${slug(point.strategy?.name ?? 'recovery-point')}-${taken}`;
  let prepared: Omit<PreparedDownload, 'destinationId'>;
  if (wanted) {
    let selection;
    try {
      selection = await selectFromTar(decoded, wanted);
    } catch (err) {
      if (isBackupError(err) && err.code === 'NOT_IN_ARCHIVE') throw new NotFoundError('Path', err.message);
      throw err;
    }
    const leaf = wanted.slice(wanted.lastIndexOf('/') + 1);
    prepared = selection.kind === 'file'
      ? { filename: leaf, contentType: 'application/octet-stream', contentLength: selection.size, stream: selection.stream }
      : { filename: `${base}-${slug(leaf)}.tar`, contentType: 'application/x-tar', stream: selection.stream };
  } else {
    const kind = EXTENSION[point.format] ?? { ext: 'bin', type: 'application/octet-stream' };
    prepared = { filename: `${base}.${kind.ext}`, contentType: kind.type, contentLength: Number(point.rawBytes), stream: decoded };
  }
  try {
    await withTenant(deps.db, scope.orgId, (tx) =>
      recordAudit(tx, scope, {
        action: 'recoveryPoint.downloaded',
        resourceType: 'RecoveryPoint',
        resourceId: point.id,
        after: { via: req.via, path: wanted ?? null, destinationId: chosen.artifact.destinationId, skippedCopies: chosen.skipped },
      }),
    );
  } catch (err) {
    prepared.stream.destroy();
    throw err;
  }
  return { ...prepared, destinationId: chosen.artifact.destinationId };
}
