// The restores API: restore a recovery point into a database or a directory, cancel a restore,
// list restore jobs. Resolvers check the role and call src/domain/restores.
import { z } from 'zod';
import { cancelRecoveryJob, restoreRecoveryPoint } from '../../domain/restores/request';
import { builder } from '../builder';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId } from '../ids';
import { RecoveryJobRef, RecoveryTargetKindEnum, RestoreOwnershipEnum } from './types';

const nameList = z.array(z.string().min(1).max(200, 'must be at most 200 characters')).max(100, 'at most 100 entries');

const RestoreInput = builder.inputType('RestoreRecoveryPointInput', {
  fields: (t) => ({
    recoveryPointId: t.id({ required: true }),
    targetKind: t.field({ type: RecoveryTargetKindEnum, required: true }),
    connectionUrl: t.string({
      required: false,
      validate: z.string().max(2000, 'must be at most 2000 characters'),
      description: 'Database targets: postgresql://user:password@host:port/database — stored encrypted, never returned',
    }),
    path: t.string({ required: false, validate: z.string().max(1024, 'must be at most 1024 characters'), description: 'DIRECTORY target: an absolute path that does not exist or is empty' }),
    confirmOverwrite: t.boolean({ required: false, description: 'Must be true for EXISTING_DATABASE: objects in the dump are dropped and replaced' }),
    schemas: t.stringList({ required: false, validate: nameList, description: 'Restore only these schemas' }),
    tables: t.stringList({
      required: false,
      validate: nameList,
      description:
        'Restore only these tables (or views): "orders" (in any schema), "public.orders" or crm."Odd.Name". Each comes back usable: its partitions, owned sequences and their values, ' +
        'defaults, indexes, constraints, triggers, comments and privileges, and (into a new database) the schemas, types and functions they need. A name not in the backup is refused',
    }),
    paths: t.stringList({ required: false, validate: nameList, description: 'DIRECTORY: restore only these relative paths (and what is below them)' }),
    ownership: t.field({
      type: RestoreOwnershipEnum,
      required: false,
      description:
        'Database backups: AUTO (default) restores owners and privileges when every role owning an object of the dump exists on the target and the restoring login may act as it, ' +
        'else neither (--no-owner --no-privileges; validation.ownership names the missing roles); RESTORE always restores them (fails on a missing role); SKIP never does',
    }),
    glob: t.string({ required: false, validate: z.string().max(1000, 'must be at most 1000 characters'), description: 'Chunked DIRECTORY points: restore only entries matching this glob (and what is under matching directories)' }),
    jobs: t.int({
      required: false,
      validate: z.number().int().min(1, 'must be at least 1').max(16, 'must be at most 16'),
      description:
        'NEW_DATABASE, custom or directory format: pg_restore --jobs (directory default 2). More than 1 spools a custom-format dump to a private temp file on the worker first',
    }),
  }),
});

builder.mutationFields((t) => ({
  restoreRecoveryPoint: t.field({
    type: RecoveryJobRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    description: 'Queues a restore; follow it with recoveryJobUpdated or jobEvents',
    args: { input: t.arg({ type: RestoreInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      restoreRecoveryPoint(ctx.app.db, ctx.app.boss, { masterKey: ctx.app.masterKey, directoryRoots: ctx.app.config.directorySourceRoots }, ctx.scope!, {
        ...input,
        recoveryPointId: decodeId(String(input.recoveryPointId), 'RecoveryPoint', ['input', 'recoveryPointId']),
      }),
  }),
  cancelRecoveryJob: t.field({
    type: RecoveryJobRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: builder.inputType('CancelRecoveryJobInput', { fields: (f) => ({ id: f.id({ required: true }) }) }), required: true }) },
    resolve: (_root, { input }, ctx) => cancelRecoveryJob(ctx.app.db, ctx.app.boss, ctx.scope!, decodeId(String(input.id), 'RecoveryJob', ['input', 'id'])),
  }),
}));

builder.queryFields((t) => ({
  recoveryJobs: t.prismaConnection({
    type: 'RecoveryJob',
    cursor: 'id',
    authScopes: { member: true },
    resolve: (query, _root, _args, ctx) => ctx.db!.recoveryJob.findMany({ ...query, where: { orgId: ctx.viewer!.orgId }, orderBy: { id: 'desc' } }),
  }),
}));
