// Storage usage: bytes held per destination and per strategy, growth per day in the
// organization's time zone, and compression savings, read through the API under RLS.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../../src/db/context';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';

let t: TestApp;
let org: TestOrg;
let other: TestOrg;
const DAY = 86_400_000;

const USAGE = /* GraphQL */ `
  query Usage($days: Int) {
    storageUsage(days: $days) {
      storedBytes rawBytes compressionSavedBytes
      byDestination { name kind storedBytes copies }
      byStrategy { name storedBytes rawBytes points }
      daily { day addedBytes removedBytes storedBytes }
    }
  }
`;

interface Usage {
  storedBytes: string; rawBytes: string; compressionSavedBytes: string;
  byDestination: Array<{ name: string; kind: string; storedBytes: string; copies: number }>;
  byStrategy: Array<{ name: string; storedBytes: string; rawBytes: string; points: number }>;
  daily: Array<{ day: string; addedBytes: string; removedBytes: string; storedBytes: string }>;
}

const dayOf = (d: Date) => d.toISOString().slice(0, 10);

/** Two destinations, two strategies; points two and one days ago and today, one copy deleted yesterday. */
async function seed(o: TestOrg) {
  const tag = randomBytes(3).toString('hex');
  const now = Date.now();
  await withSystem(t.services.db, 'test-seed', async (tx) => {
    const orgId = o.id;
    const source = await tx.source.create({ data: { orgId, name: `src-${tag}`, kind: 'DIRECTORY', path: '/tmp' } });
    const local = await tx.destination.create({ data: { orgId, name: `local-${tag}`, kind: 'LOCAL', path: `a-${tag}` } });
    const offsite = await tx.destination.create({ data: { orgId, name: `offsite-${tag}`, kind: 'LOCAL', path: `b-${tag}` } });
    const strategy = (name: string) => tx.strategy.create({ data: { orgId, name: `${name}-${tag}`, sourceId: source.id, cron: '0 3 * * *', status: 'PAUSED' } });
    const nightly = await strategy('nightly');
    const hourly = await strategy('hourly');
    const point = async (strategyId: string, raw: bigint, stored: bigint, at: Date, copies: Array<{ destinationId: string; deletedAt?: Date }>) => {
      const p = await tx.recoveryPoint.create({
        data: { orgId, strategyId, sourceId: source.id, sourceKind: 'DIRECTORY', format: 'tar', compression: 'ZSTD', encrypted: true, rawBytes: raw, storedBytes: stored, sha256: 'a'.repeat(64), manifest: {}, takenAt: at },
      });
      for (const c of copies) {
        await tx.artifact.create({
          data: {
            orgId, recoveryPointId: p.id, destinationId: c.destinationId, key: `k-${p.id}-${c.destinationId}`, manifestKey: 'm', sizeBytes: stored, sha256: 'a'.repeat(64), createdAt: at,
            ...(c.deletedAt ? { status: 'DELETED' as const, deletedAt: c.deletedAt } : {}),
          },
        });
      }
    };
    await point(nightly.id, 1000n, 400n, new Date(now - 2 * DAY), [{ destinationId: local.id }, { destinationId: offsite.id, deletedAt: new Date(now - DAY) }]);
    await point(nightly.id, 1000n, 300n, new Date(now - DAY), [{ destinationId: local.id }, { destinationId: offsite.id }]);
    await point(hourly.id, 200n, 100n, new Date(now), [{ destinationId: local.id }]);
  });
  return tag;
}

beforeAll(async () => {
  t = await startTestApp();
  org = await t.createOrg();
  other = await t.createOrg();
});
afterAll(async () => t?.stop());

describe('storageUsage', () => {
  it('sums the copies held per destination and strategy, the savings, and the growth per day', async () => {
    const tag = await seed(org);
    const res = await t.gql<{ storageUsage: Usage }>(org.users.VIEWER.token, USAGE, { days: 30 });
    expect(res.errors).toBeUndefined();
    const u = res.data!.storageUsage;
    expect(u.storedBytes).toBe(String(400 + 300 + 300 + 100));
    expect(u.rawBytes).toBe('2200');
    expect(u.compressionSavedBytes).toBe(String(2200 - 800));
    expect(u.byDestination).toEqual([
      { name: `local-${tag}`, kind: 'LOCAL', storedBytes: '800', copies: 3 },
      { name: `offsite-${tag}`, kind: 'LOCAL', storedBytes: '300', copies: 1 },
    ]);
    expect(u.byStrategy).toEqual([
      { name: `nightly-${tag}`, storedBytes: '1000', rawBytes: '2000', points: 2 },
      { name: `hourly-${tag}`, storedBytes: '100', rawBytes: '200', points: 1 },
    ]);
    expect(u.daily).toHaveLength(30);
    const now = new Date();
    const byDay = new Map(u.daily.map((d) => [d.day, d]));
    expect(u.daily.at(-1)!.day).toBe(dayOf(now));
    expect(byDay.get(dayOf(new Date(now.getTime() - 2 * DAY)))).toMatchObject({ addedBytes: '800', removedBytes: '0', storedBytes: '800' });
    expect(byDay.get(dayOf(new Date(now.getTime() - DAY)))).toMatchObject({ addedBytes: '600', removedBytes: '400', storedBytes: '1000' });
    expect(byDay.get(dayOf(now))).toMatchObject({ addedBytes: '100', removedBytes: '0', storedBytes: '1100' });
    expect(u.daily[0]).toMatchObject({ addedBytes: '0', storedBytes: '0' });
  });

  it('shows another organization nothing of it', async () => {
    const res = await t.gql<{ storageUsage: Usage }>(other.users.OWNER.token, USAGE, {});
    expect(res.data!.storageUsage).toMatchObject({ storedBytes: '0', rawBytes: '0', byDestination: [], byStrategy: [] });
    expect(res.data!.storageUsage.daily.every((d) => d.storedBytes === '0')).toBe(true);
  });

  it('refuses a window outside 1–90 days with a typed error', async () => {
    for (const days of [0, -1, 91]) {
      const res = await t.gql(org.users.VIEWER.token, USAGE, { days });
      expect(res.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    }
  });

  it('needs a signed-in member', async () => {
    const res = await t.gql(null, USAGE, {});
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
