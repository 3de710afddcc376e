// The strategies API: create, update, pause, resume and delete strategies (what is backed up,
// where to, when, how long it is kept). Resolvers check the role and call src/domain/strategies.
import { z } from 'zod';
import { createStrategy, deleteStrategy, pauseStrategy, resumeStrategy, updateStrategy } from '../../domain/strategies/strategies';
import { builder } from '../builder';
import { CompressionEnum } from '../backups/types';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId, decodeIds } from '../ids';
import { nameSchema } from '../validation';
import { RepositoryFormatEnum, StrategyRef, StrategyStatusEnum } from './types';
import { idInput, DeletedRef } from '../shared';

builder.queryField('strategies', (t) =>
  t.prismaConnection({
    type: 'Strategy',
    cursor: 'id',
    authScopes: { member: true },
    args: { status: t.arg({ type: StrategyStatusEnum, required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db!.strategy.findMany({
        ...query,
        where: { orgId: ctx.viewer!.orgId, status: args.status ?? undefined },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }),
);

// Edge limits; the schedule and compression rules are the domain's (field-level messages).
const cronSchema = z.string().min(1, 'must not be empty').max(120, 'must be at most 120 characters');
const timeZoneSchema = z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters');
const monthDay = z.string().max(5, 'must be MM-DD');
const int = (min: number, max: number) => z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
const destinationIds = z.array(z.string()).min(1, 'must list at least one destination').max(10, 'at most 10 destinations');

type InputFieldBuilder = Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0];

const settingFields = (t: InputFieldBuilder) => ({
  retentionPolicyId: t.id({ required: false }),
  timeZone: t.string({ required: false, validate: timeZoneSchema, description: 'IANA name; default: the organization time zone' }),
  startWindowMinutes: t.int({ required: false, validate: int(1, 1440), description: 'Default 60' }),
  peakCron: t.string({ required: false, validate: cronSchema, description: 'Cron used inside the peak season (peakCron, peakStart and peakEnd go together)' }),
  peakStart: t.string({ required: false, validate: monthDay, description: 'MM-DD' }),
  peakEnd: t.string({ required: false, validate: monthDay, description: 'MM-DD, inclusive' }),
  compression: t.field({ type: CompressionEnum, required: false, description: 'Default ZSTD' }),
  compressionLevel: t.int({ required: false, validate: int(1, 19), description: 'zstd 1..19 (default 1), gzip 1..9 (default 6)' }),
  encrypted: t.boolean({ required: false, description: 'Default true' }),
  priority: t.int({ required: false, validate: int(-10, 10), description: '-10..10, default 0' }),
  rpoMinutes: t.int({ required: false, validate: int(1, 525_600) }),
  maxSizeBytes: t.field({ type: 'BigInt', required: false }),
  timeoutSeconds: t.int({ required: false, validate: int(1, 7 * 86_400) }),
  verifyCron: t.string({ required: false, validate: cronSchema, description: 'When to restore-test the newest point' }),
  critical: t.boolean({ required: false, description: 'Alerts about it are CRITICAL and escalate to the emergency contacts (default false)' }),
});

const CreateStrategyInput = builder.inputType('CreateStrategyInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: nameSchema }),
    sourceId: t.id({ required: true }),
    destinationIds: t.idList({ required: true, validate: destinationIds }),
    cron: t.string({ required: true, validate: cronSchema, description: '5-field cron or @daily, @hourly, ...' }),
    repositoryFormat: t.field({ type: RepositoryFormatEnum, required: false, description: 'Default TAR; CHUNKED for DIRECTORY sources (fixed once created)' }),
    ...settingFields(t),
  }),
});

const UpdateStrategyInput = builder.inputType('UpdateStrategyInput', {
  description: 'Omitted fields stay as they are; null clears the optional ones',
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false, validate: nameSchema }),
    sourceId: t.id({ required: false }),
    destinationIds: t.idList({ required: false, validate: destinationIds }),
    cron: t.string({ required: false, validate: cronSchema }),
    ...settingFields(t),
  }),
});


const decodeOptional = (id: string | number | null | undefined, typename: string, path: string[]) =>
  id === undefined ? undefined : id === null ? null : decodeId(String(id), typename, path);

builder.mutationFields((t) => ({
  createStrategy: t.field({
    type: StrategyRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: CreateStrategyInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      createStrategy(ctx.app.db, ctx.scope!, {
        ...input,
        sourceId: decodeId(String(input.sourceId), 'Source', ['input', 'sourceId']),
        destinationIds: decodeIds(input.destinationIds.map(String), 'Destination', ['input', 'destinationIds']),
        retentionPolicyId: decodeOptional(input.retentionPolicyId, 'RetentionPolicy', ['input', 'retentionPolicyId']),
      }),
  }),
  updateStrategy: t.field({
    type: StrategyRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: UpdateStrategyInput, required: true }) },
    resolve: (_root, { input: { id, ...patch } }, ctx) =>
      updateStrategy(ctx.app.db, ctx.scope!, decodeId(String(id), 'Strategy', ['input', 'id']), {
        ...patch,
        sourceId: decodeOptional(patch.sourceId, 'Source', ['input', 'sourceId']),
        destinationIds: patch.destinationIds ? decodeIds(patch.destinationIds.map(String), 'Destination', ['input', 'destinationIds']) : patch.destinationIds,
        retentionPolicyId: decodeOptional(patch.retentionPolicyId, 'RetentionPolicy', ['input', 'retentionPolicyId']),
      }),
  }),
  deleteStrategy: t.field({
    type: DeletedRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: idInput('DeleteStrategyInput'), required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await deleteStrategy(ctx.app.db, ctx.scope!, decodeId(String(input.id), 'Strategy', ['input', 'id']));
      return { id: String(input.id) };
    },
  }),
  pauseStrategy: t.field({
    type: StrategyRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    description: 'Stops scheduling the strategy (running jobs continue)',
    args: { input: t.arg({ type: idInput('PauseStrategyInput'), required: true }) },
    resolve: (_root, { input }, ctx) => pauseStrategy(ctx.app.db, ctx.scope!, decodeId(String(input.id), 'Strategy', ['input', 'id'])),
  }),
  resumeStrategy: t.field({
    type: StrategyRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    description: 'Schedules the strategy again from now',
    args: { input: t.arg({ type: idInput('ResumeStrategyInput'), required: true }) },
    resolve: (_root, { input }, ctx) => resumeStrategy(ctx.app.db, ctx.scope!, decodeId(String(input.id), 'Strategy', ['input', 'id'])),
  }),
}));
