// The alert types: alerts, channels (never their URLs or secrets), rules, emergency contacts, the
// delivery log, and the critical flag on strategies.
import { builder } from '../builder';

export const AlertKindEnum = builder.enumType('AlertKind', {
  values: ['BACKUP_FAILED', 'MISSED_RUN', 'RPO_BREACHED', 'RESTORE_TEST_FAILED', 'DESTINATION_UNREACHABLE', 'DESTINATION_NEARLY_FULL', 'RETENTION_DELETION_STUCK', 'CONTROL_NON_COMPLIANT', 'AUDIT_CHAIN_BROKEN'] as const,
});
export const AlertSeverityEnum = builder.enumType('AlertSeverity', { values: ['INFO', 'WARNING', 'CRITICAL'] as const });
export const AlertStateEnum = builder.enumType('AlertState', { values: ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] as const });
export const ChannelKindEnum = builder.enumType('ChannelKind', { values: ['WEBHOOK', 'SLACK', 'EMAIL'] as const });
export const StrategyScopeEnum = builder.enumType('StrategyScope', {
  values: { ALL: { description: 'Every strategy' }, LIST: { description: 'The strategies in strategyIds' }, CRITICAL: { description: 'Strategies marked critical' } } as const,
});
export const DeliveryStatusEnum = builder.enumType('DeliveryStatus', { values: ['PENDING', 'DELIVERED', 'FAILED', 'DEAD'] as const });

const own = (row: { orgId: string }, ctx: { viewer: { orgId: string } | null }) => !!ctx.viewer && row.orgId === ctx.viewer.orgId;

export const AlertRef = builder.prismaNode('Alert', {
  id: { field: 'id' },
  nullable: true,
  authScopes: own,
  fields: (t) => ({
    kind: t.expose('kind', { type: AlertKindEnum }),
    severity: t.expose('severity', { type: AlertSeverityEnum }),
    state: t.expose('state', { type: AlertStateEnum }),
    title: t.exposeString('title'),
    message: t.exposeString('message'),
    details: t.expose('details', { type: 'JSON', nullable: true, description: 'The figures behind the alert (job, attempts, error code, ...)' }),
    resourceType: t.exposeString('resourceType'),
    resourceId: t.exposeString('resourceId', { nullable: true }),
    strategy: t.relation('strategy', { nullable: true }),
    count: t.exposeInt('count', { description: 'Occurrences folded into this alert while unresolved' }),
    firstSeenAt: t.expose('firstSeenAt', { type: 'DateTime' }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime' }),
    acknowledgedAt: t.expose('acknowledgedAt', { type: 'DateTime', nullable: true }),
    acknowledgedBy: t.exposeString('acknowledgedBy', { nullable: true }),
    resolvedAt: t.expose('resolvedAt', { type: 'DateTime', nullable: true }),
    resolvedBy: t.exposeString('resolvedBy', { nullable: true }),
    escalationStep: t.exposeInt('escalationStep', { description: 'How many emergency contacts were notified' }),
    nextEscalationAt: t.expose('nextEscalationAt', { type: 'DateTime', nullable: true }),
    deliveries: t.relation('deliveries', { query: { orderBy: { createdAt: 'asc' }, take: 100 } }),
  }),
});

export const AlertRuleRef = builder.prismaNode('AlertRule', {
  id: { field: 'id' },
  nullable: true,
  authScopes: own,
  fields: (t) => ({
    channel: t.relation('channel'),
    kinds: t.expose('kinds', { type: [AlertKindEnum], description: 'Empty: every kind' }),
    minSeverity: t.expose('minSeverity', { type: AlertSeverityEnum }),
    strategyScope: t.expose('strategyScope', { type: StrategyScopeEnum }),
    strategyIds: t.idList({ select: { strategyIds: true }, resolve: (r) => r.strategyIds.map((id) => Buffer.from(`Strategy:${id}`).toString('base64')) }),
    notifyOnSuccess: t.exposeBoolean('notifyOnSuccess'),
    notifyOnResolve: t.exposeBoolean('notifyOnResolve', { description: 'Also told when a matching alert is acknowledged or resolved' }),
  }),
});

export const NotificationChannelRef = builder.prismaNode('NotificationChannel', {
  id: { field: 'id' },
  nullable: true,
  authScopes: own,
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: ChannelKindEnum }),
    urlHint: t.exposeString('urlHint', { nullable: true, description: 'Scheme and host of the URL; the URL itself is stored encrypted and never returned' }),
    emailTo: t.exposeStringList('emailTo'),
    enabled: t.exposeBoolean('enabled'),
    hasSecret: t.boolean({ select: { secretSealed: true }, resolve: (c) => c.secretSealed != null, description: 'WEBHOOK: a signing secret is set (shown only when created or rotated)' }),
    secretRotatedAt: t.expose('secretRotatedAt', { type: 'DateTime', nullable: true }),
    previousSecretExpiresAt: t.expose('previousSecretExpiresAt', { type: 'DateTime', nullable: true, description: 'Until then the previous secret also signs' }),
    dailyDigest: t.exposeBoolean('dailyDigest'),
    digestHour: t.exposeInt('digestHour'),
    rules: t.relation('rules', { query: { orderBy: { createdAt: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const EmergencyContactRef = builder.prismaNode('EmergencyContact', {
  id: { field: 'id' },
  nullable: true,
  authScopes: own,
  fields: (t) => ({
    name: t.exposeString('name'),
    email: t.exposeString('email', { nullable: true }),
    channel: t.relation('channel', { nullable: true }),
    afterMinutes: t.exposeInt('afterMinutes', { description: 'Minutes after a CRITICAL alert opened, unacknowledged, that this contact is notified' }),
  }),
});

export const DeliveryAttemptRef = builder.prismaObject('DeliveryAttempt', {
  authScopes: own,
  fields: (t) => ({
    attempt: t.exposeInt('attempt'),
    statusCode: t.exposeInt('statusCode', { nullable: true }),
    durationMs: t.exposeInt('durationMs'),
    error: t.exposeString('error', { nullable: true }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

export const DeliveryRef = builder.prismaNode('Delivery', {
  id: { field: 'id' },
  nullable: true,
  authScopes: own,
  fields: (t) => ({
    eventId: t.exposeString('eventId', { description: 'The webhook-id of the message' }),
    eventType: t.exposeString('eventType'),
    alert: t.relation('alert', { nullable: true }),
    channel: t.relation('channel', { nullable: true }),
    contact: t.relation('contact', { nullable: true }),
    recipient: t.exposeString('recipient'),
    status: t.expose('status', { type: DeliveryStatusEnum }),
    attempts: t.exposeInt('attempts'),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    attemptLog: t.relation('attemptLog', { query: { orderBy: { at: 'asc' }, take: 50 } }),
  }),
});

builder.prismaObjectField('Strategy', 'critical', (t) => t.exposeBoolean('critical', { description: 'Alerts about it are CRITICAL and escalate to the emergency contacts' }));
