// One attempt at one delivery, as the alert-delivery worker runs it: skip it if the receiver has
// already answered 2xx (a delivery is never repeated after success), send it, and record the
// attempt (status code, duration, error) beside the delivery's own state. A failure the next
// attempt cannot fix (an address the outbound policy refuses, no SMTP server configured, a deleted
// channel) goes straight to DEAD; any other failure is retried by the queue and, when the retries
// run out, the dead-letter worker marks it DEAD with the last error kept.
import type { Logger } from 'pino';
import { OutboundDeniedError } from '../../backup/errors';
import { SealedDataError } from '../../crypto/sealed';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import type { NotificationChannel } from '../../db/generated/prisma/client';
import { AlertPayloadSchema, type AlertPayload } from './payload';
import { slackBodyOf } from './render';
import { openChannelSecret, signedHeaders } from './secrets';
import { sendEmail, SmtpNotConfiguredError, type SmtpSettings } from './send-email';
import { postJson } from './send-http';

export interface DeliveryDeps {
  db: Db;
  masterKey: Buffer;
  log: Logger;
  smtp: SmtpSettings;
  /** Put before the payload's relative link. */
  publicUrl: string;
  timeoutMs: number;
}

export interface Answer {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** Retrying cannot help. */
  permanent: boolean;
}

export type Receiver = { channel: NotificationChannel } | { email: string };

const MAX_ERROR = 1000;

/** Sends one message to one receiver and says how it answered; never throws. */
export async function sendTo(deps: DeliveryDeps, receiver: Receiver, stored: AlertPayload): Promise<Answer> {
  const payload: AlertPayload = { ...stored, link: stored.link.startsWith('/') ? deps.publicUrl + stored.link : stored.link };
  const started = Date.now();
  try {
    if ('email' in receiver || receiver.channel.kind === 'EMAIL') {
      const to = 'email' in receiver ? [receiver.email] : receiver.channel.emailTo;
      const r = await sendEmail(deps.smtp, to, payload);
      return { ok: true, statusCode: Number(/^\d{3}/.exec(r.response)?.[0] ?? 250), durationMs: r.durationMs, error: null, permanent: false };
    }
    const channel = receiver.channel;
    if (!channel.urlSealed) return { ok: false, statusCode: null, durationMs: 0, error: 'the channel has no URL', permanent: true };
    const url = openChannelSecret(deps.masterKey, channel.orgId, channel.urlSealed);
    const body = JSON.stringify(channel.kind === 'SLACK' ? slackBodyOf(payload) : payload);
    const headers = channel.kind === 'WEBHOOK' ? signedHeaders(deps.masterKey, channel, payload.id, body) : {};
    const r = await postJson(url, body, headers, deps.timeoutMs);
    const ok = r.statusCode >= 200 && r.statusCode < 300;
    return { ok, statusCode: r.statusCode, durationMs: r.durationMs, error: ok ? null : `HTTP ${r.statusCode}${r.body ? `: ${r.body.slice(0, 200)}` : ''}`, permanent: false };
  } catch (err) {
    const permanent = err instanceof OutboundDeniedError || err instanceof SmtpNotConfiguredError || err instanceof SealedDataError;
    const message = (err instanceof Error ? err.message : String(err)) || String((err as { code?: string }).code ?? 'failed');
    return { ok: false, statusCode: null, durationMs: Date.now() - started, error: message.slice(0, MAX_ERROR), permanent };
  }
}

export type DeliveryOutcome = { status: 'DELIVERED' | 'SKIPPED' | 'DEAD' } | { status: 'RETRY'; error: string };

export async function runDelivery(deps: DeliveryDeps, job: { deliveryId: string; orgId: string; attempt: number }): Promise<DeliveryOutcome> {
  const row = await withTenant(deps.db, job.orgId, (tx) =>
    tx.delivery.findFirst({ where: { id: job.deliveryId, orgId: job.orgId }, include: { channel: true, contact: true } }),
  );
  if (!row || row.status === 'DELIVERED' || row.status === 'DEAD') return { status: 'SKIPPED' };
  const payload = AlertPayloadSchema.parse(row.payload);
  let answer: Answer;
  if (row.channelId && row.channel?.enabled) answer = await sendTo(deps, { channel: row.channel }, payload);
  else if (!row.channelId && row.contact?.email) answer = await sendTo(deps, { email: row.contact.email }, payload);
  else answer = { ok: false, statusCode: null, durationMs: 0, error: row.channel ? 'the channel is disabled' : 'the receiver was deleted', permanent: true };

  const status = answer.ok ? 'DELIVERED' : answer.permanent ? 'DEAD' : 'FAILED';
  await withTenant(deps.db, job.orgId, async (tx) => {
    await tx.deliveryAttempt.create({
      data: { orgId: job.orgId, deliveryId: row.id, attempt: job.attempt, statusCode: answer.statusCode, durationMs: answer.durationMs, error: answer.error },
    });
    await tx.delivery.update({
      where: { id: row.id },
      data: { status, attempts: { increment: 1 }, lastStatusCode: answer.statusCode, lastError: answer.error, deliveredAt: answer.ok ? new Date() : null },
    });
  });
  const log = deps.log.child({ deliveryId: row.id, eventType: row.eventType, attempt: job.attempt });
  if (answer.ok) {
    log.info({ statusCode: answer.statusCode, ms: answer.durationMs }, 'notification delivered');
    return { status: 'DELIVERED' };
  }
  log.warn({ statusCode: answer.statusCode, err: answer.error, permanent: answer.permanent }, 'notification not delivered');
  return answer.permanent ? { status: 'DEAD' } : { status: 'RETRY', error: answer.error ?? 'failed' };
}

/** The dead letter: retries ran out; the delivery keeps its last error and says DEAD. */
export async function markDeliveryDead(db: Db, job: { deliveryId: string; orgId: string }): Promise<boolean> {
  const r = await withTenant(db, job.orgId, (tx) =>
    tx.delivery.updateMany({ where: { id: job.deliveryId, orgId: job.orgId, status: { in: ['PENDING', 'FAILED'] } }, data: { status: 'DEAD' } }),
  );
  return r.count > 0;
}
