// Notification channels: create, change, rotate, delete, test. A webhook's signing secret is made
// here and returned once; URLs and secrets are sealed on the way in and never leave the API. A
// URL naming a forbidden address (metadata service, OUTBOUND_DENY, outside OUTBOUND_ALLOW) is
// refused at input; a name that resolves there is refused at delivery.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/client';
import { withTenant, type Tx } from '../../db/context';
import type { NotificationChannel } from '../../db/generated/prisma/client';
import { recordAudit } from '../../audit/writer';
import type { OrgScope } from '../../auth/scope';
import { outboundPolicy } from '../../backup/outbound';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import { conflictOnDuplicate } from '../unique';
import { sendTo, type DeliveryDeps } from './deliver';
import type { AlertPayload } from './payload';
import { recipientOf } from './routing';
import { newWebhookSecret, sealChannelSecret, urlHint } from './secrets';

const field = (name: string) => ['input', name];
const EMAIL = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/;
export const MAX_RECIPIENTS = 20;

export function checkUrl(value: string, path = field('url')): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw ValidationError.field(path, 'is not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw ValidationError.field(path, 'must start with http:// or https://');
  if (u.username || u.password) throw ValidationError.field(path, 'must not contain credentials');
  try {
    outboundPolicy().checkLiteral(u.hostname, 'the URL');
  } catch (err) {
    throw ValidationError.field(path, (err as Error).message);
  }
  return u.toString();
}

export function checkEmails(list: string[], path = field('emailTo')): string[] {
  const cleaned = [...new Set(list.map((e) => e.trim().toLowerCase()))];
  if (cleaned.length === 0) throw ValidationError.field(path, 'needs at least one address');
  if (cleaned.length > MAX_RECIPIENTS) throw ValidationError.field(path, `at most ${MAX_RECIPIENTS} addresses`);
  cleaned.forEach((e, i) => {
    if (e.length > 254 || !EMAIL.test(e)) throw ValidationError.field([...path, String(i)], 'is not an e-mail address');
  });
  return cleaned;
}

function checkHour(hour: number | null | undefined): number | undefined {
  if (hour == null) return undefined;
  if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw ValidationError.field(field('digestHour'), 'must be an hour from 0 to 23');
  return hour;
}

export interface ChannelSettings {
  enabled?: boolean | null;
  dailyDigest?: boolean | null;
  digestHour?: number | null;
}

export interface CreateChannelInput extends ChannelSettings {
  name: string;
  kind: 'WEBHOOK' | 'SLACK' | 'EMAIL';
  url?: string | null;
  emailTo?: string[] | null;
}

async function findChannel(tx: Tx, orgId: string, id: string): Promise<NotificationChannel> {
  const channel = await tx.notificationChannel.findFirst({ where: { id, orgId } });
  if (!channel) throw new NotFoundError('NotificationChannel');
  return channel;
}

/** Creates a channel; for a WEBHOOK also its signing secret, returned here and never again. */
export async function createChannel(db: Db, masterKey: Buffer, scope: OrgScope, input: CreateChannelInput): Promise<{ channel: NotificationChannel; secret: string | null }> {
  const name = input.name.trim();
  const url = input.kind === 'EMAIL' ? null : checkUrl(input.url ?? '');
  const emailTo = input.kind === 'EMAIL' ? checkEmails(input.emailTo ?? []) : [];
  const digestHour = checkHour(input.digestHour);
  const secret = input.kind === 'WEBHOOK' ? newWebhookSecret() : null;
  return withTenant(db, scope.orgId, (tx) =>
    conflictOnDuplicate(`A channel named "${name}"`, async () => {
      const channel = await tx.notificationChannel.create({
        data: {
          orgId: scope.orgId, name, kind: input.kind, emailTo,
          urlSealed: url ? sealChannelSecret(masterKey, scope.orgId, url) : null,
          urlHint: url ? urlHint(url) : null,
          secretSealed: secret ? sealChannelSecret(masterKey, scope.orgId, secret) : null,
          secretRotatedAt: secret ? new Date() : null,
          enabled: input.enabled ?? true,
          dailyDigest: input.dailyDigest ?? false,
          ...(digestHour !== undefined ? { digestHour } : {}),
        },
      });
      await recordAudit(tx, scope, { action: 'channel.create', resourceType: 'NotificationChannel', resourceId: channel.id, after: channel });
      return { channel, secret };
    }),
  );
}

export interface UpdateChannelInput extends ChannelSettings {
  name?: string | null;
  url?: string | null;
  emailTo?: string[] | null;
}

export async function updateChannel(db: Db, masterKey: Buffer, scope: OrgScope, id: string, patch: UpdateChannelInput): Promise<NotificationChannel> {
  const digestHour = checkHour(patch.digestHour);
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await findChannel(tx, scope.orgId, id);
    if (patch.url != null && before.kind === 'EMAIL') throw ValidationError.field(field('url'), 'an EMAIL channel has no URL');
    if (patch.emailTo != null && before.kind !== 'EMAIL') throw ValidationError.field(field('emailTo'), `a ${before.kind} channel has no recipients`);
    const url = patch.url != null ? checkUrl(patch.url) : null;
    const emailTo = patch.emailTo != null ? checkEmails(patch.emailTo) : undefined;
    const name = patch.name?.trim();
    return conflictOnDuplicate(`A channel named "${name}"`, async () => {
      const after = await tx.notificationChannel.update({
        where: { id },
        data: {
          ...(name ? { name } : {}),
          ...(url ? { urlSealed: sealChannelSecret(masterKey, scope.orgId, url), urlHint: urlHint(url) } : {}),
          ...(emailTo ? { emailTo } : {}),
          ...(patch.enabled != null ? { enabled: patch.enabled } : {}),
          ...(patch.dailyDigest != null ? { dailyDigest: patch.dailyDigest } : {}),
          ...(digestHour !== undefined ? { digestHour } : {}),
        },
      });
      await recordAudit(tx, scope, { action: 'channel.update', resourceType: 'NotificationChannel', resourceId: id, before, after: { ...after, urlChanged: !!url } });
      return after;
    });
  });
}

/**
 * A new signing secret, returned once. The previous secret keeps signing beside it for
 * `overlapHours` (0 ends it at once), so a receiver can switch to the new one without a gap.
 */
export async function rotateChannelSecret(db: Db, masterKey: Buffer, scope: OrgScope, id: string, overlapHours = 24): Promise<{ channel: NotificationChannel; secret: string }> {
  if (!Number.isInteger(overlapHours) || overlapHours < 0 || overlapHours > 168) throw ValidationError.field(field('overlapHours'), 'must be 0 to 168 hours');
  const secret = newWebhookSecret();
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await findChannel(tx, scope.orgId, id);
    if (before.kind !== 'WEBHOOK') throw new ConflictError(`A ${before.kind} channel has no signing secret`);
    const now = new Date();
    const channel = await tx.notificationChannel.update({
      where: { id },
      data: {
        secretSealed: sealChannelSecret(masterKey, scope.orgId, secret),
        previousSecretSealed: overlapHours > 0 ? before.secretSealed : null,
        previousSecretExpiresAt: overlapHours > 0 ? new Date(now.getTime() + overlapHours * 3_600_000) : null,
        secretRotatedAt: now,
      },
    });
    await recordAudit(tx, scope, { action: 'channel.rotate_secret', resourceType: 'NotificationChannel', resourceId: id, after: { secretRotated: true, overlapHours, previousSecretExpiresAt: channel.previousSecretExpiresAt } });
    return { channel, secret };
  });
}

export async function deleteChannel(db: Db, scope: OrgScope, id: string): Promise<void> {
  await withTenant(db, scope.orgId, async (tx) => {
    const before = await findChannel(tx, scope.orgId, id);
    await tx.notificationChannel.delete({ where: { id } });
    await recordAudit(tx, scope, { action: 'channel.delete', resourceType: 'NotificationChannel', resourceId: id, before });
  });
}

export interface TestChannelResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  deliveryId: string;
}

/** Sends a test message now (not queued) and reports the receiver's answer; the attempt is logged like any delivery. */
export async function testChannel(deps: DeliveryDeps, scope: OrgScope, id: string): Promise<TestChannelResult> {
  const { channel, org } = await withTenant(deps.db, scope.orgId, async (tx) => ({
    channel: await findChannel(tx, scope.orgId, id),
    org: await tx.organization.findUniqueOrThrow({ where: { id: scope.orgId } }),
  }));
  const payload: AlertPayload = {
    id: randomUUID(), type: 'test', timestamp: new Date().toISOString(),
    organization: { id: org.id, slug: org.slug, name: org.name }, link: '/graphql', alert: null,
  };
  const answer = await sendTo(deps, { channel }, payload);
  return withTenant(deps.db, scope.orgId, async (tx) => {
    // The channel may have been deleted meanwhile: then the test is not logged against it.
    if (!(await tx.notificationChannel.findFirst({ where: { id, orgId: scope.orgId }, select: { id: true } }))) throw new NotFoundError('NotificationChannel');
    const delivery = await tx.delivery.create({
      data: {
        orgId: scope.orgId, eventId: payload.id, eventType: 'test', channelId: id, recipient: recipientOf(channel), payload,
        status: answer.ok ? 'DELIVERED' : 'FAILED', attempts: 1, lastStatusCode: answer.statusCode, lastError: answer.error, deliveredAt: answer.ok ? new Date() : null,
        attemptLog: { create: { orgId: scope.orgId, attempt: 1, statusCode: answer.statusCode, durationMs: answer.durationMs, error: answer.error } },
      },
    });
    await recordAudit(tx, scope, { action: 'channel.test', resourceType: 'NotificationChannel', resourceId: id, after: { ok: answer.ok, statusCode: answer.statusCode, error: answer.error, deliveryId: delivery.id } });
    return { ok: answer.ok, statusCode: answer.statusCode, durationMs: answer.durationMs, error: answer.error, deliveryId: delivery.id };
  });
}
