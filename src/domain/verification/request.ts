// Restore tests ("verifications"): on demand for a recovery point or a strategy, and on each
// strategy's verifyCron. A Verification row and its queue job are created in one transaction; the
// verify worker (verification-run.ts) restores the point into a scratch target and records evidence.
import { fromPrisma, type PgBoss } from 'pg-boss';
import { recordAudit } from '../../audit/writer';
import type { Db } from '../../db/client';
import { asQueueOwnerWithin, withSystem, withTenant, type Tx } from '../../db/context';
import { publishJobEvent } from '../jobs-control/events';
import { queues } from '../../queue/queues';
import { systemScope, type OrgScope } from '../../auth/scope';
import { ConflictError, NotFoundError } from '../errors';
import { nextRun } from '../rules/schedule';
import { isUniqueViolation } from '../unique';

export type VerificationPick = 'NEWEST' | 'RANDOM_RECENT';

/** How many of the newest points RANDOM_RECENT draws from. */
export const RANDOM_RECENT_WINDOW = 5;

/** The point a strategy's restore test uses: the newest intact one, or one of the few newest. */
export async function pickPointToVerify(tx: Tx, orgId: string, strategyId: string, pick: VerificationPick): Promise<string | null> {
  const recent = await tx.recoveryPoint.findMany({
    where: { orgId, strategyId, deletingSince: null, artifacts: { some: { status: 'PRESENT' } } },
    orderBy: { takenAt: 'desc' },
    take: pick === 'NEWEST' ? 1 : RANDOM_RECENT_WINDOW,
    select: { id: true },
  });
  if (recent.length === 0) return null;
  return recent[pick === 'NEWEST' ? 0 : Math.floor(Math.random() * recent.length)]!.id;
}

async function enqueue(tx: Tx, boss: PgBoss, orgId: string, data: { strategyId: string | null; recoveryPointId: string | null; scheduledFor?: Date; initiatedById?: string | null }) {
  const v = await tx.verification.create({ data: { orgId, status: 'QUEUED', ...data } });
  const queueJobId = await asQueueOwnerWithin(tx, orgId, () =>
    boss.send(queues.verify.name, { verificationId: v.id, orgId }, { db: fromPrisma(tx), singletonKey: data.strategyId ?? v.id }),
  );
  return tx.verification.update({ where: { id: v.id }, data: { queueJobId } });
}

function publish(db: Db, orgId: string, id: string, status: string) {
  return publishJobEvent(db, { orgId, kind: 'VERIFICATION', id, status });
}

/** A restore test of one recovery point, now. */
export async function verifyRecoveryPoint(db: Db, boss: PgBoss, scope: OrgScope, recoveryPointId: string) {
  const v = await withTenant(db, scope.orgId, async (tx) => {
    const point = await tx.recoveryPoint.findFirst({ where: { id: recoveryPointId, orgId: scope.orgId }, select: { id: true, strategyId: true, deletingSince: true } });
    if (!point) throw new NotFoundError('RecoveryPoint');
    if (point.deletingSince) throw new ConflictError('The recovery point is being deleted');
    const created = await enqueue(tx, boss, scope.orgId, { strategyId: point.strategyId, recoveryPointId: point.id, initiatedById: scope.actor.type === 'USER' ? scope.actor.id ?? null : null });
    await recordAudit(tx, scope, { action: 'verification.request', resourceType: 'Verification', resourceId: created.id, after: { recoveryPointId } });
    return created;
  });
  await publish(db, scope.orgId, v.id, v.status);
  return v;
}

/** A restore test of a strategy's newest (or a random recent) point, now. */
export async function verifyStrategy(db: Db, boss: PgBoss, scope: OrgScope, strategyId: string, pick: VerificationPick) {
  const v = await withTenant(db, scope.orgId, async (tx) => {
    const strategy = await tx.strategy.findFirst({ where: { id: strategyId, orgId: scope.orgId }, select: { id: true } });
    if (!strategy) throw new NotFoundError('Strategy');
    const pointId = await pickPointToVerify(tx, scope.orgId, strategyId, pick);
    if (!pointId) throw new ConflictError('The strategy has no recovery point to test yet');
    const created = await enqueue(tx, boss, scope.orgId, { strategyId, recoveryPointId: pointId, initiatedById: scope.actor.type === 'USER' ? scope.actor.id ?? null : null });
    await recordAudit(tx, scope, { action: 'verification.request', resourceType: 'Verification', resourceId: created.id, after: { strategyId, recoveryPointId: pointId, pick } });
    return created;
  });
  await publish(db, scope.orgId, v.id, v.status);
  return v;
}

/**
 * Scheduler side: strategies whose verifyCron is due get a Verification for that slot (unique per
 * strategy and slot, so racing schedulers create one). A strategy that has no point yet skips the
 * slot. A verifyNextRunAt that is still unset is only initialised.
 */
export async function scheduleVerifications(db: Db, boss: PgBoss, now: Date): Promise<number> {
  const due = await withSystem(db, 'scheduler-find-due-verifications', (tx) =>
    tx.strategy.findMany({
      where: { status: 'ACTIVE', verifyCron: { not: null }, OR: [{ verifyNextRunAt: null }, { verifyNextRunAt: { lte: now } }] },
      select: { id: true, orgId: true },
      take: 500,
    }),
  );
  let enqueued = 0;
  for (const { id, orgId } of due) {
    const created = await withTenant(db, orgId, async (tx) => {
      const s = await tx.strategy.findFirst({ where: { id, orgId }, select: { verifyCron: true, verifyNextRunAt: true, timeZone: true } });
      if (!s?.verifyCron) return null;
      // Another scheduler may have taken this slot since the due list was read: the row then names
      // the next slot, which is not due yet and must not be enqueued early.
      if (s.verifyNextRunAt && s.verifyNextRunAt > now) return null;
      const next = nextRun(s.verifyCron, s.timeZone, now);
      // Conditional on what we read: a concurrent scheduler cannot move it twice.
      const moved = await tx.strategy.updateMany({ where: { id, verifyNextRunAt: s.verifyNextRunAt }, data: { verifyNextRunAt: next } });
      if (moved.count === 0 || !s.verifyNextRunAt) return null;
      const pointId = await pickPointToVerify(tx, orgId, id, 'NEWEST');
      if (!pointId) return null;
      const v = await enqueue(tx, boss, orgId, { strategyId: id, recoveryPointId: pointId, scheduledFor: s.verifyNextRunAt });
      await recordAudit(tx, systemScope(orgId, 'scheduler'), { action: 'verification.schedule', resourceType: 'Verification', resourceId: v.id, after: { strategyId: id, recoveryPointId: pointId } });
      return v;
    }).catch((err) => {
      if (isUniqueViolation(err)) return null;
      throw err;
    });
    if (created) {
      enqueued++;
      await publish(db, orgId, created.id, created.status);
    }
  }
  return enqueued;
}
