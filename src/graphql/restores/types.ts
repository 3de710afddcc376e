// The RecoveryJob object (one restore of a recovery point into a target) and its target kinds.
import { builder } from '../builder';
import { JobStatusEnum } from '../backups/types';

export const RecoveryTargetKindEnum = builder.enumType('RecoveryTargetKind', { values: ['NEW_DATABASE', 'EXISTING_DATABASE', 'DIRECTORY'] as const });

export const RestoreOwnershipEnum = builder.enumType('RestoreOwnership', { values: ['AUTO', 'RESTORE', 'SKIP'] as const });

export const RecoveryJobRef = builder.prismaNode('RecoveryJob', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (j, ctx) => !!ctx.viewer && j.orgId === ctx.viewer.orgId,
  description: 'A restore of a recovery point into a database or a directory. The target URL is write-only.',
  fields: (t) => ({
    recoveryPoint: t.relation('recoveryPoint', { nullable: true, description: 'Null once retention deleted the point' }),
    targetKind: t.expose('targetKind', { type: RecoveryTargetKindEnum }),
    targetDatabase: t.exposeString('targetDatabase', { nullable: true }),
    targetPath: t.exposeString('targetPath', { nullable: true }),
    selection: t.expose('selection', { type: 'JSON', nullable: true, description: '{ schemas, tables, paths } restored selectively' }),
    confirmOverwrite: t.exposeBoolean('confirmOverwrite'),
    ownership: t.expose('ownership', { type: RestoreOwnershipEnum, description: 'What was asked for owners and privileges; validation.ownership says what was done' }),
    jobs: t.exposeInt('jobs', { nullable: true, description: 'pg_restore --jobs asked for (null: the format default)' }),
    status: t.expose('status', { type: JobStatusEnum }),
    phase: t.exposeString('phase', { nullable: true, description: 'verifying, restoring, validating, cancelling' }),
    bytesDone: t.expose('bytesDone', { type: 'BigInt' }),
    bytesTotal: t.expose('bytesTotal', { type: 'BigInt', nullable: true }),
    percent: t.exposeFloat('percent', { nullable: true }),
    etaSeconds: t.exposeInt('etaSeconds', { nullable: true }),
    attempt: t.exposeInt('attempt'),
    error: t.exposeString('error', { nullable: true }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    validation: t.expose('validation', { type: 'JSON', nullable: true, description: 'Which copy was used, copies skipped and why, row counts or entries compared' }),
    queuedAt: t.expose('queuedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});
