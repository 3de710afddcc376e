// One attempt at a backup job, as the backup worker runs it: claim the row, stream the source
// through the pipeline to every destination, write the manifests, then commit the recovery point,
// its artifacts and the job's success in one transaction. Whatever goes wrong before that commit
// removes what this attempt wrote, so the catalog never has a half point and no destination keeps
// an orphan (a crash is covered by the next attempt and the sweep, see backup-sweep.ts).
import { Readable } from 'node:stream';
import type { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import { CancelledError, IntegrityError } from '../../backup/errors';
import type { BackupEngine, EngineResult } from '../../backup/engines/types';
import { artifactKey, manifestKey, runPrefix, serializeManifest, type Manifest } from '../../backup/manifest';
import { runBackupPipeline, type BackupTarget } from '../../backup/pipeline/run-backup';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import type { EventBus } from '../../events/bus';
import { publishJobEvent } from '../jobs-control/events';
import { recordAudit } from '../../audit/writer';
import { systemScope } from '../../auth/scope';
import { organizationDataKey } from '../organization/data-keys';
import { driverFor } from '../destinations/driver';
import { LocalDestination } from '../../backup/destinations/local';
import { expiryForStrategy } from '../immutability/locks';
import { JobProgressWriter } from '../jobs-control/progress';
import { jobStop, type JobStop } from '../jobs-control/stop';
import { claimBackupJob, type ClaimedBackup } from './claim';
import { failureOf, shouldRetry } from '../jobs-control/retry';
import { backupFailedAlert, backupSucceededNotices } from '../alerts/events';
import type { DirectoryEngineOptions } from '../../backup/engines/directory';
import type { SnapshotEntry } from '../../backup/chunked/snapshot';
import { CHUNKED_FORMAT, runChunkedBackup } from '../repository/backup';
import { catalogRows } from '../repository/catalog';

export interface BackupRunDeps {
  db: Db;
  /** To hand a job back to the queue when its organization is at its concurrency cap. */
  boss: PgBoss;
  masterKey: Buffer;
  storageRoot: string;
  events: EventBus;
  log: Logger;
  /** Builds the engine for the claimed source (POSTGRES: pg_dump, DIRECTORY: tar). */
  engineFor(claimed: ClaimedBackup): BackupEngine;
  /** What a chunked backup of a DIRECTORY source walks (same confinement as the tar engine). */
  directoryOptionsFor(claimed: ClaimedBackup): DirectoryEngineOptions;
  /** How often progress is written to the row and published (ms). */
  progressIntervalMs?: number;
}

export interface BackupAttempt {
  backupJobId: string;
  orgId: string;
  /** 1 for the first try; pg-boss retries count up. */
  attempt: number;
  /** Whether the queue will run this job again if this attempt fails with a retryable error. */
  retriesLeft: boolean;
  /** Aborted by the queue (shutdown, lost lease). */
  signal?: AbortSignal;
  workerId: string;
  /** The pg-boss job delivering this attempt: a delivery the row no longer points at is skipped. */
  queueJobId?: string;
}

export type BackupOutcome =
  | { status: 'SUCCEEDED'; recoveryPointId: string }
  | { status: 'CANCELLED' | 'SKIPPED' }
  /** The organization was at its maxConcurrentBackups: the job waits in the queue again. */
  | { status: 'DEFERRED' }
  | { status: 'FAILED'; retry: boolean; code: string; message: string };

export async function runBackup(deps: BackupRunDeps, attempt: BackupAttempt): Promise<BackupOutcome> {
  const { db, log } = deps;
  const claimed = await claimBackupJob(db, deps.boss, attempt);
  if (!claimed) return { status: 'SKIPPED' };
  if ('deferred' in claimed) return { status: 'DEFERRED' };
  if (claimed.cancelledBeforeStart) {
    await publishJobEvent(db, { orgId: attempt.orgId, kind: 'BACKUP', id: attempt.backupJobId, status: 'CANCELLED', phase: null });
    return { status: 'CANCELLED' };
  }
  const { job, strategy, destinations } = claimed;
  const jobLog = log.child({ backupJobId: job.id, strategyId: strategy.id, attempt: attempt.attempt });
  jobLog.info({ destinations: destinations.length, source: claimed.source.kind }, 'backup started');
  await publishJobEvent(db, { orgId: job.orgId, kind: 'BACKUP', id: job.id, status: 'RUNNING', phase: 'dumping', bytesDone: '0' });

  const stopper = jobStop(deps.events, 'BACKUP', job.id, attempt.signal, strategy.timeoutSeconds);
  const { signal } = stopper;
  const prefix = runPrefix(job.orgId, strategy.id, job.id);
  const targets: BackupTarget[] = destinations.map((d) => ({ driver: driverFor(d, deps), key: '' }));
  const startedAt = new Date();
  let committed = false;
  const progress = new JobProgressWriter(db, 'BACKUP', job, deps.progressIntervalMs ?? 500, stopper.cancelled);
  try {
    // A crashed earlier attempt of this job may have left complete objects: start clean.
    await removeRunObjects(targets, prefix);
    const chunked = strategy.repositoryFormat === 'CHUNKED' && claimed.source.kind === 'DIRECTORY';
    const run = { targets, prefix, stopper, progress, log: jobLog };
    const streamed = chunked ? await streamToRepository(deps, claimed, run) : await streamToDestinations(deps, claimed, run);
    await progress.phase('verifying');
    const manifest = buildManifest(claimed, streamed, startedAt, new Date());
    await writeManifests(targets, prefix, manifest, signal);
    const pointId = await commitRecoveryPoint(db, deps.boss, {
      job, strategy, source: claimed.source, destinations, manifest, key: streamed.key, prefix,
      dataKeyId: streamed.dataKeyId, takenAt: startedAt, finishedAt: new Date(manifest.timings.finishedAt), addedBytes: streamed.addedBytes, entries: streamed.entries,
    });
    // A cancel that arrived between the upload and the commit is honoured: nothing is kept.
    if (!pointId) throw new CancelledError(new Error('cancelled by request'));
    committed = true;
    jobLog.info({ rawBytes: manifest.rawBytes, storedBytes: manifest.storedBytes, ms: manifest.timings.durationMs }, 'backup succeeded');
    await publishJobEvent(db, { orgId: job.orgId, kind: 'BACKUP', id: job.id, status: 'SUCCEEDED', phase: null, bytesDone: String(manifest.rawBytes), percent: 100, etaSeconds: 0 });
    return { status: 'SUCCEEDED', recoveryPointId: pointId };
  } catch (err) {
    if (committed) throw err; // the point is safe; only a notification failed
    await removeRunObjects(targets, prefix).catch((cleanupErr: unknown) => jobLog.warn({ err: cleanupErr }, 'could not remove the objects of a failed attempt; the sweep will'));
    return await recordFailure(deps, attempt, job, signal.aborted ? signal.reason : err, jobLog);
  } finally {
    stopper.dispose();
    progress.stop();
  }
}

/** What a run stored, whichever format: a tar/dump artifact, or a snapshot plus new packs. */
interface StreamedBackup {
  key: string;
  dataKeyId: string | null;
  compression: Manifest['compression'];
  /** rawBytes, storedBytes (of the artifact at `key`), sha256, rawSha256. */
  pipeline: Pick<Awaited<ReturnType<typeof runBackupPipeline>>, 'rawBytes' | 'storedBytes' | 'sha256' | 'rawSha256'>;
  engine: EngineResult;
  /** Bytes this run added at each destination (chunked: new packs plus the snapshot). */
  addedBytes: number;
  chunked?: Manifest['chunked'];
  /** Chunked: the snapshot's entries, for the file catalog. */
  entries?: SnapshotEntry[];
}

/** A chunked DIRECTORY backup (domain/repository): new chunks into the shared repository, the snapshot at the run's prefix. */
async function streamToRepository(
  deps: BackupRunDeps,
  claimed: ClaimedBackup,
  run: { prefix: string; stopper: JobStop; progress: JobProgressWriter; log: Logger },
): Promise<StreamedBackup> {
  const { strategy } = claimed;
  const r = await runChunkedBackup({ db: deps.db, masterKey: deps.masterKey, storageRoot: deps.storageRoot }, {
    claimed, directory: deps.directoryOptionsFor(claimed), prefix: run.prefix, signal: run.stopper.signal, log: run.log,
    maxBytes: strategy.maxSizeBytes !== null ? Number(strategy.maxSizeBytes) : undefined,
    onProgress: (n) => run.progress.update(n), onEstimate: (n) => (run.progress.total = n),
  });
  const s = r.stats;
  return {
    key: r.key, dataKeyId: r.keyId, compression: 'ZSTD',
    pipeline: { rawBytes: s.totalBytes, storedBytes: r.storedBytes, sha256: r.sha256, rawSha256: r.rawSha256 },
    engine: { format: CHUNKED_FORMAT, versions: { chunked: '1', chunker: 'fastcdc-2020' }, files: r.snapshot.entries.length },
    addedBytes: r.storedBytes + s.bytesAdded,
    entries: r.snapshot.entries,
    chunked: {
      parentBackupJobId: r.parentBackupJobId, filesNew: s.filesNew, filesChanged: s.filesChanged, filesUnchanged: s.filesUnchanged,
      bytesRead: s.bytesRead, bytesAdded: s.bytesAdded, chunksNew: s.chunksNew, chunksReused: s.chunksReused, packs: s.packs,
    },
  };
}

/**
 * Runs the engine and streams its output through compression, encryption and hashing to every
 * destination. A dump that fails after writing some bytes stops the upload too (it must not end
 * "cleanly"), and a failing upload stops the engine.
 */
async function streamToDestinations(
  deps: BackupRunDeps,
  claimed: ClaimedBackup,
  run: { targets: BackupTarget[]; prefix: string; stopper: JobStop; progress: JobProgressWriter },
): Promise<StreamedBackup> {
  const { job, strategy, source } = claimed;
  const { signal, stop } = run.stopper;
  const engine = deps.engineFor(claimed);
  run.progress.total = await engine.estimateBytes().catch(() => null);
  const dataKey = strategy.encrypted ? await organizationDataKey(deps.db, deps.masterKey, job.orgId) : undefined;
  const started = await engine.start(signal);
  let engineError: unknown;
  const engineDone = started.done.catch((err: unknown) => {
    engineError = err;
    // An engine stopped because the pipeline already failed (size limit, destination) reports a
    // cancel: that is a consequence, and the pipeline's own error is the one to record.
    if (!(err instanceof CancelledError)) stop(err instanceof Error ? err : new Error(String(err)));
    return undefined;
  });
  // The artifact's name needs the format, which the engine reports only at the end; the
  // source row already says it (engines echo it back in their result).
  const format = source.kind === 'POSTGRES' ? source.dumpFormat.toLowerCase() : 'tar';
  const key = artifactKey(run.prefix, format, strategy.compression, strategy.encrypted);
  for (const t of run.targets) t.key = key;
  const pipeline = await runBackupPipeline({
    input: started.stream,
    compression: strategy.compression,
    level: strategy.compressionLevel ?? undefined,
    key: dataKey,
    destinations: run.targets,
    signal,
    maxBytes: strategy.maxSizeBytes !== null ? Number(strategy.maxSizeBytes) : undefined,
    progressIntervalMs: 100,
    onProgress: (p) => run.progress.update(p.bytesDone),
  });
  const engineResult = await engineDone;
  if (engineResult === undefined || signal.aborted) throw engineError ?? signal.reason;
  return { key, dataKeyId: dataKey?.id ?? null, compression: strategy.compression, pipeline, engine: engineResult, addedBytes: pipeline.storedBytes };
}

/** What the run wrote, as the manifest beside each copy (enough to rebuild the catalog). */
function buildManifest(claimed: ClaimedBackup, streamed: StreamedBackup, startedAt: Date, finishedAt: Date): Manifest {
  const { job, strategy, source } = claimed;
  const { pipeline, engine } = streamed;
  return {
    manifestVersion: 1,
    orgId: job.orgId,
    strategy: { id: strategy.id, name: strategy.name },
    source: { id: source.id, name: source.name, kind: source.kind, hint: source.kind === 'POSTGRES' ? source.connectionHint : source.path },
    backupJobId: job.id,
    artifactKey: streamed.key,
    engine: { format: engine.format, versions: engine.versions },
    compression: streamed.compression,
    encryption: streamed.dataKeyId ? { algorithm: 'AES-256-GCM', keyId: streamed.dataKeyId, chunked: true } : null,
    rawBytes: pipeline.rawBytes,
    storedBytes: pipeline.storedBytes,
    sha256: pipeline.sha256,
    rawSha256: pipeline.rawSha256,
    rowCounts: engine.rowCounts,
    relations: engine.relations,
    files: engine.files,
    chunked: streamed.chunked,
    timings: { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), durationMs: finishedAt.getTime() - startedAt.getTime() },
    producer: { name: 'keepsake', node: process.version },
  };
}

/** Each copy must be there, whole, before the catalog may name it; then its manifest goes beside it. */
async function writeManifests(targets: BackupTarget[], prefix: string, manifest: Manifest, signal: AbortSignal): Promise<void> {
  const bytes = serializeManifest(manifest);
  await Promise.all(
    targets.map(async (t) => {
      const head = await t.driver.head(manifest.artifactKey);
      if (!head || head.size !== manifest.storedBytes) {
        throw new IntegrityError(`${t.driver.kind} destination holds ${head ? head.size : 'no'} bytes of ${manifest.storedBytes} for ${manifest.artifactKey}`);
      }
      await t.driver.put(manifestKey(prefix), Readable.from([bytes]), { signal });
    }),
  );
}

/**
 * Deletes every object this run may have written at every destination (idempotent), and the temp
 * files of a killed earlier attempt: this attempt holds the claim, so no one else writes them.
 */
async function removeRunObjects(targets: BackupTarget[], prefix: string): Promise<void> {
  await Promise.all(
    targets.map(async (t) => {
      for await (const obj of t.driver.list(prefix)) await t.driver.delete(obj.key);
      if (t.driver instanceof LocalDestination) for await (const p of t.driver.listPartials(prefix)) await t.driver.removePartial(p);
    }),
  );
}

interface CommitArgs extends Pick<ClaimedBackup, 'job' | 'strategy' | 'source' | 'destinations'> {
  manifest: Manifest;
  key: string;
  prefix: string;
  dataKeyId: string | null;
  takenAt: Date;
  finishedAt: Date;
  addedBytes: number;
  entries?: SnapshotEntry[];
}

/** The point, its artifacts, the job's success and the audit event: all or nothing. Null if the job was cancelled meanwhile. */
async function commitRecoveryPoint(db: Db, boss: PgBoss, commit: CommitArgs): Promise<string | null> {
  return withTenant(db, commit.job.orgId, async (tx) => {
    const current = await tx.backupJob.findFirst({ where: { id: commit.job.id, orgId: commit.job.orgId }, select: { cancelRequestedAt: true, status: true } });
    if (!current || current.cancelRequestedAt || current.status !== 'RUNNING') return null;
    const m = commit.manifest;
    const point = await tx.recoveryPoint.create({
      data: {
        orgId: commit.job.orgId, strategyId: commit.strategy.id, sourceId: commit.source.id, backupJobId: commit.job.id, sourceKind: commit.source.kind,
        format: m.engine.format, compression: m.compression, encrypted: m.encryption !== null, keyId: commit.dataKeyId,
        rawBytes: BigInt(m.rawBytes), storedBytes: BigInt(commit.addedBytes), sha256: m.sha256, manifest: m as object, takenAt: commit.takenAt,
        // The policy as it is at commit time decides when this point may go (and when a lock lets it).
        expiresAt: await expiryForStrategy(tx, commit.job.orgId, commit.strategy.retentionPolicyId, commit.takenAt),
        artifacts: {
          create: commit.destinations.map((d) => ({
            orgId: commit.job.orgId, destinationId: d.id, key: commit.key, manifestKey: manifestKey(commit.prefix), sizeBytes: BigInt(m.storedBytes), sha256: m.sha256,
          })),
        },
      },
    });
    if (commit.entries) {
      const rows = catalogRows(commit.job.orgId, point.id, commit.source.id, commit.entries);
      for (let i = 0; i < rows.length; i += 5000) await tx.backupFile.createMany({ data: rows.slice(i, i + 5000) });
    }
    await tx.backupJob.update({
      where: { id: commit.job.id },
      data: { status: 'SUCCEEDED', phase: null, bytesDone: BigInt(m.rawBytes), bytesTotal: BigInt(m.rawBytes), percent: 100, etaSeconds: 0, finishedAt: commit.finishedAt, error: null, errorCode: null },
    });
    await tx.destination.updateMany({ where: { id: { in: commit.destinations.map((d) => d.id) }, orgId: commit.job.orgId }, data: { usedBytes: { increment: BigInt(commit.addedBytes) } } });
    await recordAudit(tx, systemScope(commit.job.orgId, 'backup-worker'), {
      action: 'backup.succeeded', resourceType: 'RecoveryPoint', resourceId: point.id,
      after: { backupJobId: commit.job.id, strategyId: commit.strategy.id, storedBytes: m.storedBytes, sha256: m.sha256, destinations: commit.destinations.map((d) => d.id) },
    });
    // The strategy's failure alerts resolve, and channels that asked hear of the success.
    await backupSucceededNotices(tx, boss, {
      orgId: commit.job.orgId, strategy: commit.strategy, backupJobId: commit.job.id, recoveryPointId: point.id,
      rawBytes: m.rawBytes, storedBytes: m.storedBytes, durationMs: m.timings.durationMs, finishedAt: commit.finishedAt,
    });
    return point.id;
  });
}

async function recordFailure(deps: BackupRunDeps, attempt: BackupAttempt, job: ClaimedBackup['job'], err: unknown, log: Logger): Promise<BackupOutcome> {
  const failure = failureOf(err);
  const { code, message } = failure;
  if (code === 'CANCELLED') {
    await withTenant(deps.db, job.orgId, async (tx) => {
      await tx.backupJob.update({ where: { id: job.id }, data: { status: 'CANCELLED', phase: null, finishedAt: new Date(), error: 'Cancelled while running', errorCode: code } });
      await recordAudit(tx, systemScope(job.orgId, 'backup-worker'), { action: 'backup.cancelled', resourceType: 'BackupJob', resourceId: job.id });
    });
    log.info('backup cancelled');
    await publishJobEvent(deps.db, { orgId: job.orgId, kind: 'BACKUP', id: job.id, status: 'CANCELLED', phase: null });
    return { status: 'CANCELLED' };
  }
  const retry = shouldRetry('BACKUP', failure, attempt.retriesLeft);
  await withTenant(deps.db, job.orgId, async (tx) => {
    await tx.backupJob.update({
      where: { id: job.id },
      data: retry
        ? { status: 'QUEUED', phase: 'retrying', error: message, errorCode: code }
        : { status: 'FAILED', phase: null, finishedAt: new Date(), error: message, errorCode: code },
    });
    if (!retry) {
      await recordAudit(tx, systemScope(job.orgId, 'backup-worker'), { action: 'backup.failed', resourceType: 'BackupJob', resourceId: job.id, after: { code, message } });
      await backupFailedAlert(tx, deps.boss, { orgId: job.orgId, strategyId: job.strategyId, backupJobId: job.id, code, message, attempt: attempt.attempt });
    }
  });
  log.warn({ code, err: message, retry }, 'backup failed');
  await publishJobEvent(deps.db, { orgId: job.orgId, kind: 'BACKUP', id: job.id, status: retry ? 'QUEUED' : 'FAILED', phase: retry ? 'retrying' : null, error: message });
  return { status: 'FAILED', retry, code, message };
}
