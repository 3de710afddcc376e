// Alerts end to end with real peers: a real SMTP server (messages parsed with mailparser), a real
// HTTP receiver verifying Standard Webhooks signatures with the library's verifier, real workers
// and real backups. Failure paths: 500 then 200, a receiver that hangs, an address the outbound
// policy refuses, SMTP down until the dead letter.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { withSystem, withTenant } from '../../src/db/context';
import { configureOutbound, DEFAULT_OUTBOUND_DENY, OutboundPolicy } from '../../src/backup/outbound';
import { raiseAlert } from '../../src/domain/alerts/raise';
import { escalateDueAlerts } from '../../src/domain/alerts/escalation';
import { runDelivery } from '../../src/domain/alerts/deliver';
import { deliveryDeps } from '../../src/domain/alerts/deps';
import { AlertPayloadSchema } from '../../src/domain/alerts/payload';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { queues } from '../../src/queue/queues';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { startReceiver, startSmtp, type TestReceiver, type TestSmtp } from '../support/alert-peers';
import { backupFlow, poll } from '../support/backup-flow';
import { tempDir } from '../support/backups';
import { mutate, mutateOk, rawId } from '../support/foundation';

let t: TestApp;
let smtp: TestSmtp;
let receiver: TestReceiver;
let workers: Workers;
let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  tmp = await tempDir('alerts');
  smtp = await startSmtp();
  receiver = await startReceiver();
  t = await startTestApp({ SMTP_URL: smtp.url, SMTP_FROM: 'Keepsake <alerts@keepsake.test>', NOTIFY_TIMEOUT_SECONDS: '1', PUBLIC_URL: 'https://keepsake.example' });
  // Fast retries; the counts stay as configured except where a test says otherwise.
  await t.services.boss.updateQueue(queues.alertDelivery.name, { retryDelay: 1, retryBackoff: false });
  await t.services.boss.updateQueue(queues.backup.name, { retryDelay: 1, retryBackoff: false, retryLimit: 0 });
  workers = await startWorkers(t.services);
});

afterAll(async () => {
  await workers?.stop();
  await t?.stop();
  await receiver?.close();
  await smtp?.close();
  await tmp?.cleanup();
});

const CHANNEL = `id name kind urlHint hasSecret`;

async function webhookChannel(org: TestOrg, name: string, pathName: string) {
  const data = await mutateOk(t, org.users.ADMIN.token, 'createWebhookChannel', 'CreateWebhookChannelInput', { name, url: `${receiver.url}${pathName}` }, `secret channel { ${CHANNEL} }`);
  const secret = data.secret as string;
  receiver.secrets.set(pathName, secret);
  return { id: (data.channel as { id: string }).id, secret };
}

interface DeliveryRow { id: string; status: string; eventType: string; attempts: number; lastStatusCode: number | null; lastError: string | null; recipient: string; attemptLog: Array<{ attempt: number; statusCode: number | null; error: string | null }> }

async function deliveries(org: TestOrg, channelId?: string): Promise<DeliveryRow[]> {
  const r = await t.gql<{ deliveries: { edges: Array<{ node: DeliveryRow }> } }>(org.users.VIEWER.token,
    `query($c: ID) { deliveries(first: 100, channelId: $c) { edges { node { id status eventType attempts lastStatusCode lastError recipient attemptLog { attempt statusCode error } } } } }`, { c: channelId ?? null });
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data!.deliveries.edges.map((e) => e.node);
}

const settled = (rows: DeliveryRow[]) => rows.length > 0 && rows.every((d) => d.status === 'DELIVERED' || d.status === 'DEAD');

async function raise(org: TestOrg, extra: Partial<Parameters<typeof raiseAlert>[2]> = {}) {
  return withTenant(t.services.db, org.id, (tx) =>
    raiseAlert(tx, t.services.boss, { orgId: org.id, kind: 'DESTINATION_UNREACHABLE', resourceType: 'Destination', resourceId: null, message: 'the bucket does not answer', figures: { destination: 'offsite' }, ...extra }),
  );
}

describe('webhook channels', () => {
  it('sign with Standard Webhooks: the library verifier accepts the message and rejects a tampered body; the secret is shown once', async () => {
    const org = await t.createOrg();
    const { id, secret } = await webhookChannel(org, 'receiver', '/ok-signed');
    expect(secret).toMatch(/^whsec_/);
    const listed = await t.gql(org.users.ADMIN.token, `{ notificationChannels(first: 5) { edges { node { ${CHANNEL} } } } }`);
    expect(JSON.stringify(listed.data)).not.toContain(secret);
    expect(JSON.stringify(listed.data)).not.toContain('/ok-signed');

    const test = await mutateOk(t, org.users.ADMIN.token, 'testChannel', 'TestChannelInput', { channelId: id }, `ok statusCode error delivery { status attemptLog { statusCode } }`);
    expect(test).toMatchObject({ ok: true, statusCode: 204, error: null, delivery: { status: 'DELIVERED', attemptLog: [{ statusCode: 204 }] } });
    const got = receiver.received.filter((r) => r.path === '/ok-signed');
    expect(got).toHaveLength(1);
    const verifier = new Webhook(secret);
    const parsed = AlertPayloadSchema.parse(verifier.verify(got[0]!.body, got[0]!.headers));
    expect(parsed).toMatchObject({ type: 'test', organization: { id: org.id }, id: got[0]!.headers['webhook-id'] });
    expect(parsed.link).toMatch(/^https:\/\/keepsake\.example\//);
    const tampered = got[0]!.body.replace('"test"', '"alert.opened"');
    expect(() => verifier.verify(tampered, got[0]!.headers)).toThrow(/signature/i);

    // Rotation: both secrets sign during the overlap, so a receiver still on the old one accepts.
    const rotated = await mutateOk(t, org.users.ADMIN.token, 'rotateChannelSecret', 'RotateChannelSecretInput', { channelId: id, overlapHours: 1 }, `secret channel { previousSecretExpiresAt }`);
    expect(rotated.secret).not.toBe(secret);
    await mutateOk(t, org.users.ADMIN.token, 'testChannel', 'TestChannelInput', { channelId: id }, `ok`);
    const second = receiver.received.filter((r) => r.path === '/ok-signed')[1]!;
    expect(() => new Webhook(secret).verify(second.body, second.headers)).not.toThrow();
    expect(() => new Webhook(rotated.secret as string).verify(second.body, second.headers)).not.toThrow();
    expect(second.headers['webhook-signature']!.split(' ')).toHaveLength(2);
  });

  it('refuses a metadata address at input, and a name that resolves to a denied address at delivery (never retried)', async () => {
    const org = await t.createOrg();
    const refused = await mutate(t, org.users.ADMIN.token, 'createWebhookChannel', 'CreateWebhookChannelInput', { name: 'meta', url: 'http://169.254.169.254/latest/meta-data' }, `secret`);
    expect(refused.payload).toMatchObject({ __typename: 'ValidationError', issues: [{ path: ['input', 'url'] }] });
    const port = new URL(receiver.url).port;
    await mutateOk(t, org.users.ADMIN.token, 'createWebhookChannel', 'CreateWebhookChannelInput', { name: 'by-name', url: `http://localhost:${port}/ok-denied` }, `secret`);
    configureOutbound(new OutboundPolicy({ deny: [...DEFAULT_OUTBOUND_DENY, '127.0.0.0/8', '::1/128'] }));
    try {
      await raise(org);
      const [d] = await poll(() => deliveries(org), settled, (v) => JSON.stringify(v));
      expect(d).toMatchObject({ status: 'DEAD', attempts: 1, lastStatusCode: null });
      expect(d!.lastError).toMatch(/not an allowed address/);
    } finally {
      configureOutbound(new OutboundPolicy(t.config.outbound));
    }
    expect(receiver.received.filter((r) => r.path === '/ok-denied')).toHaveLength(0);
  });

  it('retries a receiver that answers 500, delivers once, and never sends a delivered event again', async () => {
    const org = await t.createOrg();
    await webhookChannel(org, 'flaky', '/flaky-1');
    await raise(org);
    const [d] = await poll(() => deliveries(org), settled, (v) => JSON.stringify(v));
    expect(d).toMatchObject({ status: 'DELIVERED', attempts: 2, lastStatusCode: 204 });
    expect(d!.attemptLog.map((a) => a.statusCode)).toEqual([500, 204]);
    const got = receiver.received.filter((r) => r.path === '/flaky-1');
    expect(got.map((r) => r.answered)).toEqual([500, 204]);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    // A duplicate queue job for it (a retry racing a late 2xx) sends nothing.
    expect(await runDelivery(deliveryDeps(t.services), { deliveryId: rawId(d!.id), orgId: org.id, attempt: 9 })).toEqual({ status: 'SKIPPED' });
    expect(receiver.received.filter((r) => r.path === '/flaky-1')).toHaveLength(2);
  });

  it('gives up on a receiver that hangs after the timeout and retries it', async () => {
    const org = await t.createOrg();
    await webhookChannel(org, 'slow', '/hang-1');
    await raise(org);
    const [d] = await poll(() => deliveries(org), settled, (v) => JSON.stringify(v));
    expect(d).toMatchObject({ status: 'DELIVERED', attempts: 2 });
    expect(d!.attemptLog[0]).toMatchObject({ statusCode: null, error: expect.stringMatching(/no answer within 1 s/) });
    expect(d!.attemptLog[1]).toMatchObject({ statusCode: 204 });
  });
});

describe('a failing backup, end to end', () => {
  it('raises one alert, one delivery per matching channel, folds repeats, escalates when unacknowledged, and resolves after the next success', async () => {
    const org = await t.createOrg();
    const flow = backupFlow(t, org);
    const dir = path.join(tmp.dir, 'wedding-photos');
    await mkdir(dir, { recursive: true });
    const sourceId = await flow.directorySource('photos', dir);
    const strategyId = await flow.strategy('photos nightly', sourceId, [await flow.localDestination('disk')], { critical: true });
    const hook = await webhookChannel(org, 'ops hook', '/ok-e2e');
    await mutateOk(t, org.users.ADMIN.token, 'createEmailChannel', 'CreateEmailChannelInput', { name: 'ops mail', emailTo: ['ops@supplier.test', 'owner@supplier.test'] }, `id`);
    // A channel whose rule does not match (another kind only) gets nothing.
    const other = await webhookChannel(org, 'rpo only', '/ok-rpo-only');
    await mutateOk(t, org.users.ADMIN.token, 'createAlertRule', 'CreateAlertRuleInput', { channelId: other.id, kinds: ['RPO_BREACHED'] }, `id`);
    await mutateOk(t, org.users.ADMIN.token, 'createEmergencyContact', 'CreateEmergencyContactInput', { name: 'Night owl', email: 'oncall@supplier.test', afterMinutes: 10 }, `id`);

    await rm(dir, { recursive: true });
    const failed = await flow.waitFor(await flow.trigger(strategyId), (j) => j.status === 'FAILED' || j.status === 'SUCCEEDED');
    expect(failed.status).toBe('FAILED');

    type AlertRow = { id: string; kind: string; severity: string; state: string; count: number; details: Record<string, unknown>; escalationStep: number; nextEscalationAt: string | null };
    const alerts = async () => (await t.gql<{ alerts: { edges: Array<{ node: AlertRow }> } }>(org.users.VIEWER.token,
      `{ alerts(first: 10) { edges { node { id kind severity state count details escalationStep nextEscalationAt } } } }`)).data!.alerts.edges.map((e) => e.node);
    const [alert] = await alerts();
    expect(alert).toMatchObject({ kind: 'BACKUP_FAILED', severity: 'CRITICAL', state: 'OPEN', count: 1, details: { errorCode: failed.errorCode } });
    expect(await alerts()).toHaveLength(1);

    const opened = await poll(() => deliveries(org), (rows) => rows.length === 2 && settled(rows), (v) => JSON.stringify(v));
    expect(opened.map((d) => [d.eventType, d.status]).sort()).toEqual([['alert.opened', 'DELIVERED'], ['alert.opened', 'DELIVERED']]);
    expect(receiver.received.filter((r) => r.path === '/ok-rpo-only')).toHaveLength(0);
    const hookMsg = receiver.received.filter((r) => r.path === '/ok-e2e');
    expect(hookMsg.map((r) => r.answered)).toEqual([204]);
    const payload = AlertPayloadSchema.parse(new Webhook(hook.secret).verify(hookMsg[0]!.body, hookMsg[0]!.headers));
    expect(payload).toMatchObject({ type: 'alert.opened', alert: { kind: 'BACKUP_FAILED', severity: 'CRITICAL', count: 1, strategy: { name: 'photos nightly' }, figures: { errorCode: failed.errorCode, attempts: 1 } } });

    const email = await poll(async () => smtp.messages.filter((m) => m.envelopeTo.includes('ops@supplier.test')), (m) => m.length >= 1, () => 'no e-mail');
    expect(email).toHaveLength(1);
    const m = email[0]!;
    expect(m.subject).toBe('[Keepsake] CRITICAL: Backup failed — photos nightly');
    expect(m.envelopeTo.sort()).toEqual(['ops@supplier.test', 'owner@supplier.test']);
    expect(m.from?.text).toContain('alerts@keepsake.test');
    for (const part of [m.text!, m.html as string]) {
      expect(part).toContain('photos nightly');
      expect(part).toContain(failed.errorCode!);
      expect(part).toMatch(/Occurrences(<\/th><td>|: )1/);
      expect(part).toContain('https://keepsake.example/graphql?query=');
    }

    // The same failure again folds into the open alert: count 2, nobody messaged twice.
    await flow.waitFor(await flow.trigger(strategyId), (j) => j.status === 'FAILED');
    expect((await alerts()).map((a) => [a.state, a.count])).toEqual([['OPEN', 2]]);
    expect(await deliveries(org)).toHaveLength(2);

    // Not acknowledged 10 minutes after it opened: the emergency contact is called.
    const due = new Date(new Date(alert!.nextEscalationAt!).getTime() + 1000);
    expect(await escalateDueAlerts(t.services.db, t.services.boss, new Date(due.getTime() - 60_000))).toBe(0);
    expect(await escalateDueAlerts(t.services.db, t.services.boss, due)).toBe(1);
    const escalation = await poll(async () => smtp.messages.filter((x) => x.envelopeTo.includes('oncall@supplier.test')), (x) => x.length >= 1, () => 'no escalation e-mail');
    expect(escalation[0]!.subject).toMatch(/^\[Keepsake\] ESCALATION 1: Backup failed — photos nightly/);
    expect((await alerts())[0]).toMatchObject({ escalationStep: 1, nextEscalationAt: null });
    expect(await escalateDueAlerts(t.services.db, t.services.boss, new Date(due.getTime() + 3_600_000))).toBe(0);

    // The next success resolves it, and the channels are told.
    await mkdir(dir, { recursive: true });
    await flow.backup(strategyId);
    expect((await alerts()).map((a) => a.state)).toEqual(['RESOLVED']);
    const all = await poll(() => deliveries(org), (rows) => rows.length === 5 && settled(rows), (v) => JSON.stringify(v));
    expect(all.map((d) => d.eventType).sort()).toEqual(['alert.escalated', 'alert.opened', 'alert.opened', 'alert.resolved', 'alert.resolved']);
    expect(all.every((d) => d.status === 'DELIVERED')).toBe(true);
    const audit = await withSystem(t.services.db, 'test', (tx) => tx.auditEvent.findMany({ where: { orgId: org.id, action: { startsWith: 'alert.' } }, select: { action: true } }));
    expect(audit.map((a) => a.action)).toEqual(['alert.escalate']);
  }, 120_000);
});

describe('acknowledge and resolve', () => {
  it('are for operators, audited, and stop escalation', async () => {
    const org = await t.createOrg();
    await mutateOk(t, org.users.ADMIN.token, 'createEmergencyContact', 'CreateEmergencyContactInput', { name: 'On call', email: 'oncall@x.test', afterMinutes: 5 }, `id`);
    const raised = await raise(org, { severity: 'CRITICAL' });
    const id = Buffer.from(`Alert:${raised.id}`).toString('base64');
    const viewer = await mutate(t, org.users.VIEWER.token, 'acknowledgeAlert', 'AcknowledgeAlertInput', { id }, `state`);
    expect(viewer.payload?.__typename).toBe('ForbiddenError');
    expect(await mutateOk(t, org.users.OPERATOR.token, 'acknowledgeAlert', 'AcknowledgeAlertInput', { id }, `state acknowledgedBy nextEscalationAt`)).toMatchObject({ state: 'ACKNOWLEDGED', nextEscalationAt: null });
    expect(await escalateDueAlerts(t.services.db, t.services.boss, new Date(Date.now() + 3_600_000))).toBe(0);
    const again = await mutate(t, org.users.OPERATOR.token, 'acknowledgeAlert', 'AcknowledgeAlertInput', { id }, `state`);
    expect(again.payload?.__typename).toBe('ConflictError');
    expect(await mutateOk(t, org.users.OPERATOR.token, 'resolveAlert', 'ResolveAlertInput', { id }, `state resolvedBy`)).toMatchObject({ state: 'RESOLVED' });
    // Resolved, the same condition opens a new alert.
    expect((await raise(org)).opened).toBe(true);
    const audit = await withSystem(t.services.db, 'test', (tx) => tx.auditEvent.findMany({ where: { orgId: org.id, resourceType: 'Alert' }, orderBy: { seq: 'asc' }, select: { action: true, actorId: true } }));
    expect(audit).toEqual([{ action: 'alert.acknowledge', actorId: org.users.OPERATOR.id }, { action: 'alert.resolve', actorId: org.users.OPERATOR.id }]);
  });
});

describe('e-mail when the SMTP server is down', () => {
  it('is retried, then dead-lettered with the error visible in the delivery log', async () => {
    const org = await t.createOrg();
    await mutateOk(t, org.users.ADMIN.token, 'createEmailChannel', 'CreateEmailChannelInput', { name: 'mail', emailTo: ['ops@down.test'] }, `id`);
    await t.services.boss.updateQueue(queues.alertDelivery.name, { retryLimit: 2, retryDelay: 1, retryBackoff: false });
    await smtp.close();
    await raise(org);
    const [d] = await poll(() => deliveries(org), (rows) => rows[0]?.status === 'DEAD', (v) => JSON.stringify(v), 60_000);
    expect(d!.attempts).toBe(3);
    expect(d!.lastError).toMatch(/ECONNREFUSED|connect/i);
    expect(d!.attemptLog.map((a) => a.attempt)).toEqual([1, 2, 3]);
  }, 90_000);
});
