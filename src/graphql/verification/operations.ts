// The restore tests API: verify a recovery point or a strategy on demand, list verifications.
// Resolvers check the role and call src/domain/verification.
import { verifyRecoveryPoint, verifyStrategy } from '../../domain/verification/request';
import { builder } from '../builder';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId } from '../ids';
import { VerificationPickEnum, VerificationRef, VerificationStatusEnum } from './types';

builder.mutationFields((t) => ({
  verifyRecoveryPoint: t.field({
    type: VerificationRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    description: 'Queues a restore test of this recovery point',
    args: { input: t.arg({ type: builder.inputType('VerifyRecoveryPointInput', { fields: (f) => ({ recoveryPointId: f.id({ required: true }) }) }), required: true }) },
    resolve: (_root, { input }, ctx) =>
      verifyRecoveryPoint(ctx.app.db, ctx.app.boss, ctx.scope!, decodeId(String(input.recoveryPointId), 'RecoveryPoint', ['input', 'recoveryPointId'])),
  }),
  verifyStrategy: t.field({
    type: VerificationRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    description: 'Queues a restore test of the strategy newest (or a random recent) recovery point',
    args: {
      input: t.arg({
        type: builder.inputType('VerifyStrategyInput', {
          fields: (f) => ({ strategyId: f.id({ required: true }), pick: f.field({ type: VerificationPickEnum, required: false, defaultValue: 'NEWEST' }) }),
        }),
        required: true,
      }),
    },
    resolve: (_root, { input }, ctx) =>
      verifyStrategy(ctx.app.db, ctx.app.boss, ctx.scope!, decodeId(String(input.strategyId), 'Strategy', ['input', 'strategyId']), input.pick ?? 'NEWEST'),
  }),
}));

builder.queryFields((t) => ({
  verifications: t.prismaConnection({
    type: 'Verification',
    cursor: 'id',
    authScopes: { member: true },
    args: { status: t.arg({ type: VerificationStatusEnum, required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db!.verification.findMany({ ...query, where: { orgId: ctx.viewer!.orgId, status: args.status ?? undefined }, orderBy: { id: 'desc' } }),
  }),
}));
