// Restores end to end: a seeded database backed up to LOCAL and S3, restored by the real workers
// into new and existing databases (whole and selective) and proven identical table by table; a
// directory restored with its files, modes and links; a missing copy falls back to the next
// destination; a damaged artifact is refused before anything is written.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readlink, readdir, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { RestoreRecoveryPointDocument, type RestoreRecoveryPointInput } from '../generated/graphql';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { backupFlow, ok } from '../support/backup-flow';
import { createEmptyDatabase, queryOnce, type TestDatabase } from '../support/db';
import { startS3, type TestS3 } from '../support/s3';
import { tempDir } from '../support/backups';
import { databaseExists, dropDatabase, withClient } from '../support/db';

const BUCKET = 'keepsake-restore';
let t: TestApp;
let org: TestOrg;
let s3: TestS3;
let source: TestDatabase;
let workers: Workers;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let flow: ReturnType<typeof backupFlow>;
let pointId: string;
let localOnlyStrategy: string;
const created: string[] = [];

const TABLES = ['crm.customers', 'public.orders', 'public.documents'];

beforeAll(async () => {
  tmp = await tempDir('restore');
  t = await startTestApp();
  org = await t.createOrg();
  s3 = await startS3([BUCKET]);
  source = await createEmptyDatabase();
  const c = new pg.Client({ connectionString: source.url });
  await c.connect();
  await c.query(`
    CREATE SCHEMA crm;
    CREATE TABLE crm.customers (id serial PRIMARY KEY, name text NOT NULL, tags text[], joined date);
    INSERT INTO crm.customers (name, tags, joined) SELECT 'customer ' || g, ARRAY['t' || (g % 7)], date '2020-01-01' + g FROM generate_series(1, 2500) g;
    CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer_id int REFERENCES crm.customers(id), total numeric(12,2), meta jsonb);
    INSERT INTO public.orders (customer_id, total, meta) SELECT (g % 2500) + 1, g * 3.5, jsonb_build_object('n', g, 'gift', g % 3 = 0) FROM generate_series(1, 8000) g;
    CREATE TABLE public.documents (id int PRIMARY KEY, body bytea);
    INSERT INTO public.documents SELECT g, decode(md5(g::text) || md5((g * 7)::text), 'hex') FROM generate_series(1, 500) g;`);
  await c.end();
  workers = await startWorkers(t.services);
  flow = backupFlow(t, org, s3);
  const src = await flow.postgresSource('crm', source.url);
  const strategyId = await flow.strategy('crm', src, [await flow.localDestination('nas'), await flow.s3Destination('cloud', BUCKET)]);
  pointId = (await flow.backup(strategyId)).recoveryPoint!.id;
  localOnlyStrategy = await flow.strategy('crm local only', src, [await flow.localDestination('nas-only')]);
});

afterAll(async () => {
  await workers?.stop();
  for (const db of created) await dropDb(db).catch(() => undefined);
  await t?.stop();
  await s3?.close();
  await source?.drop();
  await tmp?.cleanup();
});

const admin = <T>(fn: (c: pg.Client) => Promise<T>) => withClient(source.adminUrl, fn);
const dropDb = (name: string) => dropDatabase(source.adminUrl, name);
const dbExists = (name: string) => databaseExists(source.adminUrl, name);
function newDbName(): { name: string; url: string } {
  const name = `keepsake_rt_${randomBytes(4).toString('hex')}`;
  created.push(name);
  const u = new URL(source.url);
  u.pathname = `/${name}`;
  return { name, url: u.toString() };
}

/** A checksum of every row of a table, in a stable order: equal tables have equal checksums. */
async function tableChecksums(url: string, tables: string[]): Promise<Record<string, string | null>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, string | null> = {};
    for (const table of tables) {
      const r = await c.query(`SELECT md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS sum, count(*) AS n FROM ${table} t`).catch(() => null);
      out[table] = r ? `${r.rows[0].n}:${r.rows[0].sum}` : null;
    }
    return out;
  } finally {
    await c.end();
  }
}

async function restore(input: Omit<RestoreRecoveryPointInput, 'recoveryPointId'> & { recoveryPointId?: string }) {
  const r = await ok(t.request(org.users.OPERATOR.token, RestoreRecoveryPointDocument, { input: { recoveryPointId: pointId, ...input } }), 'restoreRecoveryPoint');
  return flow.waitForRestore(r.data!.id, 60_000);
}

describe('restoring a database backup', () => {
  it('into a new database: every table identical, row counts validated', async () => {
    const target = newDbName();
    const job = await restore({ targetKind: 'NEW_DATABASE', connectionUrl: target.url });
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');
    expect(job.targetDatabase).toBe(target.name);
    expect(await tableChecksums(target.url, TABLES)).toEqual(await tableChecksums(source.url, TABLES));
    const validation = job.validation as { tables: Array<{ table: string; ok: boolean }>; skipped: unknown[] };
    expect(validation.tables.map((c) => c.table).sort()).toEqual([...TABLES].sort());
    expect(validation.tables.every((c) => c.ok)).toBe(true);
    expect(validation.skipped).toEqual([]);
  });

  it('refuses a new database that already exists and leaves it untouched', async () => {
    const target = newDbName();
    await admin((c) => c.query(`CREATE DATABASE "${target.name}"`));
    const job = await restore({ targetKind: 'NEW_DATABASE', connectionUrl: target.url });
    expect(job.status).toBe('FAILED');
    expect(job.errorCode).toBe('TARGET_EXISTS');
    expect(await dbExists(target.name)).toBe(true);
    expect(await tableChecksums(target.url, ['public.orders'])).toEqual({ 'public.orders': null });
  });

  it('needs explicit confirmation to overwrite an existing database, then replaces its data', async () => {
    const target = newDbName();
    expect((await restore({ targetKind: 'NEW_DATABASE', connectionUrl: target.url })).status).toBe('SUCCEEDED');
    const c = new pg.Client({ connectionString: target.url });
    await c.connect();
    await c.query(`DELETE FROM public.orders WHERE id % 2 = 0; UPDATE crm.customers SET name = 'changed'`);
    await c.end();

    const refused = await t.request(org.users.OPERATOR.token, RestoreRecoveryPointDocument, { input: { recoveryPointId: pointId, targetKind: 'EXISTING_DATABASE', connectionUrl: target.url } });
    const payload = refused.data!.restoreRecoveryPoint as { __typename: string; issues?: Array<{ path: string[] }> };
    expect(payload.__typename).toBe('ValidationError');
    expect(payload.issues!.map((i) => i.path.join('.'))).toContain('input.confirmOverwrite');

    const job = await restore({ targetKind: 'EXISTING_DATABASE', connectionUrl: target.url, confirmOverwrite: true });
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');
    expect(await tableChecksums(target.url, TABLES)).toEqual(await tableChecksums(source.url, TABLES));
  });

  it('restores selected tables only', async () => {
    const target = newDbName();
    const job = await restore({ targetKind: 'NEW_DATABASE', connectionUrl: target.url, tables: ['documents'] });
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');
    const sums = await tableChecksums(target.url, TABLES);
    expect(sums['public.documents']).toBe((await tableChecksums(source.url, ['public.documents']))['public.documents']);
    expect(sums['public.orders']).toBeNull();
    expect(sums['crm.customers']).toBeNull();
  });

  it('falls back to the next destination when a copy is missing, and says so', async () => {
    const { recoveryPoint } = await flow.job((await findJobOfPoint())!);
    const local = recoveryPoint!.artifacts.find((a) => a.destination.kind === 'LOCAL')!;
    const file = path.join(t.storageRoot, org.id, 'dest', 'nas', ...local.key.split('/'));
    const saved = await readFile(file);
    await unlink(file);
    try {
      const target = newDbName();
      const job = await restore({ targetKind: 'NEW_DATABASE', connectionUrl: target.url });
      expect(job.status, job.error ?? '').toBe('SUCCEEDED');
      const v = job.validation as { destinationId: string; skipped: Array<{ destinationId: string; reason: string }> };
      expect(v.skipped).toHaveLength(1);
      expect(v.skipped[0]!.reason).toMatch(/ENOENT|no such file/i);
      expect(v.destinationId).not.toBe(v.skipped[0]!.destinationId);
    } finally {
      await writeFile(file, saved);
    }
  });

  it('refuses a damaged artifact before writing anything: no target database is left', async () => {
    const done = await flow.backup(localOnlyStrategy);
    const artifact = done.recoveryPoint!.artifacts[0]!;
    const file = path.join(t.storageRoot, org.id, 'dest', 'nas-only', ...artifact.key.split('/'));
    const bytes = await readFile(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x01;
    await writeFile(file, bytes);
    const target = newDbName();
    const job = await restore({ recoveryPointId: done.recoveryPoint!.id, targetKind: 'NEW_DATABASE', connectionUrl: target.url });
    expect(job.status).toBe('FAILED');
    expect(job.errorCode).toBe('INTEGRITY_ERROR');
    expect(job.error).toMatch(/SHA-256/);
    expect(await dbExists(target.name)).toBe(false);
  });
});

async function findJobOfPoint(): Promise<string | undefined> {
  const r = await t.gql<{ node: { backupJob: { id: string } | null } }>(org.users.VIEWER.token, `query($id: ID!) { node(id: $id) { ... on RecoveryPoint { backupJob { id } } } }`, { id: pointId });
  return r.data?.node.backupJob?.id;
}

describe('restore formats and parallel jobs', () => {
  /** A point of the same database dumped in another pg_dump format. */
  const points = new Map<string, string>();
  async function pointIn(format: 'DIRECTORY' | 'PLAIN' | 'TAR'): Promise<string> {
    if (!points.has(format)) {
      const src = await flow.postgresSource(`crm-${format.toLowerCase()}`, source.url, { dumpFormat: format });
      const strategyId = await flow.strategy(`crm-${format.toLowerCase()}`, src, [await flow.localDestination(`nas-${format.toLowerCase()}`)]);
      points.set(format, (await flow.backup(strategyId)).recoveryPoint!.id);
    }
    return points.get(format)!;
  }

  it('restores a custom-format dump with parallel jobs into a new database, identical', async () => {
    const target = newDbName();
    const job = await restore({ targetKind: 'NEW_DATABASE', connectionUrl: target.url, jobs: 3 });
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');
    expect(await tableChecksums(target.url, TABLES)).toEqual(await tableChecksums(source.url, TABLES));
  });

  it('restores directory, plain and tar dumps into new databases, identical', async () => {
    for (const format of ['DIRECTORY', 'PLAIN', 'TAR'] as const) {
      const target = newDbName();
      const job = await restore({ recoveryPointId: await pointIn(format), targetKind: 'NEW_DATABASE', connectionUrl: target.url });
      expect(job.status, `${format}: ${job.error ?? ''}`).toBe('SUCCEEDED');
      expect(await tableChecksums(target.url, TABLES), format).toEqual(await tableChecksums(source.url, TABLES));
    }
  });

  it('refuses parallel jobs where they cannot run, writing nothing', async () => {
    const plain = await pointIn('PLAIN');
    const recoveryJobs = async () => (await queryOnce(t.db.url, `SELECT count(*)::int AS n FROM "RecoveryJob"`)).rows[0].n as number;
    const before = await recoveryJobs();
    const [a, b] = [newDbName(), newDbName()];
    const cases = [
      [{ targetKind: 'EXISTING_DATABASE', connectionUrl: source.url, confirmOverwrite: true, jobs: 2 }, /one transaction/],
      [{ recoveryPointId: plain, targetKind: 'NEW_DATABASE', connectionUrl: a.url, jobs: 2 }, /plain dump restores as one stream/],
      [{ targetKind: 'NEW_DATABASE', connectionUrl: b.url, jobs: 17 }, /at most 16/],
    ] as const;
    for (const [input, message] of cases) {
      const r = await t.request(org.users.OPERATOR.token, RestoreRecoveryPointDocument, { input: { recoveryPointId: pointId, ...input } });
      expect(r.data?.restoreRecoveryPoint, JSON.stringify(input)).toMatchObject({ __typename: 'ValidationError', issues: [{ path: ['input', 'jobs'], message: expect.stringMatching(message) }] });
    }
    expect(await recoveryJobs()).toBe(before);
    expect([await dbExists(a.name), await dbExists(b.name)]).toEqual([false, false]);
  });
});

describe('restoring a directory backup', () => {
  let dirPoint: string;
  const root = () => path.join(tmp.dir, 'gallery');
  const hashTree = async (dir: string) => {
    const out: Record<string, string> = {};
    for (const rel of (await readdir(dir, { recursive: true })).sort()) {
      const full = path.join(dir, rel);
      const st = await lstat(full);
      out[rel] = st.isSymbolicLink() ? `link:${await readlink(full)}` : st.isDirectory() ? `dir:${(st.mode & 0o777).toString(8)}` : `file:${(st.mode & 0o777).toString(8)}:${createHash('sha256').update(await readFile(full)).digest('hex')}`;
    }
    return out;
  };

  beforeAll(async () => {
    await mkdir(path.join(root(), 'albums', 'smith-wedding'), { recursive: true });
    await writeFile(path.join(root(), 'albums', 'smith-wedding', 'first-dance.raw'), randomBytes(300_000));
    await writeFile(path.join(root(), 'albums', 'smith-wedding', 'notes.md'), '# Smith\nvenue: the old mill\n');
    await writeFile(path.join(root(), 'contract.pdf'), randomBytes(40_000));
    await chmod(path.join(root(), 'contract.pdf'), 0o600);
    await symlink('albums/smith-wedding', path.join(root(), 'latest'));
    const src = await flow.directorySource('gallery', root());
    dirPoint = (await flow.backup(await flow.strategy('gallery', src, [await flow.localDestination('gallery-nas')]))).recoveryPoint!.id;
  });

  it('into a new directory: same files, contents, modes and links', async () => {
    const target = path.join(tmp.dir, 'gallery-restored');
    const job = await restore({ recoveryPointId: dirPoint, targetKind: 'DIRECTORY', path: target });
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');
    expect(await hashTree(target)).toEqual(await hashTree(root()));
    const v = job.validation as { entries: { expected: number; actual: number } };
    expect(v.entries.actual).toBe(v.entries.expected);
  });

  it('selected paths only', async () => {
    const target = path.join(tmp.dir, 'gallery-partial');
    const job = await restore({ recoveryPointId: dirPoint, targetKind: 'DIRECTORY', path: target, paths: ['albums/smith-wedding/notes.md'] });
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');
    expect((await readdir(target, { recursive: true })).sort()).toEqual(['albums', 'albums/smith-wedding', 'albums/smith-wedding/notes.md']);
  });

  it('never writes into a non-empty directory', async () => {
    const target = path.join(tmp.dir, 'occupied');
    await mkdir(target);
    await writeFile(path.join(target, 'keep.txt'), 'mine');
    const job = await restore({ recoveryPointId: dirPoint, targetKind: 'DIRECTORY', path: target });
    expect(job.status).toBe('FAILED');
    expect(job.errorCode).toBe('TARGET_EXISTS');
    expect(await readdir(target)).toEqual(['keep.txt']);
    expect((await readdir(tmp.dir)).filter((n) => n.includes('.ks-restore-'))).toEqual([]);
    await rm(target, { recursive: true });
    expect((await stat(tmp.dir)).isDirectory()).toBe(true);
  });

  it('refuses a database target for a directory backup, writing nothing', async () => {
    const r = await t.request(org.users.OPERATOR.token, RestoreRecoveryPointDocument, { input: { recoveryPointId: dirPoint, targetKind: 'NEW_DATABASE', connectionUrl: source.url } });
    expect((r.data!.restoreRecoveryPoint as { __typename: string }).__typename).toBe('ValidationError');
  });
});
