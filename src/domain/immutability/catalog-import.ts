// Catalog disaster recovery: rebuild RecoveryPoint and Artifact rows from what a destination holds.
// Every run's manifest.json (see backup/manifest.ts) says which organization, strategy, source and
// job it belongs to and what its artifact must look like, so a lost or rolled-back catalog can be
// rebuilt from any surviving copy. Each copy is checked to exist with the manifest's size; its
// checksum is NOT recomputed here (that is a full read of every artifact: a verification's job).
import { z } from 'zod';
import { LegalHoldMarkerSchema, ManifestSchema, legalHoldKey, manifestKey, orgPrefix, runPrefix, type LegalHoldMarker, type Manifest } from '../../backup/manifest';
import type { Destination as DestinationDriver } from '../../backup/destinations/types';
import type { Db } from '../../db/client';
import { withTenant, type Tx } from '../../db/context';
import { recordAudit } from '../../audit/writer';
import type { OrgScope } from '../../auth/scope';
import { driverFor, type DestinationEnv } from '../destinations/driver';
import { NotFoundError } from '../errors';
import { expiryForStrategy } from './locks';

export interface ImportSkip {
  key: string;
  reason: string;
}

export interface ImportResult {
  destinationId: string;
  /** Manifests found under keepsake/<orgId>/ at the destination. */
  manifests: number;
  /** Recovery points created. */
  imported: number;
  /** Copies at this destination added to points the catalog already had (from another destination). */
  artifactsAdded: number;
  /** Points that already had their copy at this destination: nothing to do. */
  alreadyPresent: number;
  skipped: ImportSkip[];
}

/** Manifests are small JSON documents; anything bigger is not one of ours. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

async function readManifest(driver: DestinationDriver, key: string, size: number): Promise<{ manifest: Manifest } | { reason: string }> {
  if (size > MAX_MANIFEST_BYTES) return { reason: `manifest is ${size} bytes, more than a manifest can be` };
  const chunks: Buffer[] = [];
  for await (const chunk of await driver.get(key)) chunks.push(chunk as Buffer);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return { reason: 'manifest is not valid JSON' };
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) return { reason: `manifest does not match the manifest schema: ${z.prettifyError(parsed.error).replace(/\s+/g, ' ').slice(0, 300)}` };
  return { manifest: parsed.data };
}

/** Checks a manifest against where it was found and what the destination holds; a reason if it cannot be imported. */
async function checkCopy(driver: DestinationDriver, orgId: string, key: string, m: Manifest): Promise<string | null> {
  if (m.orgId !== orgId) return `manifest belongs to another organization (${m.orgId})`;
  const prefix = runPrefix(m.orgId, m.strategy.id, m.backupJobId);
  if (key !== manifestKey(prefix)) return `manifest is not where its run belongs (${manifestKey(prefix)})`;
  if (!m.artifactKey.startsWith(prefix) || m.artifactKey.slice(prefix.length).includes('/')) return 'manifest names an artifact outside its run';
  if (Number.isNaN(new Date(m.timings.startedAt).getTime())) return 'manifest has no valid start time';
  const head = await driver.head(m.artifactKey);
  if (!head) return `artifact ${m.artifactKey} is missing`;
  if (head.size !== m.storedBytes) return `artifact holds ${head.size} bytes, the manifest says ${m.storedBytes}`;
  return null;
}

type Outcome = 'imported' | 'artifactAdded' | 'alreadyPresent' | { reason: string };

/** One manifest, one transaction: the point (or the missing copy), its usage and its audit event. */
const UNREADABLE_HOLD: LegalHoldMarker = { recoveryPointId: '', backupJobId: null, reason: '(unreadable legal hold marker: held to be safe)', writtenAt: '' };

/** The legal hold marker beside a manifest, if the point was held when the catalog last mirrored it. */
async function readLegalHold(driver: DestinationDriver, manifest: string): Promise<LegalHoldMarker | null> {
  const key = legalHoldKey(manifest);
  const info = await driver.head(key);
  if (!info) return null;
  if (info.size > 64 * 1024) return UNREADABLE_HOLD;
  const chunks: Buffer[] = [];
  for await (const chunk of await driver.get(key)) chunks.push(chunk as Buffer);
  let json: unknown = null;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    // handled below, like any marker that does not parse
  }
  const parsed = LegalHoldMarkerSchema.safeParse(json);
  // A marker that is there but unreadable still says "held": keeping a point too long is the safe mistake.
  return parsed.success ? parsed.data : UNREADABLE_HOLD;
}

async function importOne(tx: Tx, scope: OrgScope, destinationId: string, key: string, m: Manifest, hold: LegalHoldMarker | null): Promise<Outcome> {
  const orgId = scope.orgId;
  // Two imports of the same organization at once must not both create the point.
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('keepsake:catalog-import'), hashtext(${orgId}))`;
  const existing = await tx.recoveryPoint.findFirst({
    where: { orgId, OR: [{ backupJobId: m.backupJobId }, { manifest: { path: ['backupJobId'], equals: m.backupJobId } }] },
    include: { artifacts: { select: { destinationId: true } } },
  });
  const artifact = { orgId, destinationId, key: m.artifactKey, manifestKey: key, sizeBytes: BigInt(m.storedBytes), sha256: m.sha256 };
  const addUsage = () => tx.destination.updateMany({ where: { id: destinationId, orgId }, data: { usedBytes: { increment: BigInt(m.storedBytes) } } });
  if (existing) {
    if (existing.artifacts.some((a) => a.destinationId === destinationId)) return 'alreadyPresent';
    if (existing.deletingSince) return { reason: 'the cataloged point is being deleted' };
    if (existing.sha256 !== m.sha256) return { reason: `the cataloged point of job ${m.backupJobId} has another checksum` };
    await tx.artifact.create({ data: { ...artifact, recoveryPointId: existing.id } });
    await addUsage();
    await recordAudit(tx, scope, { action: 'recoveryPoint.importArtifact', resourceType: 'RecoveryPoint', resourceId: existing.id, after: { destinationId, key: m.artifactKey, manifestKey: key } });
    return 'artifactAdded';
  }
  // Link only what still exists in this organization; after a catalog loss most of it does not.
  const [strategy, source, job] = await Promise.all([
    tx.strategy.findFirst({ where: { id: m.strategy.id, orgId }, select: { id: true, retentionPolicyId: true } }),
    tx.source.findFirst({ where: { id: m.source.id, orgId }, select: { id: true } }),
    tx.backupJob.findFirst({ where: { id: m.backupJobId, orgId, recoveryPoint: { is: null } }, select: { id: true } }),
  ]);
  const takenAt = new Date(m.timings.startedAt);
  const point = await tx.recoveryPoint.create({
    data: {
      orgId, strategyId: strategy?.id ?? null, sourceId: source?.id ?? null, backupJobId: job?.id ?? null, sourceKind: m.source.kind,
      format: m.engine.format, compression: m.compression, encrypted: m.encryption !== null, keyId: m.encryption?.keyId ?? null,
      rawBytes: BigInt(m.rawBytes), storedBytes: BigInt(m.storedBytes), sha256: m.sha256,
      // The manifest keeps the job id even when the job row is gone (the point's backupJobId is then null).
      manifest: m as object, takenAt,
      expiresAt: strategy ? await expiryForStrategy(tx, orgId, strategy.retentionPolicyId, takenAt) : null,
      ...(hold ? { legalHold: true, legalHoldReason: hold.reason || 'restored from a legal hold marker' } : {}),
      artifacts: { create: artifact },
    },
  });
  await addUsage();
  await recordAudit(tx, scope, {
    action: 'recoveryPoint.import', resourceType: 'RecoveryPoint', resourceId: point.id,
    after: { backupJobId: m.backupJobId, strategyId: point.strategyId, sourceId: point.sourceId, takenAt, sha256: m.sha256, storedBytes: m.storedBytes, destinationId, key: m.artifactKey, legalHold: point.legalHold },
  });
  return 'imported';
}

export async function importRecoveryPoints(db: Db, env: DestinationEnv, scope: OrgScope, destinationId: string): Promise<ImportResult> {
  const row = await withTenant(db, scope.orgId, (tx) => tx.destination.findFirst({ where: { id: destinationId, orgId: scope.orgId } }));
  if (!row) throw new NotFoundError('Destination');
  const driver = driverFor(row, env);
  const result: ImportResult = { destinationId, manifests: 0, imported: 0, artifactsAdded: 0, alreadyPresent: 0, skipped: [] };

  const found: Array<{ key: string; size: number }> = [];
  for await (const obj of driver.list(orgPrefix(scope.orgId))) if (obj.key.endsWith('/manifest.json')) found.push({ key: obj.key, size: obj.size });
  result.manifests = found.length;

  for (const { key, size } of found) {
    try {
      const read = await readManifest(driver, key, size);
      if ('reason' in read) {
        result.skipped.push({ key, reason: read.reason });
        continue;
      }
      const problem = await checkCopy(driver, scope.orgId, key, read.manifest);
      if (problem) {
        result.skipped.push({ key, reason: problem });
        continue;
      }
      const hold = await readLegalHold(driver, key);
      const outcome = await withTenant(db, scope.orgId, (tx) => importOne(tx, scope, destinationId, key, read.manifest, hold));
      if (outcome === 'imported') result.imported++;
      else if (outcome === 'artifactAdded') result.artifactsAdded++;
      else if (outcome === 'alreadyPresent') result.alreadyPresent++;
      else result.skipped.push({ key, reason: outcome.reason });
    } catch (err) {
      // One unreadable object must not stop the rebuild of the others.
      result.skipped.push({ key, reason: `could not be read: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500) });
    }
  }

  await withTenant(db, scope.orgId, (tx) =>
    recordAudit(tx, scope, {
      action: 'catalog.import', resourceType: 'Destination', resourceId: destinationId,
      after: { manifests: result.manifests, imported: result.imported, artifactsAdded: result.artifactsAdded, alreadyPresent: result.alreadyPresent, skipped: result.skipped.length },
    }),
  );
  return result;
}
