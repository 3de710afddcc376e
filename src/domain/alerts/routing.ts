// Which receivers hear of an event, and how a message is queued for each. Every delivery is a
// Delivery row plus its pg-boss job, both written in the caller's transaction: an alert change
// that rolls back sends nothing, and one that commits always has its messages queued.
import { randomUUID } from 'node:crypto';
import { fromPrisma, type PgBoss } from 'pg-boss';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { asQueueOwnerWithin, type Tx } from '../../db/context';
import type { Alert, AlertRule, NotificationChannel, Prisma } from '../../db/generated/prisma/client';
import type { AlertKind, AlertSeverity } from '../../db/generated/prisma/enums';
import { queues } from '../../queue/queues';
import { atLeast } from './kinds';
import type { AlertPayload, EventType } from './payload';

type RuleFields = Pick<AlertRule, 'kinds' | 'minSeverity' | 'strategyScope' | 'strategyIds' | 'notifyOnSuccess' | 'notifyOnResolve'>;

/** What a channel without rules receives: every alert of WARNING or worse, and its resolution. */
export const DEFAULT_RULE: RuleFields = { kinds: [], minSeverity: 'WARNING', strategyScope: 'ALL', strategyIds: [], notifyOnSuccess: false, notifyOnResolve: true };

export interface RoutedEvent {
  type: EventType;
  kind?: AlertKind;
  severity?: AlertSeverity;
  strategyId?: string | null;
  strategyCritical?: boolean;
}

/** Pure: whether one rule lets this event through. */
export function ruleMatches(rule: RuleFields, e: RoutedEvent): boolean {
  if (rule.strategyScope === 'LIST' && (!e.strategyId || !rule.strategyIds.includes(e.strategyId))) return false;
  if (rule.strategyScope === 'CRITICAL' && !e.strategyCritical) return false;
  if (e.type === 'backup.succeeded') return rule.notifyOnSuccess;
  if (e.kind && rule.kinds.length && !rule.kinds.includes(e.kind)) return false;
  if (e.severity && !atLeast(e.severity, rule.minSeverity)) return false;
  if (e.type === 'alert.resolved' || e.type === 'alert.acknowledged') return rule.notifyOnResolve;
  return true;
}

/** The enabled channels of the organization whose rules let the event through. */
export async function matchingChannels(tx: Tx, orgId: string, e: RoutedEvent): Promise<NotificationChannel[]> {
  const channels = await tx.notificationChannel.findMany({ where: { orgId, enabled: true }, include: { rules: true }, orderBy: { createdAt: 'asc' } });
  return channels.filter((c) => (c.rules.length ? c.rules : [DEFAULT_RULE]).some((r) => ruleMatches(r, e)));
}

export function recipientOf(channel: Pick<NotificationChannel, 'kind' | 'urlHint' | 'emailTo'>): string {
  return (channel.kind === 'EMAIL' ? channel.emailTo.join(', ') : channel.urlHint ?? '').slice(0, 300);
}

export interface DeliveryTarget {
  channel?: Pick<NotificationChannel, 'id' | 'kind' | 'urlHint' | 'emailTo'>;
  contact?: { id: string; email: string | null };
}

/** Queues one message to one receiver inside the caller's tenant transaction. */
export async function enqueueDelivery(tx: Tx, boss: PgBoss, orgId: string, payload: AlertPayload, target: DeliveryTarget, alertId: string | null): Promise<string> {
  const delivery = await tx.delivery.create({
    data: {
      orgId,
      eventId: payload.id,
      eventType: payload.type,
      alertId,
      channelId: target.channel?.id ?? null,
      contactId: target.contact?.id ?? null,
      recipient: target.channel ? recipientOf(target.channel) : (target.contact?.email ?? '').slice(0, 300),
      payload: payload as unknown as Prisma.InputJsonValue,
    },
  });
  await asQueueOwnerWithin(tx, orgId, () =>
    boss.send(queues.alertDelivery.name, { deliveryId: delivery.id, orgId }, { db: fromPrisma(tx), singletonKey: delivery.id }),
  );
  return delivery.id;
}

/** Sends the event to every matching channel; returns how many deliveries were queued. */
export async function fanOut(tx: Tx, boss: PgBoss, orgId: string, e: RoutedEvent, payload: AlertPayload, alertId: string | null): Promise<number> {
  const channels = await matchingChannels(tx, orgId, e);
  for (const channel of channels) await enqueueDelivery(tx, boss, orgId, payload, { channel }, alertId);
  return channels.length;
}

type OrgRef = { id: string; slug: string; name: string };
type AlertWithStrategy = Alert & { strategy: { id: string; name: string } | null };

/** A GraphiQL link that opens the alert (there is no web page for it yet). */
export function alertLink(alertId: string): string {
  const gid = encodeGlobalID('Alert', alertId);
  const query = `{ node(id: "${gid}") { ... on Alert { kind severity state title message count firstSeenAt lastSeenAt details } } }`;
  return `/graphql?query=${encodeURIComponent(query)}`;
}

/** The message for an alert event; `link` is relative here, the sender puts PUBLIC_URL before it. */
export function alertPayload(type: EventType, org: OrgRef, alert: AlertWithStrategy, at = new Date(), extra: Partial<AlertPayload> = {}): AlertPayload {
  return {
    id: randomUUID(),
    type,
    timestamp: at.toISOString(),
    organization: { id: org.id, slug: org.slug, name: org.name },
    link: alertLink(alert.id),
    alert: {
      id: encodeGlobalID('Alert', alert.id),
      kind: alert.kind,
      severity: alert.severity,
      state: alert.state,
      title: alert.title,
      message: alert.message,
      resourceType: alert.resourceType,
      resourceId: alert.resourceId,
      strategy: alert.strategy ? { id: encodeGlobalID('Strategy', alert.strategy.id), name: alert.strategy.name } : null,
      count: alert.count,
      firstSeenAt: alert.firstSeenAt.toISOString(),
      lastSeenAt: alert.lastSeenAt.toISOString(),
      acknowledgedAt: alert.acknowledgedAt?.toISOString() ?? null,
      resolvedAt: alert.resolvedAt?.toISOString() ?? null,
      figures: (alert.details ?? {}) as Record<string, string | number | boolean | null>,
    },
    ...extra,
  };
}
