// What retention would do to a strategy's points right now, and why: the pure plan of retention.ts
// (in the organization's time zone) with what stops a deletion on top of it (legal hold, the lock,
// a restore or verification reading the point). The retention sweep acts on the same decisions.
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import type { RecoveryPoint, RetentionPolicy } from '../../db/generated/prisma/client';
import { NotFoundError } from '../errors';
import { readLockState, retentionBlock, type LockState } from '../immutability/locks';
import { pointInUse } from './point-deletion';
import { retentionPlan } from '../rules/retention';

export interface PointDecision {
  id: string;
  keep: boolean;
  /** The rules that keep it ('last', 'daily 2026-11-20', 'legal-hold', 'no-policy', ...) or why it goes ('max-age', 'no-rule', 'being deleted'). */
  reasons: string[];
  /** Set when the plan lets the point go but it cannot be deleted now ('legal-hold', 'governance-lock until …', 'in use by a restore or verification'). */
  blockedBy: string | null;
}

type DecidablePoint = Pick<RecoveryPoint, 'id' | 'takenAt' | 'legalHold' | 'verifiedAt' | 'expiresAt' | 'deletingSince'>;

/** Decisions for every point, newest first. Points already being deleted take no part in the plan: they count as gone. */
export function decideRetention(points: DecidablePoint[], policy: RetentionPolicy | null, lock: LockState & { timeZone: string }, inUse: Set<string>, now: Date): PointDecision[] {
  const live = points.filter((p) => !p.deletingSince);
  const going: PointDecision[] = points.filter((p) => p.deletingSince).map((p) => ({ id: p.id, keep: false, reasons: ['being deleted'], blockedBy: null }));
  const byId = new Map(points.map((p) => [p.id, p]));
  const planned: PointDecision[] = policy
    ? retentionPlan(live, policy, { timeZone: lock.timeZone, now }).map((d) => ({
        ...d,
        blockedBy: d.keep ? null : retentionBlock(byId.get(d.id)!, lock, now) ?? (inUse.has(d.id) ? 'in use by a restore or verification' : null),
      }))
    : live.map((p) => ({ id: p.id, keep: true, reasons: ['no-policy'], blockedBy: null }));
  const order = (id: string) => byId.get(id)!.takenAt.getTime();
  return [...planned, ...going].sort((a, b) => order(b.id) - order(a.id) || (a.id < b.id ? 1 : -1));
}

export interface RetentionPreview {
  strategyId: string;
  policy: RetentionPolicy | null;
  timeZone: string;
  lock: LockState;
  /** True when the strategy has no retention policy: nothing is ever deleted by retention. */
  keepsEverything: boolean;
  summary: string;
  points: Array<PointDecision & { point: RecoveryPoint }>;
}

export async function retentionPreview(db: Db, orgId: string, strategyId: string, now = new Date()): Promise<RetentionPreview> {
  return withTenant(db, orgId, async (tx) => {
    const strategy = await tx.strategy.findFirst({ where: { id: strategyId, orgId }, include: { retentionPolicy: true } });
    if (!strategy) throw new NotFoundError('Strategy');
    const lock = await readLockState(tx, orgId, now);
    const points = await tx.recoveryPoint.findMany({ where: { orgId, strategyId }, orderBy: [{ takenAt: 'desc' }, { id: 'desc' }] });
    const inUse = await pointInUse(tx, orgId, points.map((p) => p.id));
    const decisions = decideRetention(points, strategy.retentionPolicy, lock, inUse, now);
    const byId = new Map(points.map((p) => [p.id, p]));
    const deleting = decisions.filter((d) => !d.keep && !d.blockedBy && !d.reasons.includes('being deleted')).length;
    const blocked = decisions.filter((d) => d.blockedBy).length;
    const summary = strategy.retentionPolicy
      ? `Policy "${strategy.retentionPolicy.name}" keeps ${decisions.filter((d) => d.keep).length} of ${points.length} points; ${deleting} would be deleted now${blocked ? `, ${blocked} more once nothing blocks them` : ''}`
      : `The strategy has no retention policy: all ${points.length} points are kept`;
    return {
      strategyId, policy: strategy.retentionPolicy, timeZone: lock.timeZone, lock, keepsEverything: !strategy.retentionPolicy, summary,
      points: decisions.map((d) => ({ ...d, point: byId.get(d.id)! })),
    };
  });
}
