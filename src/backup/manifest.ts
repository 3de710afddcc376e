// What is written beside every artifact: enough to rebuild the catalog from a destination alone
// (which org, strategy and source it belongs to, how to decode it, what it must hash to) if the
// control-plane database is lost. It holds no secret: the data key is named by id only.
import { z } from 'zod';

export const MANIFEST_VERSION = 1;

/** Every object of an organization lives under this prefix at a destination. */
export const orgPrefix = (orgId: string) => `keepsake/${orgId}/`;

/** Objects of one backup run: the artifact and its manifest share this prefix. */
export const runPrefix = (orgId: string, strategyId: string, backupJobId: string) => `${orgPrefix(orgId)}${strategyId}/${backupJobId}/`;

const ARTIFACT_EXTENSIONS: Record<string, string> = { custom: 'dump', plain: 'sql', tar: 'tar', directory: 'tar' };

/** A chunked run's artifact: its sealed snapshot (the chunks live in the repository, see backup/chunked). */
export const snapshotKey = (prefix: string) => `${prefix}snapshot.ksnap`;

export function artifactKey(prefix: string, format: string, compression: 'ZSTD' | 'GZIP' | 'NONE', encrypted: boolean): string {
  const ext = ARTIFACT_EXTENSIONS[format] ?? 'bin';
  const comp = compression === 'ZSTD' ? '.zst' : compression === 'GZIP' ? '.gz' : '';
  return `${prefix}backup.${ext}${comp}${encrypted ? '.enc' : ''}`;
}

export const manifestKey = (prefix: string) => `${prefix}manifest.json`;

/** Beside a run's manifest while its recovery point is under legal hold (see domain/legal-hold-markers.ts). */
export const legalHoldKey = (manifest: string) => `${manifest.slice(0, manifest.lastIndexOf('/') + 1)}legal-hold.json`;

export const LegalHoldMarkerSchema = z.object({
  recoveryPointId: z.string(),
  backupJobId: z.string().nullable(),
  reason: z.string(),
  writtenAt: z.string(),
});
export type LegalHoldMarker = z.infer<typeof LegalHoldMarkerSchema>;

export const ManifestSchema = z.object({
  manifestVersion: z.literal(MANIFEST_VERSION),
  orgId: z.string().uuid(),
  strategy: z.object({ id: z.string().uuid(), name: z.string() }),
  source: z.object({ id: z.string().uuid(), name: z.string(), kind: z.enum(['POSTGRES', 'DIRECTORY']), hint: z.string().nullable() }),
  backupJobId: z.string().uuid(),
  artifactKey: z.string(),
  engine: z.object({ format: z.string(), versions: z.record(z.string(), z.string()) }),
  compression: z.enum(['ZSTD', 'GZIP', 'NONE']),
  encryption: z.object({ algorithm: z.literal('AES-256-GCM'), keyId: z.string(), chunked: z.literal(true) }).nullable(),
  rawBytes: z.number().int().nonnegative(),
  storedBytes: z.number().int().nonnegative(),
  /** SHA-256 of the stored artifact: what each destination holds. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** SHA-256 of the source bytes before compression and encryption. */
  rawSha256: z.string().regex(/^[0-9a-f]{64}$/),
  rowCounts: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /** Relations a selective restore may name (older manifests lack it). */
  relations: z.array(z.string()).optional(),
  files: z.number().int().nonnegative().optional(),
  /** Chunked directory backups: the artifact is the snapshot; what the run read and added. */
  chunked: z.object({
    parentBackupJobId: z.string().nullable(),
    filesNew: z.number().int().nonnegative(),
    filesChanged: z.number().int().nonnegative(),
    filesUnchanged: z.number().int().nonnegative(),
    bytesRead: z.number().int().nonnegative(),
    bytesAdded: z.number().int().nonnegative(),
    chunksNew: z.number().int().nonnegative(),
    chunksReused: z.number().int().nonnegative(),
    packs: z.number().int().nonnegative(),
  }).optional(),
  timings: z.object({ startedAt: z.string(), finishedAt: z.string(), durationMs: z.number().int().nonnegative() }),
  producer: z.object({ name: z.literal('keepsake'), node: z.string() }),
});

export type Manifest = z.infer<typeof ManifestSchema>;

export function serializeManifest(m: Manifest): Buffer {
  return Buffer.from(JSON.stringify(ManifestSchema.parse(m), null, 2) + '\n', 'utf8');
}
