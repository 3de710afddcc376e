// What an organization's lock and a legal hold forbid. Every rule about who may delete a recovery
// point early, or shorten how long points live, is decided here, so the retention sweep, manual
// deletion, policy and strategy edits and the lock itself cannot disagree.
//
// Lock modes (Organization.lockMode), modelled on S3 Object Lock:
// - NONE: retention and admins delete what they decide.
// - GOVERNANCE: a point cannot be deleted before its expiresAt, except by an OWNER who asks for it
//   explicitly (override: true, audited as an override); retention deletes only expired points.
//   Policies may still change, but a point's expiresAt is never moved earlier, or the lock would be
//   one policy edit away from meaning nothing.
// - COMPLIANCE: during the grace period (until lockGraceUntil) it protects like GOVERNANCE and
//   everything may still change, so a mistaken lock can be undone. After it nobody deletes a point
//   before its expiresAt, retention cannot be shortened and the lock cannot be lowered.
// A point without expiresAt (its policy had no maxAgeDays) has no date after which a lock releases
// it, so under a lock it is kept: a lock that silently did not protect undated points would be
// worse than the storage they use. Legal hold is separate and absolute: nobody deletes a held point.
import type { Db } from '../../db/client';
import { withTenant, type Tx } from '../../db/context';
import type { OrgLockMode } from '../../db/generated/prisma/enums';
import { recordAudit } from '../../audit/writer';
import type { Actor, OrgScope } from '../../auth/scope';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors';
import type { RetentionRules } from '../rules/retention';

const DAY_MS = 86_400_000;
export const DEFAULT_GRACE_DAYS = 1;
export const MAX_GRACE_DAYS = 30;

/** When a point taken at `takenAt` expires under `policy`: takenAt + maxAgeDays × 24 h, or null (no age limit, or no policy). */
export function expiryFor(policy: Pick<RetentionRules, 'maxAgeDays'> | null | undefined, takenAt: Date): Date | null {
  return policy?.maxAgeDays ? new Date(takenAt.getTime() + policy.maxAgeDays * DAY_MS) : null;
}

/** expiresAt for a new point of a strategy, from the strategy's policy as it is now (inside the commit's transaction). */
export async function expiryForStrategy(tx: Tx, orgId: string, retentionPolicyId: string | null, takenAt: Date): Promise<Date | null> {
  if (!retentionPolicyId) return null;
  const policy = await tx.retentionPolicy.findFirst({ where: { id: retentionPolicyId, orgId }, select: { maxAgeDays: true } });
  return expiryFor(policy, takenAt);
}

// ---- the lock ----------------------------------------------------------------------------------

export interface LockState {
  mode: OrgLockMode;
  graceUntil: Date | null;
  /** COMPLIANCE whose grace period has not ended yet. */
  inGrace: boolean;
  /** How points are protected now: COMPLIANCE in its grace period protects like GOVERNANCE. */
  protection: OrgLockMode;
}

export function lockStateOf(org: { lockMode: OrgLockMode; lockGraceUntil: Date | null }, now: Date): LockState {
  const inGrace = org.lockMode === 'COMPLIANCE' && org.lockGraceUntil !== null && org.lockGraceUntil > now;
  return { mode: org.lockMode, graceUntil: org.lockGraceUntil, inGrace, protection: inGrace ? 'GOVERNANCE' : org.lockMode };
}

export async function readLockState(tx: Tx, orgId: string, now: Date): Promise<LockState & { timeZone: string }> {
  const org = await tx.organization.findUniqueOrThrow({ where: { id: orgId }, select: { lockMode: true, lockGraceUntil: true, timeZone: true } });
  return { ...lockStateOf(org, now), timeZone: org.timeZone };
}

const complianceInForce = (lock: LockState) => lock.protection === 'COMPLIANCE';

interface PointProtection {
  expiresAt: Date | null;
  legalHold: boolean;
  legalHoldReason?: string | null;
}

/** Whether the lock still protects the point at `now` (legal hold aside). */
export function lockedUntilExpiry(point: PointProtection, lock: LockState, now: Date): boolean {
  return lock.protection !== 'NONE' && !(point.expiresAt !== null && point.expiresAt <= now);
}

const until = (p: PointProtection) => (p.expiresAt ? `before ${p.expiresAt.toISOString()}` : 'at all (it has no expiry date: its policy has no maxAgeDays)');

/** Why retention may not delete the point now, or null. Retention never overrides anything. */
export function retentionBlock(point: PointProtection, lock: LockState, now: Date): string | null {
  if (point.legalHold) return 'legal-hold';
  if (!lockedUntilExpiry(point, lock, now)) return null;
  return `${lock.protection.toLowerCase()}-lock ${point.expiresAt ? `until ${point.expiresAt.toISOString()}` : '(no expiry date)'}`;
}

/**
 * Throws unless `actor` may delete the point now. Returns whether the deletion is a governance
 * override (an OWNER deleting a point the lock protects), which the caller audits as such.
 */
export function assertMayDeletePoint(point: PointProtection, lock: LockState, actor: Actor, override: boolean, now: Date): { override: boolean } {
  if (point.legalHold) {
    throw new ConflictError(`The recovery point is under legal hold${point.legalHoldReason ? ` (${point.legalHoldReason})` : ''}; release the hold first`);
  }
  if (!lockedUntilExpiry(point, lock, now)) return { override: false };
  if (lock.protection === 'COMPLIANCE') {
    throw new ForbiddenError(`The organization's compliance lock forbids deleting this recovery point ${until(point)}; nobody can override it`);
  }
  if (!override) {
    throw new ForbiddenError(`The organization's governance lock forbids deleting this recovery point ${until(point)}; an owner may delete it early with override: true`);
  }
  if (actor.role !== 'OWNER') throw new ForbiddenError('Only an owner can override the governance lock');
  return { override: true };
}

// ---- retention changes ---------------------------------------------------------------------------

const COUNT_RULES = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly', 'peakKeepDaily', 'minCopies'] as const;

/**
 * How `after` keeps less than `before` (empty: it keeps at least as much). null is "no policy":
 * the strategy keeps every point. A count rule that is off counts as 0, a missing maxAgeDays as
 * forever. Moving the peak season is counted as shortening whatever its direction: which days it
 * takes from keepDaily depends on both counts, and a lock should not have to argue about it.
 */
export function retentionShortenings(before: RetentionRules | null, after: RetentionRules | null): string[] {
  if (before === null) return after === null ? [] : ['the strategy keeps every point while it has no retention policy'];
  if (after === null) return ['removes the retention policy'];
  const out: string[] = [];
  for (const rule of COUNT_RULES) {
    const [b, a] = [before[rule] ?? (rule === 'minCopies' ? 1 : 0), after[rule] ?? (rule === 'minCopies' ? 1 : 0)];
    if (a < b) out.push(`${rule} ${b} → ${a || 'off'}`);
  }
  const [b, a] = [before.maxAgeDays ?? null, after.maxAgeDays ?? null];
  if (a !== null && (b === null || a < b)) out.push(`maxAgeDays ${b ?? 'unlimited'} → ${a}`);
  if (before.peakKeepDaily && (before.peakSeasonStart !== after.peakSeasonStart || before.peakSeasonEnd !== after.peakSeasonEnd)) out.push('moves the peak season');
  return out;
}

function refuseUnderCompliance(lock: LockState, shortenings: string[], what: string): void {
  if (!complianceInForce(lock) || shortenings.length === 0) return;
  throw new ConflictError(`The organization's compliance lock forbids shortening retention: ${what} ${shortenings.join(', ')}`);
}

/**
 * Recomputes expiresAt of the strategies' live points from their policy's maxAgeDays. Under a lock
 * a date only moves later (or to "none": kept until a maxAgeDays gives it one); without one it
 * follows the policy exactly.
 */
async function refreshExpiries(tx: Tx, orgId: string, strategyIds: string[], maxAgeDays: number | null, lock: LockState): Promise<void> {
  if (strategyIds.length === 0) return;
  if (lock.mode === 'NONE') {
    await tx.$executeRaw`
      UPDATE "RecoveryPoint" SET "expiresAt" = CASE WHEN ${maxAgeDays}::int IS NULL THEN NULL ELSE "takenAt" + ${maxAgeDays}::int * interval '1 day' END
      WHERE "orgId" = ${orgId}::uuid AND "strategyId" = ANY(${strategyIds}::uuid[]) AND "deletingSince" IS NULL`;
  } else {
    await tx.$executeRaw`
      UPDATE "RecoveryPoint" SET "expiresAt" = CASE WHEN "expiresAt" IS NULL OR ${maxAgeDays}::int IS NULL THEN NULL
        ELSE GREATEST("expiresAt", "takenAt" + ${maxAgeDays}::int * interval '1 day') END
      WHERE "orgId" = ${orgId}::uuid AND "strategyId" = ANY(${strategyIds}::uuid[]) AND "deletingSince" IS NULL`;
  }
}

/**
 * Called by updateRetentionPolicy inside its transaction, after the update: refuses a shortening
 * of a policy in use under a compliance lock (the throw rolls the update back), then brings the
 * expiry dates of the points it governs up to date.
 */
export async function onRetentionPolicyChange(tx: Tx, orgId: string, policyId: string, before: RetentionRules, after: RetentionRules, now = new Date()): Promise<void> {
  const strategyIds = (await tx.strategy.findMany({ where: { orgId, retentionPolicyId: policyId }, select: { id: true } })).map((s) => s.id);
  if (strategyIds.length === 0) return;
  const lock = await readLockState(tx, orgId, now);
  refuseUnderCompliance(lock, retentionShortenings(before, after), `this policy is used by ${strategyIds.length} strateg${strategyIds.length === 1 ? 'y' : 'ies'} and the change is`);
  if ((before.maxAgeDays ?? null) !== (after.maxAgeDays ?? null)) await refreshExpiries(tx, orgId, strategyIds, after.maxAgeDays ?? null, lock);
}

/**
 * Called by updateStrategy inside its transaction, after the update: under a compliance lock a
 * strategy's policy may only be replaced by one that keeps at least as much (never removed, and
 * one cannot be attached where none kept everything); then expiry dates follow the new policy.
 */
export async function onStrategyPolicyChange(tx: Tx, orgId: string, strategyId: string, beforeId: string | null, afterId: string | null, now = new Date()): Promise<void> {
  if (beforeId === afterId) return;
  const rules = (id: string | null) => (id ? tx.retentionPolicy.findFirstOrThrow({ where: { id, orgId } }) : Promise.resolve(null));
  const [before, after] = await Promise.all([rules(beforeId), rules(afterId)]);
  const lock = await readLockState(tx, orgId, now);
  refuseUnderCompliance(lock, retentionShortenings(before, after), 'the new retention');
  await refreshExpiries(tx, orgId, [strategyId], after?.maxAgeDays ?? null, lock);
}

// ---- setting the lock ------------------------------------------------------------------------------

const RANK: Record<OrgLockMode, number> = { NONE: 0, GOVERNANCE: 1, COMPLIANCE: 2 };

export interface SetLockInput {
  mode: OrgLockMode;
  /** COMPLIANCE only: days during which the lock can still be lowered. Default 1, 0 to 30. */
  graceDays?: number | null;
}

/** OWNER only. Lowering is refused once a compliance lock is in force; re-asking for it never reopens the grace period. */
export async function setOrganizationLock(db: Db, scope: OrgScope, input: SetLockInput, now = new Date()) {
  if (scope.actor.role !== 'OWNER') throw new ForbiddenError('Only an owner can change the organization lock');
  const { graceDays } = input;
  if (graceDays != null) {
    if (input.mode !== 'COMPLIANCE') throw ValidationError.field(['input', 'graceDays'], 'only applies to the COMPLIANCE mode');
    if (!Number.isInteger(graceDays) || graceDays < 0 || graceDays > MAX_GRACE_DAYS) throw ValidationError.field(['input', 'graceDays'], `must be a whole number from 0 to ${MAX_GRACE_DAYS}`);
  }
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.organization.findUnique({ where: { id: scope.orgId } });
    if (!before) throw new NotFoundError('Organization');
    const lock = lockStateOf(before, now);
    if (complianceInForce(lock)) {
      if (input.mode !== 'COMPLIANCE') throw new ConflictError(`The compliance lock is in force (since ${before.lockGraceUntil?.toISOString() ?? 'it was set'}) and can no longer be lowered or removed`);
      if (graceDays != null) throw new ConflictError('The compliance lock is already in force; its grace period cannot be reopened');
      return before;
    }
    const lockGraceUntil =
      input.mode !== 'COMPLIANCE' ? null
      : graceDays != null ? new Date(now.getTime() + graceDays * DAY_MS)
      : before.lockMode === 'COMPLIANCE' ? before.lockGraceUntil
      : new Date(now.getTime() + DEFAULT_GRACE_DAYS * DAY_MS);
    if (input.mode === before.lockMode && lockGraceUntil?.getTime() === before.lockGraceUntil?.getTime()) return before;
    const after = await tx.organization.update({ where: { id: scope.orgId }, data: { lockMode: input.mode, lockGraceUntil } });
    await recordAudit(tx, scope, {
      action: 'organization.lock', resourceType: 'Organization', resourceId: scope.orgId,
      before: { lockMode: before.lockMode, lockGraceUntil: before.lockGraceUntil },
      after: { lockMode: after.lockMode, lockGraceUntil: after.lockGraceUntil, lowered: RANK[after.lockMode] < RANK[before.lockMode] },
    });
    return after;
  });
}
