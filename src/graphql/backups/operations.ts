// The backups API: trigger and cancel runs, list jobs, missed runs and recovery points, and the
// dashboard's health and statistics. Resolvers check the role and call src/domain/backups.
import { cancelBackupJob, triggerBackup } from '../../domain/backups/trigger';
import { backupHealth, backupStats } from '../../domain/reporting/dashboard';
import { requireStrategy } from '../../domain/strategies/strategies';
import { NotFoundError } from '../../domain/errors';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId } from '../ids';
import { BackupJobRef, JobStatusEnum } from './types';
import { idInput } from '../shared';

/** A strategy filter must name a strategy of the viewer's organization: another one reads as not found. */
async function visibleStrategyId(ctx: GraphQLContext, globalId: string | number | null | undefined, path: string[]): Promise<string | undefined> {
  if (globalId === null || globalId === undefined) return undefined;
  const id = decodeId(String(globalId), 'Strategy', path);
  await requireStrategy(ctx.app.db, ctx.viewer!.orgId, id);
  return id;
}


builder.mutationFields((t) => ({
  triggerBackup: t.field({
    type: BackupJobRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    description:
      'Queues a backup of the strategy now (MANUAL for users, API for API keys). While a run of the strategy is queued and has not started, ' +
      'a repeated trigger returns that queued job instead of queueing another (no idempotency key needed: triggers merge until the run starts)',
    args: { input: t.arg({ type: builder.inputType('TriggerBackupInput', { fields: (f) => ({ strategyId: f.id({ required: true }) }) }), required: true }) },
    resolve: (_root, { input }, ctx) =>
      triggerBackup(ctx.app.db, ctx.app.boss, ctx.scope!, decodeId(String(input.strategyId), 'Strategy', ['input', 'strategyId'])),
  }),
  cancelBackupJob: t.field({
    type: BackupJobRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: idInput('CancelBackupJobInput'), required: true }) },
    resolve: (_root, { input }, ctx) => cancelBackupJob(ctx.app.db, ctx.app.boss, ctx.scope!, decodeId(String(input.id), 'BackupJob', ['input', 'id'])),
  }),
}));

const BackupJobFilter = builder.inputType('BackupJobFilter', {
  fields: (t) => ({
    strategyId: t.id({ required: false }),
    status: t.field({ type: [JobStatusEnum], required: false }),
  }),
});

builder.queryFields((t) => ({
  backupJobs: t.prismaConnection({
    type: 'BackupJob',
    cursor: 'id',
    authScopes: { member: true },
    args: { filter: t.arg({ type: BackupJobFilter, required: false }) },
    resolve: async (query, _root, { filter }, ctx) =>
      ctx.db!.backupJob.findMany({
        ...query,
        where: {
          orgId: ctx.viewer!.orgId,
          strategyId: await visibleStrategyId(ctx, filter?.strategyId, ['filter', 'strategyId']),
          status: filter?.status?.length ? { in: filter.status } : undefined,
        },
        orderBy: { id: 'desc' },
      }),
  }),
  recoveryPoints: t.prismaConnection({
    type: 'RecoveryPoint',
    cursor: 'id',
    authScopes: { member: true },
    args: { strategyId: t.arg.id({ required: false }) },
    resolve: async (query, _root, args, ctx) =>
      ctx.db!.recoveryPoint.findMany({
        ...query,
        where: { orgId: ctx.viewer!.orgId, strategyId: await visibleStrategyId(ctx, args.strategyId, ['strategyId']) },
        orderBy: { id: 'desc' },
      }),
  }),
  missedRuns: t.prismaConnection({
    type: 'MissedRun',
    cursor: 'id',
    authScopes: { member: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.db!.missedRun.findMany({ ...query, where: { orgId: ctx.viewer!.orgId }, orderBy: { id: 'desc' } }),
  }),
}));

// Dashboard views on a strategy: its latest jobs and newest recovery points. Pothos folds
// these into the parent query, so an overview of N strategies costs the same statements as one.
builder.prismaObjectFields('Strategy', (t) => ({
  latestJobs: t.relation('backupJobs', {
    args: { first: t.arg.int({ required: false, defaultValue: 5 }) },
    query: (args) => ({ orderBy: { queuedAt: 'desc' }, take: Math.min(Math.max(args.first ?? 5, 1), 50) }),
  }),
  recoveryPoints: t.relatedConnection('recoveryPoints', { cursor: 'id', query: () => ({ orderBy: { id: 'desc' } }), totalCount: true }),
  missedRuns: t.relation('missedRuns', { query: { orderBy: { slotAt: 'desc' }, take: 20 } }),
}));

const HealthRef = builder.objectRef<Awaited<ReturnType<typeof backupHealth>>>('BackupHealth').implement({
  fields: (t) => ({
    lastSuccessfulBackupAt: t.expose('lastSuccessfulBackupAt', { type: 'DateTime', nullable: true }),
    scheduledToday: t.exposeInt('scheduledToday', { description: 'Scheduled slots since midnight (org time zone) that are due' }),
    ranToday: t.exposeInt('ranToday', { description: 'Of those, how many produced a job' }),
    missedLast24h: t.exposeInt('missedLast24h'),
    failingStrategyIds: t.idList({
      description: 'Global ids of the strategies whose latest finished job failed',
      resolve: (h) => h.failingStrategyIds.map((id) => encodeGlobalID('Strategy', id)),
    }),
    runningJobs: t.exposeInt('runningJobs'),
    damagedCopies: t.exposeInt('damagedCopies', { description: 'Copies (artifacts) a restore or restore test found corrupted: status DAMAGED, never restored from' }),
    damagedRecoveryPointIds: t.idList({
      description: 'Global ids of the recovery points with a damaged copy',
      resolve: (h) => h.damagedRecoveryPointIds.map((id) => encodeGlobalID('RecoveryPoint', id)),
    }),
    nextRunAt: t.expose('nextRunAt', { type: 'DateTime', nullable: true }),
  }),
});

const StatsRef = builder.objectRef<Awaited<ReturnType<typeof backupStats>>>('BackupStats').implement({
  fields: (t) => ({
    count: t.exposeInt('count'),
    totalStoredBytes: t.expose('totalStoredBytes', { type: 'BigInt' }),
    totalRawBytes: t.expose('totalRawBytes', { type: 'BigInt' }),
    averageStoredBytes: t.expose('averageStoredBytes', { type: 'BigInt' }),
    oldestAt: t.expose('oldestAt', { type: 'DateTime', nullable: true }),
    newestAt: t.expose('newestAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryFields((t) => ({
  backupHealth: t.field({
    type: HealthRef,
    authScopes: { member: true },
    resolve: (_root, _args, ctx) => backupHealth(ctx.read!, ctx.viewer!.orgId, new Date()),
  }),
  backupStats: t.field({
    type: StatsRef,
    authScopes: { member: true },
    nullable: true,
    description: 'Recovery point statistics of the organization, or of one strategy (null if the strategy is not found)',
    args: { strategyId: t.arg.id({ required: false }) },
    resolve: async (_root, args, ctx) => {
      try {
        return await backupStats(ctx.read!, ctx.viewer!.orgId, args.strategyId ? decodeId(String(args.strategyId), 'Strategy', ['strategyId']) : undefined);
      } catch (err) {
        if (err instanceof NotFoundError) return null;
        throw err;
      }
    },
  }),
}));
