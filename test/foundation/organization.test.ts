// The organization and its members: viewer/organization queries, inviting, changing roles and
// removing members (only ADMIN/OWNER; only an OWNER touches OWNER; never the last OWNER), and
// organization settings (OWNER only, validated time zone).
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { globalId } from '../support/seed-objects';
import { mutate, rawId, superuser, tokenFor, unique } from '../support/foundation';

let t: TestApp;
let org: TestOrg;
let su: pg.Client;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.createOrg();
  su = await superuser(t);
});

afterAll(async () => {
  await su?.end();
  await t?.stop();
});

const MEMBERSHIP = 'id role user { email }';
const invite = (token: string, email: string, role: string) => mutate(t, token, 'inviteMember', 'InviteMemberInput', { email, role }, MEMBERSHIP);
const changeRole = (token: string, membershipId: string, role: string) => mutate(t, token, 'changeMemberRole', 'ChangeMemberRoleInput', { membershipId, role }, MEMBERSHIP);
const remove = (token: string, membershipId: string) => mutate(t, token, 'removeMember', 'RemoveMemberInput', { membershipId }, 'removedMembershipId');
const typename = async (p: Promise<{ payload: { __typename: string } | null; json: string }>) => {
  const r = await p;
  return r.payload?.__typename ?? r.json;
};

async function membershipOf(o: TestOrg, userId: string): Promise<string> {
  const r = await su.query(`SELECT id FROM "Membership" WHERE "orgId" = $1 AND "userId" = $2`, [o.id, userId]);
  return globalId('Membership', r.rows[0].id as string);
}
async function roles(o: TestOrg): Promise<Record<string, string>> {
  const r = await su.query(`SELECT u.email, m.role FROM "Membership" m JOIN "User" u ON u.id = m."userId" WHERE m."orgId" = $1`, [o.id]);
  return Object.fromEntries(r.rows.map((row) => [row.email, row.role]));
}
/** A second OWNER (the org's ADMIN promoted by its OWNER). */
async function withTwoOwners(o: TestOrg) {
  expect(await typename(changeRole(o.users.OWNER.token, await membershipOf(o, o.users.ADMIN.id), 'OWNER'))).toMatch(/Success$/);
}

describe('viewer and organization', () => {
  it('describe the viewer, the organization and its members', async () => {
    const r = await t.gql(org.users.AUDITOR.token, `{ viewer { kind label role user { email } organization { id slug name timeZone maxConcurrentBackups
      members(first: 10) { totalCount edges { node { role user { email } } } } } } }`);
    expect(r.errors).toBeUndefined();
    const viewer = r.data!.viewer as Record<string, unknown> & { organization: { id: string; members: { totalCount: number; edges: Array<{ node: { role: string; user: { email: string } } }> } } };
    expect(viewer).toMatchObject({ kind: 'USER', label: org.users.AUDITOR.email, role: 'AUDITOR', user: { email: org.users.AUDITOR.email } });
    expect(viewer.organization).toMatchObject({ id: globalId('Organization', org.id), slug: org.slug, timeZone: 'UTC', maxConcurrentBackups: 2 });
    expect(viewer.organization.members.totalCount).toBe(5);
    expect(Object.fromEntries(viewer.organization.members.edges.map((e) => [e.node.user.email, e.node.role]))).toEqual(await roles(org));
  });

  it('read another organization as not found', async () => {
    const other = await t.createOrg();
    const r = await t.gql(org.users.OWNER.token, `query($id: ID!) { node(id: $id) { id } }`, { id: globalId('Organization', other.id) });
    expect(r.data?.node).toBeNull();
    expect(await typename(changeRole(org.users.OWNER.token, await membershipOf(other, other.users.VIEWER.id), 'ADMIN'))).toBe('NotFoundError');
    expect(await typename(remove(org.users.OWNER.token, await membershipOf(other, other.users.VIEWER.id)))).toBe('NotFoundError');
    expect((await roles(other))[other.users.VIEWER.email]).toBe('VIEWER');
  });
});

describe('inviteMember', () => {
  it('lets an ADMIN add a person, who can then sign in to this org with that role', async () => {
    const email = `${unique('new')}@example.com`;
    const r = await invite(org.users.ADMIN.token, email.toUpperCase(), 'OPERATOR');
    expect(r.payload).toMatchObject({ __typename: 'MutationInviteMemberSuccess', data: { role: 'OPERATOR', user: { email } } });
    const user = await su.query(`SELECT id FROM "User" WHERE email = $1`, [email]);
    const me = await t.gql(await tokenFor(t, user.rows[0].id, org.id), `{ viewer { role } }`);
    expect(me.data?.viewer).toEqual({ role: 'OPERATOR' });
    const audit = await su.query(`SELECT action, "actorId" FROM "AuditEvent" WHERE "resourceId" = $1`, [rawId((r.payload!.data as { id: string }).id)]);
    expect(audit.rows).toEqual([{ action: 'member.invite', actorId: org.users.ADMIN.id }]);
  });

  it('reuses the identity of a person who belongs to another org, without touching that membership', async () => {
    const other = await t.createOrg();
    const person = other.users.OWNER;
    expect(await typename(invite(org.users.ADMIN.token, person.email, 'VIEWER'))).toMatch(/Success$/);
    expect((await su.query(`SELECT count(*)::int AS n FROM "User" WHERE email = $1`, [person.email])).rows[0].n).toBe(1);
    expect((await t.gql(await tokenFor(t, person.id, org.id), `{ viewer { role } }`)).data?.viewer).toEqual({ role: 'VIEWER' });
    expect((await t.gql(person.token, `{ viewer { role } }`)).data?.viewer).toEqual({ role: 'OWNER' });
    expect(await typename(invite(org.users.ADMIN.token, person.email, 'ADMIN'))).toBe('ConflictError');
  });

  it('reveals nothing another organization knows of the person: the name stays with the inviting organization', async () => {
    const first = await t.createOrg();
    const email = `${unique('shared')}@example.com`;
    const given = await mutate(t, first.users.ADMIN.token, 'inviteMember', 'InviteMemberInput', { email, role: 'VIEWER', name: 'Auntie Flo (VIP bride)' }, 'displayName user { name }');
    expect(given.payload?.data).toEqual({ displayName: 'Auntie Flo (VIP bride)', user: { name: null } });
    const second = await mutate(t, org.users.ADMIN.token, 'inviteMember', 'InviteMemberInput', { email, role: 'VIEWER' }, 'displayName user { email name }');
    expect(second.payload?.__typename).toMatch(/Success$/);
    expect(second.json).not.toContain('Auntie Flo');
    const listed = await t.gql(org.users.ADMIN.token, `{ viewer { organization { members(first: 50) { edges { node { displayName user { email name } } } } } } }`);
    expect(listed.errors).toBeUndefined();
    expect(JSON.stringify(listed.data)).toContain(email);
    expect(JSON.stringify(listed.data)).not.toContain('Auntie Flo');
  });

  it('is refused to OPERATOR, AUDITOR and VIEWER, and OWNER is granted only by an OWNER', async () => {
    const before = await roles(org);
    for (const role of ['OPERATOR', 'AUDITOR', 'VIEWER'] as const) {
      expect(await typename(invite(org.users[role].token, `${unique(role)}@example.com`, 'VIEWER')), role).toBe('ForbiddenError');
    }
    expect(await typename(invite(org.users.ADMIN.token, `${unique('o')}@example.com`, 'OWNER'))).toBe('ForbiddenError');
    expect(await typename(invite(org.users.ADMIN.token, 'not an email', 'VIEWER'))).toBe('ValidationError');
    expect(await roles(org)).toEqual(before);
    expect(await typename(invite(org.users.OWNER.token, `${unique('co-owner')}@example.com`, 'OWNER'))).toMatch(/Success$/);
  });
});

describe('changeMemberRole and removeMember', () => {
  it('let an ADMIN manage non-owners, and refuse everyone else', async () => {
    const o = await t.createOrg();
    const viewer = await membershipOf(o, o.users.VIEWER.id);
    for (const role of ['OPERATOR', 'AUDITOR', 'VIEWER'] as const) {
      expect(await typename(changeRole(o.users[role].token, viewer, 'ADMIN')), role).toBe('ForbiddenError');
      expect(await typename(remove(o.users[role].token, viewer)), role).toBe('ForbiddenError');
    }
    expect((await roles(o))[o.users.VIEWER.email]).toBe('VIEWER');
    expect((await changeRole(o.users.ADMIN.token, viewer, 'AUDITOR')).payload).toMatchObject({ data: { role: 'AUDITOR' } });
    expect((await t.gql(o.users.VIEWER.token, `{ viewer { role } }`)).data?.viewer).toEqual({ role: 'AUDITOR' });
    expect(await typename(remove(o.users.ADMIN.token, viewer))).toMatch(/Success$/);
    // The removed person's token stops working at once.
    const after = await t.gql(o.users.VIEWER.token, `{ viewer { role } }`);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('let only an OWNER grant, change or remove OWNER', async () => {
    const o = await t.createOrg();
    const operator = await membershipOf(o, o.users.OPERATOR.id);
    const owner = await membershipOf(o, o.users.OWNER.id);
    expect(await typename(changeRole(o.users.ADMIN.token, operator, 'OWNER'))).toBe('ForbiddenError');
    expect(await typename(changeRole(o.users.ADMIN.token, owner, 'VIEWER'))).toBe('ForbiddenError');
    expect(await typename(remove(o.users.ADMIN.token, owner))).toBe('ForbiddenError');
    expect((await roles(o))[o.users.OWNER.email]).toBe('OWNER');
    expect((await roles(o))[o.users.OPERATOR.email]).toBe('OPERATOR');
    expect(await typename(changeRole(o.users.OWNER.token, operator, 'OWNER'))).toMatch(/Success$/);
    expect(await typename(remove(o.users.OWNER.token, operator))).toMatch(/Success$/);
  });

  it('revoke, with the member, the live API keys they created, each audited; other keys keep working', async () => {
    const o = await t.createOrg();
    const key = async (token: string, name: string) =>
      (await mutate(t, token, 'createApiKey', 'CreateApiKeyInput', { name, role: 'OPERATOR' }, 'token apiKey { id }')).payload!.data as { token: string; apiKey: { id: string } };
    const [live, alreadyRevoked, ownersKey] = [await key(o.users.ADMIN.token, 'ci'), await key(o.users.ADMIN.token, 'old'), await key(o.users.OWNER.token, 'owner-ci')];
    expect((await mutate(t, o.users.ADMIN.token, 'revokeApiKey', 'RevokeApiKeyInput', { id: alreadyRevoked.apiKey.id }, 'revokedAt')).payload?.__typename).toMatch(/Success$/);
    const whoAmI = async (token: string) => (await t.gql(token, `{ viewer { kind } }`)).data?.viewer ?? null;
    expect(await whoAmI(live.token)).toEqual({ kind: 'API_KEY' });

    const removed = await mutate(t, o.users.OWNER.token, 'removeMember', 'RemoveMemberInput', { membershipId: await membershipOf(o, o.users.ADMIN.id) }, 'removedMembershipId revokedApiKeyIds');
    expect(removed.payload?.data?.revokedApiKeyIds, removed.json).toEqual([live.apiKey.id]);
    expect(await whoAmI(live.token)).toBeNull();
    expect(await whoAmI(ownersKey.token)).toEqual({ kind: 'API_KEY' });
    const audit = await su.query(
      `SELECT "resourceId", after->>'reason' AS reason, "actorId" FROM "AuditEvent" WHERE "orgId" = $1 AND action = 'apiKey.revoke' ORDER BY seq`, [o.id],
    );
    expect(audit.rows).toEqual([
      { resourceId: rawId(alreadyRevoked.apiKey.id), reason: null, actorId: o.users.ADMIN.id },
      { resourceId: rawId(live.apiKey.id), reason: 'its creator was removed from the organization', actorId: o.users.OWNER.id },
    ]);
  });

  it('never leave the organization without an OWNER', async () => {
    const o = await t.createOrg();
    const owner = await membershipOf(o, o.users.OWNER.id);
    for (const role of ['ADMIN', 'VIEWER']) expect(await typename(changeRole(o.users.OWNER.token, owner, role)), role).toBe('ConflictError');
    expect(await typename(remove(o.users.OWNER.token, owner))).toBe('ConflictError');
    expect((await roles(o))[o.users.OWNER.email]).toBe('OWNER');
    // With a second owner, the first may step down.
    await withTwoOwners(o);
    expect(await typename(changeRole(o.users.OWNER.token, owner, 'ADMIN'))).toMatch(/Success$/);
    const last = await membershipOf(o, o.users.ADMIN.id);
    expect(await typename(remove(o.users.ADMIN.token, last))).toBe('ConflictError');
  });

  it('never leave it without an OWNER when two owners demote or remove each other at once', async () => {
    for (let round = 0; round < 4; round++) {
      const o = await t.createOrg();
      await withTwoOwners(o);
      const [first, second] = [await membershipOf(o, o.users.OWNER.id), await membershipOf(o, o.users.ADMIN.id)];
      const results = await Promise.all(
        round % 2 === 0
          ? [typename(changeRole(o.users.OWNER.token, second, 'ADMIN')), typename(changeRole(o.users.ADMIN.token, first, 'ADMIN'))]
          : [typename(remove(o.users.OWNER.token, second)), typename(remove(o.users.ADMIN.token, first))],
      );
      const owners = Object.values(await roles(o)).filter((r) => r === 'OWNER').length;
      expect(owners, `round ${round}: ${results.join(', ')}`).toBe(1);
      // The loser sees a ConflictError, or (if it authenticated after the winner committed) no longer has the right.
      expect(results.filter((x) => /Success$/.test(x)), `round ${round}: ${results.join(', ')}`).toHaveLength(1);
    }
  });
});

describe('updateOrganization', () => {
  const update = (token: string, input: Record<string, unknown>) =>
    mutate(t, token, 'updateOrganization', 'UpdateOrganizationInput', input, 'name timeZone maxConcurrentBackups');

  it('is for the OWNER only', async () => {
    for (const role of ['ADMIN', 'OPERATOR', 'AUDITOR', 'VIEWER'] as const) {
      expect(await typename(update(org.users[role].token, { name: 'Taken' })), role).toBe('ForbiddenError');
    }
    const r = await update(org.users.OWNER.token, { name: 'Supplier Ltd', timeZone: 'Europe/Paris', maxConcurrentBackups: 3 });
    expect(r.payload).toMatchObject({ data: { name: 'Supplier Ltd', timeZone: 'Europe/Paris', maxConcurrentBackups: 3 } });
    const audit = await su.query(`SELECT before->>'timeZone' AS before, after->>'timeZone' AS after FROM "AuditEvent" WHERE action = 'organization.update' AND "orgId" = $1`, [org.id]);
    expect(audit.rows).toEqual([{ before: 'UTC', after: 'Europe/Paris' }]);
  });

  it('accepts only IANA time zone names and sane limits', async () => {
    for (const timeZone of ['Mars/Olympus_Mons', '+05:00', '-0130', 'UTC+2', '', 'Europe/Paris; DROP TABLE']) {
      const r = await update(org.users.OWNER.token, { timeZone });
      expect(r.payload?.__typename, timeZone).toBe('ValidationError');
      expect(r.payload?.issues?.map((i) => i.path.join('.')), timeZone).toContain('input.timeZone');
    }
    for (const maxConcurrentBackups of [0, 51]) expect(await typename(update(org.users.OWNER.token, { maxConcurrentBackups }))).toBe('ValidationError');
    expect((await su.query(`SELECT "timeZone" FROM "Organization" WHERE id = $1`, [org.id])).rows[0].timeZone).toBe('Europe/Paris');
    expect((await update(org.users.OWNER.token, { timeZone: 'Etc/GMT+5' })).payload).toMatchObject({ data: { timeZone: 'Etc/GMT+5' } });
  });
});
