// The quick start's demo: on first start the demo organization gets a sample database, a source,
// a retention policy and a nightly strategy to the local disk, built through the same services
// as the API. Triggering that strategy, as the printed hint says, makes a real backup, and the
// point restores into a new database with the same rows.
import { randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureDemoShopDatabase } from '../../src/db/demo-shop';
import { ensureDemoOrganization } from '../../src/db/seed';
import { DEMO_STRATEGY_NAME, ensureDemoProtection } from '../../src/domain/organization/demo';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { RestoreRecoveryPointDocument } from '../generated/graphql';
import { startTestApp, type TestApp } from '../support/app';
import { FINAL, ok, poll } from '../support/backup-flow';
import { tokenFor } from '../support/foundation';
import { queryOnce } from '../support/db';

let t: TestApp;
let workers: Workers;
const shopName = `demo_shop_${randomBytes(4).toString('hex')}`;
const restoredName = `${shopName}_restored`;
const adminUrl = () => inject('adminUrl');

const admin = (sql: string) => queryOnce(adminUrl(), sql);

beforeAll(async () => {
  t = await startTestApp();
  workers = await startWorkers(t.services);
});

afterAll(async () => {
  await workers?.stop();
  await t?.stop();
  for (const name of [shopName, restoredName]) await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
});

describe('the demo organization', () => {
  it('protects a sample database out of the box: the demo strategy backs it up and the point restores', async () => {
    const demo = await ensureDemoOrganization(t.services.db);
    const shopUrl = await ensureDemoShopDatabase(adminUrl(), shopName);
    expect(await ensureDemoShopDatabase(adminUrl(), shopName)).toBe(shopUrl); // idempotent
    const strategyId = await ensureDemoProtection(t.services.db, t.services.masterKey, demo.orgId, shopUrl, { create: true });
    expect(strategyId).not.toBeNull();
    expect(await ensureDemoProtection(t.services.db, t.services.masterKey, demo.orgId, shopUrl, { create: true })).toBe(strategyId);

    const token = await tokenFor(t, demo.userId, demo.orgId);
    const strategies = await t.gql<{ strategies: { edges: Array<{ node: { name: string; nextRunAt: string | null; retentionPolicy: { name: string } | null } }> } }>(
      token, `{ strategies(first: 5) { edges { node { name nextRunAt retentionPolicy { name } } } } }`,
    );
    expect(strategies.data!.strategies.edges.map((e) => e.node)).toMatchObject([{ name: DEMO_STRATEGY_NAME, nextRunAt: expect.any(String), retentionPolicy: { name: expect.any(String) } }]);

    // What the printed hint does.
    const triggered = await t.gql<{ triggerBackup: { data: { id: string } } }>(token, `mutation($id: ID!) { triggerBackup(input: { strategyId: $id }) { ... on MutationTriggerBackupSuccess { data { id } } } }`, { id: encodeGlobalID('Strategy', strategyId!) });
    const jobId = triggered.data!.triggerBackup.data.id;
    const job = await poll(
      async () => (await t.gql<{ node: { status: string; error: string | null; recoveryPoint: { id: string } | null } }>(token, `query($id: ID!) { node(id: $id) { ... on BackupJob { status error recoveryPoint { id } } } }`, { id: jobId })).data!.node,
      (j) => FINAL.includes(j.status), (j) => `demo backup stayed ${j.status}`,
    );
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');

    const target = new URL(shopUrl);
    target.pathname = `/${restoredName}`;
    const restore = await ok(t.request(token, RestoreRecoveryPointDocument, { input: { recoveryPointId: job.recoveryPoint!.id, targetKind: 'NEW_DATABASE', connectionUrl: target.toString() } }), 'restoreRecoveryPoint');
    const restored = await poll(
      async () => (await t.gql<{ node: { status: string; error: string | null } }>(token, `query($id: ID!) { node(id: $id) { ... on RecoveryJob { status error } } }`, { id: restore.data!.id })).data!.node,
      (j) => FINAL.includes(j.status), (j) => `demo restore stayed ${j.status}`,
    );
    expect(restored.status, restored.error ?? '').toBe('SUCCEEDED');
    const count = async (url: string) =>
      (await queryOnce(url, `SELECT (SELECT count(*) FROM crm.customers)::int AS customers, (SELECT count(*) FROM public.orders)::int AS orders`)).rows[0];
    expect(await count(target.toString())).toEqual({ customers: 1000, orders: 5000 });
    expect(await count(shopUrl)).toEqual({ customers: 1000, orders: 5000 });
  });
});
