// The immutability API: the organization lock, legal holds, manual deletion of a recovery point
// (subject to both), and rebuilding the catalog from a destination. Calls src/domain/immutability.
import { z } from 'zod';
import { importRecoveryPoints } from '../../domain/immutability/catalog-import';
import { MAX_GRACE_DAYS, setOrganizationLock } from '../../domain/immutability/locks';
import { deleteRecoveryPoint, releaseLegalHold, setLegalHold } from '../../domain/retention/point-deletion';
import { retentionPreview } from '../../domain/retention/preview';
import { NotFoundError, ValidationError } from '../../domain/errors';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { RecoveryPointRef } from '../backups/types';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId } from '../ids';
import { OrganizationRef, OrgLockModeEnum } from '../organization/types';
import { CatalogImportRef, RecoveryPointDeletionRef, RetentionPreviewRef } from './types';

const destinationEnv = (ctx: GraphQLContext) => ({ masterKey: ctx.app.masterKey, storageRoot: ctx.app.config.storageRoot });

builder.queryField('retentionPreview', (t) =>
  t.field({
    type: RetentionPreviewRef,
    authScopes: { member: true },
    errors: { types: [NotFoundError, ValidationError] },
    description: "Every recovery point of the strategy with keep/delete and why, under its policy and the organization's lock",
    args: { strategyId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => retentionPreview(ctx.app.db, ctx.viewer!.orgId, decodeId(String(args.strategyId), 'Strategy', ['strategyId'])),
  }),
);

const reasonSchema = z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters');

const SetLegalHoldInput = builder.inputType('SetLegalHoldInput', {
  fields: (t) => ({ recoveryPointId: t.id({ required: true }), reason: t.string({ required: true, validate: reasonSchema, description: 'Why the point must be kept (case, request, ticket)' }) }),
});
const ReleaseLegalHoldInput = builder.inputType('ReleaseLegalHoldInput', { fields: (t) => ({ recoveryPointId: t.id({ required: true }) }) });
const DeleteRecoveryPointInput = builder.inputType('DeleteRecoveryPointInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    override: t.boolean({ required: false, description: "OWNER only: delete a point the organization's governance lock still protects (audited as an override)" }),
  }),
});
const SetOrganizationLockInput = builder.inputType('SetOrganizationLockInput', {
  fields: (t) => ({
    mode: t.field({ type: OrgLockModeEnum, required: true }),
    graceDays: t.int({
      required: false,
      validate: z.number().int().min(0, 'must not be negative').max(MAX_GRACE_DAYS, `must be at most ${MAX_GRACE_DAYS}`),
      description: 'COMPLIANCE only: days during which the lock can still be lowered (default 1)',
    }),
  }),
});
const ImportRecoveryPointsInput = builder.inputType('ImportRecoveryPointsInput', { fields: (t) => ({ destinationId: t.id({ required: true }) }) });

const pointId = (id: string | number, path: string[]) => decodeId(String(id), 'RecoveryPoint', path);

builder.mutationFields((t) => ({
  setLegalHold: t.field({
    type: RecoveryPointRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    description: 'Keeps the point whatever retention, the lock or anyone says, until the hold is released',
    args: { input: t.arg({ type: SetLegalHoldInput, required: true }) },
    resolve: (_root, { input }, ctx) => setLegalHold(ctx.app.db, destinationEnv(ctx), ctx.scope!, pointId(input.recoveryPointId, ['input', 'recoveryPointId']), input.reason),
  }),
  releaseLegalHold: t.field({
    type: RecoveryPointRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: ReleaseLegalHoldInput, required: true }) },
    resolve: (_root, { input }, ctx) => releaseLegalHold(ctx.app.db, destinationEnv(ctx), ctx.scope!, pointId(input.recoveryPointId, ['input', 'recoveryPointId'])),
  }),
  deleteRecoveryPoint: t.field({
    type: RecoveryPointDeletionRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    description: 'Deletes every copy, then the point. Refused under legal hold, and under the lock before the point expires (GOVERNANCE: unless an owner passes override).',
    args: { input: t.arg({ type: DeleteRecoveryPointInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      deleteRecoveryPoint(ctx.app.db, destinationEnv(ctx), ctx.scope!, pointId(input.id, ['input', 'id']), { override: input.override }),
  }),
  setOrganizationLock: t.field({
    type: OrganizationRef,
    authScopes: { owner: true },
    errors: { types: MUTATION_ERRORS },
    description: 'GOVERNANCE: points cannot be deleted before they expire except by an owner override. COMPLIANCE: after the grace period nobody can delete them early, shorten retention or lower the lock.',
    args: { input: t.arg({ type: SetOrganizationLockInput, required: true }) },
    resolve: (_root, { input }, ctx) => setOrganizationLock(ctx.app.db, ctx.scope!, input),
  }),
  importRecoveryPoints: t.field({
    type: CatalogImportRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    description:
      'Rebuilds missing recovery points and copies from the manifests at a destination (after a catalog loss). Copies are checked for presence and size, not re-hashed.',
    args: { input: t.arg({ type: ImportRecoveryPointsInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      importRecoveryPoints(ctx.app.db, destinationEnv(ctx), ctx.scope!, decodeId(String(input.destinationId), 'Destination', ['input', 'destinationId'])),
  }),
}));
