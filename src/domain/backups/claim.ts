// The start of an attempt: the worker takes the job row (RUNNING, attempt number, worker id) and
// everything the run needs in one tenant transaction, so it never works from a half-read setup.
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import type { BackupJob, Destination, Source, Strategy } from '../../db/generated/prisma/client';
import { recordAudit } from '../../audit/writer';
import { systemScope } from '../../auth/scope';
import { sendBackupQueueJob } from './trigger';
import { RUNNING_JOB_STATUSES } from '../jobs-control/statuses';

export interface ClaimedBackup {
  job: BackupJob;
  strategy: Strategy;
  source: Source;
  destinations: Destination[];
  /** The job was cancelled while it waited for this (re)try: it is recorded CANCELLED, nothing runs. */
  cancelledBeforeStart?: boolean;
}

/** How long a job waits before it asks again when its organization is at its concurrency cap. */
export const ORG_CAP_RETRY_SECONDS = 5;

export async function claimBackupJob(
  db: Db,
  boss: PgBoss,
  a: { backupJobId: string; orgId: string; attempt: number; workerId: string; queueJobId?: string },
): Promise<ClaimedBackup | { deferred: true } | null> {
  return withTenant(db, a.orgId, async (tx) => {
    // Claims of one organization take turns, so the count below sees every committed claim.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`keepsake:backup-claim:${a.orgId}`}, 0))`;
    const job = await tx.backupJob.findFirst({
      where: { id: a.backupJobId, orgId: a.orgId },
      include: { org: { select: { maxConcurrentBackups: true } }, strategy: { include: { source: true, destinations: { include: { destination: true }, orderBy: { destinationId: 'asc' } } } } },
    });
    // Gone (strategy deleted) or already settled (a duplicate delivery): nothing to do.
    if (!job || job.status === 'SUCCEEDED' || job.status === 'FAILED' || job.status === 'CANCELLED') return null;
    // A queue job the row no longer points at (it was deferred to a newer one): a stale delivery.
    if (a.queueJobId && job.queueJobId && job.queueJobId !== a.queueJobId) return null;
    const { org, ...withoutOrg } = job;
    const { strategy, ...jobRow } = withoutOrg;
    const { source, destinations, ...strategyRow } = strategy;
    const base = { strategy: strategyRow, source, destinations: destinations.map((d) => d.destination) };
    if (job.cancelRequestedAt) {
      const cancelled = await tx.backupJob.update({ where: { id: job.id }, data: { status: 'CANCELLED', phase: null, finishedAt: new Date(), error: 'Cancelled before this attempt started' } });
      await recordAudit(tx, systemScope(a.orgId, 'backup-worker'), { action: 'backup.cancelled', resourceType: 'BackupJob', resourceId: job.id });
      return { ...base, job: cancelled, cancelledBeforeStart: true };
    }
    // maxConcurrentBackups, strictly: pg-boss's group limit is checked by each fetch on its own,
    // so two workers fetching at the same moment can both start a job of the same organization.
    // The one that finds the organization full hands its job back to the queue for later.
    const running = await tx.backupJob.count({ where: { orgId: a.orgId, status: { in: [...RUNNING_JOB_STATUSES] }, id: { not: job.id } } });
    if (running >= org.maxConcurrentBackups) {
      const queueJobId = await sendBackupQueueJob(tx, boss, {
        backupJobId: job.id, orgId: a.orgId, strategyId: strategy.id, priority: strategy.priority,
        orgMaxConcurrent: org.maxConcurrentBackups, startAfterSeconds: ORG_CAP_RETRY_SECONDS,
      });
      await tx.backupJob.update({ where: { id: job.id }, data: { queueJobId } });
      return { deferred: true };
    }
    const now = new Date();
    const claimed = await tx.backupJob.update({
      where: { id: job.id },
      data: {
        status: 'RUNNING', phase: 'dumping', attempt: a.attempt, workerId: a.workerId, startedAt: jobRow.startedAt ?? now,
        bytesDone: 0n, bytesTotal: null, percent: 0, etaSeconds: null, error: null, errorCode: null,
      },
    });
    await tx.strategy.update({ where: { id: strategy.id }, data: { lastRunAt: now } });
    return { ...base, job: claimed };
  });
}
