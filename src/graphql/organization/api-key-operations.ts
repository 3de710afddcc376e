// The API keys API: create an org-scoped key (its secret is shown once) and revoke it.
import { createApiKey, revokeApiKey } from '../../domain/organization/api-keys';
import { builder } from '../builder';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId } from '../ids';
import { RoleEnum } from './types';
import { nameSchema } from '../validation';
import { ApiKeyRef } from './api-key-types';

builder.queryField('apiKeys', (t) =>
  t.prismaConnection({
    type: 'ApiKey',
    cursor: 'id',
    authScopes: { admin: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.db!.apiKey.findMany({ ...query, where: { orgId: ctx.viewer!.orgId }, orderBy: { createdAt: 'desc' } }),
  }),
);

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: nameSchema }),
    role: t.field({ type: RoleEnum, required: true }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
  }),
});

const CreatedApiKey = builder.objectRef<{ key: { id: string }; token: string }>('CreatedApiKey').implement({
  fields: (t) => ({
    apiKey: t.prismaField({
      type: 'ApiKey',
      resolve: (query, created, _args, ctx) => ctx.db!.apiKey.findUniqueOrThrow({ ...query, where: { id: created.key.id } }),
    }),
    token: t.exposeString('token', { description: 'The full key. Shown only in this response: store it now.' }),
  }),
});

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKey,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => createApiKey(ctx.app.db, ctx.scope!, input),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: builder.inputType('RevokeApiKeyInput', { fields: (f) => ({ id: f.id({ required: true }) }) }), required: true }) },
    resolve: (_root, { input }, ctx) => revokeApiKey(ctx.app.db, ctx.scope!, decodeId(String(input.id), 'ApiKey', ['input', 'id'])),
  }),
}));
