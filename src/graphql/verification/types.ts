// The Verification object (one restore test with its evidence) and its status and pick enums.
import { builder } from '../builder';

export const VerificationStatusEnum = builder.enumType('VerificationStatus', { values: ['QUEUED', 'RUNNING', 'PASSED', 'FAILED'] as const });
export const VerificationPickEnum = builder.enumType('VerificationPick', {
  values: { NEWEST: { description: 'The newest recovery point' }, RANDOM_RECENT: { description: 'One of the 5 newest, at random' } } as const,
});

export const VerificationRef = builder.prismaNode('Verification', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (v, ctx) => !!ctx.viewer && v.orgId === ctx.viewer.orgId,
  description: 'A restore test: the point restored into a scratch target, checked, and thrown away',
  fields: (t) => ({
    recoveryPoint: t.relation('recoveryPoint', { nullable: true, description: 'Null once retention deleted the point; the evidence stays' }),
    strategy: t.relation('strategy', { nullable: true }),
    status: t.expose('status', { type: VerificationStatusEnum }),
    scheduledFor: t.expose('scheduledFor', { type: 'DateTime', nullable: true, description: 'Set for runs of the strategy verifyCron' }),
    evidence: t.expose('evidence', { type: 'JSON', nullable: true, description: 'Copy used, tables with expected and restored row counts, probe query results, entries' }),
    durationMs: t.exposeInt('durationMs', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});
