// Deleting a recovery point, for retention and for people alike, in three steps so the catalog and
// the destinations never disagree in the dangerous direction:
//   1. mark (one transaction): deletingSince is set and every copy becomes DELETING, with the
//      decision's audit event (recoveryPoint.expire or recoveryPoint.delete). A marked point is no
//      longer offered to restores or counted by retention, and nothing can unmark it.
//   2. delete the objects (the artifact, then its manifest) at every destination; each copy that is
//      verifiably gone becomes DELETED and its bytes leave Destination.usedBytes; a destination that
//      fails leaves its copy FAILED with lastError.
//   3. only when every copy is DELETED, delete the row (artifacts cascade) with recoveryPoint.purge.
// A failure anywhere leaves the point marked and the next retention sweep resumes at step 2, so
// there is never a catalog row without its marking while files go, nor a file without its row.
import { legalHoldKey } from '../../backup/manifest';
import type { Db } from '../../db/client';
import { withTenant, type Tx } from '../../db/context';
import { recordAudit } from '../../audit/writer';
import type { OrgScope } from '../../auth/scope';
import { driverFor, type DestinationEnv } from '../destinations/driver';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import { assertMayDeletePoint, readLockState } from '../immutability/locks';
import { syncLegalHoldMarkers } from '../immutability/markers';
import { ACTIVE_JOB_STATUSES, ACTIVE_VERIFICATION_STATUSES } from '../jobs-control/statuses';

export interface DeletionOutcome {
  recoveryPointId: string;
  /** The row is gone: every copy was deleted. */
  completed: boolean;
  deletedArtifacts: number;
  failures: Array<{ destinationId: string; error: string }>;
}

/** A restore or verification still reading the point: deleting it now would pull the data from under it. */
export async function pointInUse(tx: Tx, orgId: string, pointIds: string[]): Promise<Set<string>> {
  if (pointIds.length === 0) return new Set();
  const [restores, verifications] = await Promise.all([
    tx.recoveryJob.findMany({ where: { orgId, recoveryPointId: { in: pointIds }, status: { in: [...ACTIVE_JOB_STATUSES] } }, select: { recoveryPointId: true } }),
    tx.verification.findMany({ where: { orgId, recoveryPointId: { in: pointIds }, status: { in: [...ACTIVE_VERIFICATION_STATUSES] } }, select: { recoveryPointId: true } }),
  ]);
  return new Set([...restores, ...verifications].map((r) => r.recoveryPointId!));
}

const WITH_COPIES = { artifacts: { include: { destination: { select: { id: true, name: true, kind: true } } }, orderBy: { destinationId: 'asc' } } } as const;

const pointWithCopies = (tx: Tx, orgId: string, id: string) => tx.recoveryPoint.findFirst({ where: { id, orgId }, include: WITH_COPIES });

/** The points (with their copies and where they are) that a deletion is about to mark. */
export const pointsWithCopies = (tx: Tx, orgId: string, ids: string[]) => tx.recoveryPoint.findMany({ where: { id: { in: ids }, orgId }, include: WITH_COPIES });

type PointWithCopies = NonNullable<Awaited<ReturnType<typeof pointWithCopies>>>;

/** What the audit trail keeps of a deleted point: what it was and where its copies were. */
function snapshot(p: PointWithCopies) {
  return {
    takenAt: p.takenAt, strategyId: p.strategyId, sourceId: p.sourceId, backupJobId: p.backupJobId ?? (p.manifest as { backupJobId?: string } | null)?.backupJobId ?? null,
    sourceKind: p.sourceKind, format: p.format, rawBytes: p.rawBytes, storedBytes: p.storedBytes, sha256: p.sha256, expiresAt: p.expiresAt, verifiedAt: p.verifiedAt,
    copies: p.artifacts.map((a) => ({ destinationId: a.destinationId, destination: a.destination.name, kind: a.destination.kind, key: a.key, manifestKey: a.manifestKey, sizeBytes: a.sizeBytes })),
  };
}

/**
 * Step 1. Returns false when the point is gone, held, already marked (someone else decided first)
 * or, for retention, no longer as its plan saw it (a verification that just passed may make it the
 * newest verified point, which the plan would keep): the next sweep decides again.
 */
export async function markForDeletion(
  tx: Tx, scope: OrgScope, point: PointWithCopies, action: 'recoveryPoint.expire' | 'recoveryPoint.delete', detail: Record<string, unknown>, now: Date,
): Promise<boolean> {
  // Conditional, so a concurrent legal hold, verification or second sweep cannot both win.
  const marked = await tx.recoveryPoint.updateMany({
    where: { id: point.id, orgId: scope.orgId, deletingSince: null, legalHold: false, verifiedAt: point.verifiedAt },
    data: { deletingSince: now },
  });
  if (marked.count === 0) return false;
  await tx.artifact.updateMany({ where: { recoveryPointId: point.id, orgId: scope.orgId, status: { not: 'DELETED' } }, data: { status: 'DELETING' } });
  await recordAudit(tx, scope, { action, resourceType: 'RecoveryPoint', resourceId: point.id, before: snapshot(point), after: { deletingSince: now, ...detail } });
  return true;
}

/** Steps 2 and 3 for a marked point. Safe to run twice at once: deletes are idempotent and the row goes once. */
export async function finishDeletion(db: Db, env: DestinationEnv, scope: OrgScope, pointId: string): Promise<DeletionOutcome> {
  const point = await withTenant(db, scope.orgId, (tx) =>
    tx.recoveryPoint.findFirst({
      where: { id: pointId, orgId: scope.orgId, deletingSince: { not: null } },
      include: { artifacts: { where: { status: { not: 'DELETED' } }, include: { destination: true } } },
    }),
  );
  const outcome: DeletionOutcome = { recoveryPointId: pointId, completed: false, deletedArtifacts: 0, failures: [] };
  if (!point) return outcome;
  await Promise.all(
    point.artifacts.map(async (a) => {
      try {
        const driver = driverFor(a.destination, env);
        // The artifact first: a run that is half deleted still has the manifest that describes it.
        await driver.delete(a.key);
        await driver.delete(a.manifestKey);
        await driver.delete(legalHoldKey(a.manifestKey)); // a released hold's marker not yet removed
        // "Deleted" must mean gone: a driver or store that acknowledged without deleting is a failure.
        if ((await driver.head(a.key)) || (await driver.head(a.manifestKey))) throw new Error('the object is still present after it was deleted');
        const done = await withTenant(db, scope.orgId, async (tx) => {
          const updated = await tx.artifact.updateMany({ where: { id: a.id, orgId: scope.orgId, status: { not: 'DELETED' } }, data: { status: 'DELETED', deletedAt: new Date(), lastError: null } });
          if (updated.count) {
            await tx.$executeRaw`UPDATE "Destination" SET "usedBytes" = GREATEST(0, "usedBytes" - ${a.sizeBytes}) WHERE id = ${a.destinationId}::uuid AND "orgId" = ${scope.orgId}::uuid`;
          }
          return updated.count;
        });
        outcome.deletedArtifacts += done;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        outcome.failures.push({ destinationId: a.destinationId, error: message });
        await withTenant(db, scope.orgId, (tx) =>
          tx.artifact.updateMany({ where: { id: a.id, orgId: scope.orgId, status: { not: 'DELETED' } }, data: { status: 'FAILED', lastError: message.slice(0, 2000) } }),
        );
      }
    }),
  );
  if (outcome.failures.length) return outcome;
  outcome.completed = await withTenant(db, scope.orgId, async (tx) => {
    const full = await pointWithCopies(tx, scope.orgId, pointId);
    if (!full || full.artifacts.some((a) => a.status !== 'DELETED')) return false;
    const removed = await tx.recoveryPoint.deleteMany({ where: { id: pointId, orgId: scope.orgId, deletingSince: { not: null } } });
    if (removed.count === 0) return false;
    await recordAudit(tx, scope, { action: 'recoveryPoint.purge', resourceType: 'RecoveryPoint', resourceId: pointId, before: snapshot(full) });
    return true;
  });
  return outcome;
}

/**
 * deleteRecoveryPoint: a person's decision, under the same rules as retention plus the governance
 * override. A point already being deleted is simply taken further (no second decision is recorded).
 */
export async function deleteRecoveryPoint(
  db: Db, env: DestinationEnv, scope: OrgScope, pointId: string, opts: { override?: boolean | null } = {}, now = new Date(),
): Promise<DeletionOutcome> {
  await withTenant(db, scope.orgId, async (tx) => {
    const point = await pointWithCopies(tx, scope.orgId, pointId);
    if (!point) throw new NotFoundError('RecoveryPoint');
    if (point.deletingSince) return;
    const lock = await readLockState(tx, scope.orgId, now);
    const { override } = assertMayDeletePoint(point, lock, scope.actor, opts.override ?? false, now);
    if ((await pointInUse(tx, scope.orgId, [pointId])).size) throw new ConflictError('A restore or verification of this recovery point is queued or running; wait for it or cancel it first');
    if (!(await markForDeletion(tx, scope, point, 'recoveryPoint.delete', { override, lockMode: lock.mode }, now))) {
      throw new ConflictError('The recovery point changed meanwhile (legal hold or another deletion); try again');
    }
  });
  return finishDeletion(db, env, scope, pointId);
}

// ---- legal hold ------------------------------------------------------------------------------------

export async function setLegalHold(db: Db, env: DestinationEnv, scope: OrgScope, pointId: string, reason: string) {
  const text = reason.trim();
  if (!text) throw ValidationError.field(['input', 'reason'], 'must not be empty');
  const point = await withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.recoveryPoint.findFirst({ where: { id: pointId, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('RecoveryPoint');
    if (before.deletingSince) throw new ConflictError('The recovery point is being deleted; a hold can no longer keep it');
    if (before.legalHold && before.legalHoldReason === text) return before;
    // Conditional: a deletion that marked the point meanwhile wins, and the hold is refused.
    const updated = await tx.recoveryPoint.updateMany({ where: { id: pointId, orgId: scope.orgId, deletingSince: null }, data: { legalHold: true, legalHoldReason: text, legalHoldMarkerStale: true } });
    if (updated.count === 0) throw new ConflictError('The recovery point is being deleted; a hold can no longer keep it');
    await recordAudit(tx, scope, {
      action: 'recoveryPoint.legalHold', resourceType: 'RecoveryPoint', resourceId: pointId,
      before: { legalHold: before.legalHold, legalHoldReason: before.legalHoldReason }, after: { legalHold: true, legalHoldReason: text },
    });
    return tx.recoveryPoint.findFirstOrThrow({ where: { id: pointId, orgId: scope.orgId } });
  });
  return mirrorHold(db, env, scope, point);
}

/** Writes (or removes) the destinations' legal-hold.json now; a copy that fails is left to the sweep. */
async function mirrorHold<T extends { id: string; legalHoldMarkerStale: boolean }>(db: Db, env: DestinationEnv, scope: OrgScope, point: T): Promise<T> {
  if (!point.legalHoldMarkerStale) return point;
  const synced = await syncLegalHoldMarkers(db, env, scope.orgId, point.id).catch(() => false);
  return synced ? { ...point, legalHoldMarkerStale: false } : point;
}

/** Releasing a point that is not held changes nothing and records nothing. */
export async function releaseLegalHold(db: Db, env: DestinationEnv, scope: OrgScope, pointId: string) {
  const point = await withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.recoveryPoint.findFirst({ where: { id: pointId, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('RecoveryPoint');
    if (!before.legalHold) return before;
    const after = await tx.recoveryPoint.update({ where: { id: pointId }, data: { legalHold: false, legalHoldReason: null, legalHoldMarkerStale: true } });
    await recordAudit(tx, scope, {
      action: 'recoveryPoint.releaseLegalHold', resourceType: 'RecoveryPoint', resourceId: pointId,
      before: { legalHold: true, legalHoldReason: before.legalHoldReason }, after: { legalHold: false },
    });
    return after;
  });
  return mirrorHold(db, env, scope, point);
}
