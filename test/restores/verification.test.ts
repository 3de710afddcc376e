// Restore tests for real: the newest point restored into a scratch database on the test server,
// row counts compared with the dump's, probe queries run read-only, evidence recorded, verifiedAt
// set, the scratch database dropped; failing probes, writes and damaged copies fail the test and
// raise a VERIFICATION event; verifyCron schedules them once per slot.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/events/bus';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { scheduleVerifications } from '../../src/domain/verification/request';
import { VerificationDocument, VerifyRecoveryPointDocument, VerifyStrategyDocument, type VerificationQuery } from '../generated/graphql';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { backupFlow, ok, poll } from '../support/backup-flow';
import { createEmptyDatabase, type TestDatabase } from '../support/db';
import { tempDir } from '../support/backups';

let t: TestApp;
let org: TestOrg;
let source: TestDatabase;
let workers: Workers;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let flow: ReturnType<typeof backupFlow>;
let superuser: pg.Client;

type V = Extract<NonNullable<VerificationQuery['node']>, { status: unknown }>;
type Evidence = { tables: Array<{ table: string; expected: number; actual: number; ok: boolean }>; probes: Array<{ query: string; ok: boolean; firstRow?: string; error?: string }>; scratch: string };

beforeAll(async () => {
  tmp = await tempDir('verify');
  t = await startTestApp();
  org = await t.createOrg();
  source = await createEmptyDatabase();
  const c = new pg.Client({ connectionString: source.url });
  await c.connect();
  await c.query(`CREATE SCHEMA crm; CREATE TABLE crm.customers (id serial PRIMARY KEY, name text);
    INSERT INTO crm.customers (name) SELECT 'c' || g FROM generate_series(1, 1200) g;
    CREATE TABLE public.orders (id serial PRIMARY KEY, total numeric); INSERT INTO public.orders (total) SELECT g FROM generate_series(1, 300) g;`);
  await c.end();
  superuser = new pg.Client({ connectionString: t.db.url });
  await superuser.connect();
  workers = await startWorkers(t.services);
  flow = backupFlow(t, org);
});

afterAll(async () => {
  await workers?.stop();
  await superuser?.end();
  await t?.stop();
  await source?.drop();
  await tmp?.cleanup();
});

async function verification(id: string): Promise<V> {
  return (await t.request(org.users.VIEWER.token, VerificationDocument, { id })).data!.node as V;
}
const settled = (id: string) => poll(() => verification(id), (v) => v.status === 'PASSED' || v.status === 'FAILED', (v) => `verification stayed ${v.status}`, 60_000);
const scratchDatabases = async () => (await superuser.query(`SELECT datname FROM pg_database WHERE datname LIKE 'keepsake_verify_%'`)).rows.map((r: { datname: string }) => r.datname);

async function strategyWithProbes(name: string, probeQueries: string[]): Promise<string> {
  const src = await flow.postgresSource(name, source.url, { probeQueries });
  return flow.strategy(name, src, [await flow.localDestination(`${name}-nas`)]);
}

async function verifyNewest(strategyId: string): Promise<V> {
  const r = await ok(t.request(org.users.OPERATOR.token, VerifyStrategyDocument, { strategyId, pick: 'NEWEST' }), 'verifyStrategy');
  return settled(r.data!.id);
}

describe('verifyStrategy', () => {
  it('passes: counts match, probes answer, evidence kept, point verified, scratch database dropped', async () => {
    const strategyId = await strategyWithProbes('crm', ['SELECT count(*) AS n FROM crm.customers', 'SELECT max(total) AS top FROM public.orders']);
    const point = (await flow.backup(strategyId)).recoveryPoint!;
    const v = await verifyNewest(strategyId);
    expect(v.status, v.error ?? '').toBe('PASSED');
    expect(v.recoveryPoint!.id).toBe(point.id);
    expect(v.recoveryPoint!.verifiedAt).toBeTruthy();
    const e = v.evidence as Evidence;
    expect(e.tables).toEqual(expect.arrayContaining([
      { table: 'crm.customers', expected: 1200, actual: 1200, ok: true },
      { table: 'public.orders', expected: 300, actual: 300, ok: true },
    ]));
    expect(e.probes.map((p) => [p.ok, p.firstRow])).toEqual([[true, '{"n":"1200"}'], [true, '{"top":"300"}']]);
    expect(v.durationMs).toBeGreaterThan(0);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('fails on a failing probe and on a probe that tries to write, raising a VERIFICATION event', async () => {
    const strategyId = await strategyWithProbes('crm-bad-probes', ['SELECT count(*) FROM crm.customers', 'DELETE FROM crm.customers']);
    await flow.backup(strategyId);
    const events: JobEvent[] = [];
    const off = t.services.events.on((e) => { if (e.kind === 'VERIFICATION' && e.orgId === org.id) events.push(e); });
    try {
      const v = await verifyNewest(strategyId);
      expect(v.status).toBe('FAILED');
      expect(v.error).toMatch(/DELETE FROM crm.customers → .*read-only transaction/);
      expect((v.evidence as Evidence).probes[0]!.ok).toBe(true);
      expect(v.recoveryPoint!.verifiedAt).toBeNull();
      await poll(async () => events, (es) => es.some((e) => e.status === 'FAILED'), () => JSON.stringify(events), 5000);
    } finally {
      off();
    }
    expect(await scratchDatabases()).toEqual([]);
  });

  it('fails on a damaged copy without leaving a scratch database', async () => {
    const strategyId = await strategyWithProbes('crm-damaged', []);
    const point = (await flow.backup(strategyId)).recoveryPoint!;
    const file = path.join(t.storageRoot, org.id, 'dest', 'crm-damaged-nas', ...point.artifacts[0]!.key.split('/'));
    const bytes = await readFile(file);
    bytes[bytes.length - 40] = bytes[bytes.length - 40]! ^ 0xff;
    await writeFile(file, bytes);
    const r = await ok(t.request(org.users.OPERATOR.token, VerifyRecoveryPointDocument, { id: point.id }), 'verifyRecoveryPoint');
    const v = await settled(r.data!.id);
    expect(v.status).toBe('FAILED');
    expect(v.error).toMatch(/no intact copy/);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('verifies a directory backup in a temporary directory', async () => {
    const root = path.join(tmp.dir, 'logs');
    await mkdir(path.join(root, 'app'), { recursive: true });
    await writeFile(path.join(root, 'app', 'today.log'), randomBytes(5000).toString('hex'));
    const src = await flow.directorySource('logs', root);
    const strategyId = await flow.strategy('logs', src, [await flow.localDestination('logs-nas')]);
    await flow.backup(strategyId);
    const v = await verifyNewest(strategyId);
    expect(v.status, v.error ?? '').toBe('PASSED');
    expect((v.evidence as { entries: { expected: number; actual: number } }).entries).toEqual({ expected: 2, actual: 2 });
  });
});

describe('scheduled restore tests', () => {
  it('runs once per verifyCron slot, even with two schedulers', async () => {
    const strategyId = await strategyWithProbes('crm-scheduled', []);
    await flow.backup(strategyId);
    const raw = Buffer.from(strategyId, 'base64').toString().split(':')[1]!;
    await superuser.query(`UPDATE "Strategy" SET "verifyCron" = '*/5 * * * *', "verifyNextRunAt" = now() - interval '1 minute' WHERE id = $1`, [raw]);
    const now = new Date();
    const counts = await Promise.all([scheduleVerifications(t.services.db, t.services.boss, now), scheduleVerifications(t.services.db, t.services.boss, now)]);
    expect(counts[0] + counts[1]).toBe(1);
    const rows = (await superuser.query(`SELECT id, "scheduledFor" FROM "Verification" WHERE "strategyId" = $1`, [raw])).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0].scheduledFor).toBeTruthy();
    const next = (await superuser.query(`SELECT "verifyNextRunAt" FROM "Strategy" WHERE id = $1`, [raw])).rows[0].verifyNextRunAt as Date;
    expect(next.getTime()).toBeGreaterThan(now.getTime());
    const id = Buffer.from(`Verification:${rows[0].id}`).toString('base64');
    const v = await settled(id);
    expect(v.status, v.error ?? '').toBe('PASSED');
  });
});
