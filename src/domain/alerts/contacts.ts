// Emergency contacts: the escalation list. Each contact is an e-mail address or one of the
// organization's channels, reached when a CRITICAL alert is still unacknowledged afterMinutes
// after it opened; contacts are called in order of afterMinutes (see escalation.ts).
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import { recordAudit } from '../../audit/writer';
import type { OrgScope } from '../../auth/scope';
import { NotFoundError, ValidationError } from '../errors';
import { checkEmails } from './channels';

export interface EmergencyContactInput {
  name?: string | null;
  email?: string | null;
  channelId?: string | null;
  afterMinutes?: number | null;
}

const MAX_CONTACTS = 20;

function checkMinutes(m: number): number {
  if (!Number.isInteger(m) || m < 1 || m > 10_080) throw ValidationError.field(['input', 'afterMinutes'], 'must be 1 to 10080 minutes');
  return m;
}

export async function createEmergencyContact(db: Db, scope: OrgScope, input: EmergencyContactInput & { name: string; afterMinutes: number }) {
  const name = input.name.trim();
  const email = input.email ? checkEmails([input.email], ['input', 'email'])[0]! : null;
  if (!email && !input.channelId) throw ValidationError.field(['input', 'email'], 'give an e-mail address or a channelId');
  if (email && input.channelId) throw ValidationError.field(['input', 'channelId'], 'give an e-mail address or a channel, not both');
  const afterMinutes = checkMinutes(input.afterMinutes);
  return withTenant(db, scope.orgId, async (tx) => {
    if (input.channelId && !(await tx.notificationChannel.findFirst({ where: { id: input.channelId, orgId: scope.orgId }, select: { id: true } }))) throw new NotFoundError('NotificationChannel');
    if ((await tx.emergencyContact.count({ where: { orgId: scope.orgId } })) >= MAX_CONTACTS) throw ValidationError.field(['input'], `at most ${MAX_CONTACTS} emergency contacts`);
    const contact = await tx.emergencyContact.create({ data: { orgId: scope.orgId, name, email, channelId: input.channelId ?? null, afterMinutes } });
    await recordAudit(tx, scope, { action: 'emergency_contact.create', resourceType: 'EmergencyContact', resourceId: contact.id, after: contact });
    return contact;
  });
}

export async function updateEmergencyContact(db: Db, scope: OrgScope, id: string, patch: EmergencyContactInput) {
  const email = patch.email ? checkEmails([patch.email], ['input', 'email'])[0]! : null;
  const afterMinutes = patch.afterMinutes != null ? checkMinutes(patch.afterMinutes) : undefined;
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.emergencyContact.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('EmergencyContact');
    if (email && patch.channelId) throw ValidationError.field(['input', 'channelId'], 'give an e-mail address or a channel, not both');
    if (patch.channelId && !(await tx.notificationChannel.findFirst({ where: { id: patch.channelId, orgId: scope.orgId }, select: { id: true } }))) throw new NotFoundError('NotificationChannel');
    const after = await tx.emergencyContact.update({
      where: { id },
      data: {
        ...(patch.name?.trim() ? { name: patch.name.trim() } : {}),
        // Switching to an e-mail clears the channel and the other way round.
        ...(email ? { email, channelId: null } : {}),
        ...(patch.channelId ? { channelId: patch.channelId, email: null } : {}),
        ...(afterMinutes !== undefined ? { afterMinutes } : {}),
      },
    });
    await recordAudit(tx, scope, { action: 'emergency_contact.update', resourceType: 'EmergencyContact', resourceId: id, before, after });
    return after;
  });
}

export async function deleteEmergencyContact(db: Db, scope: OrgScope, id: string) {
  await withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.emergencyContact.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('EmergencyContact');
    await tx.emergencyContact.delete({ where: { id } });
    await recordAudit(tx, scope, { action: 'emergency_contact.delete', resourceType: 'EmergencyContact', resourceId: id, before });
  });
}
