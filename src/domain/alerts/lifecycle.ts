// What people do with an alert: acknowledge it (someone is on it: escalation stops) and resolve
// it. Both audited; channels whose rules ask for resolutions are told.
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import { recordAudit } from '../../audit/writer';
import type { OrgScope } from '../../auth/scope';
import { ConflictError, NotFoundError } from '../errors';
import { closeAlert, publishAlert } from './raise';
import { alertPayload, fanOut } from './routing';

export async function acknowledgeAlert(db: Db, boss: PgBoss, scope: OrgScope, id: string) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.alert.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('Alert');
    if (before.state !== 'OPEN') throw new ConflictError(`The alert is already ${before.state}`);
    const now = new Date();
    const after = await tx.alert.update({
      where: { id },
      data: { state: 'ACKNOWLEDGED', acknowledgedAt: now, acknowledgedBy: scope.actor.label.slice(0, 300), nextEscalationAt: null },
      include: { strategy: { select: { id: true, name: true, critical: true } }, org: true },
    });
    await fanOut(tx, boss, scope.orgId, { type: 'alert.acknowledged', kind: after.kind, severity: after.severity, strategyId: after.strategyId, strategyCritical: after.strategy?.critical }, alertPayload('alert.acknowledged', after.org, after, now), id);
    await recordAudit(tx, scope, { action: 'alert.acknowledge', resourceType: 'Alert', resourceId: id, before: { state: before.state }, after: { state: after.state, acknowledgedBy: after.acknowledgedBy } });
    await publishAlert(tx, scope.orgId, id, after.state);
    const { org: _org, strategy: _strategy, ...row } = after;
    return row;
  });
}

export async function resolveAlert(db: Db, boss: PgBoss, scope: OrgScope, id: string) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.alert.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('Alert');
    if (before.state === 'RESOLVED') throw new ConflictError('The alert is already resolved');
    const after = await closeAlert(tx, boss, scope.orgId, id, scope.actor.label, new Date());
    await recordAudit(tx, scope, { action: 'alert.resolve', resourceType: 'Alert', resourceId: id, before: { state: before.state }, after: { state: after.state, resolvedBy: after.resolvedBy } });
    const { org: _org, strategy: _strategy, ...row } = after;
    return row;
  });
}
