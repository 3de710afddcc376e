// Backups end to end through the real API and real workers: a seeded PostgreSQL database dumped by
// the real pg_dump, streamed through zstd + AES-256-GCM to a LOCAL directory and a real S3 server,
// a directory archived as tar, live progress over graphql-ws, cancellation, and failures that
// name their cause and leave nothing behind.
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LocalDestination } from '../../src/backup/destinations/local';
import { S3Destination } from '../../src/backup/destinations/s3';
import { openRestoreStream } from '../../src/backup/pipeline/restore';
import { organizationDataKey } from '../../src/domain/organization/data-keys';
import { sweepBackups } from '../../src/domain/backups/sweep';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { queues } from '../../src/queue/queues';
import { BackupJobUpdatedDocument, CancelBackupJobDocument, DeleteStrategyDocument, type CreateStrategyInput, type JobStateFragment } from '../generated/graphql';
import { backupFlow, ok } from '../support/backup-flow';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { createEmptyDatabase, type TestDatabase } from '../support/db';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, startS3, type TestS3 } from '../support/s3';
import { collect, sha256, tempDir } from '../support/backups';

const BUCKET = 'keepsake-backups';
let t: TestApp;
let org: TestOrg;
let s3: TestS3;
let source: TestDatabase;
let workers: Workers;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let token: string;

type Job = JobStateFragment;

async function seedSource(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`
    CREATE SCHEMA crm;
    CREATE TABLE crm.customers (id serial PRIMARY KEY, name text NOT NULL, email text, created_at timestamptz DEFAULT now());
    INSERT INTO crm.customers (name, email) SELECT 'customer ' || g, 'c' || g || '@example.test' FROM generate_series(1, 3000) g;
    CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer_id int, total numeric(10,2), note text);
    INSERT INTO public.orders (customer_id, total, note) SELECT (g % 3000) + 1, g * 1.25, md5(g::text) FROM generate_series(1, 12000) g;
    CREATE TABLE public.scratch (id int);
    INSERT INTO public.scratch SELECT generate_series(1, 10);`);
  await c.end();
}

beforeAll(async () => {
  tmp = await tempDir('backup-jobs');
  t = await startTestApp();
  org = await t.createOrg();
  token = org.users.OPERATOR.token;
  s3 = await startS3([BUCKET]);
  source = await createEmptyDatabase();
  await seedSource(source.url);
  // Fast retries for the failure tests; the retry count itself stays as configured.
  await t.services.boss.updateQueue(queues.backup.name, { retryDelay: 1, retryBackoff: false });
  workers = await startWorkers(t.services);
});

afterAll(async () => {
  await workers?.stop();
  await t?.stop();
  await s3?.close();
  await source?.drop();
  await tmp?.cleanup();
});

const flow = () => backupFlow(t, org, s3);
const localDestination = (name: string) => flow().localDestination(name);
const s3Destination = (name: string, bucket = BUCKET) => flow().s3Destination(name, bucket);
const postgresSource = (name: string, connectionUrl = source.url, extra: Record<string, unknown> = {}) =>
  flow().postgresSource(name, connectionUrl, { excludeTables: ['public.scratch'], ...extra });
const strategy = (name: string, sourceId: string, destinationIds: string[], extra: Partial<CreateStrategyInput> = {}) => flow().strategy(name, sourceId, destinationIds, extra);
const trigger = (strategyId: string) => flow().trigger(strategyId);
const waitFor = (id: string, done: (j: Job) => boolean, timeoutMs?: number) => flow().waitFor(id, done, timeoutMs);
const settled = (j: Job) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status);

function wsClient(): Client {
  return createClient({ url: t.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, lazy: false, retryAttempts: 0 });
}

async function decodeToFile(driver: LocalDestination | S3Destination, key: string, sha: string, file: string, encrypted: boolean, compression: 'ZSTD' | 'GZIP' | 'NONE') {
  const dataKey = encrypted ? await organizationDataKey(t.services.db, t.services.masterKey, org.id) : undefined;
  await pipeline(await openRestoreStream({ driver, key, expectedSha256: sha, compression, dataKey }), createWriteStream(file));
}

describe('a PostgreSQL backup to LOCAL and S3', () => {
  it('produces a recovery point whose copies match the manifest and decode to a dump pg_restore accepts, with live progress', async () => {
    const localId = await localDestination('nas');
    const s3Id = await s3Destination('cloud');
    const sourceId = await postgresSource('crm');
    const strategyId = await strategy('nightly crm', sourceId, [localId, s3Id]);

    const client = wsClient();
    const jobId = await trigger(strategyId);
    const events: Array<{ status: string; phase?: string | null }> = [];
    const finished = new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: print(BackupJobUpdatedDocument), variables: { id: jobId } },
        {
          next: (msg) => {
            const e = (msg.data as { backupJobUpdated: { status: string; phase: string | null } } | undefined)?.backupJobUpdated;
            if (!e) return reject(new Error(JSON.stringify(msg.errors)));
            events.push(e);
            if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(e.status)) resolve();
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    const done = await waitFor(jobId, settled);
    expect(done.status, done.error ?? '').toBe('SUCCEEDED');
    await Promise.race([finished, new Promise((_, rej) => setTimeout(() => rej(new Error('no final event')), 5000))]);
    await client.dispose();
    expect(events.some((e) => e.status === 'RUNNING')).toBe(true);
    expect(events.at(-1)!.status).toBe('SUCCEEDED');

    const point = done.recoveryPoint!;
    expect(done.percent).toBe(100);
    expect(point.format).toBe('custom');
    expect(point.encrypted).toBe(true);
    expect(point.artifacts.map((a) => a.destination.kind).sort()).toEqual(['LOCAL', 'S3']);
    const manifest = point.manifest as { sha256: string; storedBytes: number; rowCounts: Record<string, number>; artifactKey: string; encryption: { keyId: string } };
    expect(manifest.sha256).toBe(point.sha256);
    expect(String(manifest.storedBytes)).toBe(String(point.storedBytes));
    expect(manifest.rowCounts).toMatchObject({ 'crm.customers': 3000, 'public.orders': 12000 });
    expect(manifest.rowCounts['public.scratch']).toBeUndefined();
    for (const a of point.artifacts) {
      expect(a.sha256).toBe(point.sha256);
      expect(a.key).toBe(manifest.artifactKey);
    }

    // The LOCAL copy, byte for byte as stored, and the manifest beside it.
    const localRoot = path.join(t.storageRoot, org.id, 'dest', 'nas');
    const local = new LocalDestination({ root: localRoot });
    const stored = await readFile(local.resolve(manifest.artifactKey));
    expect(sha256(stored)).toBe(point.sha256);
    expect(stored.subarray(0, 4).toString('ascii')).toBe('KSAE');
    const side = JSON.parse(await readFile(local.resolve(manifest.artifactKey.replace(/[^/]+$/, 'manifest.json')), 'utf8')) as { sha256: string };
    expect(side.sha256).toBe(point.sha256);

    // The S3 copy is the same object.
    const remote = new S3Destination({ bucket: BUCKET, endpoint: s3.endpoint, prefix: 'tenants/a', forcePathStyle: true, credentials: { accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: S3_SECRET_ACCESS_KEY } });
    expect(sha256(await collect(await remote.get(manifest.artifactKey))).toString()).toBe(point.sha256);

    // Decrypted and decompressed, it is a dump pg_restore reads, with the selected tables only.
    const dumpFile = path.join(tmp.dir, 'crm.dump');
    await decodeToFile(remote, manifest.artifactKey, point.sha256, dumpFile, true, 'ZSTD');
    const list = spawnSync('pg_restore', ['--list', dumpFile], { encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/TABLE DATA crm customers/);
    expect(list.stdout).toMatch(/TABLE DATA public orders/);
    expect(list.stdout).not.toMatch(/scratch/);
  });
});

describe('a DIRECTORY backup', () => {
  it('archives files with their modes, mtimes and symlinks, and honours exclude globs', async () => {
    const root = path.join(tmp.dir, 'photos');
    await mkdir(path.join(root, '2026', 'june'), { recursive: true });
    await writeFile(path.join(root, '2026', 'june', 'a.jpg'), Buffer.alloc(200_000, 7));
    await writeFile(path.join(root, 'notes.txt'), 'first dance at 21:00\n');
    await writeFile(path.join(root, 'cache.tmp'), 'skip me');
    await chmod(path.join(root, 'notes.txt'), 0o640);
    const mtime = new Date('2026-06-20T18:30:00Z');
    await utimes(path.join(root, 'notes.txt'), mtime, mtime);
    await symlink('notes.txt', path.join(root, 'latest'));

    const photosId = await flow().directorySource('photos', root, { excludeGlobs: ['**/*.tmp'] });
    const strategyId = await strategy('photos hourly', photosId, [await localDestination('photos-nas')], { compression: 'GZIP', encrypted: false });
    const done = await waitFor(await trigger(strategyId), settled);
    expect(done.status, done.error ?? '').toBe('SUCCEEDED');
    const point = done.recoveryPoint!;
    expect(point.encrypted).toBe(false);
    const local = new LocalDestination({ root: path.join(t.storageRoot, org.id, 'dest', 'photos-nas') });
    const tarFile = path.join(tmp.dir, 'photos.tar');
    await decodeToFile(local, point.artifacts[0]!.key, point.sha256, tarFile, false, 'GZIP');

    const entries = new Map<string, tar.Header & { sha?: string }>();
    const extract = tar.extract();
    const reading = (async () => {
      for await (const entry of extract) {
        const body = await collect(entry);
        entries.set(entry.header.name.replace(/\/$/, ''), { ...entry.header, sha: entry.header.type === 'file' ? sha256(body) : undefined });
      }
    })();
    await pipeline((await import('node:fs')).createReadStream(tarFile), extract);
    await reading;
    expect([...entries.keys()].sort()).toEqual(['2026', '2026/june', '2026/june/a.jpg', 'latest', 'notes.txt']);
    expect(entries.get('notes.txt')!.mode! & 0o777).toBe(0o640);
    expect(entries.get('notes.txt')!.mtime!.getTime()).toBe(mtime.getTime());
    expect(entries.get('latest')).toMatchObject({ type: 'symlink', linkname: 'notes.txt' });
    expect(entries.get('2026/june/a.jpg')!.sha).toBe(sha256(Buffer.alloc(200_000, 7)));

    // A strategy with recovery points is not deleted out from under them: a typed conflict, and
    // the point is still in the catalog (it used to be an internal error from the cascade).
    const del = await t.request(org.users.ADMIN.token, DeleteStrategyDocument, { id: strategyId });
    expect(del.errors, JSON.stringify(del.errors)).toBeUndefined();
    expect(del.data!.deleteStrategy).toMatchObject({ __typename: 'ConflictError', message: expect.stringMatching(/1 recovery point/) });
    const still = await flow().job(done.id);
    expect(still.recoveryPoint?.id).toBe(point.id);
  });
});

describe('cancellation and failures', () => {
  it('cancelling a running backup ends its sessions on the source, records CANCELLED and leaves no point and no file', async () => {
    const localId = await localDestination('cancel-nas');
    const strategyId = await strategy('cancel me', await postgresSource('locked crm'), [localId]);
    // The backup (its snapshot session, then pg_dump) waits for a lock it cannot get: the job is
    // RUNNING for as long as we hold it.
    const holder = new pg.Client({ connectionString: source.url });
    await holder.connect();
    const holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    await holder.query('BEGIN; LOCK TABLE crm.customers IN ACCESS EXCLUSIVE MODE');
    const observer = new pg.Client({ connectionString: source.url });
    await observer.connect();
    try {
      const jobId = await trigger(strategyId);
      await waitFor(jobId, (j) => j.status === 'RUNNING');
      // Asked outside the holder's transaction, which would keep seeing its first snapshot of the view.
      const sessions = async (onlyBlocked: boolean) =>
        (await observer.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), $1)${onlyBlocked ? ` AND wait_event_type = 'Lock'` : ''}`,
          [holderPid],
        )).rows[0].n as number;
      const dumping = () => sessions(false);
      // Wait until the backup is really stuck on our lock (not a passing size estimate).
      for (let i = 0; i < 150 && (await sessions(true)) === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await sessions(true)).toBeGreaterThan(0);

      const cancel = await ok(t.request(token, CancelBackupJobDocument, { id: jobId }), 'cancelBackupJob');
      expect(cancel.__typename).toBe('MutationCancelBackupJobSuccess');
      const done = await waitFor(jobId, settled);
      expect(done.status).toBe('CANCELLED');
      expect(done.recoveryPoint).toBeNull();
      for (let i = 0; i < 50 && (await dumping()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await dumping()).toBe(0);
      const files = await readdir(path.join(t.storageRoot, org.id, 'dest', 'cancel-nas'), { recursive: true }).catch(() => []);
      expect(files.filter((f) => !f.endsWith('/') && /\.(enc|zst|dump|json)$|partial/.test(f))).toEqual([]);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await observer.end();
    }
  });

  it('a source that refuses the login fails after its retries, with the cause and without the password', async () => {
    const bad = new URL(source.url);
    bad.password = 'not-the-password-8d1f';
    const strategyId = await strategy('bad login', await postgresSource('bad login', bad.toString()), [await localDestination('bad-login-nas')]);
    const done = await waitFor(await trigger(strategyId), settled, 60_000);
    expect(done.status).toBe('FAILED');
    expect(done.attempt).toBe(queues.backup.options.retryLimit + 1);
    expect(done.errorCode).toBe('SOURCE_ACCESS_FAILED');
    expect(done.error).toMatch(/password authentication failed/);
    expect(done.error).not.toContain('not-the-password-8d1f');
    expect(done.recoveryPoint).toBeNull();
  });

  it('a failing S3 destination fails the job with the S3 error and keeps no copy at the other destination', async () => {
    const localId = await localDestination('pair-nas');
    const missing = await s3Destination('no bucket', 'bucket-that-does-not-exist');
    const strategyId = await strategy('pair', await postgresSource('pair crm'), [localId, missing]);
    const done = await waitFor(await trigger(strategyId), settled, 60_000);
    expect(done.status).toBe('FAILED');
    expect(done.errorCode).toBe('DESTINATION_ERROR');
    expect(done.error).toMatch(/bucket/i);
    const files = await readdir(path.join(t.storageRoot, org.id, 'dest', 'pair-nas'), { recursive: true }).catch(() => [] as string[]);
    expect(files.filter((f) => /\.(enc|json)$/.test(f))).toEqual([]);
  });
});

describe('the sweep', () => {
  it('removes objects and temp files that crashed runs left, and keeps every cataloged copy', async () => {
    const localId = await localDestination('sweep-nas');
    const strategyId = await strategy('sweep', await postgresSource('sweep crm'), [localId]);
    const done = await waitFor(await trigger(strategyId), settled);
    expect(done.status).toBe('SUCCEEDED');
    const root = path.join(t.storageRoot, org.id, 'dest', 'sweep-nas');
    const strategyUuid = Buffer.from(strategyId, 'base64').toString().split(':')[1]!;
    const orphanDir = path.join(root, 'keepsake', org.id, strategyUuid, '0190a0a0-0000-7000-8000-000000000001');
    await mkdir(orphanDir, { recursive: true });
    await writeFile(path.join(orphanDir, 'backup.dump.zst.enc'), 'half a backup');
    await writeFile(path.join(orphanDir, '.backup.dump.zst.enc.abc.ks-partial'), 'temp');
    const old = new Date(Date.now() - 3600_000);
    for (const f of await readdir(orphanDir)) await utimes(path.join(orphanDir, f), old, old);

    const r = await sweepBackups(t.services.db, t.services.boss, { masterKey: t.services.masterKey, storageRoot: t.storageRoot }, t.services.log, { graceMs: 60_000 });
    expect(r.orphanObjects).toBeGreaterThanOrEqual(1);
    expect(r.partialFiles).toBeGreaterThanOrEqual(1);
    expect(await readdir(orphanDir).catch(() => [])).toEqual([]);
    const kept = new LocalDestination({ root });
    for (const a of done.recoveryPoint!.artifacts) expect(await kept.exists(a.key)).toBe(true);
  });

  it('removes a fresh temp file at once when its job is no longer running, and keeps one it cannot place until the grace is over', async () => {
    const localId = await localDestination('partial-nas');
    const strategyId = await strategy('partials', await postgresSource('partials crm'), [localId]);
    const done = await waitFor(await trigger(strategyId), settled);
    expect(done.status).toBe('SUCCEEDED');
    const root = path.join(t.storageRoot, org.id, 'dest', 'partial-nas');
    const rawUuid = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!;
    const runDir = path.join(root, 'keepsake', org.id, rawUuid(strategyId), rawUuid(done.id));
    const unknownDir = path.join(root, 'keepsake', org.id, rawUuid(strategyId), '0190a0a0-0000-7000-8000-000000000002');
    for (const dir of [runDir, unknownDir]) {
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, '.backup.dump.zst.enc.0123456789ab.ks-partial'), 'temp');
    }
    const r = await sweepBackups(t.services.db, t.services.boss, { masterKey: t.services.masterKey, storageRoot: t.storageRoot }, t.services.log, { graceMs: 30 * 60_000 });
    expect(r.partialFiles).toBe(1);
    expect((await readdir(runDir)).filter((f) => f.endsWith('.ks-partial'))).toEqual([]);
    expect(await readdir(unknownDir)).toEqual(['.backup.dump.zst.enc.0123456789ab.ks-partial']);
  });
});
