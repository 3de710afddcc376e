// Running backups on demand: the BackupJob row and its queue job are created in one
// transaction, so a job is never queued without its row, nor a row left without its job.
import { fromPrisma, type PgBoss } from 'pg-boss';
import type { Db } from '../../db/client';
import { asQueueOwnerWithin, withTenant, type Tx } from '../../db/context';
import type { JobTrigger } from '../../db/generated/prisma/enums';
import { recordAudit } from '../../audit/writer';
import { publishJobEvent } from '../jobs-control/events';
import { queues } from '../../queue/queues';
import type { OrgScope } from '../../auth/scope';
import { ConflictError, NotFoundError } from '../errors';

export const FINAL_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const;

export interface EnqueueBackupArgs {
  orgId: string;
  strategyId: string;
  trigger: JobTrigger;
  scheduledFor?: Date;
  initiatedById?: string | null;
  initiatedByApiKey?: string | null;
  priority: number;
  orgMaxConcurrent: number;
}

/** Creates the row and sends the queue job inside the caller's tenant transaction. */
export async function enqueueBackup(tx: Tx, boss: PgBoss, args: EnqueueBackupArgs) {
  const job = await tx.backupJob.create({
    data: {
      orgId: args.orgId,
      strategyId: args.strategyId,
      trigger: args.trigger,
      scheduledFor: args.scheduledFor ?? null,
      initiatedById: args.initiatedById ?? null,
      initiatedByApiKey: args.initiatedByApiKey ?? null,
    },
  });
  const queueJobId = await sendBackupQueueJob(tx, boss, { ...args, backupJobId: job.id });
  return tx.backupJob.update({ where: { id: job.id }, data: { queueJobId } });
}

/** The queue job that runs a BackupJob row, sent inside the caller's tenant transaction. */
export async function sendBackupQueueJob(
  tx: Tx,
  boss: PgBoss,
  args: { backupJobId: string; orgId: string; strategyId: string; priority: number; orgMaxConcurrent: number; startAfterSeconds?: number },
): Promise<string | null> {
  return asQueueOwnerWithin(tx, args.orgId, () =>
    boss.send(queues.backup.name, { backupJobId: args.backupJobId, orgId: args.orgId, strategyId: args.strategyId }, {
      db: fromPrisma(tx),
      singletonKey: args.strategyId,
      priority: args.priority,
      // Per-organization concurrency: the worker caps running jobs per group (org) by tier
      // (best effort under concurrent fetches; the claim enforces it, see backup-claim.ts).
      group: { id: args.orgId, tier: String(args.orgMaxConcurrent) },
      ...(args.startAfterSeconds ? { startAfter: args.startAfterSeconds } : {}),
    }),
  );
}

/**
 * Queues a run of the strategy, or returns the run of it that is already queued and has not
 * started: repeated triggers (a double click, a retrying client, 100 scripted calls) merge into
 * that one job instead of producing near-identical points. `merged` says which happened. The
 * strategy row is locked for the check, so concurrent triggers merge too.
 */
export async function triggerBackup(db: Db, boss: PgBoss, scope: OrgScope, strategyId: string) {
  const outcome = await withTenant(db, scope.orgId, async (tx) => {
    const strategy = await tx.strategy.findFirst({
      where: { id: strategyId, orgId: scope.orgId },
      include: { org: true, _count: { select: { destinations: true } } },
    });
    if (!strategy) throw new NotFoundError('Strategy');
    if (strategy._count.destinations === 0) throw new ConflictError('The strategy has no destination');
    await tx.$executeRaw`SELECT 1 FROM "Strategy" WHERE id = ${strategyId}::uuid FOR UPDATE`;
    // A retry waiting for its backoff is QUEUED too, but it is a new attempt of an earlier run:
    // only a job that has never started stands for "a run of this strategy, soon".
    const queued = await tx.backupJob.findFirst({
      where: { orgId: scope.orgId, strategyId, status: 'QUEUED', startedAt: null, cancelRequestedAt: null },
      orderBy: { queuedAt: 'asc' },
    });
    if (queued) {
      await recordAudit(tx, scope, { action: 'backup.trigger', resourceType: 'BackupJob', resourceId: queued.id, after: { strategyId, trigger: queued.trigger, merged: true } });
      return { job: queued, merged: true };
    }
    const created = await enqueueBackup(tx, boss, {
      orgId: scope.orgId,
      strategyId,
      trigger: scope.actor.type === 'API_KEY' ? 'API' : 'MANUAL',
      initiatedById: scope.actor.type === 'USER' ? scope.actor.id : null,
      initiatedByApiKey: scope.actor.type === 'API_KEY' ? scope.actor.id : null,
      priority: strategy.priority,
      orgMaxConcurrent: strategy.org.maxConcurrentBackups,
    });
    await recordAudit(tx, scope, { action: 'backup.trigger', resourceType: 'BackupJob', resourceId: created.id, after: { strategyId, trigger: created.trigger } });
    return { job: created, merged: false };
  });
  if (!outcome.merged) await publishJobEvent(db, { orgId: scope.orgId, kind: 'BACKUP', id: outcome.job.id, status: outcome.job.status });
  return outcome.job;
}

/**
 * A queued job is cancelled at once; a running one is asked to stop (the worker holding it
 * hears the event, kills the dump and removes temporary data, then records CANCELLED).
 */
export async function cancelBackupJob(db: Db, boss: PgBoss, scope: OrgScope, id: string) {
  const job = await withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.backupJob.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('BackupJob');
    if ((FINAL_STATUSES as readonly string[]).includes(before.status)) throw new ConflictError(`The job has already ended (${before.status})`);
    const after = before.status === 'QUEUED'
      ? await tx.backupJob.update({ where: { id }, data: { status: 'CANCELLED', cancelRequestedAt: new Date(), finishedAt: new Date(), error: 'Cancelled before it started' } })
      : await tx.backupJob.update({ where: { id }, data: { cancelRequestedAt: new Date() } });
    if (before.status === 'QUEUED' && before.queueJobId) {
      const queueJobId = before.queueJobId;
      await asQueueOwnerWithin(tx, scope.orgId, () => boss.cancel(queues.backup.name, queueJobId, { db: fromPrisma(tx) }));
    }
    await recordAudit(tx, scope, { action: 'backup.cancel', resourceType: 'BackupJob', resourceId: id, before: { status: before.status }, after: { status: after.status } });
    return after;
  });
  await publishJobEvent(db, {
    orgId: scope.orgId, kind: 'BACKUP', id: job.id, status: job.status, phase: job.status === 'CANCELLED' ? null : 'cancelling',
  });
  return job;
}
