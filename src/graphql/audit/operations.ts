// The audit API: the organization's append-only audit trail, filterable, and the check of its hash
// chain (with an anchor to catch a truncated or rewritten tail).
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

const AuditChainAnchorInput = builder.inputType('AuditChainAnchorInput', {
  description: 'A head reported by an earlier verifyAuditChain',
  fields: (t) => ({
    seq: t.int({ required: true, validate: z.number().int().min(1) }),
    hash: t.string({ required: true, validate: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a SHA-256 hex digest') }),
  }),
});

builder.queryField('verifyAuditChain', (t) =>
  t.field({
    type: AuditChainReportRef,
    authScopes: { auditor: true },
    description:
      'Recomputes the organization audit hash chain and reports the first broken link. With `anchor` (a head kept from an earlier run), also proves that no event up to it was removed or rewritten',
    args: { anchor: t.arg({ type: AuditChainAnchorInput, required: false }) },
    resolve: (_root, args, ctx) => withTenant(ctx.app.db, ctx.viewer!.orgId, (tx) => verifyAuditChain(tx, ctx.viewer!.orgId, args.anchor)),
  }),
);
