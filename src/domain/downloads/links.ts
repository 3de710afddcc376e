// Short-lived signed download links (createDownloadLink): a token that names the organization, the
// recovery point, the optional path and who asked, signed with a key derived from the master key
// (HKDF, its own purpose string, so it can sign nothing else and needs no new secret). Nothing is
// stored: a link is valid until it expires (at most an hour). Its creator is looked up again when
// it is used, so a removed member, a demoted role or a revoked API key ends their links at once.
import { hkdfSync } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { recordAudit } from '../../audit/writer';
import type { OrgScope, RequestMeta } from '../../auth/scope';
import type { Db } from '../../db/client';
import { withSystem, withTenant } from '../../db/context';
import type { Role } from '../../db/generated/prisma/enums';
import { DomainError, ValidationError } from '../errors';
import { assertMayDownload, downloadPath, DOWNLOAD_ROLES, findDownloadablePoint } from './download';

const AUDIENCE = 'keepsake-download';
const ISSUER = 'keepsake';
export const DEFAULT_LINK_SECONDS = 15 * 60;
export const MAX_LINK_SECONDS = 60 * 60;

export class DownloadLinkError extends DomainError {
  override readonly code = 'UNAUTHENTICATED';
  override name = 'DownloadLinkError';
}

const linkKey = (masterKey: Buffer) => new Uint8Array(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'keepsake download links v1', 32));

export interface DownloadLink {
  url: string;
  expiresAt: Date;
}

export async function createDownloadLink(
  deps: { db: Db; masterKey: Buffer },
  scope: OrgScope,
  input: { recoveryPointId: string; path?: string | null; expiresInSeconds?: number | null },
): Promise<DownloadLink> {
  assertMayDownload(scope);
  const seconds = input.expiresInSeconds ?? DEFAULT_LINK_SECONDS;
  if (!Number.isInteger(seconds) || seconds < 30 || seconds > MAX_LINK_SECONDS) {
    throw ValidationError.field(['input', 'expiresInSeconds'], `must be between 30 and ${MAX_LINK_SECONDS} seconds`);
  }
  if (scope.actor.type === 'SYSTEM' || !scope.actor.id) throw new ValidationError([], 'Only a member or an API key can create a download link');
  const point = await findDownloadablePoint(deps, scope, input.recoveryPointId);
  const path = downloadPath(point, input.path, ['input', 'path']);
  const expiresAt = new Date(Date.now() + seconds * 1000);
  const token = await new SignJWT({ org: scope.orgId, rp: point.id, ...(path ? { path } : {}), kind: scope.actor.type })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(scope.actor.id)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(linkKey(deps.masterKey));
  await withTenant(deps.db, scope.orgId, (tx) =>
    recordAudit(tx, scope, { action: 'recoveryPoint.downloadLinkCreated', resourceType: 'RecoveryPoint', resourceId: point.id, after: { path: path ?? null, expiresAt } }),
  );
  return { url: `/downloads/${token}`, expiresAt };
}

/** The scope and request a link stands for; DownloadLinkError when it is forged, expired or its creator may no longer download. */
export async function openDownloadLink(deps: { db: Db; masterKey: Buffer }, token: string, meta: RequestMeta): Promise<{ scope: OrgScope; recoveryPointId: string; path?: string }> {
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(token, linkKey(deps.masterKey), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] }));
  } catch {
    throw new DownloadLinkError('The download link is invalid or has expired');
  }
  const { org, rp, path, kind, sub } = claims as { org?: string; rp?: string; path?: string; kind?: string; sub?: string };
  if (typeof org !== 'string' || typeof rp !== 'string' || typeof sub !== 'string' || (kind !== 'USER' && kind !== 'API_KEY')) {
    throw new DownloadLinkError('The download link is invalid or has expired');
  }
  const actor = await withSystem(deps.db, 'download-link-creator', async (tx): Promise<{ role: Role; label: string } | null> => {
    if (kind === 'USER') {
      const m = await tx.membership.findFirst({ where: { userId: sub, orgId: org }, include: { user: true } });
      return m ? { role: m.role, label: m.user.email } : null;
    }
    const key = await tx.apiKey.findFirst({ where: { id: sub, orgId: org } });
    if (!key || key.revokedAt || (key.expiresAt && key.expiresAt.getTime() <= Date.now())) return null;
    return { role: key.role, label: `api-key:${key.name}` };
  });
  if (!actor || !DOWNLOAD_ROLES.includes(actor.role)) throw new DownloadLinkError('The creator of this download link may no longer download backups');
  return {
    scope: { orgId: org, meta, actor: { type: kind, id: sub, label: `${actor.label} (download link)`, role: actor.role } },
    recoveryPointId: rp,
    path,
  };
}
