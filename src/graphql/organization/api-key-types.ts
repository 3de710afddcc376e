// The ApiKey object: name, role, prefix and last use; never the secret.
import { builder } from '../builder';
import { RoleEnum } from './types';

export const ApiKeyRef = builder.prismaNode('ApiKey', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (k, ctx) => !!ctx.viewer && k.orgId === ctx.viewer.orgId,
  fields: (t) => ({
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'Public part of the key, to recognise it; the secret is never shown again' }),
    role: t.expose('role', { type: RoleEnum }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
