// Organization settings and membership rules.
import { asSystemWithin, withTenant, type Tx } from '../../db/context';
import type { Db } from '../../db/client';
import type { Role } from '../../db/generated/prisma/enums';
import { recordAudit } from '../../audit/writer';
import type { OrgScope } from '../../auth/scope';
import { revokeKeysCreatedBy } from './api-keys';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors';
import { validateTimeZone } from '../rules/schedule';

export interface UpdateOrganizationInput {
  name?: string | null;
  timeZone?: string | null;
  maxConcurrentBackups?: number | null;
}

export async function updateOrganization(db: Db, scope: OrgScope, input: UpdateOrganizationInput) {
  // The same rule as a strategy's zone (strategies default to the org's): an IANA name, never an
  // offset such as "+05:00", which Intl accepts but which has no DST rules.
  const zone = input.timeZone != null ? validateTimeZone(input.timeZone) : null;
  if (zone && !zone.ok) throw ValidationError.field(['input', 'timeZone'], zone.message);
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.organization.findUnique({ where: { id: scope.orgId } });
    if (!before) throw new NotFoundError('Organization');
    const after = await tx.organization.update({
      where: { id: scope.orgId },
      data: {
        name: input.name ?? undefined,
        timeZone: input.timeZone ?? undefined,
        maxConcurrentBackups: input.maxConcurrentBackups ?? undefined,
      },
    });
    await recordAudit(tx, scope, { action: 'organization.update', resourceType: 'Organization', resourceId: after.id, before, after });
    return after;
  });
}

function assertMayGrant(scope: OrgScope, role: Role): void {
  if (role === 'OWNER' && scope.actor.role !== 'OWNER') throw new ForbiddenError('Only an owner can grant the OWNER role');
}

export async function inviteMember(db: Db, scope: OrgScope, input: { email: string; name?: string | null; role: Role }) {
  const email = input.email.trim().toLowerCase();
  assertMayGrant(scope, input.role);
  return withTenant(db, scope.orgId, async (tx) => {
    // Users are global identities: find or create the person outside the tenant's view. Nothing
    // of the global row is read back (another organization may know the person), and the name
    // given here stays with this organization's membership.
    const user = await asSystemWithin(tx, scope.orgId, 'invite-member', () =>
      tx.user.upsert({ where: { email }, create: { email }, update: {}, select: { id: true } }),
    );
    const existing = await tx.membership.findFirst({ where: { orgId: scope.orgId, userId: user.id } });
    if (existing) throw new ConflictError(`${email} is already a member`);
    const membership = await tx.membership.create({
      data: { orgId: scope.orgId, userId: user.id, role: input.role, displayName: input.name ?? null, invitedById: scope.actor.type === 'USER' ? scope.actor.id : null },
    });
    await recordAudit(tx, scope, { action: 'member.invite', resourceType: 'Membership', resourceId: membership.id, after: { email, role: input.role } });
    return membership;
  });
}

async function countOwners(tx: Tx, orgId: string) {
  return tx.membership.count({ where: { orgId, role: 'OWNER' } });
}

/**
 * Serializes role changes and removals within one organization. Without it two owners demoting
 * (or removing) each other at once both count two owners and both succeed, leaving none. Taken
 * first, so every read after it (read committed) sees the other change committed.
 */
async function lockMemberships(tx: Tx, orgId: string) {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended('keepsake_members:' || ${orgId}, 0))`;
}

export async function changeMemberRole(db: Db, scope: OrgScope, membershipId: string, role: Role) {
  return withTenant(db, scope.orgId, async (tx) => {
    await lockMemberships(tx, scope.orgId);
    const before = await tx.membership.findFirst({ where: { id: membershipId, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('Membership');
    if ((before.role === 'OWNER' || role === 'OWNER') && scope.actor.role !== 'OWNER') {
      throw new ForbiddenError('Only an owner can change an owner or grant the OWNER role');
    }
    if (before.role === 'OWNER' && role !== 'OWNER' && (await countOwners(tx, scope.orgId)) <= 1) {
      throw new ConflictError('An organization must keep at least one owner');
    }
    const after = await tx.membership.update({ where: { id: membershipId }, data: { role } });
    await recordAudit(tx, scope, { action: 'member.changeRole', resourceType: 'Membership', resourceId: after.id, before: { role: before.role }, after: { role } });
    return after;
  });
}

export async function removeMember(db: Db, scope: OrgScope, membershipId: string) {
  return withTenant(db, scope.orgId, async (tx) => {
    await lockMemberships(tx, scope.orgId);
    const before = await tx.membership.findFirst({ where: { id: membershipId, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('Membership');
    if (before.role === 'OWNER' && scope.actor.role !== 'OWNER') throw new ForbiddenError('Only an owner can remove an owner');
    if (before.role === 'OWNER' && (await countOwners(tx, scope.orgId)) <= 1) {
      throw new ConflictError('An organization must keep at least one owner');
    }
    await tx.membership.delete({ where: { id: membershipId } });
    await recordAudit(tx, scope, { action: 'member.remove', resourceType: 'Membership', resourceId: before.id, before });
    // The member saw each key they created, once: a departing admin must not keep machine access
    // to the organization. Their live keys go with them, each revocation audited.
    const revokedApiKeyIds = await revokeKeysCreatedBy(tx, scope, before.userId, 'its creator was removed from the organization');
    return { ...before, revokedApiKeyIds };
  });
}
