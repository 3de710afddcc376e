// The dashboard overview (an organization's strategies, each with its latest jobs and newest
// recovery points with their artifacts) must cost a constant number of SQL statements however
// many strategies there are: Pothos folds the nested selections into the parent query instead
// of loading them per strategy. Counted through Prisma's query log over real HTTP.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../../src/db/context';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';

const JOBS_PER_STRATEGY = 5;
const POINTS_PER_STRATEGY = 4;
/** Generous ceiling: the point is that the count does not grow, but it should also stay small. */
const MAX_STATEMENTS = 30;

const OVERVIEW = /* GraphQL */ `
  query Overview {
    strategies(first: 50) {
      edges {
        node {
          id
          name
          nextRunAt
          source { name }
          latestJobs(first: 3) { status percent }
          recoveryPoints(first: 3) {
            edges { node { takenAt storedBytes artifacts { sizeBytes destination { name } } } }
          }
        }
      }
    }
  }
`;

/** The same overview with the extras a dashboard shows next to it. */
const OVERVIEW_FULL = /* GraphQL */ `
  query OverviewFull {
    backupHealth { lastSuccessfulBackupAt runningJobs missedLast24h failingStrategyIds nextRunAt }
    strategies(first: 50) {
      edges {
        node {
          id
          name
          status
          nextRunAt
          lastRunAt
          source { name kind }
          destinations { name }
          retentionPolicy { name }
          latestJobs(first: 3) { id status phase percent etaSeconds startedAt finishedAt durationMs }
          missedRuns { slotAt reason }
          recoveryPoints(first: 3) {
            totalCount
            pageInfo { hasNextPage endCursor }
            edges { node { id takenAt storedBytes verifiedAt artifacts { sizeBytes status destination { name } } } }
          }
        }
      }
    }
  }
`;

interface OverviewData {
  strategies: {
    edges: Array<{
      node: {
        id: string;
        name: string;
        source: { name: string };
        latestJobs: Array<{ status: string; percent: number | null }>;
        recoveryPoints: { edges: Array<{ node: { takenAt: string; storedBytes: string; artifacts: Array<{ sizeBytes: string; destination: { name: string } }> } }> };
      };
    }>;
  };
}

let t: TestApp;
let org: TestOrg;
let other: TestOrg;
/** SQL of every Prisma statement while `recording` is set. */
let recorded: string[] | null = null;

beforeAll(async () => {
  t = await startTestApp({}, { logQueries: true });
  t.services.db.$on('query', (e) => recorded?.push(e.query));
  org = await t.createOrg();
  other = await t.createOrg();
  // Another tenant's rows must neither show up in the first org's overview nor cost anything.
  await addStrategies(other, 3);
});

afterAll(async () => {
  await t?.stop();
});

/** Adds strategies to the org, each with a source, two destinations, jobs, points and artifacts. */
async function addStrategies(target: TestOrg, count: number): Promise<void> {
  await withSystem(t.services.db, 'test-seed', async (tx) => {
    const orgId = target.id;
    for (let i = 0; i < count; i++) {
      const tag = randomBytes(4).toString('hex');
      const source = await tx.source.create({ data: { orgId, name: `src-${tag}`, kind: 'DIRECTORY', path: '/tmp' } });
      const destinations = [
        await tx.destination.create({ data: { orgId, name: `local-${tag}`, kind: 'LOCAL', path: `d-${tag}` } }),
        await tx.destination.create({ data: { orgId, name: `vault-${tag}`, kind: 'LOCAL', path: `v-${tag}` } }),
      ];
      const strategy = await tx.strategy.create({
        data: { orgId, name: `str-${tag}`, sourceId: source.id, cron: '0 3 * * *', nextRunAt: new Date(Date.now() + 3_600_000) },
      });
      for (const d of destinations) await tx.strategyDestination.create({ data: { orgId, strategyId: strategy.id, destinationId: d.id } });
      await tx.missedRun.create({ data: { orgId, strategyId: strategy.id, slotAt: new Date(Date.now() - 86_400_000), reason: 'seed' } });
      for (let j = 0; j < JOBS_PER_STRATEGY; j++) {
        const finished = j < POINTS_PER_STRATEGY;
        const queuedAt = new Date(Date.now() - (JOBS_PER_STRATEGY - j) * 3_600_000);
        const job = await tx.backupJob.create({
          data: {
            orgId, strategyId: strategy.id, trigger: 'SCHEDULED', queuedAt, startedAt: queuedAt,
            status: finished ? 'SUCCEEDED' : 'RUNNING', percent: finished ? 100 : 42,
            finishedAt: finished ? new Date(queuedAt.getTime() + 60_000) : null,
          },
        });
        if (!finished) continue;
        const storedBytes = BigInt(1000 + j);
        const point = await tx.recoveryPoint.create({
          data: {
            orgId, strategyId: strategy.id, sourceId: source.id, backupJobId: job.id, sourceKind: 'DIRECTORY', format: 'tar',
            compression: 'ZSTD', encrypted: true, rawBytes: storedBytes * 3n, storedBytes, sha256: 'a'.repeat(64), manifest: {},
            takenAt: new Date(queuedAt.getTime() + 60_000),
          },
        });
        for (const d of destinations) {
          await tx.artifact.create({
            data: { orgId, recoveryPointId: point.id, destinationId: d.id, key: `k-${point.id}-${d.id}`, manifestKey: `m-${point.id}-${d.id}`, sizeBytes: storedBytes, sha256: 'a'.repeat(64) },
          });
        }
      }
    }
  });
}

/** Runs one query through real HTTP and returns its data plus the SQL statements it cost. */
async function measure<T>(token: string, query: string): Promise<{ data: T; statements: string[] }> {
  recorded = [];
  try {
    const r = await t.gql<T>(token, query);
    expect(r.errors).toBeUndefined();
    // Query events are emitted as statements finish; let any last one land.
    await new Promise((resolve) => setImmediate(resolve));
    return { data: r.data!, statements: recorded };
  } finally {
    recorded = null;
  }
}

/**
 * Statement shapes and how often each ran, so a failing comparison names the statement that
 * multiplied. Parameter numbers and IN-list lengths (which grow with N) are normalized away.
 */
function shapes(statements: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of statements) {
    const key = s.replace(/\s+/g, ' ').trim().replace(/\$\d+/g, '$').replace(/IN \(\$(,\$)*\)/g, 'IN (…)').replace(/"public"\./g, '');
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

describe('dashboard overview SQL statements', () => {
  it('costs the same number of statements for 2 and for 12 strategies', async () => {
    const token = org.users.VIEWER.token;
    await addStrategies(org, 2);
    const small = await measure<OverviewData>(token, OVERVIEW);
    expect(small.data.strategies.edges).toHaveLength(2);

    await addStrategies(org, 10);
    const large = await measure<OverviewData>(token, OVERVIEW);
    const strategies = large.data.strategies.edges.map((e) => e.node);
    expect(strategies).toHaveLength(12);
    for (const s of strategies) {
      expect(s.source.name).toMatch(/^src-/);
      expect(s.latestJobs.map((j) => j.status)).toEqual(['RUNNING', 'SUCCEEDED', 'SUCCEEDED']);
      const points = s.recoveryPoints.edges.map((e) => e.node);
      expect(points).toHaveLength(3);
      // Newest first, each with its copy at both destinations of this strategy.
      expect(points.map((p) => p.storedBytes)).toEqual(['1003', '1002', '1001']);
      for (const p of points) {
        expect(p.artifacts).toHaveLength(2);
        expect(p.artifacts.every((a) => a.destination.name.endsWith(s.name.slice(4)))).toBe(true);
      }
    }

    expect(shapes(large.statements)).toEqual(shapes(small.statements));
    expect(large.statements.length).toBe(small.statements.length);
    expect(large.statements.length).toBeLessThanOrEqual(MAX_STATEMENTS);
  });

  it('stays constant with the dashboard extras (health, destinations, retention, missed runs, totals)', async () => {
    const token = other.users.VIEWER.token;
    const small = await measure<OverviewData>(token, OVERVIEW_FULL);
    expect(small.data.strategies.edges).toHaveLength(3);

    await addStrategies(other, 9);
    const large = await measure<OverviewData>(token, OVERVIEW_FULL);
    expect(large.data.strategies.edges).toHaveLength(12);

    expect(shapes(large.statements)).toEqual(shapes(small.statements));
    expect(large.statements.length).toBeLessThanOrEqual(MAX_STATEMENTS);
  });
});
