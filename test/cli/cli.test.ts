// The `keepsake` command against a running API with real workers: every command spawned as the
// real bin, in human and --json output, with its exit code; typed API errors without stacks;
// --follow through the graphql-ws subscription (plain lines off a TTY) failing with exit 1 when
// the job fails; login writing a 0600 file that later commands use.
import { readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { backupFlow } from '../support/backup-flow';
import { createEmptyDatabase, queryOnce, type TestDatabase } from '../support/db';
import { tempDir } from '../support/backups';
import { runCli } from '../support/cli';

let t: TestApp;
let org: TestOrg;
let workers: Workers;
let source: TestDatabase;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let env: Record<string, string>;
let pointId: string;
let dirPointId: string;
const restored: string[] = [];

const asRole = (role: keyof TestOrg['users']) => ({ ...env, KEEPSAKE_TOKEN: org.users[role].token });

beforeAll(async () => {
  tmp = await tempDir('cli');
  t = await startTestApp();
  org = await t.createOrg();
  source = await createEmptyDatabase();
  const c = new pg.Client({ connectionString: source.url });
  await c.connect();
  await c.query(`CREATE TABLE guests (id serial PRIMARY KEY, name text); INSERT INTO guests (name) SELECT 'guest ' || g FROM generate_series(1, 300) g;
                 CREATE TABLE tables_plan (id int PRIMARY KEY, seats int); INSERT INTO tables_plan SELECT g, 8 FROM generate_series(1, 30) g;`);
  await c.end();
  workers = await startWorkers(t.services);
  const flow = backupFlow(t, org);
  const dest = await flow.localDestination('nas');
  await flow.strategy('wedding db', await flow.postgresSource('wedding', source.url), [dest]);
  await mkdir(path.join(tmp.dir, 'files/photos'), { recursive: true });
  await writeFile(path.join(tmp.dir, 'files/photos/first-dance.jpg'), 'jpeg bytes');
  dirPointId = (await flow.backup(await flow.strategy('photos', await flow.directorySource('photos', path.join(tmp.dir, 'files')), [dest]))).recoveryPoint!.id;
  // A strategy whose source is gone fails: --follow must exit 1.
  await flow.strategy('broken', await flow.postgresSource('gone', `${source.url.replace(/\/[^/]+$/, '')}/no_such_database_here`), [dest]);
  env = { KEEPSAKE_URL: t.url.replace(/\/graphql$/, ''), KEEPSAKE_CONFIG_DIR: path.join(tmp.dir, 'cfg'), KEEPSAKE_TOKEN: org.users.OPERATOR.token };
});

afterAll(async () => {
  await workers?.stop();
  for (const name of restored) await queryOnce(source.adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
  await source?.drop();
  await t?.stop();
  await tmp?.cleanup();
});

describe('keepsake CLI', () => {
  it('backup run --follow prints progress lines off a TTY and exits 0; --json gives the finished job', async () => {
    const human = await runCli(['backup', 'run', 'wedding db', '--follow'], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/ backup RUNNING /);
    expect(human.stdout).toMatch(/: SUCCEEDED in /);
    const json = await runCli(['--json', 'backup', 'run', 'wedding db', '--follow'], env);
    expect(json.code, json.stderr).toBe(0);
    const job = json.json<{ status: string; recoveryPoint: { id: string } }>();
    expect(job.status).toBe('SUCCEEDED');
    pointId = job.recoveryPoint.id;
  });

  it('backup run --follow of a failing strategy exits 1 with the error', async () => {
    const r = await runCli(['backup', 'run', 'broken', '--follow'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAILED in .* — SOURCE_NOT_FOUND: /);
    const queued = await runCli(['--json', 'backup', 'run', 'broken'], env);
    expect(queued.code).toBe(0);
    expect(queued.json<{ status: string }>().status).toBe('QUEUED');
  });

  it('status, stats and the lists, human and --json', async () => {
    const status = await runCli(['status'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/backups today: \d+ ran/);
    const s = (await runCli(['status', '--json'], env)).json<{ level: string; ranToday: number; organization: { slug: string } }>();
    expect(s.organization.slug).toBe(org.slug);
    expect(['green', 'amber', 'red']).toContain(s.level);

    for (const [group, name] of [['sources', 'wedding'], ['destinations', 'nas'], ['strategies', 'wedding db']] as const) {
      const h = await runCli([group, 'list'], env);
      expect(h.code, h.stderr).toBe(0);
      expect(h.stdout.split('\n')[0]).toMatch(/^ID\s+NAME/);
      expect(h.stdout).toContain(name);
      const j = (await runCli(['--json', group, 'list'], env)).json<Array<{ name: string }>>();
      expect(j.map((x) => x.name)).toContain(name);
    }
    const stats = await runCli(['stats', '--strategy', 'wedding db'], env);
    expect(stats.stdout).toMatch(/recovery points\s+2/);
    expect((await runCli(['stats', '--json'], env)).json<{ count: number }>().count).toBe(3);
  });

  it('backup list and show', async () => {
    const list = await runCli(['backup', 'list', '--strategy', 'wedding db'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('SUCCEEDED');
    const jobs = (await runCli(['--json', 'backup', 'list', '--status', 'failed'], env)).json<Array<{ id: string; status: string }>>();
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.every((j) => j.status === 'FAILED')).toBe(true);
    const show = await runCli(['backup', 'show', jobs[0]!.id], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/FAILED/);
    const bad = await runCli(['backup', 'show', 'nope'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/\[BAD_ID\]/);
  });

  it('restore --follow into a new database, with a table selection; a refused restore prints the typed error', async () => {
    const name = `cli_restored_${Date.now()}`;
    restored.push(name);
    const to = source.url.replace(/\/[^/]+$/, `/${name}`);
    const r = await runCli(['restore', pointId, '--to', to, '--tables', 'guests', '--follow'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCEEDED/);
    expect((await queryOnce(to, 'SELECT count(*)::int AS n FROM guests')).rows[0].n).toBe(300);
    await expect(queryOnce(to, 'SELECT 1 FROM tables_plan')).rejects.toThrow(/does not exist/);

    // A database backup cannot be restored into a directory: refused up front, typed.
    const again = await runCli(['--json', 'restore', pointId, '--to', path.join(tmp.dir, 'not-a-db')], env);
    expect(again.code).toBe(1);
    const err = again.json<{ error: { type: string; code: string; message: string } }>().error;
    expect(err.type).toMatch(/Error$/);
    expect(err.code).toBeTruthy();
    const human = await runCli(['restore', pointId, '--to', 'relative/dir'], env);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/^keepsake: ValidationError \[VALIDATION_FAILED\]/);
    expect(human.stderr).not.toMatch(/\n\s+at /);
  });

  it('verify a strategy and a point; retention preview', async () => {
    const v = await runCli(['verify', 'wedding db'], env);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/queued restore test/);
    const vp = (await runCli(['--json', 'verify', pointId], env)).json<{ recoveryPoint: { id: string } }>();
    expect(vp.recoveryPoint.id).toBe(pointId);
    const p = await runCli(['retention', 'preview', 'wedding db'], env);
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(/keep \d+, delete \d+/);
    const pj = (await runCli(['--json', 'retention', 'preview', 'wedding db'], env)).json<{ points: unknown[] }>();
    expect(pj.points).toHaveLength(2);
    const missing = await runCli(['retention', 'preview', 'no such strategy'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NotFoundError \[NOT_FOUND\]/);
  });

  it('points hold, release and delete, with roles', async () => {
    const operator = await runCli(['points', 'hold', pointId, '--reason', 'case 42'], env);
    expect(operator.code).toBe(1);
    expect(operator.stderr).toMatch(/\[FORBIDDEN\]/);
    const hold = await runCli(['points', 'hold', pointId, '--reason', 'case 42'], asRole('ADMIN'));
    expect(hold.code, hold.stderr).toBe(0);
    expect(hold.stdout).toMatch(/legal hold \(case 42\)/);
    const refused = await runCli(['--json', 'points', 'delete', pointId, '--yes'], asRole('ADMIN'));
    expect(refused.code).toBe(1);
    expect(refused.json<{ error: { code: string } }>().error.code).toBeTruthy();
    const released = (await runCli(['--json', 'points', 'release', pointId], asRole('ADMIN'))).json<{ legalHold: boolean }>();
    expect(released.legalHold).toBe(false);
    const list = (await runCli(['--json', 'points', 'list', '--strategy', 'wedding db'], env)).json<Array<{ id: string }>>();
    const other = list.find((p) => p.id !== pointId)!.id;
    expect((await runCli(['points', 'delete', other], asRole('ADMIN'))).code).toBe(2);
    const del = await runCli(['points', 'delete', other, '--yes'], asRole('ADMIN'));
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toMatch(/deleted recovery point/);
    expect((await runCli(['points', 'list'], env)).stdout).not.toContain(other);
  });

  it('points download: the dump restores with pg_restore, a file of a directory backup, and a link', async () => {
    const out = path.join(tmp.dir, 'wedding.dump');
    const r = await runCli(['points', 'download', pointId, '-o', out], env);
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(execFileSync('pg_restore', ['--list', out]).toString()).toMatch(/TABLE DATA public guests/);
    expect((await runCli(['points', 'download', pointId, '-o', out], env)).code).toBe(2);
    const file = await runCli(['--json', 'points', 'download', dirPointId, '--path', 'photos/first-dance.jpg', '-o', path.join(tmp.dir, 'dance.jpg')], env);
    expect(file.code, file.stdout).toBe(0);
    expect(await readFile(path.join(tmp.dir, 'dance.jpg'), 'utf8')).toBe('jpeg bytes');
    const link = (await runCli(['--json', 'points', 'download', pointId, '--link'], env)).json<{ url: string }>();
    const res = await fetch(link.url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(await readFile(out))).toBe(true);
    const viewer = await runCli(['points', 'download', pointId, '-o', path.join(tmp.dir, 'v.dump')], asRole('VIEWER'));
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toMatch(/\[FORBIDDEN\]/);
  });

  it('audit verify, with and without an anchor', async () => {
    const r = await runCli(['--json', 'audit', 'verify'], asRole('AUDITOR'));
    expect(r.code, r.stdout).toBe(0);
    const head = r.json<{ valid: boolean; head: { seq: number; hash: string } }>().head;
    const anchored = await runCli(['audit', 'verify', '--anchor', `${head.seq}:${head.hash}`], asRole('AUDITOR'));
    expect(anchored.code).toBe(0);
    expect(anchored.stdout).toMatch(/audit chain valid/);
    const wrong = await runCli(['audit', 'verify', '--anchor', `${head.seq}:${'0'.repeat(64)}`], asRole('AUDITOR'));
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/BROKEN/);
    expect((await runCli(['audit', 'verify', '--anchor', 'x'], asRole('AUDITOR'))).code).toBe(2);
  });

  it('login stores the credential 0600 and later commands use it; bad credentials and no server are distinct exit codes', async () => {
    const cfg = { KEEPSAKE_CONFIG_DIR: env.KEEPSAKE_CONFIG_DIR! };
    expect((await runCli(['status'], cfg)).code).toBe(3);
    const login = await runCli(['login', '--url', env.KEEPSAKE_URL!], cfg, `${org.users.OWNER.token}\n`);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/Signed in to .* as owner@/);
    const file = path.join(env.KEEPSAKE_CONFIG_DIR!, 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await runCli(['--json', 'status'], cfg)).json<{ viewer: { role: string } }>().viewer.role).toBe('OWNER');
    const bad = await runCli(['status'], { ...env, KEEPSAKE_TOKEN: 'not-a-token' });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/\[UNAUTHENTICATED\]/);
    const down = await runCli(['status'], { ...env, KEEPSAKE_URL: 'http://127.0.0.1:9' });
    expect(down.code).toBe(4);
    expect((await runCli(['logout'], cfg)).stdout).toMatch(/Signed out/);
    expect((await runCli(['no-such-command'], env)).code).toBe(2);
  });
});
