// The one place where a Destination row becomes a storage driver: the API's health check and
// the backup, restore and retention jobs all go through driverFor, so path confinement and
// credential handling cannot drift apart between them.
//
// LOCAL destinations live under <storageRoot>/<orgId>/<path>. The storage root is shared by
// every organization; the org id segment keeps one tenant from naming another tenant's
// directory (and listing, sweeping or filling it) by choosing the same relative path.
import path from 'node:path';
import { openSecret } from '../../crypto/sealed';
import { PathEscapeError } from '../../backup/errors';
import { LocalDestination } from '../../backup/destinations/local';
import { S3Destination } from '../../backup/destinations/s3';
import type { Destination as DestinationDriver } from '../../backup/destinations/types';
import type { Destination } from '../../db/generated/prisma/client';

export interface DestinationEnv {
  masterKey: Buffer;
  /** Absolute directory that confines every LOCAL destination (config.storageRoot). */
  storageRoot: string;
}

export type DestinationRow = Pick<
  Destination,
  'id' | 'orgId' | 'kind' | 'path' | 'endpoint' | 'region' | 'bucket' | 'prefix' | 'forcePathStyle' | 'accessKeyIdSealed' | 'secretAccessKeySealed'
>;

/** Associated data binding sealed S3 credentials to their organization. */
export const destinationSealAad = (orgId: string) => `destination:${orgId}`;

export const DEFAULT_S3_REGION = 'us-east-1';

/** The directory all of an organization's LOCAL destinations live in. */
export function orgStorageRoot(storageRoot: string, orgId: string): string {
  if (!path.isAbsolute(storageRoot)) throw new Error('storageRoot must be an absolute path');
  if (!/^[0-9a-f-]{36}$/i.test(orgId)) throw new Error('invalid organization id');
  return path.join(path.resolve(storageRoot), orgId);
}

/**
 * Absolute directory of a LOCAL destination. Re-checks confinement even though the service
 * validated the path on the way in: a row edited by hand must not lead a job outside the root.
 */
export function localDestinationRoot(storageRoot: string, orgId: string, relativePath: string): string {
  const base = orgStorageRoot(storageRoot, orgId);
  const full = path.resolve(base, relativePath);
  const rel = path.relative(base, full);
  if (path.isAbsolute(relativePath) || relativePath.includes('\0') || rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new PathEscapeError(relativePath, `destination path ${JSON.stringify(relativePath)} is not inside the storage root`);
  }
  return full;
}

/** Builds the driver for a destination row, opening its sealed credentials with the master key. */
export function driverFor(row: DestinationRow, env: DestinationEnv): DestinationDriver {
  if (row.kind === 'LOCAL') {
    if (!row.path) throw new Error(`LOCAL destination ${row.id} has no path`);
    return new LocalDestination({ root: localDestinationRoot(env.storageRoot, row.orgId, row.path) });
  }
  if (!row.bucket) throw new Error(`S3 destination ${row.id} has no bucket`);
  // Never fall back to the SDK's ambient credential chain: that would hand a tenant the
  // server's own cloud identity (instance role, environment keys).
  if (!row.accessKeyIdSealed || !row.secretAccessKeySealed) throw new Error(`S3 destination ${row.id} has no credentials`);
  const aad = destinationSealAad(row.orgId);
  const credentials = {
    accessKeyId: openSecret(env.masterKey, row.accessKeyIdSealed, aad),
    secretAccessKey: openSecret(env.masterKey, row.secretAccessKeySealed, aad),
  };
  return new S3Destination({
    bucket: row.bucket,
    region: row.region ?? DEFAULT_S3_REGION,
    endpoint: row.endpoint ?? undefined,
    prefix: row.prefix ?? undefined,
    forcePathStyle: row.forcePathStyle,
    credentials,
  });
}
