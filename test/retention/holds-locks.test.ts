// Legal hold and the organization lock through the API and the retention sweep: what each role may
// delete, the governance override, compliance after and during its grace period.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../../src/db/context';
import { sweepRetention } from '../../src/domain/retention/sweep';
import {
  DeleteRecoveryPointDocument, ReleaseLegalHoldDocument, SetLegalHoldDocument, SetOrganizationLockDocument, UpdateRetentionPolicyDocument,
  UpdateStrategyPolicyDocument, type DeleteRecoveryPointInput,
} from '../generated/graphql';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { auditEvents, DAY, env, globalId, insertPoints, payload, pointExists, strategyFixture } from '../support/retention-fixtures';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t?.stop();
});

const pid = (id: string) => globalId('RecoveryPoint', id);

async function del(token: string, input: DeleteRecoveryPointInput) {
  return t.request(token, DeleteRecoveryPointDocument, { input });
}

async function lock(org: TestOrg, mode: 'NONE' | 'GOVERNANCE' | 'COMPLIANCE', graceDays?: number, token = org.users.OWNER.token) {
  return t.request(token, SetOrganizationLockDocument, { input: { mode, graceDays } });
}

describe('legal hold', () => {
  it('keeps a point from retention and from manual deletion until it is released, with the reason audited', async () => {
    const org = await t.createOrg();
    const f = await strategyFixture(t, org, { keepLast: 1 });
    const [, held] = await insertPoints(t, f, [{ takenAt: new Date(Date.now() - DAY) }, { takenAt: new Date(Date.now() - 2 * DAY) }]);

    payload(await t.request(org.users.OPERATOR.token, SetLegalHoldDocument, { input: { recoveryPointId: pid(held!.id), reason: 'case 42' } }), 'setLegalHold', 'ForbiddenError');
    const set = payload<{ data: { legalHold: boolean; legalHoldReason: string } }>(
      await t.request(org.users.ADMIN.token, SetLegalHoldDocument, { input: { recoveryPointId: pid(held!.id), reason: '  case 42: Smith v. Venue ' } }),
      'setLegalHold', 'MutationSetLegalHoldSuccess',
    );
    expect(set.data).toMatchObject({ legalHold: true, legalHoldReason: 'case 42: Smith v. Venue' });
    expect((await auditEvents(t, org.id, 'recoveryPoint.legalHold'))[0]!.after).toMatchObject({ legalHold: true, legalHoldReason: 'case 42: Smith v. Venue' });

    const swept = await sweepRetention(t.services.db, env(t), { orgId: org.id });
    expect(swept).toMatchObject({ expired: 0, purged: 0 });
    expect(await pointExists(t, held!.id)).toBe(true);
    expect(await f.local.exists(held!.key)).toBe(true);

    const refused = payload<{ message: string }>(await del(org.users.OWNER.token, { id: pid(held!.id), override: true }), 'deleteRecoveryPoint', 'ConflictError');
    expect(refused.message).toMatch(/legal hold \(case 42: Smith v\. Venue\)/);

    const released = payload<{ data: { legalHold: boolean } }>(
      await t.request(org.users.ADMIN.token, ReleaseLegalHoldDocument, { input: { recoveryPointId: pid(held!.id) } }), 'releaseLegalHold', 'MutationReleaseLegalHoldSuccess',
    );
    expect(released.data.legalHold).toBe(false);
    expect((await auditEvents(t, org.id, 'recoveryPoint.releaseLegalHold'))[0]!.before).toMatchObject({ legalHoldReason: 'case 42: Smith v. Venue' });

    const deleted = payload<{ data: { completed: boolean; deletedArtifacts: number } }>(await del(org.users.ADMIN.token, { id: pid(held!.id) }), 'deleteRecoveryPoint', 'MutationDeleteRecoveryPointSuccess');
    expect(deleted.data).toMatchObject({ completed: true, deletedArtifacts: 1 });
    expect(await pointExists(t, held!.id)).toBe(false);
    expect(await f.local.exists(held!.key)).toBe(false);
    expect(await f.local.exists(held!.manifestKey)).toBe(false);
    const [decision] = await auditEvents(t, org.id, 'recoveryPoint.delete');
    expect(decision).toMatchObject({ actorType: 'USER', resourceId: held!.id, after: expect.objectContaining({ override: false }) });
    expect((decision!.before as { copies: unknown[] }).copies).toEqual([expect.objectContaining({ destinationId: f.destinationId, key: held!.key })]);
    expect(await auditEvents(t, org.id, 'recoveryPoint.purge')).toHaveLength(1);
  });

  it('cannot be set on a point that is already being deleted', async () => {
    const org = await t.createOrg();
    const f = await strategyFixture(t, org, null);
    const [p] = await insertPoints(t, f, [{ takenAt: new Date() }]);
    await withSystem(t.services.db, 'test-setup', (tx) => tx.recoveryPoint.update({ where: { id: p!.id }, data: { deletingSince: new Date() } }));
    const r = payload<{ message: string }>(await t.request(org.users.ADMIN.token, SetLegalHoldDocument, { input: { recoveryPointId: pid(p!.id), reason: 'late' } }), 'setLegalHold', 'ConflictError');
    expect(r.message).toMatch(/being deleted/);
  });
});

describe('governance lock', () => {
  it('lets only an owner with override delete a point before it expires, and retention only expired points', async () => {
    const org = await t.createOrg();
    payload(await lock(org, 'GOVERNANCE', undefined, org.users.ADMIN.token), 'setOrganizationLock', 'ForbiddenError');
    const set = payload<{ data: { lockMode: string; lockGraceUntil: string | null } }>(await lock(org, 'GOVERNANCE'), 'setOrganizationLock', 'MutationSetOrganizationLockSuccess');
    expect(set.data).toMatchObject({ lockMode: 'GOVERNANCE', lockGraceUntil: null });

    const f = await strategyFixture(t, org, { keepLast: 1 });
    const now = Date.now();
    const [, young, old, early] = await insertPoints(t, f, [
      { takenAt: new Date(now - DAY), expiresAt: new Date(now + 29 * DAY) },
      { takenAt: new Date(now - 2 * DAY), expiresAt: new Date(now + 28 * DAY) },
      { takenAt: new Date(now - 40 * DAY), expiresAt: new Date(now - 10 * DAY) },
      { takenAt: new Date(now - 3 * DAY), expiresAt: new Date(now + 27 * DAY) },
    ]);

    const swept = await sweepRetention(t.services.db, env(t), { orgId: org.id });
    expect(swept).toMatchObject({ expired: 1, purged: 1, blocked: 2 });
    expect(await pointExists(t, old!.id)).toBe(false);
    expect(await pointExists(t, young!.id)).toBe(true);

    expect(payload<{ message: string }>(await del(org.users.ADMIN.token, { id: pid(early!.id) }), 'deleteRecoveryPoint', 'ForbiddenError').message).toMatch(/governance lock.*override/);
    expect(payload<{ message: string }>(await del(org.users.ADMIN.token, { id: pid(early!.id), override: true }), 'deleteRecoveryPoint', 'ForbiddenError').message).toMatch(/Only an owner/);
    expect(payload<{ message: string }>(await del(org.users.OWNER.token, { id: pid(early!.id) }), 'deleteRecoveryPoint', 'ForbiddenError').message).toMatch(/override: true/);
    expect(await pointExists(t, early!.id)).toBe(true);

    const ok = payload<{ data: { completed: boolean } }>(await del(org.users.OWNER.token, { id: pid(early!.id), override: true }), 'deleteRecoveryPoint', 'MutationDeleteRecoveryPointSuccess');
    expect(ok.data.completed).toBe(true);
    expect(await f.local.exists(early!.key)).toBe(false);
    const [decision] = await auditEvents(t, org.id, 'recoveryPoint.delete');
    expect(decision!.after).toMatchObject({ override: true, lockMode: 'GOVERNANCE' });
    expect(decision!.actorId).toBe(org.users.OWNER.id);
  });

  it('allows policy changes but never moves an expiry date earlier; without a lock the dates follow the policy', async () => {
    const org = await t.createOrg();
    const f = await strategyFixture(t, org, { keepLast: 5, maxAgeDays: 30 });
    const takenAt = new Date(Date.now() - DAY);
    const [p] = await insertPoints(t, f, [{ takenAt, expiresAt: new Date(takenAt.getTime() + 30 * DAY) }]);
    const expiry = async () => (await withSystem(t.services.db, 'test-check', (tx) => tx.recoveryPoint.findUniqueOrThrow({ where: { id: p!.id } }))).expiresAt!.getTime();
    const update = (maxAgeDays: number) => t.request(org.users.ADMIN.token, UpdateRetentionPolicyDocument, { input: { id: globalId('RetentionPolicy', f.policyId!), maxAgeDays } });

    payload(await update(10), 'updateRetentionPolicy', 'MutationUpdateRetentionPolicySuccess');
    expect(await expiry()).toBe(takenAt.getTime() + 10 * DAY);
    payload(await lock(org, 'GOVERNANCE'), 'setOrganizationLock', 'MutationSetOrganizationLockSuccess');
    payload(await update(60), 'updateRetentionPolicy', 'MutationUpdateRetentionPolicySuccess');
    expect(await expiry()).toBe(takenAt.getTime() + 60 * DAY);
    payload(await update(5), 'updateRetentionPolicy', 'MutationUpdateRetentionPolicySuccess');
    expect(await expiry()).toBe(takenAt.getTime() + 60 * DAY);
  });
});

describe('compliance lock', () => {
  it('after the grace period: nobody deletes early, retention cannot be shortened and the lock cannot be lowered', async () => {
    const org = await t.createOrg();
    const f = await strategyFixture(t, org, { keepLast: 5, maxAgeDays: 30 });
    const now = Date.now();
    const [locked, expired] = await insertPoints(t, f, [
      { takenAt: new Date(now - DAY), expiresAt: new Date(now + 29 * DAY) },
      { takenAt: new Date(now - 40 * DAY), expiresAt: new Date(now - 10 * DAY) },
    ]);
    // graceDays 0: in force at once (as if the grace period had passed).
    const set = payload<{ data: { lockProtection: string } }>(await lock(org, 'COMPLIANCE', 0), 'setOrganizationLock', 'MutationSetOrganizationLockSuccess');
    expect(set.data.lockProtection).toBe('COMPLIANCE');

    expect(payload<{ message: string }>(await del(org.users.OWNER.token, { id: pid(locked!.id), override: true }), 'deleteRecoveryPoint', 'ForbiddenError').message).toMatch(/compliance lock.*nobody can override/);
    expect(await pointExists(t, locked!.id)).toBe(true);
    payload(await del(org.users.ADMIN.token, { id: pid(expired!.id) }), 'deleteRecoveryPoint', 'MutationDeleteRecoveryPointSuccess');
    expect(await pointExists(t, expired!.id)).toBe(false);

    const policyId = globalId('RetentionPolicy', f.policyId!);
    const shorter = payload<{ message: string }>(await t.request(org.users.OWNER.token, UpdateRetentionPolicyDocument, { input: { id: policyId, keepLast: 2 } }), 'updateRetentionPolicy', 'ConflictError');
    expect(shorter.message).toMatch(/compliance lock forbids shortening retention.*keepLast 5 → 2/);
    payload(await t.request(org.users.OWNER.token, UpdateRetentionPolicyDocument, { input: { id: policyId, maxAgeDays: 10 } }), 'updateRetentionPolicy', 'ConflictError');
    const longer = payload<{ data: { keepLast: number; maxAgeDays: number } }>(
      await t.request(org.users.ADMIN.token, UpdateRetentionPolicyDocument, { input: { id: policyId, keepLast: 7, maxAgeDays: 45 } }), 'updateRetentionPolicy', 'MutationUpdateRetentionPolicySuccess',
    );
    expect(longer.data).toMatchObject({ keepLast: 7, maxAgeDays: 45 });

    const detach = payload<{ message: string }>(
      await t.request(org.users.OWNER.token, UpdateStrategyPolicyDocument, { id: globalId('Strategy', f.strategyId), retentionPolicyId: null }), 'updateStrategy', 'ConflictError',
    );
    expect(detach.message).toMatch(/removes the retention policy/);

    for (const mode of ['NONE', 'GOVERNANCE'] as const) {
      expect(payload<{ message: string }>(await lock(org, mode), 'setOrganizationLock', 'ConflictError').message).toMatch(/can no longer be lowered/);
    }
    payload(await lock(org, 'COMPLIANCE', 5), 'setOrganizationLock', 'ConflictError');
    const row = await withSystem(t.services.db, 'test-check', (tx) => tx.organization.findUniqueOrThrow({ where: { id: org.id } }));
    expect(row.lockMode).toBe('COMPLIANCE');
    expect(await auditEvents(t, org.id, 'organization.lock')).toHaveLength(1);
  });

  it('during the grace period protects like governance and can still be undone', async () => {
    const org = await t.createOrg();
    const f = await strategyFixture(t, org, { keepLast: 5, maxAgeDays: 30 });
    const [p] = await insertPoints(t, f, [{ takenAt: new Date(Date.now() - DAY), expiresAt: new Date(Date.now() + 29 * DAY) }]);
    const set = payload<{ data: { lockMode: string; lockProtection: string; lockGraceUntil: string } }>(await lock(org, 'COMPLIANCE', 2), 'setOrganizationLock', 'MutationSetOrganizationLockSuccess');
    expect(set.data).toMatchObject({ lockMode: 'COMPLIANCE', lockProtection: 'GOVERNANCE' });
    expect(Math.abs(new Date(set.data.lockGraceUntil).getTime() - (Date.now() + 2 * DAY))).toBeLessThan(60_000);

    payload(await del(org.users.ADMIN.token, { id: pid(p!.id) }), 'deleteRecoveryPoint', 'ForbiddenError');
    payload(await t.request(org.users.ADMIN.token, UpdateRetentionPolicyDocument, { input: { id: globalId('RetentionPolicy', f.policyId!), keepLast: 1 } }), 'updateRetentionPolicy', 'MutationUpdateRetentionPolicySuccess');
    payload(await t.request(org.users.ADMIN.token, UpdateStrategyPolicyDocument, { id: globalId('Strategy', f.strategyId), retentionPolicyId: null }), 'updateStrategy', 'MutationUpdateStrategySuccess');

    const undone = payload<{ data: { lockMode: string; lockGraceUntil: string | null } }>(await lock(org, 'NONE'), 'setOrganizationLock', 'MutationSetOrganizationLockSuccess');
    expect(undone.data).toMatchObject({ lockMode: 'NONE', lockGraceUntil: null });
    const events = await auditEvents(t, org.id, 'organization.lock');
    expect(events.map((e) => (e.after as { lockMode: string; lowered: boolean }))).toEqual([
      expect.objectContaining({ lockMode: 'COMPLIANCE', lowered: false }), expect.objectContaining({ lockMode: 'NONE', lowered: true }),
    ]);
    payload(await del(org.users.ADMIN.token, { id: pid(p!.id) }), 'deleteRecoveryPoint', 'MutationDeleteRecoveryPointSuccess');
  });
});
