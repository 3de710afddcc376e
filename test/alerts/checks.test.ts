// Slack-compatible channels, the daily digest, the RPO check that raises and clears its alert,
// notices on success, and the alertUpdated subscription, with real workers and a real receiver.
import { print, parse } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem, withTenant } from '../../src/db/context';
import { checkRpo } from '../../src/domain/alerts/checks';
import { sendDailyDigests } from '../../src/domain/alerts/digest';
import { raiseAlert, resolveAlerts } from '../../src/domain/alerts/raise';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { queues } from '../../src/queue/queues';
import { startTestApp, type TestApp } from '../support/app';
import { startReceiver, type TestReceiver } from '../support/alert-peers';
import { poll } from '../support/backup-flow';
import { mutateOk } from '../support/foundation';
import { seedOrgObjects } from '../support/seed-objects';

let t: TestApp;
let receiver: TestReceiver;
let workers: Workers;

beforeAll(async () => {
  receiver = await startReceiver();
  t = await startTestApp({ NOTIFY_TIMEOUT_SECONDS: '1' });
  await t.services.boss.updateQueue(queues.alertDelivery.name, { retryDelay: 1, retryBackoff: false });
  workers = await startWorkers(t.services);
});

afterAll(async () => {
  await workers?.stop();
  await t?.stop();
  await receiver?.close();
});

const bodies = (p: string) => receiver.received.filter((r) => r.path === p).map((r) => JSON.parse(r.body) as Record<string, unknown>);

describe('a Slack-compatible channel', () => {
  it('gets readable blocks with the figures', async () => {
    const org = await t.createOrg();
    await mutateOk(t, org.users.ADMIN.token, 'createSlackChannel', 'CreateSlackChannelInput', { name: 'slack', url: `${receiver.url}/ok-slack` }, `secret channel { kind urlHint }`);
    await withTenant(t.services.db, org.id, (tx) => raiseAlert(tx, t.services.boss, { orgId: org.id, kind: 'RETENTION_DELETION_STUCK', resourceType: 'RecoveryPoint', message: 'stuck', figures: { failedCopies: 2 } }));
    const [msg] = await poll(async () => bodies('/ok-slack'), (b) => b.length === 1, () => 'nothing received');
    expect(msg!.text).toBe('[Keepsake] WARNING: Retention deletion stuck — RecoveryPoint');
    const blocks = msg!.blocks as Array<{ type: string; fields?: Array<{ text: string }> }>;
    expect(blocks[0]!.type).toBe('header');
    expect(blocks.flatMap((b) => b.fields ?? []).map((f) => f.text)).toContain('*failedCopies*\n2');
    expect(receiver.received.find((r) => r.path === '/ok-slack')!.headers['webhook-signature']).toBeUndefined();
  });
});

describe('standing conditions', () => {
  it('an RPO breach raises one alert while it lasts and resolves itself when a backup succeeds', async () => {
    const org = await t.createOrg();
    const ids = await seedOrgObjects(t, org);
    const strategyId = Buffer.from(ids.get('Strategy')![0]!, 'base64').toString().split(':')[1]!;
    await withSystem(t.services.db, 'test', (tx) => tx.strategy.update({ where: { id: strategyId }, data: { status: 'ACTIVE', rpoMinutes: 60, createdAt: new Date(Date.now() - 86_400_000) } }));
    // The seeded successful job finished now: not breached yet; three hours on, it is.
    const later = new Date(Date.now() + 3 * 3_600_000);
    expect(await checkRpo(t.services.db, t.services.boss)).toMatchObject({ raised: 0 });
    expect(await checkRpo(t.services.db, t.services.boss, later)).toMatchObject({ raised: 1 });
    expect(await checkRpo(t.services.db, t.services.boss, new Date(later.getTime() + 60_000))).toMatchObject({ raised: 0, resolved: 0 });
    const open = await withSystem(t.services.db, 'test', (tx) => tx.alert.findMany({ where: { orgId: org.id, kind: 'RPO_BREACHED' } }));
    expect(open.map((a) => [a.state, a.count])).toEqual([['OPEN', 1]]);
    // A success inside the window clears it on the next check.
    await withSystem(t.services.db, 'test', (tx) => tx.backupJob.create({ data: { orgId: org.id, strategyId, trigger: 'MANUAL', status: 'SUCCEEDED', finishedAt: later } }));
    expect(await checkRpo(t.services.db, t.services.boss, new Date(later.getTime() + 120_000))).toMatchObject({ resolved: 1 });
  });
});

describe('the daily digest', () => {
  it('summarises yesterday once a day, at the channel hour', async () => {
    const org = await t.createOrg();
    const ids = await seedOrgObjects(t, org);
    const strategyId = Buffer.from(ids.get('Strategy')![0]!, 'base64').toString().split(':')[1]!;
    const now = new Date('2030-06-02T09:30:00Z');
    await withSystem(t.services.db, 'test', async (tx) => {
      await tx.notificationChannel.deleteMany({ where: { orgId: org.id } });
      await tx.backupJob.create({ data: { orgId: org.id, strategyId, trigger: 'SCHEDULED', status: 'SUCCEEDED', finishedAt: new Date('2030-06-01T02:00:00Z') } });
      await tx.backupJob.create({ data: { orgId: org.id, strategyId, trigger: 'SCHEDULED', status: 'FAILED', error: 'disk on fire', finishedAt: new Date('2030-06-01T03:00:00Z') } });
    });
    await mutateOk(t, org.users.ADMIN.token, 'createWebhookChannel', 'CreateWebhookChannelInput', { name: 'digest', url: `${receiver.url}/ok-digest`, dailyDigest: true, digestHour: 9 }, `secret`);
    expect(await sendDailyDigests(t.services.db, t.services.boss, new Date('2030-06-02T08:59:00Z'))).toBe(0);
    expect(await sendDailyDigests(t.services.db, t.services.boss, now)).toBe(1);
    expect(await sendDailyDigests(t.services.db, t.services.boss, new Date(now.getTime() + 3_600_000))).toBe(0);
    const [msg] = await poll(async () => bodies('/ok-digest'), (b) => b.length === 1, () => 'no digest');
    expect(msg).toMatchObject({ type: 'digest.daily', digest: { date: '2030-06-01', succeeded: 1, failed: 1, failures: [{ error: 'disk on fire' }] } });
    expect((msg!.digest as { openAlerts: unknown[] }).openAlerts).toHaveLength(1); // the seeded alert
  });
});

describe('alertUpdated', () => {
  it('streams the organization alerts as they open, fold and resolve, and nothing of another organization', async () => {
    const org = await t.createOrg();
    const other = await t.createOrg();
    const client = createClient({ url: t.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${org.users.VIEWER.token}` }, lazy: false, retryAttempts: 0 });
    const seen: Array<{ state: string; count: number; kind: string }> = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe({ query: print(parse(`subscription { alertUpdated { state count kind } }`)) }, {
        next: (msg) => {
          const a = (msg.data as { alertUpdated?: { state: string; count: number; kind: string } } | undefined)?.alertUpdated;
          if (!a) return reject(new Error(JSON.stringify(msg.errors)));
          seen.push(a);
          if (a.state === 'RESOLVED') resolve();
        },
        error: reject,
        complete: () => undefined,
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    const raise = (orgId: string, kind: 'DESTINATION_UNREACHABLE' | 'MISSED_RUN' = 'DESTINATION_UNREACHABLE') =>
      withTenant(t.services.db, orgId, (tx) => raiseAlert(tx, t.services.boss, { orgId, kind, resourceType: 'Destination', message: 'down' }));
    await raise(other.id, 'MISSED_RUN');
    await raise(org.id);
    await raise(org.id);
    await withTenant(t.services.db, org.id, (tx) => resolveAlerts(tx, t.services.boss, { orgId: org.id, kinds: ['DESTINATION_UNREACHABLE'], by: 'test' }));
    await done;
    await client.dispose();
    // Events carry ids; the row is re-read for each, so an early event may already show the fold.
    expect(seen.every((a) => a.kind === 'DESTINATION_UNREACHABLE')).toBe(true);
    expect(seen.at(-1)).toEqual({ state: 'RESOLVED', count: 2, kind: 'DESTINATION_UNREACHABLE' });
    expect(seen.filter((a) => a.state === 'OPEN').length).toBeGreaterThanOrEqual(1);
  });
});
