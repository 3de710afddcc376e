// The start of an attempt: the worker takes the job row (RUNNING, attempt number, worker id) and
// everything the run needs in one tenant transaction, so it never works from a half-read setup.
import type { Db } from '../db/client';
import { withTenant } from '../db/context';
import type { BackupJob, Destination, Source, Strategy } from '../db/generated/prisma/client';
import { recordAudit } from '../audit/writer';
import { systemScope } from './actor';

export interface ClaimedBackup {
  job: BackupJob;
  strategy: Strategy;
  source: Source;
  destinations: Destination[];
  /** The job was cancelled while it waited for this (re)try: it is recorded CANCELLED, nothing runs. */
  cancelledBeforeStart?: boolean;
}

export async function claimBackupJob(
  db: Db,
  a: { backupJobId: string; orgId: string; attempt: number; workerId: string },
): Promise<ClaimedBackup | null> {
  return withTenant(db, a.orgId, async (tx) => {
    const job = await tx.backupJob.findFirst({
      where: { id: a.backupJobId, orgId: a.orgId },
      include: { strategy: { include: { source: true, destinations: { include: { destination: true }, orderBy: { destinationId: 'asc' } } } } },
    });
    // Gone (strategy deleted) or already settled (a duplicate delivery): nothing to do.
    if (!job || job.status === 'SUCCEEDED' || job.status === 'FAILED' || job.status === 'CANCELLED') return null;
    const { strategy, ...jobRow } = job;
    const { source, destinations, ...strategyRow } = strategy;
    const base = { strategy: strategyRow, source, destinations: destinations.map((d) => d.destination) };
    if (job.cancelRequestedAt) {
      const cancelled = await tx.backupJob.update({ where: { id: job.id }, data: { status: 'CANCELLED', phase: null, finishedAt: new Date(), error: 'Cancelled before this attempt started' } });
      await recordAudit(tx, systemScope(a.orgId, 'backup-worker'), { action: 'backup.cancelled', resourceType: 'BackupJob', resourceId: job.id });
      return { ...base, job: cancelled, cancelledBeforeStart: true };
    }
    const now = new Date();
    const running = await tx.backupJob.update({
      where: { id: job.id },
      data: {
        status: 'RUNNING', phase: 'dumping', attempt: a.attempt, workerId: a.workerId, startedAt: jobRow.startedAt ?? now,
        bytesDone: 0n, bytesTotal: null, percent: 0, etaSeconds: null, error: null, errorCode: null,
      },
    });
    await tx.strategy.update({ where: { id: strategy.id }, data: { lastRunAt: now } });
    return { ...base, job: running };
  });
}
