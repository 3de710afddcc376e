// The scheduler against a real database and queue: two schedulers racing for the same slot enqueue
// it once, slots that can no longer start inside their window are recorded as missed and shown to
// dashboards, paused strategies wait, and nextRunAt/lastRunAt stay true.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/client';
import { claimBackupJob } from '../../src/domain/backups/claim';
import { schedulerTick } from '../../src/domain/strategies/scheduler';
import { startBoss } from '../../src/queue/boss';
import { queues } from '../../src/queue/queues';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';

let t: TestApp;
let org: TestOrg;
let superuser: pg.Client;
// A second "process": its own Prisma client and its own pg-boss instance on the same database.
let db2: Db;
let boss2: PgBoss;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.createOrg();
  superuser = new pg.Client({ connectionString: t.db.url });
  await superuser.connect();
  db2 = createDb(t.db.url);
  boss2 = await startBoss(t.db.url, { schedule: false, supervise: false });
});

afterAll(async () => {
  await boss2?.stop({ graceful: false });
  await db2?.$disconnect();
  await superuser?.end();
  await t?.stop();
});

async function createStrategy(name: string, cron: string, extra = ''): Promise<string> {
  const admin = org.users.ADMIN.token;
  const dest = await t.gql<{ createLocalDestination: { data: { id: string } } }>(admin, `mutation($n: String!) { createLocalDestination(input: { name: $n, path: $n }) { ... on MutationCreateLocalDestinationSuccess { data { id } } } }`, { n: name });
  const src = await t.gql<{ createDirectorySource: { data: { id: string } } }>(admin, `mutation($n: String!) { createDirectorySource(input: { name: $n, path: "/srv/files" }) { ... on MutationCreateDirectorySourceSuccess { data { id } } } }`, { n: name });
  const s = await t.gql<{ createStrategy: { data: { id: string } } }>(
    admin,
    `mutation($i: CreateStrategyInput!) { createStrategy(input: $i) { ... on MutationCreateStrategySuccess { data { id } } ... on Error { message } } }`,
    { i: { name, sourceId: src.data!.createDirectorySource.data.id, destinationIds: [dest.data!.createLocalDestination.data.id], cron, ...(extra ? JSON.parse(extra) : {}) } },
  );
  expect(s.errors).toBeUndefined();
  return Buffer.from(s.data!.createStrategy.data.id, 'base64').toString().split(':')[1]!;
}

const row = async (id: string) => (await superuser.query(`SELECT "nextRunAt", "lastRunAt" FROM "Strategy" WHERE id = $1`, [id])).rows[0] as { nextRunAt: Date | null; lastRunAt: Date | null };
const jobsOf = async (id: string) => (await superuser.query(`SELECT trigger::text, status::text, "scheduledFor", "queueJobId" FROM "BackupJob" WHERE "strategyId" = $1 ORDER BY "scheduledFor"`, [id])).rows as Array<{ trigger: string; status: string; scheduledFor: Date; queueJobId: string }>;
const missedOf = async (id: string) => (await superuser.query(`SELECT "slotAt" FROM "MissedRun" WHERE "strategyId" = $1 ORDER BY "slotAt"`, [id])).rows.map((r: { slotAt: Date }) => r.slotAt.toISOString());

describe('schedulerTick', () => {
  it('enqueues a due slot exactly once when two schedulers race, records the skipped slots and moves nextRunAt', async () => {
    const id = await createStrategy('every-5', '*/5 * * * *');
    const now = new Date('2026-11-23T10:07:00Z');
    // Due since 09:55: slots 09:55, 10:00 and 10:05 have passed; only the newest may still start.
    await superuser.query(`UPDATE "Strategy" SET "nextRunAt" = '2026-11-23T09:55:00Z' WHERE id = $1`, [id]);

    const results = await Promise.all([schedulerTick(t.services.db, t.services.boss, now), schedulerTick(db2, boss2, now)]);
    expect(results.reduce((n, r) => n + r.enqueued, 0)).toBe(1);

    const jobs = await jobsOf(id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ trigger: 'SCHEDULED', status: 'QUEUED' });
    expect(jobs[0]!.scheduledFor.toISOString()).toBe('2026-11-23T10:05:00.000Z');
    const queued = await t.services.boss.getJobById(queues.backup.name, jobs[0]!.queueJobId);
    expect(queued?.state).toBe('created');
    expect(await missedOf(id)).toEqual(['2026-11-23T09:55:00.000Z', '2026-11-23T10:00:00.000Z']);
    const after = await row(id);
    expect(after.nextRunAt!.toISOString()).toBe('2026-11-23T10:10:00.000Z');
    expect(after.lastRunAt!.toISOString()).toBe(now.toISOString());

    // Ticking again before the next slot changes nothing.
    const again = await schedulerTick(t.services.db, t.services.boss, new Date('2026-11-23T10:08:00Z'));
    expect(again).toEqual({ enqueued: 0, missed: 0 });
    expect(await jobsOf(id)).toHaveLength(1);
  });

  it('a slot past its start window is recorded as missed, not run, and dashboards see it', async () => {
    const id = await createStrategy('window', '0 * * * *', JSON.stringify({ startWindowMinutes: 10 }));
    const now = new Date();
    const slot = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 3_600_000); // the previous full hour
    await superuser.query(`UPDATE "Strategy" SET "nextRunAt" = $2 WHERE id = $1`, [id, slot]);
    const r = await schedulerTick(t.services.db, t.services.boss, new Date(slot.getTime() + 3_600_000 - 1000));
    expect(r.enqueued).toBe(0);
    expect(await jobsOf(id)).toHaveLength(0);
    expect(await missedOf(id)).toEqual([slot.toISOString()]);

    const viewer = org.users.VIEWER.token;
    const seen = await t.gql<{ missedRuns: { edges: Array<{ node: { slotAt: string; reason: string } }> }; backupHealth: { missedLast24h: number } }>(
      viewer, `{ missedRuns(first: 10) { edges { node { slotAt reason } } } backupHealth { missedLast24h } }`,
    );
    expect(seen.errors).toBeUndefined();
    expect(seen.data!.missedRuns.edges.map((e) => e.node.slotAt)).toContain(slot.toISOString());
    expect(seen.data!.missedRuns.edges.find((e) => e.node.slotAt === slot.toISOString())!.node.reason).toMatch(/10-minute start window/);
    expect(seen.data!.backupHealth.missedLast24h).toBeGreaterThanOrEqual(1);
  });

  it('a paused strategy is not scheduled', async () => {
    const id = await createStrategy('paused', '*/5 * * * *');
    await superuser.query(`UPDATE "Strategy" SET status = 'PAUSED', "nextRunAt" = '2026-11-23T09:55:00Z' WHERE id = $1`, [id]);
    await schedulerTick(t.services.db, t.services.boss, new Date('2026-11-23T10:07:00Z'));
    expect(await jobsOf(id)).toHaveLength(0);
    expect(await missedOf(id)).toEqual([]);
  });
});

describe('queue settings', () => {
  it('JOB_HEARTBEAT_SECONDS reaches queues created earlier, and the jobs sent after it', async () => {
    const heartbeat = async (name: string) =>
      (await superuser.query(`SELECT heartbeat_seconds AS s FROM pgboss.queue WHERE name = $1`, [name])).rows[0].s as number | null;
    expect(await heartbeat(queues.backup.name)).toBe(30); // created by the test app with the default
    const other = await startBoss(t.db.url, { schedule: false, supervise: false, heartbeatSeconds: 17 });
    try {
      for (const q of [queues.backup, queues.restore, queues.verify]) expect(await heartbeat(q.name)).toBe(17);
      // Short housekeeping queues carry no heartbeat: their expiry bounds them.
      expect(await heartbeat(queues.retention.name)).toBeNull();
      const id = await other.send(queues.verify.name, { verificationId: '00000000-0000-7000-8000-000000000000', orgId: org.id }, { startAfter: 3600 });
      const job = await superuser.query(`SELECT heartbeat_seconds AS s FROM pgboss.job WHERE id = $1`, [id]);
      expect(job.rows[0].s).toBe(17);
      await other.deleteJob(queues.verify.name, id!);
    } finally {
      await other.stop({ graceful: false });
    }
  });
});

describe('claiming a backup job', () => {
  it("enforces maxConcurrentBackups even when two workers claim at the same moment: the loser's job goes back to the queue", async () => {
    const [s1, s2] = [await createStrategy('claim-a', '0 3 * * *'), await createStrategy('claim-b', '0 3 * * *')];
    await superuser.query(`UPDATE "Organization" SET "maxConcurrentBackups" = 1 WHERE id = $1`, [org.id]);
    // Rows without queue jobs: nothing but these two claims ever runs them.
    const insert = async (strategyId: string) =>
      (await superuser.query(`INSERT INTO "BackupJob" (id, "orgId", "strategyId", trigger, "updatedAt") VALUES (gen_random_uuid(), $1, $2, 'MANUAL', now()) RETURNING id`, [org.id, strategyId])).rows[0].id as string;
    const [j1, j2] = [await insert(s1), await insert(s2)];
    // Hold the organization's claim lock so both claims are in flight together, then let them go.
    const holder = new pg.Client({ connectionString: t.db.url });
    await holder.connect();
    await holder.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [`keepsake:backup-claim:${org.id}`]);
    try {
      const claims = Promise.all([
        claimBackupJob(t.services.db, t.services.boss, { backupJobId: j1, orgId: org.id, attempt: 1, workerId: 'worker-1' }),
        claimBackupJob(db2, boss2, { backupJobId: j2, orgId: org.id, attempt: 1, workerId: 'worker-2' }),
      ]);
      const waiting = async () => (await superuser.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'advisory' AND datname = current_database()`)).rows[0].n as number;
      await expect.poll(waiting, { timeout: 10_000 }).toBe(2);
      await holder.query(`SELECT pg_advisory_unlock_all()`);
      const results = await claims;
      expect(results.filter((r) => r && 'job' in r && r.job.status === 'RUNNING')).toHaveLength(1);
      expect(results.filter((r) => r && 'deferred' in r)).toHaveLength(1);
      const rows = (await superuser.query(`SELECT id, status::text, "queueJobId" FROM "BackupJob" WHERE id IN ($1, $2)`, [j1, j2])).rows as Array<{ id: string; status: string; queueJobId: string | null }>;
      const deferred = rows.find((r) => r.status === 'QUEUED')!;
      expect(rows.map((r) => r.status).sort()).toEqual(['QUEUED', 'RUNNING']);
      // The deferred job waits in the queue again, a few seconds out, as the row says.
      const queued = await superuser.query(`SELECT state, start_after > now() AS later, data->>'backupJobId' AS job FROM pgboss.job WHERE id = $1`, [deferred.queueJobId]);
      expect(queued.rows).toEqual([{ state: 'created', later: true, job: deferred.id }]);
      // A delivery the row no longer points at is stale: it claims nothing.
      expect(await claimBackupJob(t.services.db, t.services.boss, { backupJobId: deferred.id, orgId: org.id, attempt: 1, workerId: 'worker-3', queueJobId: randomUUID() })).toBeNull();
      await boss2.cancel(queues.backup.name, deferred.queueJobId!);
    } finally {
      await holder.end();
      await superuser.query(`UPDATE "BackupJob" SET status = 'CANCELLED', "finishedAt" = now() WHERE id IN ($1, $2)`, [j1, j2]);
      await superuser.query(`UPDATE "Organization" SET "maxConcurrentBackups" = 2 WHERE id = $1`, [org.id]);
    }
  });
});
