// Live progress. Tenant-checked at subscribe time (the job must be the viewer's), filtered by
// org on every event, and the job row re-read through the tenant client for each update.
import { GraphQLError } from 'graphql';
import type { JobEvent } from '../../events/bus';
import { NotFoundError, ValidationError } from '../../domain/errors';
import { builder } from '../builder';
import { decodeId } from '../ids';
import { BackupJobRef } from './types';

const JobKindEnum = builder.enumType('JobKind', { values: ['BACKUP', 'RECOVERY', 'VERIFICATION'] as const });

const JobEventRef = builder.objectRef<JobEvent>('JobEvent').implement({
  description: 'A change of a job in the organization: ids and a small delta',
  fields: (t) => ({
    kind: t.field({ type: JobKindEnum, resolve: (e) => e.kind }),
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

builder.subscriptionFields((t) => ({
  backupJobUpdated: t.field({
    type: BackupJobRef,
    authScopes: { member: true },
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      let jobId: string;
      try {
        jobId = decodeId(String(args.id), 'BackupJob');
      } catch (err) {
        asGraphQLError(err);
      }
      const orgId = ctx.viewer!.orgId;
      const job = await ctx.db!.backupJob.findFirst({ where: { id: jobId, orgId }, select: { id: true } });
      if (!job) asGraphQLError(new NotFoundError('BackupJob'));
      return ctx.app.events.subscribe((e) => e.kind === 'BACKUP' && e.orgId === orgId && e.id === jobId);
    },
    resolve: async (event, _args, ctx) => {
      const e = event as unknown as JobEvent;
      return ctx.db!.backupJob.findFirstOrThrow({ where: { id: e.id, orgId: ctx.viewer!.orgId } });
    },
  }),
  jobEvents: t.field({
    type: JobEventRef,
    authScopes: { member: true },
    description: 'Every job change in the viewer organization',
    subscribe: (_root, _args, ctx) => {
      const orgId = ctx.viewer!.orgId;
      return ctx.app.events.subscribe((e) => e.orgId === orgId);
    },
    resolve: (event) => event as unknown as JobEvent,
  }),
}));
