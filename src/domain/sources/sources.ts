// Sources: what gets backed up. Connection URLs are sealed with the master key on the way
// in and never returned; only a credential-free hint (host:port/db) is kept readable.
import { parseConnectionUrl } from '../../backup/engines/pg-connection';
import { isBackupError } from '../../backup/errors';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import type { DumpFormat } from '../../db/generated/prisma/enums';
import { recordAudit } from '../../audit/writer';
import { openSecret, sealSecret } from '../../crypto/sealed';
import type { OrgScope } from '../../auth/scope';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import { conflictOnDuplicate } from '../unique';

export interface PostgresSourceInput {
  name: string;
  connectionUrl: string;
  includeSchemas?: string[] | null;
  excludeSchemas?: string[] | null;
  includeTables?: string[] | null;
  excludeTables?: string[] | null;
  dumpFormat?: DumpFormat | null;
  noOwner?: boolean | null;
  noAcl?: boolean | null;
  probeQueries?: string[] | null;
}

export interface DirectorySourceInput {
  name: string;
  path: string;
  includeGlobs?: string[] | null;
  excludeGlobs?: string[] | null;
}

export type UpdateSourceInput = Partial<Omit<PostgresSourceInput, 'name' | 'connectionUrl'>> &
  Partial<Omit<DirectorySourceInput, 'name' | 'path'>> & { name?: string | null; connectionUrl?: string | null; path?: string | null };

/** Parses a PostgreSQL URL and returns the part that is safe to show (no credentials). */
export function connectionHint(url: string, path: string[] = ['input', 'connectionUrl']): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw ValidationError.field(path, 'is not a valid URL');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw ValidationError.field(path, 'must start with postgres:// or postgresql://');
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!u.hostname) throw ValidationError.field(path, 'must name a host');
  if (!db) throw ValidationError.field(path, 'must name a database');
  // What the worker will refuse anyway (parameters that reach other hosts or its own files, a
  // literal address the outbound policy forbids), refused now; host names are checked when resolved.
  try {
    parseConnectionUrl(url);
  } catch (err) {
    if (isBackupError(err)) throw ValidationError.field(path, err.message);
    throw err;
  }
  return `${u.username ? decodeURIComponent(u.username) + '@' : ''}${u.hostname}:${u.port || '5432'}/${db}`.slice(0, 300);
}

function directoryPath(p: string): string {
  if (!p.startsWith('/')) throw ValidationError.field(['input', 'path'], 'must be an absolute path');
  if (p.includes('\0')) throw ValidationError.field(['input', 'path'], 'must not contain NUL');
  return p.replace(/\/+$/, '') || '/';
}

const sealAad = (orgId: string) => `source:${orgId}`;

/** The plaintext connection URL of a POSTGRES source, for the worker that dumps it (never for the API). */
export function openConnectionUrl(masterKey: Buffer, source: { orgId: string; connectionUrlSealed: Uint8Array | null }): string {
  if (!source.connectionUrlSealed) throw new Error('the source has no connection URL');
  return openSecret(masterKey, source.connectionUrlSealed, sealAad(source.orgId));
}

export async function createPostgresSource(db: Db, masterKey: Buffer, scope: OrgScope, input: PostgresSourceInput) {
  const hint = connectionHint(input.connectionUrl);
  return withTenant(db, scope.orgId, (tx) =>
    conflictOnDuplicate(`A source named "${input.name}"`, async () => {
      const source = await tx.source.create({
        data: {
          orgId: scope.orgId,
          name: input.name,
          kind: 'POSTGRES',
          connectionUrlSealed: sealSecret(masterKey, input.connectionUrl, sealAad(scope.orgId)),
          connectionHint: hint,
          includeSchemas: input.includeSchemas ?? [],
          excludeSchemas: input.excludeSchemas ?? [],
          includeTables: input.includeTables ?? [],
          excludeTables: input.excludeTables ?? [],
          dumpFormat: input.dumpFormat ?? 'CUSTOM',
          noOwner: input.noOwner ?? true,
          noAcl: input.noAcl ?? false,
          probeQueries: input.probeQueries ?? [],
        },
      });
      await recordAudit(tx, scope, { action: 'source.create', resourceType: 'Source', resourceId: source.id, after: source });
      return source;
    }),
  );
}

export async function createDirectorySource(db: Db, scope: OrgScope, input: DirectorySourceInput) {
  const path = directoryPath(input.path);
  return withTenant(db, scope.orgId, (tx) =>
    conflictOnDuplicate(`A source named "${input.name}"`, async () => {
      const source = await tx.source.create({
        data: {
          orgId: scope.orgId,
          name: input.name,
          kind: 'DIRECTORY',
          path,
          includeGlobs: input.includeGlobs ?? [],
          excludeGlobs: input.excludeGlobs ?? [],
        },
      });
      await recordAudit(tx, scope, { action: 'source.create', resourceType: 'Source', resourceId: source.id, after: source });
      return source;
    }),
  );
}

export async function updateSource(db: Db, masterKey: Buffer, scope: OrgScope, id: string, input: UpdateSourceInput) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.source.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('Source');
    const pgOnly = ['connectionUrl', 'includeSchemas', 'excludeSchemas', 'includeTables', 'excludeTables', 'dumpFormat', 'noOwner', 'noAcl', 'probeQueries'] as const;
    const dirOnly = ['path', 'includeGlobs', 'excludeGlobs'] as const;
    const wrong = (before.kind === 'POSTGRES' ? dirOnly : pgOnly).filter((k) => input[k] != null);
    if (wrong.length) {
      throw new ValidationError(wrong.map((k) => ({ path: ['input', k], message: `does not apply to a ${before.kind} source` })));
    }
    const data = {
      name: input.name ?? undefined,
      includeSchemas: input.includeSchemas ?? undefined,
      excludeSchemas: input.excludeSchemas ?? undefined,
      includeTables: input.includeTables ?? undefined,
      excludeTables: input.excludeTables ?? undefined,
      dumpFormat: input.dumpFormat ?? undefined,
      noOwner: input.noOwner ?? undefined,
      noAcl: input.noAcl ?? undefined,
      probeQueries: input.probeQueries ?? undefined,
      includeGlobs: input.includeGlobs ?? undefined,
      excludeGlobs: input.excludeGlobs ?? undefined,
      path: input.path != null ? directoryPath(input.path) : undefined,
      ...(input.connectionUrl != null
        ? { connectionHint: connectionHint(input.connectionUrl), connectionUrlSealed: sealSecret(masterKey, input.connectionUrl, sealAad(scope.orgId)) }
        : {}),
    };
    return conflictOnDuplicate(`A source named "${input.name}"`, async () => {
      const after = await tx.source.update({ where: { id }, data });
      await recordAudit(tx, scope, {
        action: 'source.update', resourceType: 'Source', resourceId: id, before,
        after: { ...after, connectionUrlChanged: input.connectionUrl != null },
      });
      return after;
    });
  });
}

export async function deleteSource(db: Db, scope: OrgScope, id: string) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.source.findFirst({ where: { id, orgId: scope.orgId }, include: { _count: { select: { strategies: true } } } });
    if (!before) throw new NotFoundError('Source');
    if (before._count.strategies > 0) throw new ConflictError('The source is used by strategies; delete or change them first');
    await tx.source.delete({ where: { id } });
    await recordAudit(tx, scope, { action: 'source.delete', resourceType: 'Source', resourceId: id, before });
    return before;
  });
}
