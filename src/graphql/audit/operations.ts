import { z } from 'zod';
import { withTenant } from '../../db/context';
import { verifyAuditChain } from '../../audit/chain';
import { builder } from '../builder';
import { ActorTypeEnum, AuditChainReportRef } from './types';

const AuditEventFilter = builder.inputType('AuditEventFilter', {
  fields: (t) => ({
    actorId: t.string({ required: false, validate: z.string().uuid() }),
    actorType: t.field({ type: ActorTypeEnum, required: false }),
    action: t.string({ required: false, validate: z.string().max(64) }),
    resourceType: t.string({ required: false, validate: z.string().max(64) }),
    resourceId: t.string({ required: false, validate: z.string().uuid() }),
    from: t.field({ type: 'DateTime', required: false }),
    to: t.field({ type: 'DateTime', required: false }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.prismaConnection({
    type: 'AuditEvent',
    cursor: 'id',
    authScopes: { auditor: true },
    args: { filter: t.arg({ type: AuditEventFilter, required: false }) },
    resolve: (query, _root, { filter }, ctx) =>
      ctx.db!.auditEvent.findMany({
        ...query,
        where: {
          orgId: ctx.viewer!.orgId,
          actorId: filter?.actorId ?? undefined,
          actorType: filter?.actorType ?? undefined,
          action: filter?.action ?? undefined,
          resourceType: filter?.resourceType ?? undefined,
          resourceId: filter?.resourceId ?? undefined,
          createdAt: filter?.from || filter?.to ? { gte: filter.from ?? undefined, lt: filter.to ?? undefined } : undefined,
        },
        // Chain order. Ids are made by each writing process (uuid v7), so across API and worker
        // processes, or concurrent writers, their order is not the order the chain assigned.
        orderBy: [{ seq: 'desc' }, { id: 'desc' }],
      }),
  }),
);

builder.queryField('verifyAuditChain', (t) =>
  t.field({
    type: AuditChainReportRef,
    authScopes: { auditor: true },
    description: 'Recomputes the organization audit hash chain and reports the first broken link',
    resolve: (_root, _args, ctx) => withTenant(ctx.app.db, ctx.viewer!.orgId, (tx) => verifyAuditChain(tx, ctx.viewer!.orgId)),
  }),
);
