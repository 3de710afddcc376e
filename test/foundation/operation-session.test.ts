// One GraphQL operation, one tenant transaction (src/db/tenant-session.ts): every field of a
// dashboard runs on one connection with the tenant set once; a saturated pool or organization
// cap answers a typed, retryable SERVER_BUSY; a statement past DB_STATEMENT_TIMEOUT_MS is stopped;
// a client that goes away has its database work cancelled. Over real HTTP against real Postgres.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/client';
import { DatabaseBusyError, openTenantSession, OrgConcurrency } from '../../src/db/tenant-session';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { superuser } from '../support/foundation';
import { seedOrgObjects } from '../support/seed-objects';

const DASHBOARD = /* GraphQL */ `{
  backupHealth { lastSuccessfulBackupAt scheduledToday ranToday missedLast24h failingStrategyIds runningJobs nextRunAt }
  backupStats { count totalStoredBytes averageStoredBytes oldestAt newestAt }
  strategies(first: 20) { edges { node { name nextRunAt lastRunAt
    latestJobs(first: 3) { status percent error finishedAt }
    recoveryPoints(first: 3) { edges { node { takenAt storedBytes sha256 artifacts { destination { name } sizeBytes } } } } } } }
}`;

let t: TestApp;
let org: TestOrg;
let recorded: string[] | null = null;
/** Holds locks in its transactions. */
let admin: pg.Client;
/** Watches pg_stat_activity outside any transaction (inside one, the view is a snapshot). */
let observer: pg.Client;

beforeAll(async () => {
  t = await startTestApp({ DB_STATEMENT_TIMEOUT_MS: '60000' }, { logQueries: true });
  t.services.db.$on('query', (e) => recorded?.push(e.query));
  org = await t.createOrg();
  await seedOrgObjects(t, org);
  await seedOrgObjects(t, org);
  admin = await superuser(t);
  observer = await superuser(t);
});

afterAll(async () => {
  await admin?.end();
  await observer?.end();
  await t?.stop();
});

/** Backends of the app's pool currently running `needle`. */
async function running(needle: string): Promise<number> {
  const r = await observer.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE $1`,
    [`%${needle}%`],
  );
  return r.rows[0].n as number;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('one tenant transaction per operation', () => {
  it('runs every field of the dashboard in one transaction, the tenant set once', async () => {
    recorded = [];
    const r = await t.gql<{ strategies: { edges: unknown[] } }>(org.users.VIEWER.token, DASHBOARD);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const statements = recorded;
    recorded = null;
    expect(r.errors).toBeUndefined();
    expect(r.data!.strategies.edges).toHaveLength(2);
    const tenantSetups = statements.filter((s) => s.includes("set_config('role', 'keepsake_app'"));
    const commits = statements.filter((s) => s.trim() === 'COMMIT');
    // One transaction for authentication (system context) and one for the whole operation.
    expect(tenantSetups).toHaveLength(1);
    expect(commits).toHaveLength(2);
  });

  it('answers many concurrent dashboards from a small pool without errors', async () => {
    const small = await startTestApp({ DB_POOL_MAX: '2', ORG_MAX_CONCURRENT_OPERATIONS: '2', DB_POOL_WAIT_MS: '20000' });
    try {
      const o = await small.createOrg();
      await seedOrgObjects(small, o);
      const results = await Promise.all(Array.from({ length: 30 }, () => small.gql(o.users.VIEWER.token, DASHBOARD)));
      expect(results.flatMap((x) => x.errors ?? [])).toEqual([]);
      expect(results.every((x) => x.status === 200)).toBe(true);
    } finally {
      await small.stop();
    }
  });
});

describe('capacity errors are typed and retryable', () => {
  it('a saturated pool answers SERVER_BUSY (503, retryable), never an unexpected error', async () => {
    const busy = await startTestApp({ DB_POOL_MAX: '2', DB_POOL_WAIT_MS: '300' });
    const releases: Array<() => void> = [];
    const held: Array<Promise<unknown>> = [];
    try {
      const o = await busy.createOrg();
      // Take both connections of the app's pool and keep them.
      for (let i = 0; i < 2; i++) {
        let ready!: () => void;
        const started = new Promise<void>((r) => (ready = r));
        held.push(busy.services.db.$transaction(async (tx) => {
          await tx.$queryRaw`SELECT 1`;
          ready();
          await new Promise<void>((r) => releases.push(r));
        }, { timeout: 30_000 }));
        await started;
      }
      const r = await busy.gql(o.users.VIEWER.token, DASHBOARD);
      expect(r.status).toBe(503);
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'SERVER_BUSY', retryable: true });
      expect(JSON.stringify(r.errors)).not.toMatch(/Unexpected error|INTERNAL_SERVER_ERROR/);
    } finally {
      for (const release of releases) release();
      await Promise.all(held);
      await busy.stop();
    }
  });

  it('a session that cannot get a connection in time fails with DatabaseBusyError in every field', async () => {
    const db = createDb(t.db.url, { max: 1 });
    let release!: () => void;
    let ready!: () => void;
    const started = new Promise<void>((r) => (ready = r));
    const holder = db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1`;
      ready();
      await new Promise<void>((r) => (release = r));
    });
    await started;
    try {
      const session = openTenantSession(db, org.id, { maxWaitMs: 200, statementTimeoutMs: 1000, transactionTimeoutMs: 5000 });
      await expect(session.client.strategy.findMany({})).rejects.toBeInstanceOf(DatabaseBusyError);
      await session.close();
    } finally {
      release();
      await holder;
      await db.$disconnect();
    }
  });

  it('the organization cap hands slots over in order and refuses past the wait', async () => {
    const gate = new OrgConcurrency(1);
    const first = await gate.acquire(org.id, 100);
    const second = gate.acquire(org.id, 1000);
    await expect(gate.acquire(org.id, 50)).rejects.toBeInstanceOf(DatabaseBusyError);
    first();
    const releaseSecond = await second;
    // Another organization is never held up by this one.
    const other = await gate.acquire('00000000-0000-4000-8000-000000000000', 10);
    other();
    releaseSecond();
  });
});

describe('runaway and abandoned statements', () => {
  it('stops a statement past DB_STATEMENT_TIMEOUT_MS with QUERY_TIMEOUT', async () => {
    const quick = await startTestApp({ DB_STATEMENT_TIMEOUT_MS: '500' });
    const locker = await superuser(quick);
    try {
      const o = await quick.createOrg();
      // Lock the table the query reads: its statement waits, and the wait counts as its runtime.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE "Strategy" IN ACCESS EXCLUSIVE MODE');
      const r = await quick.gql(o.users.VIEWER.token, '{ strategies(first: 5) { edges { node { name } } } }');
      expect(r.errors?.[0]?.extensions?.code).toBe('QUERY_TIMEOUT');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await quick.stop();
    }
  });

  it('cancels the database work of a client that goes away', async () => {
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE "Source" IN ACCESS EXCLUSIVE MODE');
    try {
      const controller = new AbortController();
      const request = fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${org.users.VIEWER.token}` },
        body: JSON.stringify({ query: '{ sources(first: 5) { edges { node { name } } } }' }),
        signal: controller.signal,
      }).catch(() => 'aborted');
      await until(async () => (await running('"public"."Source"')) === 1, 'the query to wait on the lock');
      controller.abort();
      expect(await request).toBe('aborted');
      // The statement timeout (60 s here) would end it only long after this wait gives up.
      await until(async () => (await running('"public"."Source"')) === 0, 'the query to be cancelled');
    } finally {
      await admin.query('ROLLBACK');
    }
  });
});
