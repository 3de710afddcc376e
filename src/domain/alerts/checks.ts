// Standing conditions checked every minute by the alert tick: a strategy past its RPO with no
// successful backup, and recovery points whose deletion has been stuck for over an hour. Each
// raises its alert while the condition holds and resolves it when it no longer does.
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/client';
import { withSystem, withTenant } from '../../db/context';
import type { AlertKind } from '../../db/generated/prisma/enums';
import { raiseAlert, resolveAlerts } from './raise';

/** How long a point may stay marked for deletion before someone should look. */
export const STUCK_DELETION_MS = 3_600_000;

interface Finding {
  orgId: string;
  resourceId: string;
  strategyId: string | null;
  message: string;
  figures: Record<string, string | number | null>;
}

async function reconcile(db: Db, boss: PgBoss, kind: AlertKind, resourceType: string, findings: Finding[], now: Date): Promise<{ raised: number; resolved: number }> {
  let raised = 0;
  let resolved = 0;
  for (const f of findings) {
    const r = await withTenant(db, f.orgId, (tx) =>
      raiseAlert(tx, boss, { orgId: f.orgId, kind, resourceType, resourceId: f.resourceId, strategyId: f.strategyId, message: f.message, figures: f.figures, countRepeat: false, at: now }),
    );
    if (r.opened) raised++;
  }
  // Alerts of this kind whose condition is gone.
  const open = await withSystem(db, `alert-check-${kind.toLowerCase()}`, (tx) =>
    tx.alert.findMany({ where: { kind, state: { not: 'RESOLVED' } }, select: { orgId: true, resourceId: true } }),
  );
  const still = new Set(findings.map((f) => `${f.orgId}:${f.resourceId}`));
  for (const a of open.filter((o) => o.resourceId && !still.has(`${o.orgId}:${o.resourceId}`))) {
    resolved += await withTenant(db, a.orgId, (tx) => resolveAlerts(tx, boss, { orgId: a.orgId, kinds: [kind], resourceId: a.resourceId!, by: 'system:alert-check', at: now }));
  }
  return { raised, resolved };
}

export async function checkRpo(db: Db, boss: PgBoss, now = new Date()) {
  const breached = await withSystem(db, 'alert-check-rpo', async (tx) => {
    const strategies = await tx.strategy.findMany({ where: { status: 'ACTIVE', rpoMinutes: { not: null } }, select: { id: true, orgId: true, name: true, rpoMinutes: true, createdAt: true } });
    const last = await tx.backupJob.groupBy({ by: ['strategyId'], where: { strategyId: { in: strategies.map((s) => s.id) }, status: 'SUCCEEDED' }, _max: { finishedAt: true } });
    const lastOf = new Map(last.map((l) => [l.strategyId, l._max.finishedAt]));
    return strategies
      .map((s) => ({ ...s, lastSuccess: lastOf.get(s.id) ?? null, since: now.getTime() - s.rpoMinutes! * 60_000 }))
      // A new strategy gets one RPO period before it can be in breach.
      .filter((s) => s.createdAt.getTime() < s.since && !(s.lastSuccess && s.lastSuccess.getTime() > s.since));
  });
  return reconcile(db, boss, 'RPO_BREACHED', 'Strategy', breached.map((s) => ({
    orgId: s.orgId, resourceId: s.id, strategyId: s.id,
    message: `No successful backup of ${s.name} within its RPO of ${s.rpoMinutes} minutes`,
    figures: { rpoMinutes: s.rpoMinutes, lastSuccessfulBackupAt: s.lastSuccess?.toISOString() ?? null },
  })), now);
}

export async function checkStuckDeletions(db: Db, boss: PgBoss, now = new Date()) {
  const points = await withSystem(db, 'alert-check-stuck-deletions', (tx) =>
    tx.recoveryPoint.findMany({
      where: { deletingSince: { lt: new Date(now.getTime() - STUCK_DELETION_MS) } },
      select: { id: true, orgId: true, strategyId: true, deletingSince: true, artifacts: { where: { status: 'FAILED' }, select: { lastError: true, destinationId: true } } },
      take: 1000,
    }),
  );
  return reconcile(db, boss, 'RETENTION_DELETION_STUCK', 'RecoveryPoint', points.map((p) => ({
    orgId: p.orgId, resourceId: p.id, strategyId: p.strategyId,
    message: `A recovery point marked for deletion at ${p.deletingSince!.toISOString()} still has copies that could not be deleted`,
    figures: { deletingSince: p.deletingSince!.toISOString(), failedCopies: p.artifacts.length, lastError: p.artifacts[0]?.lastError ?? null },
  })), now);
}
