// The limits a backup runs under, with real workers: one run per strategy at a time, an
// organization's maxConcurrentBackups across its strategies (without holding up other
// organizations), and a strategy's size limit and timeout, which end the job with a clear,
// non-retried error and leave nothing behind.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { backupFlow, FINAL } from '../support/backup-flow';
import { createEmptyDatabase, type TestDatabase } from '../support/db';

let t: TestApp;
let orgA: TestOrg;
let orgB: TestOrg;
let source: TestDatabase;
let workers: Workers;
let superuser: pg.Client;

beforeAll(async () => {
  // Four runs may be in flight in this process, so only the limits under test hold jobs back.
  t = await startTestApp({ WORKER_CONCURRENCY: '4' });
  orgA = await t.createOrg();
  orgB = await t.createOrg();
  source = await createEmptyDatabase();
  const c = new pg.Client({ connectionString: source.url });
  await c.connect();
  await c.query(`CREATE TABLE big (id serial PRIMARY KEY, body text); INSERT INTO big (body) SELECT md5(g::text) || md5((g * 3)::text) FROM generate_series(1, 40000) g;`);
  await c.end();
  superuser = new pg.Client({ connectionString: t.db.url });
  await superuser.connect();
  await superuser.query(`UPDATE "Organization" SET "maxConcurrentBackups" = 1 WHERE id = $1`, [orgA.id]);
  workers = await startWorkers(t.services);
});

afterAll(async () => {
  await workers?.stop();
  await superuser?.end();
  await t?.stop();
  await source?.drop();
});

/** Holds a lock every dump of `big` waits for: jobs stay RUNNING until it is released. */
async function lockBig(): Promise<() => Promise<void>> {
  const holder = new pg.Client({ connectionString: source.url });
  await holder.connect();
  await holder.query('BEGIN; LOCK TABLE big IN ACCESS EXCLUSIVE MODE');
  return async () => {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
  };
}

const statusOf = async (jobGlobalId: string) =>
  (await superuser.query(`SELECT status::text FROM "BackupJob" WHERE id = $1`, [Buffer.from(jobGlobalId, 'base64').toString().split(':')[1]])).rows[0].status as string;

async function setup(org: TestOrg, name: string, extra: Record<string, unknown> = {}) {
  const flow = backupFlow(t, org);
  const src = await flow.postgresSource(name, source.url);
  return { flow, strategyId: await flow.strategy(name, src, [await flow.localDestination(name)], extra) };
}

describe('concurrency', () => {
  it('runs one backup per strategy and at most maxConcurrentBackups per organization, without holding up other organizations', async () => {
    const a1 = await setup(orgA, 'a1');
    const a2 = await setup(orgA, 'a2');
    const b1 = await setup(orgB, 'b1');
    const release = await lockBig();
    try {
      const first = await a1.flow.trigger(a1.strategyId);
      await a1.flow.waitFor(first, (j) => j.status === 'RUNNING');
      const sameStrategy = await a1.flow.trigger(a1.strategyId);
      const sameOrg = await a2.flow.trigger(a2.strategyId);
      const otherOrg = await b1.flow.trigger(b1.strategyId);
      // The other organization's job starts at once; org A's two stay queued behind its limit of 1.
      await b1.flow.waitFor(otherOrg, (j) => j.status === 'RUNNING');
      await new Promise((r) => setTimeout(r, 3000)); // several polling rounds of every worker
      expect(await statusOf(sameStrategy)).toBe('QUEUED');
      expect(await statusOf(sameOrg)).toBe('QUEUED');
    } finally {
      await release();
    }
    for (;;) {
      const rows = (await superuser.query(`SELECT status::text FROM "BackupJob" WHERE "orgId" IN ($1, $2)`, [orgA.id, orgB.id])).rows as Array<{ status: string }>;
      if (rows.every((r) => FINAL.includes(r.status))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // updatedAt is the success commit, the last thing a run writes before the queue job completes.
    const done = (await superuser.query(`SELECT status::text, "startedAt", "updatedAt" FROM "BackupJob" WHERE "orgId" = $1 ORDER BY "startedAt"`, [orgA.id])).rows as Array<{ status: string; startedAt: Date; updatedAt: Date }>;
    expect(done).toHaveLength(3);
    expect(done.map((j) => j.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    // Org A's runs never overlapped: each started after the previous one finished.
    for (let i = 1; i < done.length; i++) expect(done[i]!.startedAt.getTime()).toBeGreaterThanOrEqual(done[i - 1]!.updatedAt.getTime());
  }, 120_000);
});

describe('size limit and timeout', () => {
  it('a backup over the strategy size limit fails once with SIZE_LIMIT_EXCEEDED and leaves no file', async () => {
    const { flow, strategyId } = await setup(orgB, 'tiny', { maxSizeBytes: '20000' });
    const done = await flow.waitFor(await flow.trigger(strategyId), (j) => FINAL.includes(j.status));
    expect(done.status).toBe('FAILED');
    expect(done.errorCode).toBe('SIZE_LIMIT_EXCEEDED');
    expect(done.attempt).toBe(1);
    const files = await readdir(path.join(t.storageRoot, orgB.id, 'dest', 'tiny'), { recursive: true }).catch(() => [] as string[]);
    expect(files.filter((f) => /\.(enc|json)$|partial/.test(f))).toEqual([]);
  });

  it('a backup past the strategy timeout fails with TIMEOUT, is not retried, and its dump is stopped', async () => {
    const { flow, strategyId } = await setup(orgB, 'slow', { timeoutSeconds: 2 });
    const release = await lockBig();
    try {
      const done = await flow.waitFor(await flow.trigger(strategyId), (j) => FINAL.includes(j.status), 30_000);
      expect(done.status).toBe('FAILED');
      expect(done.errorCode).toBe('TIMEOUT');
      expect(done.error).toMatch(/2-second timeout/);
      expect(done.attempt).toBe(1);
      // The run closed its session; the server notices the vanished client within
      // client_connection_check_interval (1 s), while our lock is still held. Without that
      // setting the dump's session would wait for the lock for as long as it is held.
      const lockWaiters = async () =>
        (await superuser.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [source.name])).rows[0].n as number;
      await expect.poll(lockWaiters, { timeout: 10_000, interval: 100 }).toBe(0);
    } finally {
      await release();
    }
  });
});
