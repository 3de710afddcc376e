// /metrics: Prometheus text with process metrics and platform-wide gauges read from the database
// (jobs by kind and status, oldest running job, recovery points, strategies and RPO breaches,
// queue depth), aggregates only: no organization, strategy or job identifier appears. With
// METRICS_TOKEN set, the token is required.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { seedOrgObjects } from '../support/seed-objects';

let t: TestApp;
let orgs: TestOrg[];
let superuser: pg.Client;

beforeAll(async () => {
  t = await startTestApp();
  orgs = [await t.createOrg(), await t.createOrg()];
  for (const org of orgs) await seedOrgObjects(t, org);
  superuser = new pg.Client({ connectionString: t.db.url });
  await superuser.connect();
});

afterAll(async () => {
  await superuser?.end();
  await t?.stop();
});

/** The samples of a Prometheus text exposition, as "name{labels}" → value. */
async function scrape(app: TestApp, headers: Record<string, string> = {}): Promise<{ status: number; text: string; samples: Map<string, number> }> {
  const res = await fetch(new URL('/metrics', app.url), { headers });
  const text = await res.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) samples.set(m[1]!, Number(m[2]));
  }
  return { status: res.status, text, samples };
}

describe('/metrics', () => {
  it('reports platform-wide numbers from the database, and nothing that names a tenant', async () => {
    // Each seeded organization has a running and a succeeded backup, a recovery point of 8 bytes, a
    // restore job and a verification queued, and a paused strategy.
    await superuser.query(`UPDATE "BackupJob" SET "startedAt" = now() - interval '90 seconds' WHERE status = 'RUNNING'`);
    const { status, text, samples } = await scrape(t);
    expect(status).toBe(200);
    const count = async (sql: string) => Number((await superuser.query(sql)).rows[0].n);
    expect(samples.get('keepsake_jobs{kind="backup",status="RUNNING"}')).toBe(await count(`SELECT count(*) AS n FROM "BackupJob" WHERE status = 'RUNNING'`));
    expect(samples.get('keepsake_jobs{kind="backup",status="RUNNING"}')).toBe(2);
    expect(samples.get('keepsake_jobs{kind="restore",status="QUEUED"}')).toBe(2);
    expect(samples.get('keepsake_jobs{kind="verification",status="RUNNING"}')).toBe(2);
    expect(samples.get('keepsake_oldest_running_job_seconds{kind="backup"}')).toBeGreaterThanOrEqual(90);
    expect(samples.get('keepsake_oldest_running_job_seconds{kind="restore"}')).toBe(0);
    expect(samples.get('keepsake_recovery_points')).toBe(2);
    expect(samples.get('keepsake_recovery_points_stored_bytes')).toBe(16);
    expect(samples.get('keepsake_strategies{status="PAUSED"}')).toBe(2);
    expect(samples.get('keepsake_organizations')).toBe(await count(`SELECT count(*) AS n FROM "Organization"`));
    expect(samples.get('keepsake_process_cpu_user_seconds_total')).toBeGreaterThan(0);

    // An active strategy with a 60-minute RPO and no success inside it is a breach; a fresh success ends it.
    const strategy = (await superuser.query(`SELECT id FROM "Strategy" WHERE "orgId" = $1 LIMIT 1`, [orgs[0]!.id])).rows[0].id as string;
    await superuser.query(`UPDATE "Strategy" SET status = 'ACTIVE', "rpoMinutes" = 60 WHERE id = $1`, [strategy]);
    await superuser.query(`UPDATE "BackupJob" SET "finishedAt" = now() - interval '2 hours' WHERE "strategyId" = $1 AND status = 'SUCCEEDED'`, [strategy]);
    expect((await scrape(t)).samples.get('keepsake_strategies_rpo_breached')).toBe(1);
    await superuser.query(`UPDATE "BackupJob" SET "finishedAt" = now() WHERE "strategyId" = $1 AND status = 'SUCCEEDED'`, [strategy]);
    expect((await scrape(t)).samples.get('keepsake_strategies_rpo_breached')).toBe(0);

    // Queue depth, from pg-boss itself.
    const queued = await t.services.boss.send('sweep', {}, { startAfter: 3600 });
    expect((await scrape(t)).samples.get('keepsake_queue_jobs{queue="sweep",state="created"}')).toBeGreaterThanOrEqual(1);
    await t.services.boss.deleteJob('sweep', queued!);

    const identifiers = (await superuser.query(`SELECT id::text AS id FROM "Organization" UNION ALL SELECT slug FROM "Organization" UNION ALL SELECT id::text FROM "Strategy" UNION ALL SELECT id::text FROM "BackupJob"`)).rows.map((r) => r.id as string);
    for (const id of identifiers) expect(text.includes(id), id).toBe(false);
  });

  it('requires METRICS_TOKEN as a bearer token when it is set', async () => {
    const token = 'metrics-token-0123456789';
    const guarded = await startTestApp({ METRICS_TOKEN: token });
    try {
      expect((await scrape(guarded)).status).toBe(401);
      expect((await scrape(guarded, { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
      const ok = await scrape(guarded, { authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      expect(ok.samples.has('keepsake_organizations')).toBe(true);
    } finally {
      await guarded.stop();
    }
  });
});
