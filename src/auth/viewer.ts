// Turns a credential (a JWT or an org-scoped API key) into a Viewer. Membership and key rows
// are looked up in the explicit system context: before this runs, no tenant is known.
import { withSystem } from '../db/context';
import { isUuid } from '../db/uuid';
import type { AppServices } from '../services';
import type { Role } from '../db/generated/prisma/enums';
import { parseApiKey, verifyApiKeySecret } from './api-keys';

/** Who is calling the API: a member (by token) or an API key, with its role in the organization. */
export interface Viewer {
  kind: 'USER' | 'API_KEY';
  userId?: string;
  apiKeyId?: string;
  orgId: string;
  role: Role;
  label: string;
}

export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
}

const LAST_USED_RESOLUTION_MS = 60_000;

async function viewerFromApiKey(app: AppServices, token: string): Promise<Viewer> {
  const parsed = parseApiKey(token);
  if (!parsed) throw new AuthenticationError('Malformed API key');
  return withSystem(app.db, 'authenticate-api-key', async (tx) => {
    const key = await tx.apiKey.findUnique({ where: { prefix: parsed.prefix } });
    if (!key || !verifyApiKeySecret(parsed.secret, key.secretHash)) throw new AuthenticationError('Invalid API key');
    if (key.revokedAt) throw new AuthenticationError('API key revoked');
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) throw new AuthenticationError('API key expired');
    // Recording every use would turn each read into a write; minute resolution is enough.
    if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await tx.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: new Date() } });
    }
    return { kind: 'API_KEY', apiKeyId: key.id, orgId: key.orgId, role: key.role, label: `api-key:${key.name}` } satisfies Viewer;
  });
}

async function viewerFromJwt(app: AppServices, token: string): Promise<Viewer> {
  const { sub, orgId } = await app.verifyJwt(token);
  if (!isUuid(sub)) throw new AuthenticationError('Token subject is not a user id');
  if (!orgId) throw new AuthenticationError('Token has no org claim');
  return withSystem(app.db, 'authenticate-user', async (tx) => {
    const membership = await tx.membership.findFirst({
      // The org claim may carry the organization's id or its slug.
      where: isUuid(orgId) ? { userId: sub, orgId } : { userId: sub, org: { slug: orgId } },
      include: { user: true },
    });
    if (!membership) throw new AuthenticationError('Not a member of this organization');
    return { kind: 'USER', userId: membership.userId, orgId: membership.orgId, role: membership.role, label: membership.user.email } satisfies Viewer;
  });
}

/** Reads `Bearer <token>`; returns null when no credential is given at all. */
export async function authenticate(app: AppServices, authorization: string | null | undefined): Promise<Viewer | null> {
  if (!authorization) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match) throw new AuthenticationError('Authorization must be "Bearer <token>"');
  const token = match[1]!;
  return token.startsWith('ks_') ? viewerFromApiKey(app, token) : viewerFromJwt(app, token);
}

/**
 * Whether the access a viewer was authenticated with still holds: the membership still exists,
 * the API key is neither revoked nor expired. One indexed lookup, for long-lived operations
 * (subscriptions) that must end when the access does, whichever process removed it.
 */
export async function viewerStillValid(app: AppServices, viewer: Viewer): Promise<boolean> {
  return withSystem(app.db, 'recheck-viewer', async (tx) => {
    if (viewer.kind === 'API_KEY') {
      const key = await tx.apiKey.findUnique({ where: { id: viewer.apiKeyId! }, select: { orgId: true, revokedAt: true, expiresAt: true } });
      return !!key && key.orgId === viewer.orgId && !key.revokedAt && (!key.expiresAt || key.expiresAt.getTime() > Date.now());
    }
    const membership = await tx.membership.findFirst({ where: { userId: viewer.userId!, orgId: viewer.orgId }, select: { id: true } });
    return !!membership;
  });
}
