// The retention sweep (the `retention` queue runs it every 15 minutes; tests call it directly).
// Strategies with a policy are found in the system context, then each organization is handled in
// its own tenant context: plan (retention-preview.ts), then delete what the plan lets go and nothing
// blocks (recovery-point-deletion.ts). Points left marked by an earlier failure are resumed first.
import type { Logger } from 'pino';
import type { Db } from '../../db/client';
import { withSystem, withTenant } from '../../db/context';
import { systemScope } from '../../auth/scope';
import type { DestinationEnv } from '../destinations/driver';
import { readLockState } from '../immutability/locks';
import { finishDeletion, markForDeletion, pointInUse, pointsWithCopies, type DeletionOutcome } from './point-deletion';
import { decideRetention } from './preview';

export interface RetentionSweepResult {
  strategies: number;
  /** Points whose deletion was decided in this run. */
  expired: number;
  /** Points whose row (and every copy) is gone, including resumed ones. */
  purged: number;
  /** Points still marked because a destination failed; the next run retries them. */
  pending: number;
  /** Points the plan lets go that a legal hold, the lock or a running restore keeps for now. */
  blocked: number;
  /** Organizations or strategies that failed outright (logged). */
  errors: number;
}

export interface RetentionSweepOptions {
  now?: Date;
  /** Only this organization (tests; an operator re-running one tenant). */
  orgId?: string;
  log?: Logger;
}

export async function sweepRetention(db: Db, env: DestinationEnv, opts: RetentionSweepOptions = {}): Promise<RetentionSweepResult> {
  const now = opts.now ?? new Date();
  const result: RetentionSweepResult = { strategies: 0, expired: 0, purged: 0, pending: 0, blocked: 0, errors: 0 };
  const [strategies, marked] = await withSystem(db, 'retention-sweep', (tx) =>
    Promise.all([
      tx.strategy.findMany({ where: { retentionPolicyId: { not: null }, orgId: opts.orgId }, select: { id: true, orgId: true }, orderBy: { id: 'asc' } }),
      tx.recoveryPoint.findMany({ where: { deletingSince: { not: null }, orgId: opts.orgId }, select: { id: true, orgId: true }, orderBy: { deletingSince: 'asc' } }),
    ]),
  );
  const tally = (o: DeletionOutcome) => {
    if (o.completed) result.purged++;
    else result.pending++;
  };

  // Resume first: those copies were already condemned, and a later plan must not count them.
  for (const p of marked) {
    try {
      tally(await finishDeletion(db, env, systemScope(p.orgId, 'retention'), p.id));
    } catch (err) {
      result.errors++;
      opts.log?.warn({ recoveryPointId: p.id, err: message(err) }, 'retention could not resume a deletion');
    }
  }

  for (const s of strategies) {
    try {
      const planned = await planAndMark(db, s.orgId, s.id, now);
      if (!planned) continue;
      result.strategies++;
      result.blocked += planned.blocked;
      result.expired += planned.marked.length;
      for (const id of planned.marked) {
        const outcome = await finishDeletion(db, env, systemScope(s.orgId, 'retention'), id);
        tally(outcome);
        if (outcome.failures.length) opts.log?.warn({ recoveryPointId: id, failures: outcome.failures }, 'retention could not delete every copy; the point stays marked and is retried');
      }
    } catch (err) {
      // One organization's broken destination or data must not stop retention for the others.
      result.errors++;
      opts.log?.warn({ strategyId: s.id, orgId: s.orgId, err: message(err) }, 'retention skipped a strategy');
    }
  }
  return result;
}

/**
 * Plans a strategy and marks what the plan lets go, in one transaction: the marks are exactly the
 * plan's. The strategy and policy rows are share-locked so a policy edit or detach waits for the
 * plan instead of racing it; each mark also checks the point is still as planned.
 */
async function planAndMark(db: Db, orgId: string, strategyId: string, now: Date): Promise<{ marked: string[]; blocked: number } | null> {
  return withTenant(db, orgId, async (tx) => {
    await tx.$queryRaw`SELECT 1 FROM "Strategy" s JOIN "RetentionPolicy" p ON p.id = s."retentionPolicyId" WHERE s.id = ${strategyId}::uuid FOR SHARE`;
    const strategy = await tx.strategy.findFirst({ where: { id: strategyId, orgId }, include: { retentionPolicy: true } });
    if (!strategy?.retentionPolicy) return null;
    const lock = await readLockState(tx, orgId, now);
    const points = await tx.recoveryPoint.findMany({
      where: { orgId, strategyId },
      select: { id: true, takenAt: true, legalHold: true, verifiedAt: true, expiresAt: true, deletingSince: true },
    });
    const inUse = await pointInUse(tx, orgId, points.map((p) => p.id));
    const decisions = decideRetention(points, strategy.retentionPolicy, lock, inUse, now);
    const doomed = decisions.filter((d) => !d.keep && !d.blockedBy && !d.reasons.includes('being deleted'));
    const reasons = new Map(doomed.map((d) => [d.id, d.reasons]));
    const scope = systemScope(orgId, 'retention');
    const marked: string[] = [];
    for (const point of await pointsWithCopies(tx, orgId, doomed.map((d) => d.id))) {
      if (await markForDeletion(tx, scope, point, 'recoveryPoint.expire', { reasons: reasons.get(point.id), lockMode: lock.mode }, now)) marked.push(point.id);
    }
    return { marked, blocked: decisions.filter((d) => d.blockedBy).length };
  });
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
