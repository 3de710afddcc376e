// One object of every tenant type for an org, inserted directly (system context), so tests
// can aim at them whatever mutations exist. Returns global ids by GraphQL type name.
import { randomBytes, randomUUID } from 'node:crypto';
import { sealChannelSecret } from '../../src/domain/alerts/secrets';
import { withSystem } from '../../src/db/context';
import type { TestApp, TestOrg } from './app';

export function globalId(type: string, id: string): string {
  return Buffer.from(`${type}:${id}`).toString('base64');
}

export async function seedOrgObjects(t: TestApp, org: TestOrg): Promise<Map<string, string[]>> {
  const tag = randomBytes(3).toString('hex');
  const rows = await withSystem(t.services.db, 'test-seed', async (tx) => {
    const orgId = org.id;
    const source = await tx.source.create({ data: { orgId, name: `src-${tag}`, kind: 'DIRECTORY', path: '/tmp' } });
    const destination = await tx.destination.create({ data: { orgId, name: `dst-${tag}`, kind: 'LOCAL', path: `seed-${tag}` } });
    const policy = await tx.retentionPolicy.create({ data: { orgId, name: `pol-${tag}`, keepLast: 3 } });
    const strategy = await tx.strategy.create({
      data: { orgId, name: `str-${tag}`, sourceId: source.id, retentionPolicyId: policy.id, cron: '0 3 * * *', status: 'PAUSED' },
    });
    await tx.strategyDestination.create({ data: { orgId, strategyId: strategy.id, destinationId: destination.id } });
    const job = await tx.backupJob.create({ data: { orgId, strategyId: strategy.id, trigger: 'MANUAL', status: 'RUNNING', startedAt: new Date() } });
    const done = await tx.backupJob.create({ data: { orgId, strategyId: strategy.id, trigger: 'MANUAL', status: 'SUCCEEDED', finishedAt: new Date() } });
    const point = await tx.recoveryPoint.create({
      data: {
        orgId, strategyId: strategy.id, sourceId: source.id, backupJobId: done.id, sourceKind: 'DIRECTORY', format: 'tar',
        compression: 'ZSTD', encrypted: true, rawBytes: 10n, storedBytes: 8n, sha256: 'a'.repeat(64), manifest: {}, takenAt: new Date(),
      },
    });
    await tx.artifact.create({
      data: { orgId, recoveryPointId: point.id, destinationId: destination.id, key: `k-${tag}`, manifestKey: `m-${tag}`, sizeBytes: 8n, sha256: 'a'.repeat(64) },
    });
    await tx.backupFile.create({
      data: { orgId, recoveryPointId: point.id, sourceId: source.id, path: 'photos/a.jpg', parent: 'photos', type: 'file', size: 10n, mode: 0o644, mtime: new Date(), uid: 0, gid: 0, chunks: 1 },
    });
    const missed = await tx.missedRun.create({ data: { orgId, strategyId: strategy.id, slotAt: new Date(), reason: 'seed' } });
    const apiKey = await tx.apiKey.create({ data: { orgId, name: `key-${tag}`, prefix: `seed${tag}${randomBytes(3).toString('hex')}`, secretHash: 'x'.repeat(64), role: 'VIEWER' } });
    const recoveryJob = await tx.recoveryJob.create({ data: { orgId, recoveryPointId: point.id, targetKind: 'DIRECTORY', targetPath: '/tmp/x' } });
    const verification = await tx.verification.create({ data: { orgId, recoveryPointId: point.id, strategyId: strategy.id } });
    const channel = await tx.notificationChannel.create({
      data: { orgId, name: `ch-${tag}`, kind: 'WEBHOOK', urlSealed: sealChannelSecret(t.services.masterKey, orgId, 'http://127.0.0.1:1/hook'), urlHint: 'http://127.0.0.1:1/…' },
    });
    const rule = await tx.alertRule.create({ data: { orgId, channelId: channel.id } });
    const contact = await tx.emergencyContact.create({ data: { orgId, name: `contact-${tag}`, email: 'oncall@example.com', afterMinutes: 15 } });
    const alert = await tx.alert.create({
      data: { orgId, kind: 'BACKUP_FAILED', severity: 'WARNING', openKey: `seed-${tag}`, resourceType: 'Strategy', resourceId: strategy.id, strategyId: strategy.id, title: 'seed', message: 'seed' },
    });
    const delivery = await tx.delivery.create({ data: { orgId, eventId: randomUUID(), eventType: 'alert.opened', alertId: alert.id, channelId: channel.id, recipient: 'seed', payload: {} } });
    await tx.deliveryAttempt.create({ data: { orgId, deliveryId: delivery.id, attempt: 1, statusCode: 500, durationMs: 3 } });
    const report = await tx.complianceReport.create({ data: { orgId, format: 'JSON', periodStart: new Date(0), periodEnd: new Date() } });
    const audit = await tx.auditEvent.create({ data: { orgId, actorType: 'SYSTEM', action: 'test.seed', resourceType: 'Source', resourceId: source.id } });
    const memberships = await tx.membership.findMany({ where: { orgId } });
    return { source, destination, policy, strategy, job, point, missed, apiKey, recoveryJob, verification, channel, rule, contact, alert, delivery, report, audit, memberships };
  });
  return new Map<string, string[]>([
    ['Source', [globalId('Source', rows.source.id)]],
    ['Destination', [globalId('Destination', rows.destination.id)]],
    ['RetentionPolicy', [globalId('RetentionPolicy', rows.policy.id)]],
    ['Strategy', [globalId('Strategy', rows.strategy.id)]],
    ['BackupJob', [globalId('BackupJob', rows.job.id)]],
    ['RecoveryPoint', [globalId('RecoveryPoint', rows.point.id)]],
    ['MissedRun', [globalId('MissedRun', rows.missed.id)]],
    ['ApiKey', [globalId('ApiKey', rows.apiKey.id)]],
    ['RecoveryJob', [globalId('RecoveryJob', rows.recoveryJob.id)]],
    ['Verification', [globalId('Verification', rows.verification.id)]],
    ['NotificationChannel', [globalId('NotificationChannel', rows.channel.id)]],
    ['AlertRule', [globalId('AlertRule', rows.rule.id)]],
    ['EmergencyContact', [globalId('EmergencyContact', rows.contact.id)]],
    ['Alert', [globalId('Alert', rows.alert.id)]],
    ['Delivery', [globalId('Delivery', rows.delivery.id)]],
    ['ComplianceReport', [globalId('ComplianceReport', rows.report.id)]],
    ['AuditEvent', [globalId('AuditEvent', rows.audit.id)]],
    ['Membership', rows.memberships.map((m) => globalId('Membership', m.id))],
    ['Organization', [globalId('Organization', org.id)]],
  ]);
}
