// Result types of retention enforcement, immutability and catalog import.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { ImportResult } from '../../domain/immutability/catalog-import';
import { lockStateOf } from '../../domain/immutability/locks';
import type { DeletionOutcome } from '../../domain/retention/point-deletion';
import type { RetentionPreview } from '../../domain/retention/preview';
import { builder } from '../builder';
import { RecoveryPointRef } from '../backups/types';
import { OrgLockModeEnum } from '../organization/types';
import { RetentionPolicyRef } from '../retention/types';

builder.prismaObjectFields('Organization', (t) => ({
  lockGraceUntil: t.expose('lockGraceUntil', { type: 'DateTime', nullable: true, description: 'COMPLIANCE: until then the lock can still be lowered or removed' }),
  lockProtection: t.field({
    type: OrgLockModeEnum,
    description: 'How recovery points are protected now: a COMPLIANCE lock in its grace period protects like GOVERNANCE',
    select: { lockMode: true, lockGraceUntil: true },
    resolve: (o) => lockStateOf(o, new Date()).protection,
  }),
}));

const PreviewPointRef = builder.objectRef<RetentionPreview['points'][number]>('RetentionPreviewPoint').implement({
  fields: (t) => ({
    recoveryPoint: t.field({ type: RecoveryPointRef, resolve: (p) => p.point }),
    takenAt: t.field({ type: 'DateTime', resolve: (p) => p.point.takenAt }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.point.expiresAt }),
    keep: t.exposeBoolean('keep'),
    reasons: t.exposeStringList('reasons', {
      description: "Rules that keep the point ('last', 'daily 2026-11-20', 'weekly 2026-W47', 'legal-hold', 'newest-verified', 'min-copies', 'no-policy') or why it goes ('max-age', 'no-rule', 'being deleted')",
    }),
    blockedBy: t.exposeString('blockedBy', {
      nullable: true,
      description: "Why a point the policy lets go is not deleted now ('legal-hold', 'governance-lock until …', 'compliance-lock (no expiry date)', 'in use by a restore or verification')",
    }),
  }),
});

export const RetentionPreviewRef = builder.objectRef<RetentionPreview>('RetentionPreview').implement({
  description: "What retention would do to a strategy's recovery points now, in the organization's time zone",
  fields: (t) => ({
    strategy: t.prismaField({ type: 'Strategy', resolve: (query, p, _args, ctx) => ctx.db!.strategy.findUniqueOrThrow({ ...query, where: { id: p.strategyId } }) }),
    policy: t.field({ type: RetentionPolicyRef, nullable: true, resolve: (p) => p.policy }),
    keepsEverything: t.exposeBoolean('keepsEverything', { description: 'The strategy has no retention policy: retention never deletes its points' }),
    summary: t.exposeString('summary'),
    timeZone: t.exposeString('timeZone'),
    lockMode: t.field({ type: OrgLockModeEnum, resolve: (p) => p.lock.mode }),
    lockProtection: t.field({ type: OrgLockModeEnum, resolve: (p) => p.lock.protection }),
    keepCount: t.int({ resolve: (p) => p.points.filter((d) => d.keep).length }),
    deleteCount: t.int({ description: 'Points that would be deleted by the next sweep', resolve: (p) => p.points.filter((d) => !d.keep && !d.blockedBy && !d.reasons.includes('being deleted')).length }),
    points: t.field({ type: [PreviewPointRef], description: 'Newest first', resolve: (p) => p.points }),
  }),
});

const DeletionFailureRef = builder.objectRef<DeletionOutcome['failures'][number]>('ArtifactDeletionFailure').implement({
  fields: (t) => ({
    destination: t.prismaField({ type: 'Destination', nullable: true, resolve: (query, f, _args, ctx) => ctx.db!.destination.findFirst({ ...query, where: { id: f.destinationId } }) }),
    error: t.exposeString('error'),
  }),
});

export const RecoveryPointDeletionRef = builder.objectRef<DeletionOutcome>('RecoveryPointDeletion').implement({
  fields: (t) => ({
    recoveryPointId: t.id({ resolve: (d) => encodeGlobalID('RecoveryPoint', d.recoveryPointId) }),
    completed: t.exposeBoolean('completed', { description: 'Every copy is deleted and the point is gone. If false the point stays marked and the retention sweep finishes the deletion.' }),
    deletedArtifacts: t.exposeInt('deletedArtifacts'),
    failures: t.field({ type: [DeletionFailureRef], resolve: (d) => d.failures }),
    recoveryPoint: t.prismaField({
      type: 'RecoveryPoint',
      nullable: true,
      description: 'The point, still marked, while copies remain',
      resolve: (query, d, _args, ctx) => (d.completed ? null : ctx.db!.recoveryPoint.findFirst({ ...query, where: { id: d.recoveryPointId } })),
    }),
  }),
});

const ImportSkipRef = builder.objectRef<ImportResult['skipped'][number]>('CatalogImportSkip').implement({
  fields: (t) => ({ key: t.exposeString('key', { description: 'The manifest object' }), reason: t.exposeString('reason') }),
});

export const CatalogImportRef = builder.objectRef<ImportResult>('CatalogImport').implement({
  description: 'What importRecoveryPoints found at a destination and rebuilt in the catalog',
  fields: (t) => ({
    destination: t.prismaField({ type: 'Destination', resolve: (query, r, _args, ctx) => ctx.db!.destination.findUniqueOrThrow({ ...query, where: { id: r.destinationId } }) }),
    manifests: t.exposeInt('manifests'),
    imported: t.exposeInt('imported', { description: 'Recovery points created' }),
    artifactsAdded: t.exposeInt('artifactsAdded', { description: 'Copies at this destination added to points the catalog already had' }),
    alreadyPresent: t.exposeInt('alreadyPresent'),
    skipped: t.field({ type: [ImportSkipRef], resolve: (r) => r.skipped }),
    checksumsVerified: t.boolean({
      description: 'Always false: each copy was checked to exist with the size its manifest states, not re-hashed. Run a verification to prove a point restorable.',
      resolve: () => false,
    }),
  }),
});
