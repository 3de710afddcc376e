// Channel secrets: webhook URLs and signing secrets are sealed with the master key, bound to the
// organization (a sealed value copied into another org's row does not open). A webhook's signing
// secret is generated here, returned once, and after a rotation the previous one keeps signing
// beside the new one until its overlap ends, so receivers can switch without losing messages.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { openSecret, sealSecret } from '../../crypto/sealed';
import type { NotificationChannel } from '../../db/generated/prisma/client';

export const channelAad = (orgId: string) => `notification-channel:${orgId}`;

/** A Standard Webhooks secret: `whsec_` and the base64 of 24 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export const sealChannelSecret = (masterKey: Buffer, orgId: string, value: string) => sealSecret(masterKey, value, channelAad(orgId));
export const openChannelSecret = (masterKey: Buffer, orgId: string, sealed: Uint8Array) => openSecret(masterKey, sealed, channelAad(orgId));

/** What may be shown of a URL: scheme, host and port, never the path or query (a Slack URL is a credential). */
export function urlHint(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}/…`;
}

type Signing = Pick<NotificationChannel, 'orgId' | 'secretSealed' | 'previousSecretSealed' | 'previousSecretExpiresAt'>;

/** The three Standard Webhooks headers; both secrets sign while a rotation overlaps. */
export function signedHeaders(masterKey: Buffer, channel: Signing, eventId: string, body: string, at = new Date()): Record<string, string> {
  const secrets: string[] = [];
  if (channel.secretSealed) secrets.push(openChannelSecret(masterKey, channel.orgId, channel.secretSealed));
  if (channel.previousSecretSealed && channel.previousSecretExpiresAt && channel.previousSecretExpiresAt > at) {
    secrets.push(openChannelSecret(masterKey, channel.orgId, channel.previousSecretSealed));
  }
  const signatures = secrets.map((s) => new Webhook(s).sign(eventId, at, body));
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}
