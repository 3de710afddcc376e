// Workers in other processes, as in production (`npm start -- --worker-only`): progress published by
// a worker process reaches a subscriber of this process's API through LISTEN/NOTIFY, and a worker
// killed with SIGKILL mid-backup leaves no job stuck RUNNING, no recovery point of its own and,
// after the sweep, no file. Heartbeats are long here (60 s), so nothing below can pass by waiting
// for the queue to notice a lost worker: shutdown and start-up settle jobs themselves.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sweepBackups } from '../../src/domain/backups/sweep';
import { queues } from '../../src/queue/queues';
import {
  BackupJobDocument, BackupJobUpdatedDocument, CreateLocalDestinationDocument, CreatePostgresSourceDocument, CreateStrategyDocument,
  TriggerBackupDocument, type JobStateFragment,
} from '../generated/graphql';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { createEmptyDatabase, type TestDatabase } from '../support/db';

let t: TestApp;
let org: TestOrg;
let source: TestDatabase;
let superuser: pg.Client;
const children: ChildProcess[] = [];

beforeAll(async () => {
  t = await startTestApp({ QUEUE_SUPERVISE_SECONDS: '1', JOB_HEARTBEAT_SECONDS: '60' });
  org = await t.createOrg();
  source = await createEmptyDatabase();
  const c = new pg.Client({ connectionString: source.url });
  await c.connect();
  await c.query(`CREATE TABLE items (id serial PRIMARY KEY, label text); INSERT INTO items (label) SELECT 'item ' || g FROM generate_series(1, 5000) g;`);
  await c.end();
  superuser = new pg.Client({ connectionString: t.db.url });
  await superuser.connect();
  // Retries start at once.
  await t.services.boss.updateQueue(queues.backup.name, { retryDelay: 1, retryBackoff: false });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await superuser?.end();
  await t?.stop();
  await source?.drop();
});

/** `npm start -- --worker-only` against the test database, as its own OS process. */
async function startWorkerProcess(env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--worker-only'], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: t.db.url,
      MASTER_KEY: t.config.masterKey,
      STORAGE_ROOT: t.storageRoot,
      DATA_DIR: path.dirname(t.storageRoot),
      SEED_DEMO: 'false',
      LOG_LEVEL: 'info',
      QUEUE_SUPERVISE_SECONDS: '1',
      JOB_HEARTBEAT_SECONDS: '60',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('"msg":"started"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${out}`)));
  });
  return child;
}

async function setupStrategy(name: string): Promise<string> {
  const admin = org.users.ADMIN.token;
  const dest = await t.request(admin, CreateLocalDestinationDocument, { input: { name, path: `xp/${name}` } });
  const src = await t.request(admin, CreatePostgresSourceDocument, { input: { name, connectionUrl: source.url } });
  const ids = [dest.data!.createLocalDestination, src.data!.createPostgresSource].map((p) => ('data' in p ? p.data.id : undefined));
  const s = await t.request(admin, CreateStrategyDocument, { input: { name, sourceId: ids[1]!, destinationIds: [ids[0]!], cron: '0 3 * * *' } });
  return (s.data!.createStrategy as { data: { id: string } }).data.id;
}

async function trigger(strategyId: string): Promise<string> {
  const r = await t.request(org.users.OPERATOR.token, TriggerBackupDocument, { strategyId });
  return (r.data!.triggerBackup as { data: { id: string } }).data.id;
}

async function waitFor(id: string, done: (j: JobStateFragment) => boolean, timeoutMs = 60_000): Promise<JobStateFragment> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const j = (await t.request(org.users.VIEWER.token, BackupJobDocument, { id })).data!.node as JobStateFragment;
    if (done(j)) return j;
    if (Date.now() > until) throw new Error(`job stayed ${j.status}/${j.phase}: ${j.error ?? ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!;
const workerOf = async (jobId: string) => (await superuser.query(`SELECT "workerId" FROM "BackupJob" WHERE id = $1`, [rawId(jobId)])).rows[0]?.workerId as string | null;

async function lockItems(): Promise<pg.Client> {
  const holder = new pg.Client({ connectionString: source.url });
  await holder.connect();
  await holder.query('BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
  return holder;
}

/** A backup of a new strategy running on `worker`, blocked by a lock on the source that the caller releases. */
async function blockedBackupOn(worker: ChildProcess, name: string): Promise<{ jobId: string; holder: pg.Client }> {
  const strategyId = await setupStrategy(name);
  const holder = await lockItems();
  const jobId = await trigger(strategyId);
  await waitFor(jobId, (j) => j.status === 'RUNNING');
  expect(await workerOf(jobId)).toMatch(new RegExp(`:${worker.pid}$`));
  return { jobId, holder };
}

/** After the first worker is gone: a second one picks the job up once the lock is released, and finishes it with one point. */
async function finishedByAnotherWorker(jobId: string, holder: pg.Client): Promise<{ second: ChildProcess; done: JobStateFragment }> {
  const second = await startWorkerProcess();
  await holder.query('ROLLBACK');
  const done = await waitFor(jobId, (j) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status), 90_000);
  expect(done.status, done.error ?? '').toBe('SUCCEEDED');
  expect(done.attempt).toBeGreaterThanOrEqual(2);
  expect(await workerOf(jobId)).toMatch(new RegExp(`:${second.pid}$`));
  const points = await superuser.query(`SELECT count(*)::int AS n FROM "RecoveryPoint" WHERE "backupJobId" = $1`, [rawId(jobId)]);
  expect(points.rows[0].n).toBe(1);
  return { second, done };
}

describe('a worker in another process', () => {
  it('streams progress to a subscriber of this API process', async () => {
    const worker = await startWorkerProcess();
    const strategyId = await setupStrategy('progress');
    const holder = await lockItems();
    const client = createClient({ url: t.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${org.users.VIEWER.token}` }, retryAttempts: 0 });
    try {
      const jobId = await trigger(strategyId);
      const seen: Array<{ status: string; phase: string | null }> = [];
      const final = new Promise<void>((resolve, reject) => {
        client.subscribe({ query: print(BackupJobUpdatedDocument), variables: { id: jobId } }, {
          next: (m) => {
            const e = (m.data as { backupJobUpdated?: { status: string; phase: string | null } }).backupJobUpdated;
            if (!e) return reject(new Error(JSON.stringify(m.errors)));
            seen.push(e);
            if (e.status === 'SUCCEEDED' || e.status === 'FAILED') resolve();
          },
          error: reject,
          complete: () => undefined,
        });
      });
      await waitFor(jobId, (j) => j.status === 'RUNNING');
      expect(await workerOf(jobId)).toMatch(new RegExp(`:${worker.pid}$`));
      await holder.query('ROLLBACK');
      await Promise.race([final, new Promise((_, rej) => setTimeout(() => rej(new Error(`no final event, saw ${JSON.stringify(seen)}`)), 30_000))]);
      expect(seen.some((e) => e.status === 'RUNNING')).toBe(true);
      expect(seen.at(-1)!.status).toBe('SUCCEEDED');
    } finally {
      await holder.end().catch(() => undefined);
      await client.dispose();
      worker.kill('SIGTERM');
    }
  });

  it('stopped with SIGTERM mid-backup: exits after its grace period, has handed its jobs back by then, and another worker finishes them', async () => {
    const first = await startWorkerProcess({ SHUTDOWN_GRACE_SECONDS: '1' });
    const { jobId, holder } = await blockedBackupOn(first, 'sigterm');
    // A second backup on the same worker, blocked by the same lock: every job it holds is settled.
    const otherId = await trigger(await setupStrategy('sigterm-2'));
    await waitFor(otherId, (j) => j.status === 'RUNNING');
    expect(await workerOf(otherId)).toMatch(new RegExp(`:${first.pid}$`));
    let second: ChildProcess | undefined;
    try {
      const exited = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)));
      first.kill('SIGTERM');
      // The dumps are still blocked by our lock: only handing the jobs back lets the process exit,
      // and the rows say so by the time it has exited (read once, no waiting).
      expect(await exited).toBe(0);
      for (const id of [jobId, otherId]) {
        const handedBack = await waitFor(id, () => true);
        expect(handedBack).toMatchObject({ status: 'QUEUED', phase: 'retrying', errorCode: 'INTERRUPTED', recoveryPoint: null });
      }
      ({ second } = await finishedByAnotherWorker(jobId, holder));
      const other = await waitFor(otherId, (j) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status), 90_000);
      expect(other.status, other.error ?? '').toBe('SUCCEEDED');
    } finally {
      await holder.end().catch(() => undefined);
      second?.kill('SIGTERM');
    }
  }, 150_000);

  it('killed with SIGKILL mid-backup: the job is retried by another worker, ends with one point, and nothing of the dead attempt remains', async () => {
    const first = await startWorkerProcess();
    const { jobId, holder } = await blockedBackupOn(first, 'sigkill');
    let second: ChildProcess | undefined;
    try {
      const dir = path.join(t.storageRoot, org.id, 'xp', 'sigkill');
      const partialsNow = async () => (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((f) => f.endsWith('.ks-partial')).map((f) => path.basename(f));
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      // The dump is blocked before its first byte, so the temp file a killed upload leaves is put
      // there by hand, fresh, where and as LocalDestination.put names it.
      const { strategyId } = (await superuser.query(`SELECT "strategyId" FROM "BackupJob" WHERE id = $1`, [rawId(jobId)])).rows[0];
      const runDir = path.join(dir, 'keepsake', org.id, strategyId, rawId(jobId));
      await mkdir(runDir, { recursive: true });
      await writeFile(path.join(runDir, '.backup.dump.zst.0123456789ab.ks-partial'), 'the first megabytes of a dump');
      const deadPartials = await partialsNow();
      expect(deadPartials).toEqual(['.backup.dump.zst.0123456789ab.ks-partial']);
      // A worker starting on the same host settles the dead worker's job before it says it started;
      // the queue's own heartbeat (60 s) has not lapsed.
      const restarted = await startWorkerProcess({ SHUTDOWN_GRACE_SECONDS: '1' });
      const settled = await waitFor(jobId, () => true);
      const onRestarted = settled.status === 'RUNNING' && (await workerOf(jobId))?.endsWith(`:${restarted.pid}`);
      if (!onRestarted) expect(settled).toMatchObject({ status: 'QUEUED', phase: 'retrying', errorCode: 'WORKER_LOST' });
      // The dead attempt's temp file goes at once, not after the sweep's 30-minute grace.
      await sweepBackups(t.services.db, t.services.boss, { masterKey: t.services.masterKey, storageRoot: t.storageRoot }, t.services.log, { graceMs: 30 * 60_000 });
      expect((await partialsNow()).filter((f) => deadPartials.includes(f))).toEqual([]);
      restarted.kill('SIGTERM');
      await new Promise((r) => restarted.once('exit', r));
      let done: JobStateFragment;
      ({ second, done } = await finishedByAnotherWorker(jobId, holder));

      // Only the catalogued artifact and its manifest stay.
      await sweepBackups(t.services.db, t.services.boss, { masterKey: t.services.masterKey, storageRoot: t.storageRoot }, t.services.log, { graceMs: 0 });
      const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
      expect(files).toEqual([path.basename(done.recoveryPoint!.artifacts[0]!.key), 'manifest.json'].sort());
    } finally {
      await holder.end().catch(() => undefined);
      second?.kill('SIGTERM');
    }
  }, 150_000);
});
