// retentionPreview through the API: the plan's reasons in the organization's time zone, what blocks
// a deletion (lock, use), points being deleted, a strategy without a policy, and other orgs' ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../../src/db/context';
import { RetentionPreviewDocument, type RetentionPreviewQuery } from '../generated/graphql';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { DAY, globalId, insertPoints, payload, strategyFixture } from '../support/retention-fixtures';

let t: TestApp;
let org: TestOrg;
let other: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.createOrg();
  other = await t.createOrg();
  await withSystem(t.services.db, 'test-setup', (tx) => tx.organization.update({ where: { id: org.id }, data: { timeZone: 'Pacific/Auckland' } }));
});

afterAll(async () => {
  await t?.stop();
});

type Preview = Extract<RetentionPreviewQuery['retentionPreview'], { __typename: 'QueryRetentionPreviewSuccess' }>['data'];

async function preview(token: string, strategyUuid: string): Promise<Preview> {
  const r = await t.request(token, RetentionPreviewDocument, { strategyId: globalId('Strategy', strategyUuid) });
  return payload<{ __typename: string; data: Preview }>(r, 'retentionPreview', 'QueryRetentionPreviewSuccess').data;
}

/** The calendar day of `at` in Auckland, as the plan labels daily buckets. */
const aucklandDay = (at: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Pacific/Auckland', year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);

describe('retentionPreview', () => {
  it('lists every point with the rules that keep it or why it goes, in the org time zone', async () => {
    const f = await strategyFixture(t, org, { keepLast: 1, keepDaily: 2, maxAgeDays: 4 });
    const now = Date.now();
    const at = (days: number) => new Date(now - days * DAY);
    const [p1, p2, p3, p35, p5, p6] = await insertPoints(t, f, [
      { takenAt: at(1), expiresAt: new Date(at(1).getTime() + 4 * DAY) },
      { takenAt: at(2), expiresAt: new Date(at(2).getTime() + 4 * DAY) },
      { takenAt: at(3), expiresAt: new Date(at(3).getTime() + 4 * DAY), verifiedAt: at(2.5) },
      { takenAt: at(3.5), expiresAt: new Date(at(3.5).getTime() + 4 * DAY) },
      { takenAt: at(5), expiresAt: new Date(at(5).getTime() + 4 * DAY) },
      { takenAt: at(6), expiresAt: new Date(at(6).getTime() + 4 * DAY), legalHold: true },
    ]);
    const p = await preview(org.users.VIEWER.token, f.strategyId);
    expect(p.keepsEverything).toBe(false);
    expect(p.timeZone).toBe('Pacific/Auckland');
    expect(p.lockMode).toBe('NONE');
    expect(p.policy?.id).toBe(globalId('RetentionPolicy', f.policyId!));
    const byId = new Map(p.points.map((d) => [d.recoveryPoint.id, d]));
    const of = (x: { id: string }) => byId.get(globalId('RecoveryPoint', x.id))!;
    expect(p.points.map((d) => d.recoveryPoint.id)).toEqual([p1, p2, p3, p35, p5, p6].map((x) => globalId('RecoveryPoint', x!.id)));

    expect(of(p1!)).toMatchObject({ keep: true, reasons: ['last', `daily ${aucklandDay(at(1))}`, 'min-copies'], blockedBy: null });
    expect(of(p2!)).toMatchObject({ keep: true, reasons: [`daily ${aucklandDay(at(2))}`] });
    expect(of(p3!)).toMatchObject({ keep: true, reasons: ['newest-verified'] });
    expect(of(p35!)).toMatchObject({ keep: false, reasons: ['no-rule'], blockedBy: null });
    expect(of(p5!)).toMatchObject({ keep: false, reasons: ['max-age'], blockedBy: null });
    expect(of(p6!)).toMatchObject({ keep: true, reasons: ['legal-hold'] });
    expect(p.keepCount).toBe(4);
    expect(p.deleteCount).toBe(2);
    expect(p.summary).toMatch(/keeps 4 of 6 points; 2 would be deleted now/);
  });

  it("shows what the lock and running restores block, and points already being deleted", async () => {
    const locked = await t.createOrg();
    const f = await strategyFixture(t, locked, { keepLast: 1 });
    const now = Date.now();
    const [, unexpired, expired, restoring, going] = await insertPoints(t, f, [
      { takenAt: new Date(now - 1 * DAY), expiresAt: new Date(now + 9 * DAY) },
      { takenAt: new Date(now - 2 * DAY), expiresAt: new Date(now + 8 * DAY) },
      { takenAt: new Date(now - 3 * DAY), expiresAt: new Date(now - DAY) },
      { takenAt: new Date(now - 4 * DAY), expiresAt: null },
      { takenAt: new Date(now - 5 * DAY), expiresAt: null },
    ]);
    await withSystem(t.services.db, 'test-setup', async (tx) => {
      await tx.organization.update({ where: { id: locked.id }, data: { lockMode: 'GOVERNANCE' } });
      await tx.recoveryJob.create({ data: { orgId: locked.id, recoveryPointId: restoring!.id, targetKind: 'DIRECTORY', targetPath: '/tmp/x', status: 'RUNNING' } });
      await tx.recoveryPoint.update({ where: { id: going!.id }, data: { deletingSince: new Date() } });
    });
    const p = await preview(locked.users.OPERATOR.token, f.strategyId);
    expect(p.lockMode).toBe('GOVERNANCE');
    const of = (x: { id: string }) => p.points.find((d) => d.recoveryPoint.id === globalId('RecoveryPoint', x.id))!;
    expect(of(unexpired!)).toMatchObject({ keep: false, reasons: ['no-rule'] });
    expect(of(unexpired!).blockedBy).toMatch(/^governance-lock until /);
    expect(of(expired!)).toMatchObject({ keep: false, blockedBy: null });
    // No expiry date under a lock: kept until a maxAgeDays gives it one.
    expect(of(restoring!).blockedBy).toBe('governance-lock (no expiry date)');
    expect(of(going!)).toMatchObject({ keep: false, reasons: ['being deleted'], blockedBy: null });
    expect(p.deleteCount).toBe(1);

    // Without the lock, the running restore is what blocks that point.
    await withSystem(t.services.db, 'test-setup', (tx) => tx.organization.update({ where: { id: locked.id }, data: { lockMode: 'NONE' } }));
    const unlocked = await preview(locked.users.OPERATOR.token, f.strategyId);
    expect(unlocked.points.find((d) => d.recoveryPoint.id === globalId('RecoveryPoint', restoring!.id))!.blockedBy).toBe('in use by a restore or verification');
    expect(unlocked.deleteCount).toBe(2);
  });

  it('keeps everything for a strategy without a policy, and says so', async () => {
    const f = await strategyFixture(t, org, null);
    await insertPoints(t, f, [{ takenAt: new Date(Date.now() - 400 * DAY) }, { takenAt: new Date(Date.now() - DAY) }]);
    const p = await preview(org.users.ADMIN.token, f.strategyId);
    expect(p.keepsEverything).toBe(true);
    expect(p.policy).toBeNull();
    expect(p.summary).toMatch(/no retention policy: all 2 points are kept/);
    expect(p.points.map((d) => [d.keep, d.reasons])).toEqual([[true, ['no-policy']], [true, ['no-policy']]]);
    expect(p.deleteCount).toBe(0);
  });

  it("answers not-found for another organization's strategy and for ids of another type", async () => {
    const f = await strategyFixture(t, org, { keepLast: 1 });
    const foreign = await t.request(other.users.OWNER.token, RetentionPreviewDocument, { strategyId: globalId('Strategy', f.strategyId) });
    expect(payload(foreign, 'retentionPreview', 'NotFoundError')).toMatchObject({ message: 'Strategy not found' });
    const wrongType = await t.request(org.users.OWNER.token, RetentionPreviewDocument, { strategyId: globalId('Source', f.strategyId) });
    payload(wrongType, 'retentionPreview', 'NotFoundError');
    const malformed = await t.request(org.users.OWNER.token, RetentionPreviewDocument, { strategyId: 'nope' });
    payload(malformed, 'retentionPreview', 'ValidationError');
  });
});
