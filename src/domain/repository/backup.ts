// A chunked backup run, for the backup worker (backups/run.ts): the organization's repository at
// every destination of the strategy, the parent snapshot (the strategy's newest chunked point of
// the same source), the tree walk, then backupTree. The snapshot is stored at the run's prefix
// like a tar artifact, so point deletion, the sweep and catalog import treat both alike; the
// packs stay in the shared repository, where only prune removes them.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { backupTree, type TreeBackupStats } from '../../backup/chunked/backup';
import { readAll } from '../../backup/chunked/repository';
import { decodeSnapshot, encodeSnapshot, type Snapshot, type SnapshotEntry } from '../../backup/chunked/snapshot';
import type { RepositoryKeys } from '../../backup/chunked/keys';
import { planDirectory, type DirectoryEngineOptions } from '../../backup/engines/directory';
import { IntegrityError } from '../../backup/errors';
import { snapshotKey } from '../../backup/manifest';
import { withTenant } from '../../db/context';
import type { ClaimedBackup } from '../backups/claim';
import { openRepository, organizationRepositoryKeys, type RepositoryEnv } from './open';

export const CHUNKED_FORMAT = 'chunked';

export interface ChunkedBackupArgs {
  claimed: ClaimedBackup;
  directory: DirectoryEngineOptions;
  /** The run's prefix (keepsake/<org>/<strategy>/<job>/). */
  prefix: string;
  signal: AbortSignal;
  maxBytes?: number;
  onProgress: (bytesDone: number) => void;
  onEstimate: (totalBytes: number) => void;
  log: Logger;
}

export interface ChunkedBackupResult {
  key: string;
  snapshot: Snapshot;
  /** Size and SHA-256 of the stored snapshot object (what each destination holds under `key`). */
  storedBytes: number;
  sha256: string;
  rawSha256: string;
  keyId: string;
  stats: TreeBackupStats;
  parentBackupJobId: string | null;
}

export async function runChunkedBackup(env: RepositoryEnv, backupRun: ChunkedBackupArgs): Promise<ChunkedBackupResult> {
  const { job, strategy, source, destinations } = backupRun.claimed;
  const keys = await organizationRepositoryKeys(env, job.orgId);
  const repos = destinations.map((d) => openRepository(env, keys, d));
  const { realRoot, entries } = await planDirectory(backupRun.directory, backupRun.signal);
  backupRun.onEstimate(entries.reduce((n, e) => n + (e.kind === 'file' ? Number(e.stat.size) : 0), 0));
  const [parent, indexes] = await Promise.all([
    parentSnapshot(env, keys, strategy.id, source.id, job.orgId, backupRun.log),
    Promise.all(repos.map((r) => r.loadIndex(backupRun.signal))),
  ]);
  const result = await backupTree({
    root: realRoot, entries, parent: parent?.snapshot ?? null, parentId: parent?.backupJobId ?? null, repositories: repos, indexes, keys,
    compressionLevel: strategy.compressionLevel ?? 1, maxBytes: backupRun.maxBytes, signal: backupRun.signal,
    onProgress: (p) => backupRun.onProgress(p.bytesDone),
    meta: { orgId: job.orgId, strategyId: strategy.id, sourceId: source.id, backupJobId: job.id },
  });
  // A prune that ran meanwhile may have removed a pack this run found in its index and reused:
  // the point would name chunks that are gone. Fail (and retry with a fresh index) instead.
  await Promise.all(repos.map(async (r, i) => {
    for (const pack of result.referencedPacks[i]!) {
      if (!(await r.driver.head(r.packKey(pack)))) throw new IntegrityError(`pack ${pack} that this backup reuses is no longer at the ${r.driver.kind} destination`);
    }
  }));
  const bytes = encodeSnapshot(keys, result.snapshot);
  const key = snapshotKey(backupRun.prefix);
  await Promise.all(repos.map((r) => r.driver.put(key, Readable.from([bytes]), { signal: backupRun.signal })));
  const plain = result.snapshot.entries.map((e) => JSON.stringify(e)).join('\n');
  return {
    key, snapshot: result.snapshot, storedBytes: bytes.length, sha256: sha256(bytes), rawSha256: sha256(Buffer.from(plain)), keyId: keys.keyId,
    stats: result.stats, parentBackupJobId: parent?.backupJobId ?? null,
  };
}

/** The newest readable snapshot of this strategy and source; none (a full read) if there is none. */
async function parentSnapshot(env: RepositoryEnv, keys: RepositoryKeys, strategyId: string, sourceId: string, orgId: string, log: Logger) {
  const point = await withTenant(env.db, orgId, (tx) =>
    tx.recoveryPoint.findFirst({
      where: { orgId, strategyId, sourceId, format: CHUNKED_FORMAT, deletingSince: null },
      orderBy: { takenAt: 'desc' },
      include: { artifacts: { where: { status: 'PRESENT' }, include: { destination: true } } },
    }),
  );
  if (!point) return null;
  for (const artifact of point.artifacts) {
    try {
      const snapshot = await readSnapshot(env, keys, artifact.destination, artifact.key, point.sha256);
      return { snapshot, backupJobId: point.backupJobId };
    } catch (err) {
      log.warn({ recoveryPointId: point.id, destinationId: artifact.destinationId, err: err instanceof Error ? err.message : String(err) }, 'parent snapshot unreadable at this destination');
    }
  }
  return null;
}

/** Reads, checks (SHA-256 against the catalog) and opens a point's snapshot at one destination. */
export async function readSnapshot(
  env: RepositoryEnv, keys: RepositoryKeys, destination: Parameters<typeof openRepository>[2], key: string, expectedSha256: string, signal?: AbortSignal,
): Promise<Snapshot> {
  const repo = openRepository(env, keys, destination);
  const bytes = await readAll(await repo.driver.get(key, { signal }));
  if (sha256(bytes) !== expectedSha256) throw new IntegrityError(`snapshot ${JSON.stringify(key)} is corrupted: its SHA-256 does not match the catalog`);
  return decodeSnapshot(keys, bytes, `snapshot ${key}`);
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export type { SnapshotEntry };
