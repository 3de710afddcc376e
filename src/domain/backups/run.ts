// One attempt at a backup job, as the backup worker runs it: claim the row, stream the source
// through the pipeline to every destination, write the manifests, then commit the recovery point,
// its artifacts and the job's success in one transaction. Whatever goes wrong before that commit
// removes what this attempt wrote, so the catalog never has a half point and no destination keeps
// an orphan (a crash is covered by the next attempt and the sweep, see backup-sweep.ts).
import { Readable } from 'node:stream';
import type { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import { CancelledError, IntegrityError } from '../../backup/errors';
import type { BackupEngine } from '../../backup/engines/types';
import { artifactKey, manifestKey, runPrefix, serializeManifest, type Manifest } from '../../backup/manifest';
import { runBackupPipeline, type BackupTarget } from '../../backup/pipeline/run-backup';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import { EventBus, type JobEvent } from '../../events/bus';
import { publishJobEvent } from '../jobs-control/events';
import { recordAudit } from '../../audit/writer';
import { systemScope } from '../../auth/scope';
import { organizationDataKey } from '../organization/data-keys';
import { driverFor } from '../destinations/driver';
import { expiryForStrategy } from '../immutability/locks';
import { JobProgressWriter } from '../jobs-control/progress';
import { jobStop } from '../jobs-control/stop';
import { claimBackupJob, type ClaimedBackup } from './claim';
import { failureOf, shouldRetry } from '../jobs-control/retry';

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

/** Failures that another attempt cannot fix: configuration or data problems, or the user's own stop. */
export async function runBackup(deps: BackupRunDeps, attempt: BackupAttempt): Promise<BackupOutcome> {
  const { db, log } = deps;
  const claimed = await claimBackupJob(db, deps.boss, attempt);
  if (!claimed) return { status: 'SKIPPED' };
  if ('deferred' in claimed) return { status: 'DEFERRED' };
  if (claimed.cancelledBeforeStart) {
    await publish(db, { orgId: attempt.orgId, kind: 'BACKUP', id: attempt.backupJobId, status: 'CANCELLED', phase: null });
    return { status: 'CANCELLED' };
  }
  const { job, strategy, source, destinations } = claimed;
  const jlog = log.child({ backupJobId: job.id, strategyId: strategy.id, attempt: attempt.attempt });
  jlog.info({ destinations: destinations.length, source: source.kind }, 'backup started');
  await publish(db, { orgId: job.orgId, kind: 'BACKUP', id: job.id, status: 'RUNNING', phase: 'dumping', bytesDone: '0' });

  const halt = jobStop(deps.events, 'BACKUP', job.id, attempt.signal, strategy.timeoutSeconds);
  const { stop, signal } = halt;
  const prefix = runPrefix(job.orgId, strategy.id, job.id);
  const targets: BackupTarget[] = destinations.map((d) => ({ driver: driverFor(d, deps), key: '' }));
  const startedAt = new Date();
  let committed = false;
  const progress = new JobProgressWriter(db, 'BACKUP', job, deps.progressIntervalMs ?? 500, halt.cancelled);
  try {
    // A crashed earlier attempt of this job may have left complete objects: start clean.
    await removeRunObjects(targets, prefix);
    const engine = deps.engineFor(claimed);
    progress.total = await engine.estimateBytes().catch(() => null);
    const dataKey = strategy.encrypted ? await organizationDataKey(db, deps.masterKey, job.orgId) : undefined;
    const run = await engine.start(signal);
    // A dump that fails after writing some bytes must stop the upload too, not end it "cleanly".
    let engineError: unknown;
    const engineDone = run.done.catch((err: unknown) => {
      engineError = err;
      // An engine stopped because the pipeline already failed (size limit, destination) reports a
      // cancel: that is a consequence, and the pipeline's own error is the one to record.
      if (!(err instanceof CancelledError)) stop(err instanceof Error ? err : new Error(String(err)));
      return undefined;
    });
    // The artifact's name needs the format, which the engine reports only at the end; the
    // source row already says it (engines echo it back in their result).
    const format = source.kind === 'POSTGRES' ? source.dumpFormat.toLowerCase() : 'tar';
    const key = artifactKey(prefix, format, strategy.compression, strategy.encrypted);
    for (const t of targets) t.key = key;
    const result = await runBackupPipeline({
      input: run.stream,
      compression: strategy.compression,
      level: strategy.compressionLevel ?? undefined,
      key: dataKey,
      destinations: targets,
      signal: signal,
      maxBytes: strategy.maxSizeBytes !== null ? Number(strategy.maxSizeBytes) : undefined,
      progressIntervalMs: 100,
      onProgress: (p) => progress.update(p.bytesDone),
    });
    const engineResult = await engineDone;
    if (engineResult === undefined || signal.aborted) throw engineError ?? signal.reason;

    await progress.phase('verifying');
    const finishedAt = new Date();
    const manifest: Manifest = {
      manifestVersion: 1,
      orgId: job.orgId,
      strategy: { id: strategy.id, name: strategy.name },
      source: { id: source.id, name: source.name, kind: source.kind, hint: source.kind === 'POSTGRES' ? source.connectionHint : source.path },
      backupJobId: job.id,
      artifactKey: key,
      engine: { format: engineResult.format, versions: engineResult.versions },
      compression: strategy.compression,
      encryption: dataKey ? { algorithm: 'AES-256-GCM', keyId: dataKey.id, chunked: true } : null,
      rawBytes: result.rawBytes,
      storedBytes: result.storedBytes,
      sha256: result.sha256,
      rawSha256: result.rawSha256,
      rowCounts: engineResult.rowCounts,
      files: engineResult.files,
      timings: { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), durationMs: finishedAt.getTime() - startedAt.getTime() },
      producer: { name: 'keepsake', node: process.version },
    };
    const manifestBytes = serializeManifest(manifest);
    await Promise.all(
      targets.map(async (t) => {
        // Each copy must be there, whole, before the catalog may name it.
        const head = await t.driver.head(key);
        if (!head || head.size !== result.storedBytes) {
          throw new IntegrityError(`${t.driver.kind} destination holds ${head ? head.size : 'no'} bytes of ${result.storedBytes} for ${key}`);
        }
        await t.driver.put(manifestKey(prefix), Readable.from([manifestBytes]), { signal: signal });
      }),
    );
    const pointId = await commitRecoveryPoint(db, { job, strategy, source, destinations, manifest, key, prefix, dataKeyId: dataKey?.id ?? null, takenAt: startedAt, finishedAt });
    // A cancel that arrived between the upload and the commit is honoured: nothing is kept.
    if (!pointId) throw new CancelledError(new Error('cancelled by request'));
    committed = true;
    jlog.info({ rawBytes: result.rawBytes, storedBytes: result.storedBytes, ms: manifest.timings.durationMs }, 'backup succeeded');
    await publish(db, { orgId: job.orgId, kind: 'BACKUP', id: job.id, status: 'SUCCEEDED', phase: null, bytesDone: String(result.rawBytes), percent: 100, etaSeconds: 0 });
    return { status: 'SUCCEEDED', recoveryPointId: pointId };
  } catch (err) {
    if (committed) throw err; // the point is safe; only a notification failed
    await removeRunObjects(targets, prefix).catch((cleanupErr: unknown) => jlog.warn({ err: cleanupErr }, 'could not remove the objects of a failed attempt; the sweep will'));
    return await recordFailure(deps, attempt, job, signal.aborted ? signal.reason : err, jlog);
  } finally {
    halt.dispose();
    progress.stop();
  }
}

/** Deletes every object this run may have written at every destination (idempotent). */
async function removeRunObjects(targets: BackupTarget[], prefix: string): Promise<void> {
  await Promise.all(
    targets.map(async (t) => {
      for await (const obj of t.driver.list(prefix)) await t.driver.delete(obj.key);
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
}

/** The point, its artifacts, the job's success and the audit event: all or nothing. Null if the job was cancelled meanwhile. */
async function commitRecoveryPoint(db: Db, a: CommitArgs): Promise<string | null> {
  return withTenant(db, a.job.orgId, async (tx) => {
    const current = await tx.backupJob.findFirst({ where: { id: a.job.id, orgId: a.job.orgId }, select: { cancelRequestedAt: true, status: true } });
    if (!current || current.cancelRequestedAt || current.status !== 'RUNNING') return null;
    const m = a.manifest;
    const point = await tx.recoveryPoint.create({
      data: {
        orgId: a.job.orgId, strategyId: a.strategy.id, sourceId: a.source.id, backupJobId: a.job.id, sourceKind: a.source.kind,
        format: m.engine.format, compression: m.compression, encrypted: m.encryption !== null, keyId: a.dataKeyId,
        rawBytes: BigInt(m.rawBytes), storedBytes: BigInt(m.storedBytes), sha256: m.sha256, manifest: m as object, takenAt: a.takenAt,
        // The policy as it is at commit time decides when this point may go (and when a lock lets it).
        expiresAt: await expiryForStrategy(tx, a.job.orgId, a.strategy.retentionPolicyId, a.takenAt),
        artifacts: {
          create: a.destinations.map((d) => ({
            orgId: a.job.orgId, destinationId: d.id, key: a.key, manifestKey: manifestKey(a.prefix), sizeBytes: BigInt(m.storedBytes), sha256: m.sha256,
          })),
        },
      },
    });
    await tx.backupJob.update({
      where: { id: a.job.id },
      data: { status: 'SUCCEEDED', phase: null, bytesDone: BigInt(m.rawBytes), bytesTotal: BigInt(m.rawBytes), percent: 100, etaSeconds: 0, finishedAt: a.finishedAt, error: null, errorCode: null },
    });
    await tx.destination.updateMany({ where: { id: { in: a.destinations.map((d) => d.id) }, orgId: a.job.orgId }, data: { usedBytes: { increment: BigInt(m.storedBytes) } } });
    await recordAudit(tx, systemScope(a.job.orgId, 'backup-worker'), {
      action: 'backup.succeeded', resourceType: 'RecoveryPoint', resourceId: point.id,
      after: { backupJobId: a.job.id, strategyId: a.strategy.id, storedBytes: m.storedBytes, sha256: m.sha256, destinations: a.destinations.map((d) => d.id) },
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
    await publish(deps.db, { orgId: job.orgId, kind: 'BACKUP', id: job.id, status: 'CANCELLED', phase: null });
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
    }
  });
  log.warn({ code, err: message, retry }, 'backup failed');
  await publish(deps.db, { orgId: job.orgId, kind: 'BACKUP', id: job.id, status: retry ? 'QUEUED' : 'FAILED', phase: retry ? 'retrying' : null, error: message });
  return { status: 'FAILED', retry, code, message };
}

function publish(db: Db, event: Omit<JobEvent, 'at'>): Promise<void> {
  return publishJobEvent(db, event);
}
