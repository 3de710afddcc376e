// Live progress. Tenant-checked at subscribe time (the job must be the viewer's), filtered by
// org on every event, and the job row re-read through the tenant client for each update.
import { GraphQLError } from 'graphql';
import type { JobEvent, JobKind } from '../../events/bus';
import { NotFoundError, ValidationError } from '../../domain/errors';
import { builder } from '../builder';
import { decodeId } from '../ids';
import { BackupJobRef } from './types';
import { RecoveryJobRef } from '../restores/types';
import type { GraphQLContext } from '../context';
import { whileAuthorized } from '../subscription-access';


const JobKindEnum = builder.enumType('JobKind', { values: ['BACKUP', 'RECOVERY', 'VERIFICATION'] as const });

const JobEventRef = builder.objectRef<JobEvent>('JobEvent').implement({
  description: 'A change of a job in the organization: ids and a small delta',
  fields: (t) => ({
    kind: t.field({ type: JobKindEnum, resolve: (e) => e.kind as JobKind }),
    jobId: t.string({ description: 'Global id of the BackupJob (or RecoveryJob / Verification)', resolve: (e) => Buffer.from(`${e.kind === 'BACKUP' ? 'BackupJob' : e.kind === 'RECOVERY' ? 'RecoveryJob' : 'Verification'}:${e.id}`).toString('base64') }),
    status: t.string({ nullable: true, resolve: (e) => e.status ?? null }),
    phase: t.string({ nullable: true, resolve: (e) => e.phase ?? null }),
    bytesDone: t.field({ type: 'BigInt', nullable: true, resolve: (e) => (e.bytesDone != null ? BigInt(e.bytesDone) : null) }),
    bytesTotal: t.field({ type: 'BigInt', nullable: true, resolve: (e) => (e.bytesTotal != null ? BigInt(e.bytesTotal) : null) }),
    percent: t.float({ nullable: true, resolve: (e) => e.percent ?? null }),
    etaSeconds: t.int({ nullable: true, resolve: (e) => e.etaSeconds ?? null }),
    error: t.string({ nullable: true, resolve: (e) => e.error ?? null }),
    publishedAt: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
  }),
});

function asGraphQLError(err: unknown): never {
  if (err instanceof NotFoundError || err instanceof ValidationError) {
    throw new GraphQLError(err.message, { extensions: { code: err.code } });
  }
  throw err;
}

/** Checks at subscribe time that the job is the viewer's organization's, then follows its events. */
async function subscribeToJob(ctx: GraphQLContext, kind: 'BACKUP' | 'RECOVERY', globalId: string) {
  const typename = kind === 'BACKUP' ? 'BackupJob' : 'RecoveryJob';
  let jobId: string;
  try {
    jobId = decodeId(globalId, typename);
  } catch (err) {
    asGraphQLError(err);
  }
  const orgId = ctx.viewer!.orgId;
  const where = { where: { id: jobId, orgId }, select: { id: true } };
  const found = kind === 'BACKUP' ? await ctx.db!.backupJob.findFirst(where) : await ctx.db!.recoveryJob.findFirst(where);
  if (!found) asGraphQLError(new NotFoundError(typename));
  return whileAuthorized(ctx, ctx.app.events.subscribe((e) => e.kind === kind && e.orgId === orgId && e.id === jobId));
}

builder.subscriptionFields((t) => ({
  backupJobUpdated: t.field({
    type: BackupJobRef,
    authScopes: { member: true },
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => subscribeToJob(ctx, 'BACKUP', String(args.id)),
    resolve: (event, _args, ctx) => ctx.db!.backupJob.findFirstOrThrow({ where: { id: (event as unknown as JobEvent).id, orgId: ctx.viewer!.orgId } }),
  }),
  recoveryJobUpdated: t.field({
    type: RecoveryJobRef,
    authScopes: { member: true },
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => subscribeToJob(ctx, 'RECOVERY', String(args.id)),
    resolve: (event, _args, ctx) => ctx.db!.recoveryJob.findFirstOrThrow({ where: { id: (event as unknown as JobEvent).id, orgId: ctx.viewer!.orgId } }),
  }),
  jobEvents: t.field({
    type: JobEventRef,
    authScopes: { member: true },
    description: 'Every job change in the viewer organization',
    subscribe: (_root, _args, ctx) => {
      const orgId = ctx.viewer!.orgId;
      return whileAuthorized(ctx, ctx.app.events.subscribe((e) => e.orgId === orgId && e.kind !== 'ALERT'));
    },
    resolve: (event) => event as unknown as JobEvent,
  }),
}));
