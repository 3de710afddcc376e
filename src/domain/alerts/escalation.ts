// Escalation: a CRITICAL alert still OPEN (not acknowledged) when its next escalation is due is
// sent to the next emergency contact, in order of afterMinutes, one step at a time, until someone
// acknowledges it or the list ends. Found across organizations in the named system context, each
// alert then escalated in its own tenant transaction with its delivery queued in it.
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/client';
import { withSystem, withTenant } from '../../db/context';
import { recordAudit } from '../../audit/writer';
import { systemScope } from '../../auth/scope';
import { publishAlert } from './raise';
import { alertPayload, enqueueDelivery } from './routing';

export async function escalateDueAlerts(db: Db, boss: PgBoss, now = new Date()): Promise<number> {
  const due = await withSystem(db, 'alert-escalation-find-due', (tx) =>
    tx.alert.findMany({ where: { state: 'OPEN', severity: 'CRITICAL', nextEscalationAt: { lte: now } }, select: { id: true, orgId: true }, take: 500 }),
  );
  let escalated = 0;
  for (const { id, orgId } of due) {
    const sent = await withTenant(db, orgId, async (tx) => {
      const alert = await tx.alert.findFirst({ where: { id, orgId, state: 'OPEN', nextEscalationAt: { lte: now } }, include: { strategy: { select: { id: true, name: true } }, org: true } });
      if (!alert) return false;
      const contacts = await tx.emergencyContact.findMany({ where: { orgId }, orderBy: [{ afterMinutes: 'asc' }, { createdAt: 'asc' }], include: { channel: true } });
      const contact = contacts[alert.escalationStep];
      const next = contacts[alert.escalationStep + 1];
      const step = alert.escalationStep + 1;
      await tx.alert.update({
        where: { id },
        data: { escalationStep: contact ? step : alert.escalationStep, nextEscalationAt: next ? new Date(alert.firstSeenAt.getTime() + next.afterMinutes * 60_000) : null },
      });
      if (!contact) return false;
      const payload = alertPayload('alert.escalated', alert.org, alert, now, { escalation: { step, contact: contact.name } });
      await enqueueDelivery(tx, boss, orgId, payload, contact.channel ? { channel: contact.channel, contact } : { contact }, id);
      await recordAudit(tx, systemScope(orgId, 'alert-escalation'), { action: 'alert.escalate', resourceType: 'Alert', resourceId: id, after: { step, contactId: contact.id } });
      await publishAlert(tx, orgId, id, 'OPEN');
      return true;
    });
    if (sent) escalated++;
  }
  return escalated;
}
