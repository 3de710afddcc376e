// Fixtures for the retention tests: a strategy with a LOCAL destination and recovery points whose
// artifact and manifest really exist at that destination, inserted directly (system context) so a
// test can place points anywhere in time without running backups.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { LocalDestination } from '../../src/backup/destinations/local';
import { artifactKey, manifestKey, runPrefix } from '../../src/backup/manifest';
import { withSystem } from '../../src/db/context';
import type { RetentionRules } from '../../src/domain/rules/retention';
import type { TestApp, TestOrg } from './app';
import { globalId } from './seed-objects';

export const DAY = 86_400_000;
export const uuidOf = (gid: string) => Buffer.from(gid, 'base64').toString().split(':')[1]!;
export { globalId };

/** Asserts the payload's __typename and returns it. */
export function payload<T extends object = { message: string }>(r: { data?: Record<string, unknown> | null; errors?: unknown }, field: string, typename: string | RegExp): T {
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  const p = r.data![field] as T;
  expect((p as { __typename?: string }).__typename, JSON.stringify(p)).toMatch(typename instanceof RegExp ? typename : new RegExp(`^${typename}$`));
  return p;
}

export interface Fixture {
  orgId: string;
  strategyId: string;
  destinationId: string;
  policyId: string | null;
  local: LocalDestination;
}

/** Source, LOCAL destination, optional policy and a paused strategy, all in one org. */
export async function strategyFixture(t: TestApp, org: TestOrg, policy: RetentionRules | null): Promise<Fixture> {
  const tag = randomBytes(3).toString('hex');
  const rows = await withSystem(t.services.db, 'test-setup', async (tx) => {
    const source = await tx.source.create({ data: { orgId: org.id, name: `src-${tag}`, kind: 'DIRECTORY', path: '/tmp' } });
    const destination = await tx.destination.create({ data: { orgId: org.id, name: `dst-${tag}`, kind: 'LOCAL', path: `ret-${tag}` } });
    const p = policy ? await tx.retentionPolicy.create({ data: { orgId: org.id, name: `pol-${tag}`, ...policy, minCopies: policy.minCopies ?? 1 } }) : null;
    const strategy = await tx.strategy.create({
      data: { orgId: org.id, name: `str-${tag}`, sourceId: source.id, retentionPolicyId: p?.id ?? null, cron: '0 3 * * *', status: 'PAUSED' },
    });
    await tx.strategyDestination.create({ data: { orgId: org.id, strategyId: strategy.id, destinationId: destination.id } });
    return { destination, strategy, p };
  });
  return {
    orgId: org.id, strategyId: rows.strategy.id, destinationId: rows.destination.id, policyId: rows.p?.id ?? null,
    local: new LocalDestination({ root: path.join(t.storageRoot, org.id, `ret-${tag}`) }),
  };
}

export interface PointSpec {
  takenAt: Date;
  expiresAt?: Date | null;
  legalHold?: boolean;
  verifiedAt?: Date | null;
}

/** Points with a real artifact and manifest at the fixture's destination; returns their ids, in the given order. */
export async function insertPoints(t: TestApp, f: Fixture, specs: PointSpec[]): Promise<Array<{ id: string; key: string; manifestKey: string }>> {
  const out = [];
  for (const spec of specs) {
    const jobId = randomUUID();
    const prefix = runPrefix(f.orgId, f.strategyId, jobId);
    const key = artifactKey(prefix, 'tar', 'NONE', false);
    const body = randomBytes(2048);
    const sha = createHash('sha256').update(body).digest('hex');
    await f.local.put(key, Readable.from([body]));
    await f.local.put(manifestKey(prefix), Readable.from([Buffer.from(JSON.stringify({ backupJobId: jobId }))]));
    const point = await withSystem(t.services.db, 'test-setup', async (tx) => {
      const p = await tx.recoveryPoint.create({
        data: {
          orgId: f.orgId, strategyId: f.strategyId, sourceKind: 'DIRECTORY', format: 'tar', compression: 'NONE', encrypted: false,
          rawBytes: 2048n, storedBytes: 2048n, sha256: sha, manifest: { backupJobId: jobId }, takenAt: spec.takenAt,
          expiresAt: spec.expiresAt ?? null, legalHold: spec.legalHold ?? false, legalHoldReason: spec.legalHold ? 'fixture' : null, verifiedAt: spec.verifiedAt ?? null,
          artifacts: { create: { orgId: f.orgId, destinationId: f.destinationId, key, manifestKey: manifestKey(prefix), sizeBytes: 2048n, sha256: sha } },
        },
      });
      await tx.destination.update({ where: { id: f.destinationId }, data: { usedBytes: { increment: 2048n } } });
      return p;
    });
    out.push({ id: point.id, key, manifestKey: manifestKey(prefix) });
  }
  return out;
}

export async function pointExists(t: TestApp, id: string): Promise<boolean> {
  return (await withSystem(t.services.db, 'test-check', (tx) => tx.recoveryPoint.count({ where: { id } }))) === 1;
}

export async function auditEvents(t: TestApp, orgId: string, action: string) {
  return withSystem(t.services.db, 'test-check', (tx) => tx.auditEvent.findMany({ where: { orgId, action }, orderBy: { seq: 'asc' } }));
}

export const env = (t: TestApp) => ({ masterKey: t.services.masterKey, storageRoot: t.storageRoot });
