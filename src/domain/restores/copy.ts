// What restores and restore tests share: pick a copy of the recovery point that is reachable and
// intact (each destination in turn; a copy is hashed end to end before anything is written), then
// stream it decrypted and decompressed into the target, then compare the result with what the
// backup recorded (row counts per table, number of archive entries).
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { DestinationError, IntegrityError, isBackupError, RestoreValidationError, TargetExistsError } from '../../backup/errors';
import { ByteCounter } from '../../backup/pipeline/byte-counter';
import { openRestoreStream, verifyArtifact } from '../../backup/pipeline/restore';
import { extractTar } from '../../backup/restore/extract-tar';
import { openTarget, restorePostgres, targetRowCounts, type DumpFormatName, type OwnershipMode, type OwnershipReport } from '../../backup/restore/postgres';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import { recordAudit } from '../../audit/writer';
import { systemScope } from '../../auth/scope';
import type { Artifact, Destination, RecoveryPoint } from '../../db/generated/prisma/client';
import { organizationDataKey } from '../organization/data-keys';
import { driverFor } from '../destinations/driver';
import { CHUNKED_FORMAT } from '../repository/backup';
import { restoreChunkedPoint } from '../repository/restore';

export interface RestoreDeps {
  db: Db;
  masterKey: Buffer;
  storageRoot: string;
  pgBinDir?: string;
}

export type PointWithCopies = RecoveryPoint & { artifacts: Array<Artifact & { destination: Destination }> };

export type RestoreTarget =
  | {
      kind: 'postgres'; url: string; mode: 'new' | 'existing'; schemas?: string[]; tables?: string[]; noPrivileges?: boolean;
      /** pg_restore --jobs (new databases only; see restore/postgres.ts). */
      jobs?: number;
      /** The operator's own server (a restore test's scratch database): exempt from the outbound policy. */
      trusted?: boolean;
      ownership?: OwnershipMode;
      /** Marks the database a 'new' restore creates until it succeeds (see restore/postgres.ts). */
      marker?: string;
    }
  | { kind: 'directory'; path: string; paths?: string[]; glob?: string };

export interface TableCheck {
  table: string;
  expected: number;
  actual: number | null;
  ok: boolean;
}

export interface RestoreEvidence {
  /** The destination whose copy was restored. */
  destinationId: string;
  /** Copies that could not be used, and why. */
  skipped: Array<{ destinationId: string; reason: string; code: string; damaged?: boolean }>;
  bytes: number;
  tables?: TableCheck[];
  /** What became of owners and privileges (database restores). */
  ownership?: OwnershipReport;
  /** Objects tied to a selection that were not restored because they need an unselected relation. */
  leftOut?: string[];
  entries?: { expected: number | null; actual: number };
}

const HEALTH_ORDER: Record<string, number> = { HEALTHY: 0, UNKNOWN: 1, UNHEALTHY: 2 };

export interface ChosenCopy {
  artifact: PointWithCopies['artifacts'][number];
  driver: ReturnType<typeof driverFor>;
  /** Copies that could not be used, and why. */
  skipped: RestoreEvidence['skipped'];
}

/**
 * A copy that could not be used, for the evidence. One whose bytes do not match the catalog's
 * SHA-256 (or fail authentication) is marked DAMAGED at once: it is never chosen again, and
 * backupHealth shows it. An unreachable destination says nothing about the copy and marks nothing.
 */
async function copyFailure(deps: RestoreDeps, artifact: Artifact, err: unknown): Promise<RestoreEvidence['skipped'][number]> {
  const reason = err instanceof Error ? err.message : String(err);
  const code = isBackupError(err) ? err.code : 'INTERNAL';
  if (code === 'INTEGRITY_ERROR') {
    await withTenant(deps.db, artifact.orgId, async (tx) => {
      const marked = await tx.artifact.updateMany({ where: { id: artifact.id, orgId: artifact.orgId, status: 'PRESENT' }, data: { status: 'DAMAGED', lastError: reason.slice(0, 2000) } });
      if (marked.count) {
        await recordAudit(tx, systemScope(artifact.orgId, 'restore-worker'), {
          action: 'artifact.damaged', resourceType: 'Artifact', resourceId: artifact.id, after: { recoveryPointId: artifact.recoveryPointId, destinationId: artifact.destinationId, reason: reason.slice(0, 500) },
        });
      }
    });
  }
  return { destinationId: artifact.destinationId, reason, code, ...(code === 'INTEGRITY_ERROR' ? { damaged: true } : {}) };
}

/**
 * The first copy of the point that is reachable and intact, healthiest destination first: each
 * is hashed end to end against the catalog's SHA-256 before it is chosen (a damaged one is marked).
 * With checkEveryCopy (restore tests) the other copies are hashed too, so damage is found before a
 * user needs them. Throws IntegrityError when every readable copy is damaged, DestinationError
 * when none could be read.
 */
export async function chooseIntactCopy(
  deps: RestoreDeps,
  point: PointWithCopies,
  signal: AbortSignal,
  opts: { onAttempt?: () => void; checkEveryCopy?: boolean } = {},
): Promise<ChosenCopy> {
  const copies = point.artifacts
    .filter((a) => a.status === 'PRESENT')
    .sort((a, b) => (HEALTH_ORDER[a.destination.status] ?? 1) - (HEALTH_ORDER[b.destination.status] ?? 1));
  const skipped: RestoreEvidence['skipped'] = [];
  for (const artifact of copies) {
    opts.onAttempt?.();
    try {
      const driver = driverFor(artifact.destination, deps);
      await verifyArtifact(driver, artifact.key, point.sha256, { signal });
      if (opts.checkEveryCopy) await checkOtherCopies(deps, point, copies, artifact, skipped, signal);
      return { artifact, driver, skipped };
    } catch (err) {
      if (signal.aborted) throw err;
      skipped.push(await copyFailure(deps, artifact, err));
    }
  }
  const detail = skipped.map((s) => s.reason).join('; ') || 'the recovery point has no copy';
  // Every copy that could be read was damaged: that is an integrity failure, not an outage.
  throw skipped.length && skipped.every((s) => s.code === 'INTEGRITY_ERROR' || s.code === 'KEY_MISMATCH')
    ? new IntegrityError(`no intact copy of the recovery point: ${detail}`)
    : new DestinationError('read', point.id, new Error(`no usable copy of the recovery point: ${detail}`));
}

async function checkOtherCopies(
  deps: RestoreDeps,
  point: PointWithCopies,
  copies: PointWithCopies['artifacts'],
  chosen: PointWithCopies['artifacts'][number],
  skipped: RestoreEvidence['skipped'],
  signal: AbortSignal,
): Promise<void> {
  const tried = new Set(skipped.map((x) => x.destinationId));
  for (const other of copies.filter((c) => c !== chosen && !tried.has(c.destinationId))) {
    try {
      await verifyArtifact(driverFor(other.destination, deps), other.key, point.sha256, { signal });
    } catch (err) {
      if (signal.aborted) throw err;
      skipped.push(await copyFailure(deps, other, err));
    }
  }
}

/** The chosen copy decrypted and decompressed; the stream fails (IntegrityError) if the stored bytes changed since they were verified. */
export async function openDecodedCopy(deps: RestoreDeps, point: PointWithCopies, chosen: ChosenCopy, signal: AbortSignal): Promise<Readable> {
  const dataKey = point.encrypted ? await organizationDataKey(deps.db, deps.masterKey, point.orgId) : undefined;
  return openRestoreStream({
    driver: chosen.driver, key: chosen.artifact.key, expectedSha256: point.sha256, compression: point.compression, dataKey, signal, verify: false,
  });
}

export async function restorePoint(
  deps: RestoreDeps,
  point: PointWithCopies,
  target: RestoreTarget,
  signal: AbortSignal,
  onProgress: (phase: 'verifying' | 'restoring', bytesDone: number) => void,
  opts: { checkEveryCopy?: boolean } = {},
): Promise<RestoreEvidence> {
  // A target the outbound policy forbids (or a malformed URL) fails before any copy is read.
  // Resolved and checked once, used by every step (create, pg_restore, counts).
  if (point.format === CHUNKED_FORMAT && target.kind === 'directory') return restoreChunkedPoint(deps, point, target, signal, onProgress);
  const pinned = target.kind === 'postgres' ? await openTarget(target.url, { trusted: target.trusted }) : undefined;
  const chosen = await chooseIntactCopy(deps, point, signal, { onAttempt: () => onProgress('verifying', 0), checkEveryCopy: opts.checkEveryCopy });
  const skipped = chosen.skipped;
  const decoded = await openDecodedCopy(deps, point, chosen, signal);
  const counter = new ByteCounter({ intervalMs: 250, onProgress: (n) => onProgress('restoring', n) });
  decoded.pipe(counter);
  decoded.on('error', (err) => counter.destroy(err));
  const evidence: RestoreEvidence = { destinationId: chosen.artifact.destinationId, skipped, bytes: 0 };
  const manifest = point.manifest as { rowCounts?: Record<string, number>; files?: number };

  if (target.kind === 'postgres') {
    await restorePostgres(
      counter,
      {
        targetUrl: target.url, format: point.format as DumpFormatName, mode: target.mode, schemas: target.schemas, tables: target.tables, noPrivileges: target.noPrivileges,
        ownership: target.ownership, marker: target.marker, jobs: target.jobs, pgBinDir: deps.pgBinDir, trusted: target.trusted, pinned,
      },
      signal,
      // Inside the restore, so a new database that fails the comparison is dropped like any failed one.
      async (conn, result) => {
        evidence.bytes = counter.bytes;
        evidence.ownership = result.ownership;
        if (result.leftOut.length) evidence.leftOut = result.leftOut;
        const restoredTables = result.tables ? new Set(result.tables) : undefined;
        const expected = Object.entries(manifest.rowCounts ?? {}).filter(([t]) => (restoredTables ? restoredTables.has(t) : selected(t, target.schemas, target.tables)));
        const actual = await targetRowCounts(conn, expected.map(([t]) => t));
        evidence.tables = expected.map(([table, n]) => ({ table, expected: n, actual: actual[table] ?? null, ok: actual[table] === n }));
        const bad = evidence.tables.filter((c) => !c.ok);
        if (bad.length) throw new RestoreValidationError(`restored row counts differ from the backup's: ${bad.map((c) => `${c.table} ${c.actual ?? 'missing'} ≠ ${c.expected}`).join(', ')}`);
      },
    );
  } else {
    const result = await restoreDirectory(counter, target, signal);
    evidence.bytes = counter.bytes;
    const actual = result.files + result.directories + result.symlinks;
    const expectedEntries = target.paths?.length ? null : (manifest.files ?? null);
    evidence.entries = { expected: expectedEntries, actual };
    if (expectedEntries !== null && expectedEntries !== actual) throw new RestoreValidationError(`restored ${actual} entries, the backup recorded ${expectedEntries}`);
  }
  return evidence;
}

function selected(qualified: string, schemas?: string[], tables?: string[]): boolean {
  const dot = qualified.indexOf('.');
  const [schema, table] = [qualified.slice(0, dot), qualified.slice(dot + 1)];
  if (schemas?.length && !schemas.includes(schema)) return false;
  if (tables?.length && !tables.includes(table) && !tables.includes(qualified)) return false;
  return true;
}

/** Unpacks into a sibling staging directory, then renames it into place: the target appears whole or not at all. */
async function restoreDirectory(input: Readable, target: { path: string; paths?: string[] }, signal: AbortSignal) {
  const existing = await stat(target.path).catch(() => null);
  if (existing && (!existing.isDirectory() || (await readdir(target.path)).length > 0)) {
    throw new TargetExistsError(`${target.path} exists and is not an empty directory: restore into a new or empty directory`);
  }
  const staging = `${target.path.replace(/\/+$/, '')}.ks-restore-${randomBytes(4).toString('hex')}`;
  const wanted = target.paths?.map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean);
  const include = wanted?.length ? (rel: string) => wanted.some((p) => rel === p || rel.startsWith(`${p}/`) || p.startsWith(`${rel}/`)) : undefined;
  try {
    await mkdir(staging, { mode: 0o700 });
    const result = await extractTar(input, staging, { include, signal });
    if (existing) await rmdir(target.path);
    await rename(staging, target.path);
    return result;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
