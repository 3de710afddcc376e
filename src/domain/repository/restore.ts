// Restoring a chunked point into a directory (restores and restore tests): each copy in turn
// (healthy destinations first) has its snapshot checked against the catalog's SHA-256, then the
// selected entries are restored into a staging directory beside the target, which is renamed
// into place only when every chunk was read and checked. A damaged or missing pack fails that
// copy with the pack's name; the next destination's copy is tried, and the skipped copies are
// recorded in the job's validation.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { restoreEntries } from '../../backup/chunked/restore';
import { SelectionError, selectEntries } from '../../backup/chunked/select';
import { DestinationError, IntegrityError, isBackupError, RestoreValidationError, TargetExistsError } from '../../backup/errors';
import type { Db } from '../../db/client';
import type { Artifact, Destination, RecoveryPoint } from '../../db/generated/prisma/client';

// The shapes restores/copy.ts passes in and expects back (declared here: copy.ts imports this file).
interface RestoreDeps {
  db: Db;
  masterKey: Buffer;
  storageRoot: string;
}
type PointWithCopies = RecoveryPoint & { artifacts: Array<Artifact & { destination: Destination }> };
interface RestoreEvidence {
  destinationId: string;
  skipped: Array<{ destinationId: string; reason: string; code: string }>;
  bytes: number;
  entries?: { expected: number | null; actual: number };
}
import { openRepository, organizationRepositoryKeys } from './open';
import { readSnapshot } from './backup';

const HEALTH_ORDER: Record<string, number> = { HEALTHY: 0, UNKNOWN: 1, UNHEALTHY: 2 };

export async function restoreChunkedPoint(
  deps: RestoreDeps,
  point: PointWithCopies,
  target: { path: string; paths?: string[]; glob?: string },
  signal: AbortSignal,
  onProgress: (phase: 'verifying' | 'restoring', bytesDone: number) => void,
): Promise<RestoreEvidence> {
  const existing = await stat(target.path).catch(() => null);
  if (existing && (!existing.isDirectory() || (await readdir(target.path)).length > 0)) {
    throw new TargetExistsError(`${target.path} exists and is not an empty directory: restore into a new or empty directory`);
  }
  const env = { db: deps.db, masterKey: deps.masterKey, storageRoot: deps.storageRoot };
  const keys = await organizationRepositoryKeys(env, point.orgId);
  const copies = point.artifacts
    .filter((a) => a.status === 'PRESENT')
    .sort((a, b) => (HEALTH_ORDER[a.destination.status] ?? 1) - (HEALTH_ORDER[b.destination.status] ?? 1));
  const skipped: RestoreEvidence['skipped'] = [];
  for (const artifact of copies) {
    onProgress('verifying', 0);
    const staging = `${target.path.replace(/\/+$/, '')}.ks-restore-${randomBytes(4).toString('hex')}`;
    try {
      const snapshot = await readSnapshot(env, keys, artifact.destination, artifact.key, point.sha256, signal);
      let entries;
      try {
        entries = selectEntries(snapshot.entries, { paths: target.paths?.filter((p) => p.replace(/^\/+|\/+$/g, '') !== ''), glob: target.glob });
      } catch (err) {
        if (err instanceof SelectionError) throw new RestoreValidationError(err.message);
        throw err;
      }
      const repo = openRepository(env, keys, artifact.destination);
      const index = await repo.loadIndex(signal);
      await mkdir(staging, { mode: 0o700 });
      const result = await restoreEntries(repo, index, entries, staging, { signal, onProgress: (n) => onProgress('restoring', n) });
      if (existing) await rmdir(target.path);
      await rename(staging, target.path);
      const actual = result.files + result.directories + result.symlinks;
      return { destinationId: artifact.destinationId, skipped, bytes: result.bytes, entries: { expected: entries.length, actual } };
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      if (signal.aborted || err instanceof RestoreValidationError || err instanceof TargetExistsError) throw err;
      skipped.push({ destinationId: artifact.destinationId, reason: err instanceof Error ? err.message : String(err), code: isBackupError(err) ? err.code : 'INTERNAL' });
    }
  }
  const detail = skipped.map((s) => s.reason).join('; ') || 'the recovery point has no copy';
  throw skipped.length && skipped.every((s) => s.code === 'INTEGRITY_ERROR' || s.code === 'KEY_MISMATCH')
    ? new IntegrityError(`no intact copy of the recovery point: ${detail}`)
    : new DestinationError('read', point.id, new Error(`no usable copy of the recovery point: ${detail}`));
}
