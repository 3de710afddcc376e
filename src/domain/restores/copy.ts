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
import { openTarget, restorePostgres, targetRowCounts, type DumpFormatName } from '../../backup/restore/postgres';
import type { Db } from '../../db/client';
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
  skipped: Array<{ destinationId: string; reason: string; code: string }>;
  bytes: number;
  tables?: TableCheck[];
  entries?: { expected: number | null; actual: number };
}

const HEALTH_ORDER: Record<string, number> = { HEALTHY: 0, UNKNOWN: 1, UNHEALTHY: 2 };

export async function restorePoint(
  deps: RestoreDeps,
  point: PointWithCopies,
  target: RestoreTarget,
  signal: AbortSignal,
  onProgress: (phase: 'verifying' | 'restoring', bytesDone: number) => void,
): Promise<RestoreEvidence> {
  // A target the outbound policy forbids (or a malformed URL) fails before any copy is read.
  // Resolved and checked once, used by every step (create, pg_restore, counts).
  if (point.format === CHUNKED_FORMAT && target.kind === 'directory') return restoreChunkedPoint(deps, point, target, signal, onProgress);
  const pinned = target.kind === 'postgres' ? await openTarget(target.url, { trusted: target.trusted }) : undefined;
  const copies = point.artifacts
    .filter((a) => a.status === 'PRESENT')
    .sort((a, b) => (HEALTH_ORDER[a.destination.status] ?? 1) - (HEALTH_ORDER[b.destination.status] ?? 1));
  const skipped: RestoreEvidence['skipped'] = [];
  let chosen: { artifact: (typeof copies)[number]; driver: ReturnType<typeof driverFor> } | undefined;
  for (const artifact of copies) {
    onProgress('verifying', 0);
    try {
      const driver = driverFor(artifact.destination, deps);
      await verifyArtifact(driver, artifact.key, point.sha256, { signal });
      chosen = { artifact, driver };
      break;
    } catch (err) {
      if (signal.aborted) throw err;
      skipped.push({ destinationId: artifact.destinationId, reason: err instanceof Error ? err.message : String(err), code: isBackupError(err) ? err.code : 'INTERNAL' });
    }
  }
  if (!chosen) {
    const detail = skipped.map((s) => s.reason).join('; ') || 'the recovery point has no copy';
    // Every copy that could be read was damaged: that is an integrity failure, not an outage.
    throw skipped.length && skipped.every((s) => s.code === 'INTEGRITY_ERROR' || s.code === 'KEY_MISMATCH')
      ? new IntegrityError(`no intact copy of the recovery point: ${detail}`)
      : new DestinationError('read', point.id, new Error(`no usable copy of the recovery point: ${detail}`));
  }

  const dataKey = point.encrypted ? await organizationDataKey(deps.db, deps.masterKey, point.orgId) : undefined;
  const decoded = await openRestoreStream({
    driver: chosen.driver, key: chosen.artifact.key, expectedSha256: point.sha256, compression: point.compression, dataKey, signal, verify: false,
  });
  const counter = new ByteCounter({ intervalMs: 250, onProgress: (n) => onProgress('restoring', n) });
  decoded.pipe(counter);
  decoded.on('error', (err) => counter.destroy(err));
  const evidence: RestoreEvidence = { destinationId: chosen.artifact.destinationId, skipped, bytes: 0 };
  const manifest = point.manifest as { rowCounts?: Record<string, number>; files?: number };

  if (target.kind === 'postgres') {
    await restorePostgres(counter, { targetUrl: target.url, format: point.format as DumpFormatName, mode: target.mode, schemas: target.schemas, tables: target.tables, noPrivileges: target.noPrivileges, jobs: target.jobs, pgBinDir: deps.pgBinDir, trusted: target.trusted, pinned }, signal);
    evidence.bytes = counter.bytes;
    const expected = Object.entries(manifest.rowCounts ?? {}).filter(([t]) => selected(t, target.schemas, target.tables));
    const actual = await targetRowCounts(pinned!, expected.map(([t]) => t));
    evidence.tables = expected.map(([table, n]) => ({ table, expected: n, actual: actual[table] ?? null, ok: actual[table] === n }));
    const bad = evidence.tables.filter((c) => !c.ok);
    if (bad.length) throw new RestoreValidationError(`restored row counts differ from the backup's: ${bad.map((c) => `${c.table} ${c.actual ?? 'missing'} ≠ ${c.expected}`).join(', ')}`);
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
