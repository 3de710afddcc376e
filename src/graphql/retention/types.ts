// The RetentionPolicy object: how long a strategy's recovery points live.
import { builder } from '../builder';

export const RetentionPolicyRef = builder.prismaNode('RetentionPolicy', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (p, ctx) => !!ctx.viewer && p.orgId === ctx.viewer.orgId,
  fields: (t) => ({
    name: t.exposeString('name'),
    keepLast: t.exposeInt('keepLast', { nullable: true, description: 'Keep the N newest points' }),
    keepHourly: t.exposeInt('keepHourly', { nullable: true }),
    keepDaily: t.exposeInt('keepDaily', { nullable: true }),
    keepWeekly: t.exposeInt('keepWeekly', { nullable: true }),
    keepMonthly: t.exposeInt('keepMonthly', { nullable: true }),
    keepYearly: t.exposeInt('keepYearly', { nullable: true }),
    maxAgeDays: t.exposeInt('maxAgeDays', { nullable: true, description: 'Points older than this are deleted (legal hold, newest verified and minCopies excepted)' }),
    minCopies: t.exposeInt('minCopies', { description: 'The newest N points are always kept' }),
    peakSeasonStart: t.exposeString('peakSeasonStart', { nullable: true, description: 'MM-DD, in the organization time zone' }),
    peakSeasonEnd: t.exposeString('peakSeasonEnd', { nullable: true, description: 'MM-DD, inclusive; before the start means the season wraps the year end' }),
    peakKeepDaily: t.exposeInt('peakKeepDaily', { nullable: true, description: 'Daily points kept inside the peak season' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
