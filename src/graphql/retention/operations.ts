// The retention policies API: create, update and delete policies (how long points live).
// Resolvers check the role and call src/domain/retention.
import { z } from 'zod';
import { createRetentionPolicy, deleteRetentionPolicy, updateRetentionPolicy } from '../../domain/retention/policies';
import { builder } from '../builder';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId } from '../ids';
import { nameSchema } from '../validation';
import { RetentionPolicyRef } from './types';
import { idInput, DeletedRef } from '../shared';

builder.queryField('retentionPolicies', (t) =>
  t.prismaConnection({
    type: 'RetentionPolicy',
    cursor: 'id',
    authScopes: { member: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.db!.retentionPolicy.findMany({ ...query, where: { orgId: ctx.viewer!.orgId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  }),
);

// Coarse limits at the edge; the policy rules (at least 1, a policy that keeps nothing, ...)
// are checked by validateRetentionPolicy with field-level messages.
const count = z.number().int().min(0, 'must not be negative').max(10_000, 'must be at most 10000');
const monthDay = z.string().max(5, 'must be MM-DD');

type InputFieldBuilder = Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0];

const ruleFields = (t: InputFieldBuilder) => ({
  keepLast: t.int({ required: false, validate: count }),
  keepHourly: t.int({ required: false, validate: count }),
  keepDaily: t.int({ required: false, validate: count }),
  keepWeekly: t.int({ required: false, validate: count }),
  keepMonthly: t.int({ required: false, validate: count }),
  keepYearly: t.int({ required: false, validate: count }),
  maxAgeDays: t.int({ required: false, validate: count }),
  minCopies: t.int({ required: false, validate: count, description: 'Default 1' }),
  peakSeasonStart: t.string({ required: false, validate: monthDay, description: 'MM-DD' }),
  peakSeasonEnd: t.string({ required: false, validate: monthDay, description: 'MM-DD' }),
  peakKeepDaily: t.int({ required: false, validate: count }),
});

const CreateRetentionPolicyInput = builder.inputType('CreateRetentionPolicyInput', {
  fields: (t) => ({ name: t.string({ required: true, validate: nameSchema }), ...ruleFields(t) }),
});

const UpdateRetentionPolicyInput = builder.inputType('UpdateRetentionPolicyInput', {
  description: 'Omitted fields stay as they are; null turns a rule off',
  fields: (t) => ({ id: t.id({ required: true }), name: t.string({ required: false, validate: nameSchema }), ...ruleFields(t) }),
});

const DeleteRetentionPolicyInput = idInput('DeleteRetentionPolicyInput');

builder.mutationFields((t) => ({
  createRetentionPolicy: t.field({
    type: RetentionPolicyRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: CreateRetentionPolicyInput, required: true }) },
    resolve: (_root, { input }, ctx) => createRetentionPolicy(ctx.app.db, ctx.scope!, input),
  }),
  updateRetentionPolicy: t.field({
    type: RetentionPolicyRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: UpdateRetentionPolicyInput, required: true }) },
    resolve: (_root, { input: { id, ...patch } }, ctx) =>
      updateRetentionPolicy(ctx.app.db, ctx.scope!, decodeId(String(id), 'RetentionPolicy', ['input', 'id']), patch),
  }),
  deleteRetentionPolicy: t.field({
    type: DeletedRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: DeleteRetentionPolicyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await deleteRetentionPolicy(ctx.app.db, ctx.scope!, decodeId(String(input.id), 'RetentionPolicy', ['input', 'id']));
      return { id: String(input.id) };
    },
  }),
}));
