// Asking for a restore: the target is checked up front (kind matches the backup, a URL that names
// a database, a directory inside the allowed roots, explicit confirmation before overwriting an
// existing database), then the RecoveryJob row and its queue job are created in one transaction.
// The target URL may carry a password: it is sealed like source URLs and never returned.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fromPrisma, type PgBoss } from 'pg-boss';
import { recordAudit } from '../../audit/writer';
import { sealSecret } from '../../crypto/sealed';
import type { Db } from '../../db/client';
import { asQueueOwnerWithin, withTenant } from '../../db/context';
import { publishJobEvent } from '../jobs-control/events';
import { queues } from '../../queue/queues';
import type { OrgScope } from '../../auth/scope';
import { FINAL_STATUSES } from '../backups/trigger';
import { ConflictError, NotFoundError, ValidationError, type FieldIssue } from '../errors';
import { connectionHint } from '../sources/sources';
import { parseRelationName, relationMatches } from '../../backup/restore/toc';
import { CHUNKED_FORMAT } from '../repository/backup';
import { checkChunkedSelection } from '../repository/catalog';

/** A chunked restore target must be new or empty (checked again by the worker before it writes). */
async function checkTargetEmpty(p: string): Promise<void> {
  const existing = await stat(p).catch(() => null);
  if (existing && (!existing.isDirectory() || (await readdir(p)).length > 0)) {
    throw new ValidationError([{ path: ['input', 'path'], message: `${p} exists and is not an empty directory: restore into a new or empty directory` }]);
  }
}

export type RestoreTargetKind = 'NEW_DATABASE' | 'EXISTING_DATABASE' | 'DIRECTORY';

export interface RestoreInput {
  recoveryPointId: string;
  targetKind: RestoreTargetKind;
  /** Database targets: postgresql://user:password@host:port/database (the database to create or overwrite). */
  connectionUrl?: string | null;
  /** DIRECTORY target: an absolute path that does not exist yet or is an empty directory. */
  path?: string | null;
  /** Required (true) to restore into an existing database, whose objects in the dump are replaced. */
  confirmOverwrite?: boolean | null;
  schemas?: string[] | null;
  tables?: string[] | null;
  paths?: string[] | null;
  /** Chunked directory backups: restore only entries matching this glob (and what lies under matching directories). */
  glob?: string | null;
  /** pg_restore --jobs into a NEW_DATABASE (custom and directory formats). */
  jobs?: number | null;
  /** Owners and privileges of database restores: AUTO (default), RESTORE or SKIP (see restore/postgres.ts). */
  ownership?: RestoreOwnership | null;
}

export type RestoreOwnership = 'AUTO' | 'RESTORE' | 'SKIP';

export interface RestoreEnv {
  masterKey: Buffer;
  /** Where DIRECTORY restores may write (undefined: anywhere; empty: nowhere). */
  directoryRoots?: string[];
}

export const targetSealAad = (orgId: string) => `recovery-target:${orgId}`;

const MAX_SELECTION = 100;

function inRoots(p: string, roots: string[]): boolean {
  return roots.some((r) => {
    const rel = path.relative(path.resolve(r), path.resolve(p));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  });
}

/**
 * Names of `schemas`/`tables` that the backup does not hold, refused before anything is queued.
 * Points made before manifests listed their relations are checked by the worker instead, against
 * the archive's table of contents.
 */
function checkSelection(input: RestoreInput, manifest: unknown, add: (field: string, message: string, index?: number) => void): void {
  const listed = (manifest as { relations?: string[] } | null)?.relations;
  (input.tables ?? []).forEach((name, i) => {
    if (!parseRelationName(name)) add('tables', `${JSON.stringify(name)} is not a relation name (table, schema.table, "Quoted.Name")`, i);
  });
  if (!listed) return;
  const relations = listed.map((q) => ({ schema: q.slice(0, q.indexOf('.')), name: q.slice(q.indexOf('.') + 1) }));
  const schemas = input.schemas ?? [];
  schemas.forEach((s, i) => {
    if (!relations.some((r) => r.schema === s)) add('schemas', `schema ${JSON.stringify(s)} is not in the backup`, i);
  });
  (input.tables ?? []).forEach((name, i) => {
    if (!parseRelationName(name)) return;
    const hit = relations.some((r) => (schemas.length === 0 || schemas.includes(r.schema)) && relationMatches(name, r));
    if (!hit) add('tables', `${JSON.stringify(name)} is not in the backup${schemas.length ? ` (within schemas ${schemas.join(', ')})` : ''}`, i);
  });
}

function checkTarget(input: RestoreInput, sourceKind: 'POSTGRES' | 'DIRECTORY', format: string, env: RestoreEnv, manifest: unknown): { hint: string; database?: string } {
  const issues: FieldIssue[] = [];
  const add = (field: string, message: string, index?: number) => issues.push({ path: index === undefined ? ['input', field] : ['input', field, String(index)], message });
  for (const field of ['schemas', 'tables', 'paths'] as const) {
    if ((input[field]?.length ?? 0) > MAX_SELECTION) add(field, `at most ${MAX_SELECTION} entries`);
  }
  let result: { hint: string; database?: string } = { hint: '' };
  if (sourceKind === 'POSTGRES') {
    if (input.targetKind === 'DIRECTORY') add('targetKind', 'a database backup restores into NEW_DATABASE or EXISTING_DATABASE');
    if (input.paths?.length) add('paths', 'applies to directory backups only');
    if (!input.connectionUrl) add('connectionUrl', 'is required for a database target');
    else {
      try {
        const hint = connectionHint(input.connectionUrl);
        result = { hint, database: hint.slice(hint.lastIndexOf('/') + 1) };
      } catch (err) {
        if (err instanceof ValidationError) issues.push(...err.issues);
        else throw err;
      }
    }
    if (input.targetKind === 'EXISTING_DATABASE' && input.confirmOverwrite !== true) {
      add('confirmOverwrite', 'must be true: objects of the dump that exist in the target are dropped and replaced');
    }
    if (format === 'plain' && input.targetKind === 'EXISTING_DATABASE') add('targetKind', 'a plain SQL dump can only be restored into a new database');
    if (format === 'plain' && (input.schemas?.length || input.tables?.length)) add('tables', 'a plain SQL dump cannot be restored selectively');
    if (input.schemas?.length || input.tables?.length) checkSelection(input, manifest, add);
    if (input.jobs != null && input.jobs > 1) {
      if (input.targetKind === 'EXISTING_DATABASE') add('jobs', 'an existing database is restored in one transaction, which parallel jobs cannot share: restore into a new database');
      else if (format !== 'custom' && format !== 'directory') add('jobs', `a ${format} dump restores as one stream: parallel jobs need the custom or directory format`);
    }
  } else {
    if (input.targetKind !== 'DIRECTORY') add('targetKind', 'a directory backup restores into a DIRECTORY');
    if (input.schemas?.length || input.tables?.length) add('tables', 'applies to database backups only');
    if (input.jobs != null) add('jobs', 'applies to database backups only');
    if (input.ownership != null && input.ownership !== 'AUTO') add('ownership', 'applies to database backups only');
    const p = input.path ?? '';
    if (!p.startsWith('/') || p.includes('\0') || p.split('/').includes('..')) add('path', 'must be an absolute path without ..');
    else if (env.directoryRoots && !inRoots(p, env.directoryRoots)) add('path', 'is outside the directories this server may restore into (DIRECTORY_SOURCE_ROOTS)');
    result = { hint: p };
  }
  if (issues.length) throw new ValidationError(issues);
  return result;
}

export async function restoreRecoveryPoint(db: Db, boss: PgBoss, env: RestoreEnv, scope: OrgScope, input: RestoreInput) {
  const job = await withTenant(db, scope.orgId, async (tx) => {
    const point = await tx.recoveryPoint.findFirst({
      where: { id: input.recoveryPointId, orgId: scope.orgId },
      include: { artifacts: { where: { status: 'PRESENT' }, select: { id: true } } },
    });
    if (!point) throw new NotFoundError('RecoveryPoint');
    if (point.deletingSince) throw new ConflictError('The recovery point is being deleted');
    if (point.artifacts.length === 0) throw new ConflictError('The recovery point has no copy left to restore from');
    const target = checkTarget(input, point.sourceKind, point.format, env, point.manifest);
    if (input.glob != null && point.format !== CHUNKED_FORMAT) throw new ValidationError([{ path: ['input', 'glob'], message: 'applies to chunked directory backups only' }]);
    if (point.format === CHUNKED_FORMAT) {
      if (input.glob != null && (input.glob.length === 0 || input.glob.length > 1000 || input.glob.includes('\0'))) throw new ValidationError([{ path: ['input', 'glob'], message: 'must be 1..1000 characters without NUL' }]);
      await checkChunkedSelection(tx, scope.orgId, point.id, input.paths ?? [], input.glob);
      await checkTargetEmpty(input.path!);
    }
    const created = await tx.recoveryJob.create({
      data: {
        orgId: scope.orgId,
        recoveryPointId: point.id,
        targetKind: input.targetKind,
        targetUrlSealed: input.connectionUrl && point.sourceKind === 'POSTGRES' ? sealSecret(env.masterKey, input.connectionUrl, targetSealAad(scope.orgId)) : null,
        targetDatabase: target.database ?? null,
        targetPath: point.sourceKind === 'DIRECTORY' ? input.path! : null,
        selection: { schemas: input.schemas ?? [], tables: input.tables ?? [], paths: input.paths ?? [], ...(input.glob != null ? { glob: input.glob } : {}) },
        confirmOverwrite: input.confirmOverwrite === true,
        jobs: input.jobs ?? null,
        ownership: input.ownership ?? 'AUTO',
        initiatedById: scope.actor.type === 'USER' ? scope.actor.id : null,
        initiatedByApiKey: scope.actor.type === 'API_KEY' ? scope.actor.id : null,
      },
    });
    const queueJobId = await asQueueOwnerWithin(tx, scope.orgId, () =>
      boss.send(queues.restore.name, { recoveryJobId: created.id, orgId: scope.orgId }, { db: fromPrisma(tx) }),
    );
    const withQueue = await tx.recoveryJob.update({ where: { id: created.id }, data: { queueJobId } });
    await recordAudit(tx, scope, {
      action: 'restore.request', resourceType: 'RecoveryJob', resourceId: created.id,
      after: { recoveryPointId: point.id, targetKind: input.targetKind, target: target.hint, selection: created.selection, confirmOverwrite: created.confirmOverwrite, jobs: created.jobs, ownership: created.ownership },
    });
    return withQueue;
  });
  await publishJobEvent(db, { orgId: scope.orgId, kind: 'RECOVERY', id: job.id, status: job.status });
  return job;
}

/** Like cancelBackupJob: a queued restore ends at once, a running one is asked to stop. */
export async function cancelRecoveryJob(db: Db, boss: PgBoss, scope: OrgScope, id: string) {
  const job = await withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.recoveryJob.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('RecoveryJob');
    if ((FINAL_STATUSES as readonly string[]).includes(before.status)) throw new ConflictError(`The restore has already ended (${before.status})`);
    const now = new Date();
    const after = before.status === 'QUEUED'
      ? await tx.recoveryJob.update({ where: { id }, data: { status: 'CANCELLED', cancelRequestedAt: now, finishedAt: now, error: 'Cancelled before it started' } })
      : await tx.recoveryJob.update({ where: { id }, data: { cancelRequestedAt: now } });
    if (before.status === 'QUEUED' && before.queueJobId) {
      const queueJobId = before.queueJobId;
      await asQueueOwnerWithin(tx, scope.orgId, () => boss.cancel(queues.restore.name, queueJobId, { db: fromPrisma(tx) }));
    }
    await recordAudit(tx, scope, { action: 'restore.cancel', resourceType: 'RecoveryJob', resourceId: id, before: { status: before.status }, after: { status: after.status } });
    return after;
  });
  await publishJobEvent(db, {
    orgId: scope.orgId, kind: 'RECOVERY', id: job.id, status: job.status, phase: job.status === 'CANCELLED' ? null : 'cancelling',
  });
  return job;
}
