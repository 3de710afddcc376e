// Alerts, channels, rules, emergency contacts and the delivery log. Reads are for members;
// acknowledging and resolving for operators; configuring for admins. Resolvers decode ids and
// call src/domain/alerts.
import { z } from 'zod';
import { createChannel, deleteChannel, rotateChannelSecret, testChannel, updateChannel } from '../../domain/alerts/channels';
import { createEmergencyContact, deleteEmergencyContact, updateEmergencyContact } from '../../domain/alerts/contacts';
import { deliveryDeps } from '../../domain/alerts/deps';
import { acknowledgeAlert, resolveAlert } from '../../domain/alerts/lifecycle';
import { createAlertRule, deleteAlertRule, updateAlertRule } from '../../domain/alerts/rules';
import { NotFoundError } from '../../domain/errors';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId, decodeIds } from '../ids';
import { DeletedRef, idInput } from '../shared';
import { nameSchema, urlSchema } from '../validation';
import { whileAuthorized } from '../subscription-access';
import {
  AlertKindEnum, AlertRef, AlertRuleRef, AlertSeverityEnum, AlertStateEnum, DeliveryRef, DeliveryStatusEnum, EmergencyContactRef, NotificationChannelRef, StrategyScopeEnum,
} from './types';

const emailList = z.array(z.string().max(254, 'must be at most 254 characters')).max(20, 'at most 20 addresses');
const kindList = z.array(z.string()).max(20, 'at most 20 kinds');
const idList = z.array(z.string()).max(100, 'at most 100 entries');

const optionalId = (_ctx: GraphQLContext, v: string | number | null | undefined, type: string, path: string[]) => (v == null ? undefined : decodeId(String(v), type, path));

/** A filter naming a row the viewer cannot see is not found, like any foreign id. */
async function visible(ctx: GraphQLContext, v: string | number | null | undefined, type: 'Strategy' | 'NotificationChannel' | 'Alert', path: string[]): Promise<string | undefined> {
  const id = optionalId(ctx, v, type, path);
  if (id === undefined) return undefined;
  const where = { where: { id, orgId: ctx.viewer!.orgId }, select: { id: true } };
  const found = type === 'Strategy' ? await ctx.db!.strategy.findFirst(where) : type === 'Alert' ? await ctx.db!.alert.findFirst(where) : await ctx.db!.notificationChannel.findFirst(where);
  if (!found) throw new NotFoundError(type);
  return id;
}

builder.queryFields((t) => ({
  alerts: t.prismaConnection({
    type: 'Alert',
    cursor: 'id',
    authScopes: { member: true },
    args: {
      state: t.arg({ type: AlertStateEnum, required: false }),
      kind: t.arg({ type: AlertKindEnum, required: false }),
      severity: t.arg({ type: AlertSeverityEnum, required: false }),
      strategyId: t.arg.id({ required: false }),
    },
    resolve: async (query, _root, args, ctx) =>
      ctx.db!.alert.findMany({
        ...query,
        where: {
          orgId: ctx.viewer!.orgId, state: args.state ?? undefined, kind: args.kind ?? undefined, severity: args.severity ?? undefined,
          strategyId: await visible(ctx, args.strategyId, 'Strategy', ['strategyId']),
        },
        orderBy: { id: 'desc' },
      }),
  }),
  notificationChannels: t.prismaConnection({
    type: 'NotificationChannel',
    cursor: 'id',
    authScopes: { member: true },
    resolve: (query, _root, _args, ctx) => ctx.db!.notificationChannel.findMany({ ...query, where: { orgId: ctx.viewer!.orgId }, orderBy: { id: 'asc' } }),
  }),
  emergencyContacts: t.prismaField({
    type: ['EmergencyContact'],
    authScopes: { member: true },
    description: 'The escalation list, in the order contacts are called',
    resolve: (query, _root, _args, ctx) =>
      ctx.db!.emergencyContact.findMany({ ...query, where: { orgId: ctx.viewer!.orgId }, orderBy: [{ afterMinutes: 'asc' }, { createdAt: 'asc' }] }),
  }),
  deliveries: t.prismaConnection({
    type: 'Delivery',
    cursor: 'id',
    authScopes: { member: true },
    description: 'The delivery log: every message to every receiver, with each attempt',
    args: { channelId: t.arg.id({ required: false }), alertId: t.arg.id({ required: false }), status: t.arg({ type: DeliveryStatusEnum, required: false }) },
    resolve: async (query, _root, args, ctx) =>
      ctx.db!.delivery.findMany({
        ...query,
        where: {
          orgId: ctx.viewer!.orgId, status: args.status ?? undefined,
          channelId: await visible(ctx, args.channelId, 'NotificationChannel', ['channelId']), alertId: await visible(ctx, args.alertId, 'Alert', ['alertId']),
        },
        orderBy: { id: 'desc' },
      }),
  }),
}));

const ChannelWithSecret = builder.objectRef<{ channel: unknown; secret: string | null }>('ChannelWithSecret').implement({
  description: 'A channel and, for a WEBHOOK, its signing secret: shown here once, never again',
  fields: (t) => ({
    channel: t.field({ type: NotificationChannelRef, resolve: (r) => r.channel as never }),
    secret: t.string({ nullable: true, resolve: (r) => r.secret }),
  }),
});

const TestChannelResultRef = builder.objectRef<{ ok: boolean; statusCode: number | null; durationMs: number; error: string | null; deliveryId: string }>('TestChannelResult').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    statusCode: t.exposeInt('statusCode', { nullable: true, description: 'HTTP status, or the SMTP reply code' }),
    durationMs: t.exposeInt('durationMs'),
    error: t.exposeString('error', { nullable: true }),
    delivery: t.field({ type: DeliveryRef, nullable: true, resolve: (r, _a, ctx) => ctx.db!.delivery.findFirst({ where: { id: r.deliveryId, orgId: ctx.viewer!.orgId } }) }),
  }),
});

const CreateWebhookChannelInput = builder.inputType('CreateWebhookChannelInput', {
  fields: (t) => ({ name: t.string({ required: true, validate: nameSchema }), url: t.string({ required: true, validate: urlSchema }), enabled: t.boolean({ required: false }),
    dailyDigest: t.boolean({ required: false, description: 'One summary a day of yesterday\'s runs and the open alerts' }),
    digestHour: t.int({ required: false, description: 'Hour (0-23, organization time zone) of the digest; default 8' }), }),
});
const CreateSlackChannelInput = builder.inputType('CreateSlackChannelInput', {
  fields: (t) => ({ name: t.string({ required: true, validate: nameSchema }), url: t.string({ required: true, validate: urlSchema, description: 'The incoming-webhook URL (stored encrypted)' }), enabled: t.boolean({ required: false }),
    dailyDigest: t.boolean({ required: false, description: 'One summary a day of yesterday\'s runs and the open alerts' }),
    digestHour: t.int({ required: false, description: 'Hour (0-23, organization time zone) of the digest; default 8' }), }),
});
const CreateEmailChannelInput = builder.inputType('CreateEmailChannelInput', {
  fields: (t) => ({ name: t.string({ required: true, validate: nameSchema }), emailTo: t.stringList({ required: true, validate: emailList }), enabled: t.boolean({ required: false }),
    dailyDigest: t.boolean({ required: false, description: 'One summary a day of yesterday\'s runs and the open alerts' }),
    digestHour: t.int({ required: false, description: 'Hour (0-23, organization time zone) of the digest; default 8' }), }),
});
const UpdateChannelInput = builder.inputType('UpdateNotificationChannelInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false, validate: nameSchema }),
    url: t.string({ required: false, validate: urlSchema }),
    emailTo: t.stringList({ required: false, validate: emailList }),
    enabled: t.boolean({ required: false }),
    dailyDigest: t.boolean({ required: false, description: 'One summary a day of yesterday\'s runs and the open alerts' }),
    digestHour: t.int({ required: false, description: 'Hour (0-23, organization time zone) of the digest; default 8' }),
  }),
});
const RotateInput = builder.inputType('RotateChannelSecretInput', {
  fields: (t) => ({ channelId: t.id({ required: true }), overlapHours: t.int({ required: false, description: 'How long the previous secret keeps signing (0-168, default 24)' }) }),
});
const ChannelIdInput = builder.inputType('TestChannelInput', { fields: (t) => ({ channelId: t.id({ required: true }) }) });

const CreateAlertRuleInput = builder.inputType('CreateAlertRuleInput', { fields: (t) => ({ channelId: t.id({ required: true }), kinds: t.field({ type: [AlertKindEnum], required: false, validate: kindList, description: 'Empty or absent: every kind' }),
    minSeverity: t.field({ type: AlertSeverityEnum, required: false, description: 'Default WARNING' }),
    strategyScope: t.field({ type: StrategyScopeEnum, required: false, description: 'Default ALL' }),
    strategyIds: t.idList({ required: false, validate: idList }),
    notifyOnSuccess: t.boolean({ required: false }),
    notifyOnResolve: t.boolean({ required: false, description: 'Default true' }), }) });
const UpdateAlertRuleInput = builder.inputType('UpdateAlertRuleInput', { fields: (t) => ({ id: t.id({ required: true }), kinds: t.field({ type: [AlertKindEnum], required: false, validate: kindList, description: 'Empty or absent: every kind' }),
    minSeverity: t.field({ type: AlertSeverityEnum, required: false, description: 'Default WARNING' }),
    strategyScope: t.field({ type: StrategyScopeEnum, required: false, description: 'Default ALL' }),
    strategyIds: t.idList({ required: false, validate: idList }),
    notifyOnSuccess: t.boolean({ required: false }),
    notifyOnResolve: t.boolean({ required: false, description: 'Default true' }), }) });

const CreateContactInput = builder.inputType('CreateEmergencyContactInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: nameSchema }),
    email: t.string({ required: false, validate: z.string().max(254, 'must be at most 254 characters') }),
    channelId: t.id({ required: false }),
    afterMinutes: t.int({ required: true, description: 'Minutes after a CRITICAL alert opened, unacknowledged (1-10080)' }),
  }),
});
const UpdateContactInput = builder.inputType('UpdateEmergencyContactInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false, validate: nameSchema }),
    email: t.string({ required: false, validate: z.string().max(254, 'must be at most 254 characters') }),
    channelId: t.id({ required: false }),
    afterMinutes: t.int({ required: false }),
  }),
});

const channelKind = { WEBHOOK: CreateWebhookChannelInput, SLACK: CreateSlackChannelInput } as const;

const ruleInput = (input: { kinds?: readonly string[] | null; minSeverity?: string | null; strategyScope?: string | null; strategyIds?: readonly unknown[] | null; notifyOnSuccess?: boolean | null; notifyOnResolve?: boolean | null }) => ({
  kinds: input.kinds as never,
  minSeverity: input.minSeverity as never,
  strategyScope: input.strategyScope as never,
  strategyIds: input.strategyIds ? decodeIds(input.strategyIds.map(String), 'Strategy', ['input', 'strategyIds']) : input.strategyIds,
  notifyOnSuccess: input.notifyOnSuccess,
  notifyOnResolve: input.notifyOnResolve,
});

builder.mutationFields((t) => ({
  ...Object.fromEntries(
    (['WEBHOOK', 'SLACK'] as const).map((kind) => [
      kind === 'WEBHOOK' ? 'createWebhookChannel' : 'createSlackChannel',
      t.field({
        type: ChannelWithSecret,
        authScopes: { admin: true },
        errors: { types: MUTATION_ERRORS },
        description: kind === 'WEBHOOK' ? 'A Standard Webhooks receiver; the signing secret is in the answer, once' : 'A Slack-compatible incoming webhook',
        args: { input: t.arg({ type: channelKind[kind], required: true }) },
        resolve: (_root, { input }, ctx) => createChannel(ctx.app.db, ctx.app.masterKey, ctx.scope!, { ...input, kind }),
      }),
    ]),
  ),
  createEmailChannel: t.field({
    type: NotificationChannelRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    description: 'E-mail to these addresses through the operator\'s SMTP server',
    args: { input: t.arg({ type: CreateEmailChannelInput, required: true }) },
    resolve: async (_root, { input }, ctx) => (await createChannel(ctx.app.db, ctx.app.masterKey, ctx.scope!, { ...input, kind: 'EMAIL' })).channel,
  }),
  updateNotificationChannel: t.field({
    type: NotificationChannelRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: UpdateChannelInput, required: true }) },
    resolve: (_root, { input: { id, ...patch } }, ctx) => updateChannel(ctx.app.db, ctx.app.masterKey, ctx.scope!, decodeId(String(id), 'NotificationChannel', ['input', 'id']), patch),
  }),
  deleteNotificationChannel: t.field({
    type: DeletedRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: idInput('DeleteNotificationChannelInput'), required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await deleteChannel(ctx.app.db, ctx.scope!, decodeId(String(input.id), 'NotificationChannel', ['input', 'id']));
      return { id: String(input.id) };
    },
  }),
  rotateChannelSecret: t.field({
    type: ChannelWithSecret,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    description: 'A new signing secret (in the answer, once); the previous one keeps signing beside it for overlapHours',
    args: { input: t.arg({ type: RotateInput, required: true }) },
    resolve: (_root, { input }, ctx) => rotateChannelSecret(ctx.app.db, ctx.app.masterKey, ctx.scope!, decodeId(String(input.channelId), 'NotificationChannel', ['input', 'channelId']), input.overlapHours ?? 24),
  }),
  testChannel: t.field({
    type: TestChannelResultRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    description: 'Sends a test message now and reports how the receiver answered',
    args: { input: t.arg({ type: ChannelIdInput, required: true }) },
    resolve: (_root, { input }, ctx) => testChannel(deliveryDeps(ctx.app), ctx.scope!, decodeId(String(input.channelId), 'NotificationChannel', ['input', 'channelId'])),
  }),
  createAlertRule: t.field({
    type: AlertRuleRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: CreateAlertRuleInput, required: true }) },
    resolve: (_root, { input }, ctx) => createAlertRule(ctx.app.db, ctx.scope!, decodeId(String(input.channelId), 'NotificationChannel', ['input', 'channelId']), ruleInput(input)),
  }),
  updateAlertRule: t.field({
    type: AlertRuleRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: UpdateAlertRuleInput, required: true }) },
    resolve: (_root, { input }, ctx) => updateAlertRule(ctx.app.db, ctx.scope!, decodeId(String(input.id), 'AlertRule', ['input', 'id']), ruleInput(input)),
  }),
  deleteAlertRule: t.field({
    type: DeletedRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: idInput('DeleteAlertRuleInput'), required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await deleteAlertRule(ctx.app.db, ctx.scope!, decodeId(String(input.id), 'AlertRule', ['input', 'id']));
      return { id: String(input.id) };
    },
  }),
  createEmergencyContact: t.field({
    type: EmergencyContactRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: CreateContactInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      createEmergencyContact(ctx.app.db, ctx.scope!, { ...input, channelId: optionalId(ctx, input.channelId, 'NotificationChannel', ['input', 'channelId']) }),
  }),
  updateEmergencyContact: t.field({
    type: EmergencyContactRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: UpdateContactInput, required: true }) },
    resolve: (_root, { input: { id, ...patch } }, ctx) =>
      updateEmergencyContact(ctx.app.db, ctx.scope!, decodeId(String(id), 'EmergencyContact', ['input', 'id']), { ...patch, channelId: optionalId(ctx, patch.channelId, 'NotificationChannel', ['input', 'channelId']) }),
  }),
  deleteEmergencyContact: t.field({
    type: DeletedRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: idInput('DeleteEmergencyContactInput'), required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await deleteEmergencyContact(ctx.app.db, ctx.scope!, decodeId(String(input.id), 'EmergencyContact', ['input', 'id']));
      return { id: String(input.id) };
    },
  }),
  acknowledgeAlert: t.field({
    type: AlertRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    description: 'Someone is on it: escalation stops',
    args: { input: t.arg({ type: idInput('AcknowledgeAlertInput'), required: true }) },
    resolve: (_root, { input }, ctx) => acknowledgeAlert(ctx.app.db, ctx.app.boss, ctx.scope!, decodeId(String(input.id), 'Alert', ['input', 'id'])),
  }),
  resolveAlert: t.field({
    type: AlertRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: idInput('ResolveAlertInput'), required: true }) },
    resolve: (_root, { input }, ctx) => resolveAlert(ctx.app.db, ctx.app.boss, ctx.scope!, decodeId(String(input.id), 'Alert', ['input', 'id'])),
  }),
}));

builder.subscriptionField('alertUpdated', (t) =>
  t.field({
    type: AlertRef,
    authScopes: { member: true },
    description: 'Every alert of the organization that opens, folds a repeat, escalates, is acknowledged or resolves',
    subscribe: (_root, _args, ctx) => {
      const orgId = ctx.viewer!.orgId;
      return whileAuthorized(ctx, ctx.app.events.subscribe((e) => e.kind === 'ALERT' && e.orgId === orgId));
    },
    resolve: async (event, _args, ctx) => {
      const alert = await ctx.db!.alert.findFirst({ where: { id: (event as unknown as { id: string }).id, orgId: ctx.viewer!.orgId } });
      if (!alert) throw new NotFoundError('Alert');
      // The state this event announced: the row may have moved on while the subscriber's access
      // was re-checked, and a client must still see the alert open before it sees it resolved.
      const announced = (event as unknown as { status?: string }).status;
      const states = ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] as const;
      const state = states.find((s) => s === announced);
      return state ? { ...alert, state } : alert;
    },
  }),
);
