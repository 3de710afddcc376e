// Org-scoped machine credentials: shown once, stored as a hash, revocable.
import type { Db } from '../../db/client';
import { withTenant, type Tx } from '../../db/context';
import type { Role } from '../../db/generated/prisma/enums';
import { recordAudit } from '../../audit/writer';
import { generateApiKey, hashApiKeySecret } from '../../auth/api-keys';
import type { OrgScope } from '../../auth/scope';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors';

export async function createApiKey(db: Db, scope: OrgScope, input: { name: string; role: Role; expiresAt?: Date | null }) {
  if (input.role === 'OWNER') throw new ForbiddenError('API keys cannot hold the OWNER role');
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw ValidationError.field(['input', 'expiresAt'], 'must be in the future');
  const generated = generateApiKey();
  return withTenant(db, scope.orgId, async (tx) => {
    const key = await tx.apiKey.create({
      data: {
        orgId: scope.orgId,
        name: input.name,
        prefix: generated.prefix,
        secretHash: hashApiKeySecret(generated.secret),
        role: input.role,
        expiresAt: input.expiresAt ?? null,
        createdById: scope.actor.type === 'USER' ? scope.actor.id : null,
      },
    });
    await recordAudit(tx, scope, { action: 'apiKey.create', resourceType: 'ApiKey', resourceId: key.id, after: key });
    return { key, token: generated.token };
  });
}

export async function revokeApiKey(db: Db, scope: OrgScope, id: string) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.apiKey.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('ApiKey');
    if (before.revokedAt) throw new ConflictError('The API key is already revoked');
    const after = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    await recordAudit(tx, scope, { action: 'apiKey.revoke', resourceType: 'ApiKey', resourceId: id, before, after });
    return after;
  });
}

/** Revokes, inside the caller's transaction, every live key a user created in the scope's organization. */
export async function revokeKeysCreatedBy(tx: Tx, scope: OrgScope, userId: string, reason: string): Promise<string[]> {
  const keys = await tx.apiKey.findMany({ where: { orgId: scope.orgId, createdById: userId, revokedAt: null }, orderBy: { createdAt: 'asc' } });
  const now = new Date();
  for (const before of keys) {
    const after = await tx.apiKey.update({ where: { id: before.id }, data: { revokedAt: now } });
    await recordAudit(tx, scope, { action: 'apiKey.revoke', resourceType: 'ApiKey', resourceId: before.id, before, after: { ...after, reason } });
  }
  return keys.map((k) => k.id);
}
