// Destinations: where copies go. LOCAL paths are confined to the organization's part of the
// storage root; S3 credentials are sealed with the master key on the way in and never leave
// the API. A health check really writes, reads back and deletes a probe object.
import path from 'node:path';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import type { Destination, Prisma } from '../../db/generated/prisma/client';
import { recordAudit } from '../../audit/writer';
import { sealSecret } from '../../crypto/sealed';
import type { OrgScope } from '../../auth/scope';
import { DEFAULT_S3_REGION, destinationSealAad, driverFor, orgStorageRoot, type DestinationEnv } from './driver';
import { ConflictError, NotFoundError, ValidationError, type FieldIssue } from '../errors';
import { conflictOnDuplicate } from '../unique';
import { outboundPolicy } from '../../backup/outbound';
import type { PgBoss } from 'pg-boss';
import { raiseAlert, resolveAlerts } from '../alerts/raise';

export type { DestinationEnv } from './driver';

export interface LocalDestinationInput {
  name: string;
  path: string;
}

export interface S3DestinationInput {
  name: string;
  endpoint: string;
  region?: string | null;
  bucket: string;
  prefix?: string | null;
  forcePathStyle?: boolean | null;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface UpdateDestinationInput {
  name?: string | null;
  path?: string | null;
  endpoint?: string | null;
  region?: string | null;
  bucket?: string | null;
  /** null or '' clears the prefix. */
  prefix?: string | null;
  forcePathStyle?: boolean | null;
  accessKeyId?: string | null;
  secretAccessKey?: string | null;
}

const field = (name: string) => ['input', name];

/**
 * A LOCAL path relative to the org's storage directory, normalized ('a//b/' → 'a/b'). Absolute
 * paths and anything that resolves outside (`..`, `a/../../b`) are refused.
 */
export function normalizeLocalPath(p: string, storageRoot: string, orgId: string): string {
  const fail = (message: string) => ValidationError.field(field('path'), message);
  if (p.includes('\0')) throw fail('must not contain NUL');
  if (p.includes('\\')) throw fail('must use / as the separator');
  if (path.isAbsolute(p)) throw fail('must be relative to the storage root, not absolute');
  const base = orgStorageRoot(storageRoot, orgId);
  const rel = path.relative(base, path.resolve(base, p));
  if (rel === '') throw fail('must name a directory inside the storage root');
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw fail('must stay inside the storage root');
  if (rel.split(path.sep).includes('..')) throw fail('must stay inside the storage root');
  return rel.split(path.sep).join('/');
}

function endpointOf(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw ValidationError.field(field('endpoint'), 'is not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw ValidationError.field(field('endpoint'), 'must start with http:// or https://');
  if (u.username || u.password) throw ValidationError.field(field('endpoint'), 'must not contain credentials; use accessKeyId and secretAccessKey');
  if (u.search || u.hash) throw ValidationError.field(field('endpoint'), 'must not have a query or fragment');
  try {
    outboundPolicy().checkLiteral(u.hostname, 'the endpoint');
  } catch (err) {
    throw ValidationError.field(field('endpoint'), (err as Error).message);
  }
  return value.replace(/\/+$/, '');
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Amazon's general-purpose bucket naming rules, which S3-compatible servers accept too. */
export function bucketIssue(bucket: string): string | null {
  if (bucket.length < 3 || bucket.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) return 'may contain only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit';
  if (bucket.includes('..')) return 'must not contain two adjacent dots';
  if (IPV4.test(bucket)) return 'must not be formatted as an IP address';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(bucket)) return 'must not start with xn--, sthree- or amzn-s3-demo-';
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(bucket)) return 'must not end with a reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)';
  return null;
}

/** A key prefix inside the bucket: '/'-separated plain segments; surrounding slashes are dropped. */
function prefixOf(value: string | null | undefined): string | null {
  const trimmed = (value ?? '').replace(/^\/+|\/+$/g, '');
  if (!trimmed) return null;
  if (trimmed.includes('\0') || trimmed.includes('\\')) throw ValidationError.field(field('prefix'), 'must not contain NUL or backslashes');
  if (trimmed.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw ValidationError.field(field('prefix'), 'must be plain segments separated by single slashes (no empty, . or .. segments)');
  }
  return trimmed;
}

function regionOf(value: string | null | undefined): string {
  const r = value?.trim() || DEFAULT_S3_REGION;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(r)) throw ValidationError.field(field('region'), 'must be a region name such as us-east-1');
  return r;
}

function s3Fields(input: { endpoint: string; region?: string | null; bucket: string; prefix?: string | null }) {
  const issues: FieldIssue[] = [];
  const collect = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ValidationError) issues.push(...err.issues);
      else throw err;
      return undefined;
    }
  };
  const endpoint = collect(() => endpointOf(input.endpoint));
  const region = collect(() => regionOf(input.region));
  const bucketProblem = bucketIssue(input.bucket);
  if (bucketProblem) issues.push({ path: field('bucket'), message: bucketProblem });
  const prefix = collect(() => prefixOf(input.prefix));
  if (issues.length) throw new ValidationError(issues);
  return { endpoint: endpoint!, region: region!, bucket: input.bucket, prefix: prefix ?? null };
}

function sealCredential(env: DestinationEnv, orgId: string, value: string, name: 'accessKeyId' | 'secretAccessKey'): Buffer<ArrayBuffer> {
  if (!value.trim()) throw ValidationError.field(field(name), 'must not be empty');
  return sealSecret(env.masterKey, value, destinationSealAad(orgId));
}

export async function createLocalDestination(db: Db, env: DestinationEnv, scope: OrgScope, input: LocalDestinationInput) {
  const relPath = normalizeLocalPath(input.path, env.storageRoot, scope.orgId);
  return withTenant(db, scope.orgId, (tx) =>
    conflictOnDuplicate(`A destination named "${input.name}"`, async () => {
      const destination = await tx.destination.create({ data: { orgId: scope.orgId, name: input.name, kind: 'LOCAL', path: relPath } });
      await recordAudit(tx, scope, { action: 'destination.create', resourceType: 'Destination', resourceId: destination.id, after: destination });
      return destination;
    }),
  );
}

export async function createS3Destination(db: Db, env: DestinationEnv, scope: OrgScope, input: S3DestinationInput) {
  const s3 = s3Fields(input);
  const accessKeyIdSealed = sealCredential(env, scope.orgId, input.accessKeyId, 'accessKeyId');
  const secretAccessKeySealed = sealCredential(env, scope.orgId, input.secretAccessKey, 'secretAccessKey');
  return withTenant(db, scope.orgId, (tx) =>
    conflictOnDuplicate(`A destination named "${input.name}"`, async () => {
      const destination = await tx.destination.create({
        data: {
          orgId: scope.orgId,
          name: input.name,
          kind: 'S3',
          ...s3,
          forcePathStyle: input.forcePathStyle ?? true,
          accessKeyIdSealed,
          secretAccessKeySealed,
        },
      });
      await recordAudit(tx, scope, { action: 'destination.create', resourceType: 'Destination', resourceId: destination.id, after: destination });
      return destination;
    }),
  );
}

const LOCAL_ONLY = ['path'] as const;
const S3_ONLY = ['endpoint', 'region', 'bucket', 'prefix', 'forcePathStyle', 'accessKeyId', 'secretAccessKey'] as const;

export async function updateDestination(db: Db, env: DestinationEnv, scope: OrgScope, id: string, input: UpdateDestinationInput) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.destination.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('Destination');
    const wrong = (before.kind === 'LOCAL' ? S3_ONLY : LOCAL_ONLY).filter((k) => input[k] != null);
    if (wrong.length) throw new ValidationError(wrong.map((k) => ({ path: field(k), message: `does not apply to a ${before.kind} destination` })));

    let data: Prisma.DestinationUncheckedUpdateInput = { name: input.name ?? undefined };
    if (before.kind === 'LOCAL') {
      if (input.path != null) data.path = normalizeLocalPath(input.path, env.storageRoot, scope.orgId);
    } else {
      const s3 = s3Fields({
        endpoint: input.endpoint ?? before.endpoint ?? '',
        region: input.region ?? before.region,
        bucket: input.bucket ?? before.bucket ?? '',
        prefix: input.prefix !== undefined ? input.prefix : before.prefix,
      });
      data = {
        ...data,
        ...s3,
        forcePathStyle: input.forcePathStyle ?? undefined,
        ...(input.accessKeyId != null ? { accessKeyIdSealed: sealCredential(env, scope.orgId, input.accessKeyId, 'accessKeyId') } : {}),
        ...(input.secretAccessKey != null ? { secretAccessKeySealed: sealCredential(env, scope.orgId, input.secretAccessKey, 'secretAccessKey') } : {}),
      };
    }
    // Where the copies go changed: the last health check says nothing about the new place.
    const moved =
      (['path', 'endpoint', 'region', 'bucket', 'prefix', 'forcePathStyle'] as const).some((k) => data[k] !== undefined && data[k] !== before[k]) ||
      input.accessKeyId != null ||
      input.secretAccessKey != null;
    if (moved) Object.assign(data, { status: 'UNKNOWN', lastError: null });

    return conflictOnDuplicate(`A destination named "${input.name ?? before.name}"`, async () => {
      const after = await tx.destination.update({ where: { id }, data });
      await recordAudit(tx, scope, {
        action: 'destination.update', resourceType: 'Destination', resourceId: id, before,
        after: { ...after, credentialsChanged: input.accessKeyId != null || input.secretAccessKey != null },
      });
      return after;
    });
  });
}

export async function deleteDestination(db: Db, scope: OrgScope, id: string) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.destination.findFirst({
      where: { id, orgId: scope.orgId },
      include: { _count: { select: { strategies: true, artifacts: true } } },
    });
    if (!before) throw new NotFoundError('Destination');
    if (before._count.strategies > 0) throw new ConflictError('The destination is used by strategies; remove it from them first');
    if (before._count.artifacts > 0) throw new ConflictError('The destination still holds backup copies; they must expire or be deleted first');
    const { _count, ...row } = before;
    await tx.destination.delete({ where: { id } });
    await recordAudit(tx, scope, { action: 'destination.delete', resourceType: 'Destination', resourceId: id, before: row });
    return row;
  });
}

/** How long a health check may take before it counts as failed. */
const PROBE_TIMEOUT_MS = 30_000;
const MAX_ERROR_LENGTH = 1000;

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the destination's probe (write, read back, delete) and records the outcome. A failed
 * probe is a result, not an error: the destination comes back UNHEALTHY with lastError.
 * The probe runs outside any transaction so no database connection waits on the network.
 */
export async function testDestination(db: Db, env: DestinationEnv, scope: OrgScope, id: string, boss?: PgBoss) {
  const row = await withTenant(db, scope.orgId, (tx) => tx.destination.findFirst({ where: { id, orgId: scope.orgId } }));
  if (!row) throw new NotFoundError('Destination');

  let error: string | null = null;
  let latencyMs: number | null = null;
  try {
    const driver = driverFor(row, env);
    latencyMs = (await withTimeout(driver.probe(), PROBE_TIMEOUT_MS)).latencyMs;
  } catch (err) {
    error = describeProbeFailure(err, row, env);
  }

  return withTenant(db, scope.orgId, async (tx) => {
    const updated = await tx.destination.updateMany({
      where: { id, orgId: scope.orgId },
      data: { status: error ? 'UNHEALTHY' : 'HEALTHY', lastTestedAt: new Date(), lastError: error },
    });
    if (updated.count === 0) throw new NotFoundError('Destination');
    const after = await tx.destination.findFirstOrThrow({ where: { id, orgId: scope.orgId } });
    await recordAudit(tx, scope, {
      action: 'destination.test', resourceType: 'Destination', resourceId: id,
      before: { status: row.status, lastTestedAt: row.lastTestedAt, lastError: row.lastError },
      after: { status: after.status, lastTestedAt: after.lastTestedAt, lastError: after.lastError, latencyMs },
    });
    if (boss && error) {
      await raiseAlert(tx, boss, { orgId: scope.orgId, kind: 'DESTINATION_UNREACHABLE', resourceType: 'Destination', resourceId: id, message: `Destination ${row.name} did not answer a test: ${error}`, figures: { destination: row.name, kind: row.kind, error } });
    } else if (boss) {
      await resolveAlerts(tx, boss, { orgId: scope.orgId, kinds: ['DESTINATION_UNREACHABLE'], resourceId: id, by: scope.actor.label });
    }
    return after;
  });
}

/** The failure as tenants may see it: the server's own directory layout is not theirs to know. */
function describeProbeFailure(err: unknown, row: Destination, env: DestinationEnv): string {
  let message = err instanceof Error ? err.message : String(err);
  if (row.kind === 'LOCAL' && row.path) {
    const orgRoot = orgStorageRoot(env.storageRoot, row.orgId);
    message = message.split(orgRoot + path.sep).join('').split(orgRoot).join('.');
    message = message.split(path.resolve(env.storageRoot)).join('<storage root>');
  }
  return message.slice(0, MAX_ERROR_LENGTH) || 'probe failed';
}
