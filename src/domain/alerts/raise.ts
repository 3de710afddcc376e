// The domain API other capabilities call where something happens: raiseAlert when a condition is
// seen, resolveAlerts when it clears. Both run inside the caller's tenant transaction, so the
// alert, its deliveries (pg-boss jobs) and the alertUpdated event commit with the change that
// caused them. A repeat folds into the unresolved alert of the same kind and resource: its count
// and lastSeenAt move, and nobody is messaged again.
import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import type { Tx } from '../../db/context';
import type { Prisma } from '../../db/generated/prisma/client';
import type { AlertKind, AlertSeverity } from '../../db/generated/prisma/enums';
import { ALERT_KINDS } from './kinds';
import { alertPayload, fanOut } from './routing';
import { publishJobEvent } from '../jobs-control/events';

export type Figures = Record<string, string | number | boolean | null>;

export interface RaiseAlertInput {
  orgId: string;
  kind: AlertKind;
  /** Default WARNING; an alert about a strategy marked critical is always CRITICAL. */
  severity?: AlertSeverity;
  /** What the alert is about: 'Strategy', 'Destination', 'RecoveryPoint', 'ComplianceControl', 'Organization', ... */
  resourceType: string;
  resourceId?: string | null;
  strategyId?: string | null;
  message: string;
  title?: string;
  /** The numbers behind it, shown in messages (job id, attempts, error code, sizes). */
  figures?: Figures;
  /** false for a standing condition seen again (an RPO still breached): only lastSeenAt moves. */
  countRepeat?: boolean;
  at?: Date;
}

export interface RaisedAlert {
  id: string;
  /** True when this call opened the alert (and messaged the channels); false when it folded into an open one. */
  opened: boolean;
  count: number;
}

const openKeyOf = (kind: AlertKind, resourceType: string, resourceId: string | null | undefined) => `${kind}:${resourceType}:${resourceId ?? '-'}`.slice(0, 200);

export function publishAlert(tx: Tx, orgId: string, id: string, state: string): Promise<void> {
  return publishJobEvent(tx, { orgId, kind: 'ALERT', id, status: state });
}

export async function raiseAlert(tx: Tx, boss: PgBoss, input: RaiseAlertInput): Promise<RaisedAlert> {
  const at = input.at ?? new Date();
  const strategy = input.strategyId
    ? await tx.strategy.findFirst({ where: { id: input.strategyId, orgId: input.orgId }, select: { id: true, critical: true } })
    : null;
  const severity: AlertSeverity = strategy?.critical ? 'CRITICAL' : (input.severity ?? 'WARNING');
  const title = (input.title ?? ALERT_KINDS[input.kind].title).slice(0, 300);
  const details = JSON.stringify(input.figures ?? {});
  const increment = input.countRepeat === false ? 0 : 1;
  // One statement, so two workers raising the same alert at once fold instead of racing.
  const [row] = await tx.$queryRaw<Array<{ id: string; inserted: boolean; count: number }>>`
    INSERT INTO "Alert" (id, "orgId", kind, severity, state, "openKey", "resourceType", "resourceId", "strategyId", title, message, details, count, "firstSeenAt", "lastSeenAt")
    VALUES (${randomUUID()}::uuid, ${input.orgId}::uuid, ${input.kind}::"AlertKind", ${severity}::"AlertSeverity", 'OPEN', ${openKeyOf(input.kind, input.resourceType, input.resourceId)},
            ${input.resourceType}, ${input.resourceId ?? null}::uuid, ${strategy?.id ?? null}::uuid, ${title}, ${input.message}, ${details}::jsonb, 1, ${at}, ${at})
    ON CONFLICT ("orgId", "openKey") DO UPDATE SET
      count = "Alert".count + ${increment}, "lastSeenAt" = EXCLUDED."lastSeenAt", message = EXCLUDED.message, details = EXCLUDED.details,
      severity = GREATEST("Alert".severity, EXCLUDED.severity)
    RETURNING id, (xmax = 0) AS inserted, count`;
  const raised = { id: row!.id, opened: row!.inserted, count: row!.count };
  if (raised.opened) {
    const alert = await tx.alert.findUniqueOrThrow({ where: { id: raised.id }, include: { strategy: { select: { id: true, name: true } }, org: true } });
    await fanOut(tx, boss, input.orgId, { type: 'alert.opened', kind: alert.kind, severity: alert.severity, strategyId: alert.strategyId, strategyCritical: strategy?.critical }, alertPayload('alert.opened', alert.org, alert, at), alert.id);
    if (alert.severity === 'CRITICAL') {
      const first = await tx.emergencyContact.findFirst({ where: { orgId: input.orgId }, orderBy: [{ afterMinutes: 'asc' }, { createdAt: 'asc' }] });
      if (first) await tx.alert.update({ where: { id: alert.id }, data: { nextEscalationAt: new Date(at.getTime() + first.afterMinutes * 60_000) } });
    }
  }
  if (raised.opened || increment) await publishAlert(tx, input.orgId, raised.id, 'OPEN');
  return raised;
}

export interface ResolveAlertsInput {
  orgId: string;
  kinds: AlertKind[];
  /** Resolve the alerts about this resource (e.g. a destination, a recovery point)... */
  resourceId?: string;
  /** ...or every alert of these kinds about this strategy. */
  strategyId?: string;
  /** Who resolved it, for the row (`system:backup-worker`, a person's label). */
  by: string;
  at?: Date;
  /** Keep only these alert ids open (for sweeps: what is still broken). */
  exceptResourceIds?: string[];
}

/** Resolves the unresolved alerts that match; the channels that asked to hear of it are told. */
export async function resolveAlerts(tx: Tx, boss: PgBoss, input: ResolveAlertsInput): Promise<number> {
  const where: Prisma.AlertWhereInput = {
    orgId: input.orgId,
    kind: { in: input.kinds },
    state: { not: 'RESOLVED' },
    ...(input.resourceId ? { resourceId: input.resourceId } : {}),
    ...(input.strategyId ? { strategyId: input.strategyId } : {}),
    ...(input.exceptResourceIds ? { NOT: { resourceId: { in: input.exceptResourceIds } } } : {}),
  };
  const open = await tx.alert.findMany({ where, select: { id: true } });
  for (const { id } of open) await closeAlert(tx, boss, input.orgId, id, input.by, input.at ?? new Date());
  return open.length;
}

/** One alert to RESOLVED (frees its openKey, so the next occurrence opens a new alert). */
export async function closeAlert(tx: Tx, boss: PgBoss, orgId: string, id: string, by: string, at: Date) {
  const alert = await tx.alert.update({
    where: { id },
    data: { state: 'RESOLVED', resolvedAt: at, resolvedBy: by.slice(0, 300), openKey: null, nextEscalationAt: null },
    include: { strategy: { select: { id: true, name: true, critical: true } }, org: true },
  });
  await fanOut(tx, boss, orgId, { type: 'alert.resolved', kind: alert.kind, severity: alert.severity, strategyId: alert.strategyId, strategyCritical: alert.strategy?.critical }, alertPayload('alert.resolved', alert.org, alert, at), alert.id);
  await publishAlert(tx, orgId, id, 'RESOLVED');
  return alert;
}
