// The AuditEvent object (who did what to which resource, with before/after) and the actor types.
import { builder } from '../builder';
import type { ChainReport } from '../../audit/chain';

export const ActorTypeEnum = builder.enumType('ActorType', { values: ['USER', 'API_KEY', 'SYSTEM'] as const });

export const AuditEventRef = builder.prismaNode('AuditEvent', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (e, ctx) => !!ctx.viewer && e.orgId === ctx.viewer.orgId,
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    actorType: t.expose('actorType', { type: ActorTypeEnum }),
    actorId: t.exposeString('actorId', { nullable: true }),
    actorLabel: t.exposeString('actorLabel', { nullable: true }),
    action: t.exposeString('action'),
    resourceType: t.exposeString('resourceType'),
    resourceId: t.exposeString('resourceId', { nullable: true }),
    before: t.expose('before', { type: 'JSON', nullable: true }),
    after: t.expose('after', { type: 'JSON', nullable: true }),
    requestId: t.exposeString('requestId', { nullable: true }),
    ip: t.exposeString('ip', { nullable: true }),
    userAgent: t.exposeString('userAgent', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    prevHash: t.exposeString('prevHash'),
    hash: t.exposeString('hash'),
  }),
});

const AuditChainHeadRef = builder.objectRef<NonNullable<ChainReport['head']>>('AuditChainHead').implement({
  description: 'The newest event of the chain. Keep it outside Keepsake and pass it back as `anchor` to prove no event was removed since',
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    hash: t.exposeString('hash'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const AuditChainReportRef = builder.objectRef<ChainReport>('AuditChainReport').implement({
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    checkedEvents: t.exposeInt('checkedEvents'),
    firstBrokenSeq: t.exposeInt('firstBrokenSeq', { nullable: true }),
    firstBrokenEventId: t.exposeString('firstBrokenEventId', { nullable: true }),
    reason: t.exposeString('reason', { nullable: true }),
    head: t.field({ type: AuditChainHeadRef, nullable: true, resolve: (r) => r.head }),
  }),
});
