// The two source engines against real things: a PostgreSQL 15 database dumped by the real
// pg_dump, and a real file tree archived and read back with tar-stream's extractor.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirectoryEngine, globMatcher } from '../../src/backup/engines/directory';
import { parseConnectionUrl } from '../../src/backup/engines/pg-connection';
import { coveredTables } from '../../src/backup/engines/pg-tables';
import { checkPgDumpVersion, pgMajor, pgVersionNum } from '../../src/backup/engines/pg-tools';
import { createPostgresEngine, type PostgresEngineOptions } from '../../src/backup/engines/postgres';
import type { EngineRun } from '../../src/backup/engines/types';
import {
  CancelledError, PathEscapeError, PgDumpTooOldError, PgToolFailedError, PgToolMissingError,
  SourceAccessError, SourceChangedError, SourceNotFoundError,
} from '../../src/backup/errors';
import { createEmptyDatabase, type TestDatabase } from '../support/db';
import { collect, sha256, tempDir } from '../support/backups';

const run = promisify(execFile);
let tmp: Awaited<ReturnType<typeof tempDir>>;
let db: TestDatabase;
/** The source URL logs in as a role of its own, with a password that appears nowhere else. */
let sourceUrl: string;
const role = `engines_${randomBytes(4).toString('hex')}`;
const password = `pw-${randomBytes(8).toString('hex')}`;
const never = new AbortController().signal;

interface Extracted { header: tar.Header; data: Buffer }
async function untar(archive: Buffer): Promise<Extracted[]> {
  const extract = tar.extract();
  const entries: Extracted[] = [];
  const reading = (async () => {
    for await (const entry of extract) entries.push({ header: entry.header, data: await collect(entry) });
  })();
  extract.end(archive);
  await reading;
  return entries;
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

beforeAll(async () => {
  tmp = await tempDir('engines');
  db = await createEmptyDatabase();
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query(`
    CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
    INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 3000) g;
    CREATE TABLE audit_log (id int, line text);
    INSERT INTO audit_log SELECT g, 'secret audit ' || g FROM generate_series(1, 1000) g;
    CREATE TABLE big (id int, payload text);
    INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 300000) g;
    CREATE SCHEMA "Sales";
    CREATE TABLE "Sales"."Order ""Lines""" (id int, qty int);
    INSERT INTO "Sales"."Order ""Lines""" SELECT g, g % 7 FROM generate_series(1, 2500) g;
    CREATE SCHEMA scratch;
    CREATE TABLE scratch.tmp (id int);
    INSERT INTO scratch.tmp SELECT generate_series(1, 10);`);
  await c.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${password}'`);
  await c.end();
  const u = new URL(db.url);
  u.username = role;
  u.password = password;
  sourceUrl = u.toString();
});
afterAll(async () => {
  await db?.drop();
  const c = new pg.Client({ connectionString: db.adminUrl });
  await c.connect();
  await c.query(`DROP ROLE IF EXISTS ${role}`);
  await c.end();
  await tmp?.cleanup();
});

function pgOpts(over: Partial<PostgresEngineOptions> = {}): PostgresEngineOptions {
  return {
    connectionUrl: sourceUrl, format: 'CUSTOM', includeSchemas: [], excludeSchemas: ['scratch'],
    includeTables: [], excludeTables: ['public.audit_log'], noOwner: true, noAcl: true, ...over,
  };
}

async function dumpToBuffer(runP: Promise<EngineRun>) {
  const r = await runP;
  const bytes = await collect(r.stream);
  return { bytes, result: await r.done };
}

describe('POSTGRES engine', () => {
  it('CUSTOM: pg_restore lists the included tables only; row counts are exact', async () => {
    const engine = createPostgresEngine(pgOpts());
    expect(await engine.estimateBytes()).toBeGreaterThan(1_000_000);
    const { bytes, result } = await dumpToBuffer(engine.start(never));
    const file = path.join(tmp.dir, 'dump.custom');
    await writeFile(file, bytes);
    const { stdout } = await run('pg_restore', ['--list', file]);
    expect(stdout).toContain('Compression: 0');
    expect(stdout).toMatch(/TABLE DATA public customers/);
    expect(stdout).toMatch(/TABLE DATA Sales Order "Lines"/);
    expect(stdout).not.toContain('audit_log');
    expect(stdout).not.toContain('scratch');
    expect(result).toMatchObject({ format: 'custom', snapshotShared: true, versions: { pg_dump: expect.stringMatching(/^15\./), server: expect.stringMatching(/^15\./) } });
    expect(result.rowCounts).toEqual({ 'Sales.Order "Lines"': 2500, 'public.big': 300000, 'public.customers': 3000 });
  });

  it('PLAIN: counts and dump share one snapshot, so later inserts are in neither', async () => {
    const runP = createPostgresEngine(pgOpts({ format: 'PLAIN', includeTables: ['customers'], excludeTables: [] })).start(never);
    const r = await runP;
    // The snapshot was exported before start() resolved; this commits after it.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query(`INSERT INTO customers SELECT g, 'late' FROM generate_series(100001, 100500) g`);
    const text = (await collect(r.stream)).toString('utf8');
    const result = await r.done;
    await c.query('DELETE FROM customers WHERE id > 100000');
    await c.end();
    expect(text).toContain('CREATE TABLE public.customers');
    expect(text).not.toContain('CREATE TABLE public.big');
    const copy = text.split(/^COPY public\.customers .*FROM stdin;\n/m)[1]!.split(/^\\\.$/m)[0]!;
    expect(copy.trimEnd().split('\n')).toHaveLength(3000);
    expect(result.rowCounts).toEqual({ 'public.customers': 3000 });
  });

  it('DIRECTORY: a tar of the dump directory that pg_restore reads; the temp dir is removed', async () => {
    const scratch = path.join(tmp.dir, 'pg-scratch');
    await mkdir(scratch);
    const { bytes, result } = await dumpToBuffer(createPostgresEngine(pgOpts({ format: 'DIRECTORY', tempDir: scratch })).start(never));
    const entries = await untar(bytes);
    expect(entries.map((e) => e.header.name)).toContain('toc.dat');
    // The root's own entry ('./', for its mode and times) is not counted as a file of the backup.
    expect(result).toMatchObject({ format: 'directory', files: entries.length - 1 });
    const out = path.join(tmp.dir, 'pg-dir-extracted');
    await mkdir(out);
    for (const e of entries) if (e.header.type === 'file') await writeFile(path.join(out, e.header.name), e.data);
    const { stdout } = await run('pg_restore', ['--list', out]);
    expect(stdout).toMatch(/TABLE DATA public customers/);
    expect(await readdir(scratch)).toEqual([]);
  });

  it('a failing pg_dump is a PgToolFailedError on the stream and on done, without the password', async () => {
    const r = await createPostgresEngine(pgOpts({ includeTables: ['no_such_table'] })).start(never);
    await expect(collect(r.stream)).rejects.toBeInstanceOf(PgToolFailedError);
    const err = await r.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgToolFailedError);
    expect((err as Error).message).toContain('no matching tables were found');
    expect((err as Error).message).not.toContain(password);
  });

  it('a wrong password or a missing database is a typed error that never shows the password', async () => {
    const bad = new URL(sourceUrl);
    bad.password = 'wrong-secret-xyz';
    const err = await createPostgresEngine(pgOpts({ connectionUrl: bad.toString() })).start(never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceAccessError);
    expect(err).toMatchObject({ code: 'SOURCE_ACCESS_FAILED', sqlState: '28P01' });
    expect((err as Error).message).not.toContain('wrong-secret-xyz');
    expect(await createPostgresEngine(pgOpts({ connectionUrl: bad.toString() })).estimateBytes()).toBeNull();

    const missing = new URL(sourceUrl);
    missing.pathname = '/no_such_database';
    await expect(createPostgresEngine(pgOpts({ connectionUrl: missing.toString() })).start(never)).rejects.toBeInstanceOf(SourceNotFoundError);
    await expect(createPostgresEngine(pgOpts({ connectionUrl: 'not a url :secret' })).start(never)).rejects.toThrow(/not a valid postgresql:\/\/ URL$/);
  });

  it('pg_dump missing from pgBinDir is a PgToolMissingError', async () => {
    const empty = path.join(tmp.dir, 'empty-bin');
    await mkdir(empty);
    await expect(createPostgresEngine(pgOpts({ pgBinDir: empty })).start(never)).rejects.toBeInstanceOf(PgToolMissingError);
  });

  it.each(['CUSTOM', 'DIRECTORY'] as const)('%s: abort kills pg_dump, done rejects with CancelledError, nothing is left', async (format) => {
    const scratch = path.join(tmp.dir, `abort-${format}`);
    await mkdir(scratch);
    const ac = new AbortController();
    const r = await createPostgresEngine(pgOpts({ format, tempDir: scratch })).start(ac.signal);
    const pid = r.pid!;
    // argv is public (ps): it carries the URL without the password.
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    expect(argv.some((a) => a.startsWith(`--dbname=postgresql://${role}@`))).toBe(true);
    expect(argv.join(' ')).not.toContain(password);
    r.stream.resume();
    ac.abort();
    await expect(r.done).rejects.toBeInstanceOf(CancelledError);
    expect(r.stream.destroyed).toBe(true);
    expect(gone(pid)).toBe(true);
    expect(gone(-pid)).toBe(true); // nor any --jobs worker in its process group
    expect(await readdir(scratch)).toEqual([]);
  });
});

describe('pg_dump helpers', () => {
  it('compares majors only, in the server_version_num scheme', () => {
    expect(pgVersionNum('15.18')).toBe(150018);
    expect(pgVersionNum('9.6.24')).toBe(90624);
    expect(pgVersionNum('17beta2')).toBe(170000);
    expect(pgMajor(90624)).toBe(9.6);
    expect(() => checkPgDumpVersion('15.2', 150018)).not.toThrow();
    expect(() => checkPgDumpVersion('16.4', 150018)).not.toThrow();
    expect(() => checkPgDumpVersion('15.18', 160002, '16.2')).toThrow(PgDumpTooOldError);
    expect(() => checkPgDumpVersion('15.18', 160002, '16.2')).toThrow(/postgresql-client-16/);
    expect(() => checkPgDumpVersion('9.6.24', 100005)).toThrow(PgDumpTooOldError);
  });

  it('selects tables like pg_dump patterns do', () => {
    const all = [
      { schema: 'public', name: 'a' }, { schema: 'public', name: 'ab' }, { schema: 's', name: 'a' }, { schema: 'S', name: 'X' },
    ];
    const sel = (o: Partial<Parameters<typeof coveredTables>[1]>) =>
      coveredTables(all, { includeSchemas: [], excludeSchemas: [], includeTables: [], excludeTables: [], ...o }).map((t) => `${t.schema}.${t.name}`);
    expect(sel({ includeTables: ['a'] })).toEqual(['public.a', 's.a']);
    expect(sel({ includeTables: ['public.a*'], excludeSchemas: ['public'] })).toEqual(['public.a', 'public.ab']);
    expect(sel({ includeTables: ['"S"."X"'] })).toEqual(['S.X']);
    expect(sel({ includeTables: ['S.X'] })).toEqual([]);
    expect(sel({ includeSchemas: ['s', 'public'], excludeTables: ['public.a?'] })).toEqual(['public.a', 's.a']);
  });

  it('takes the password out of the URL', () => {
    const c = parseConnectionUrl('postgresql://app:p%40ss%3Aword@db.example:5433/shop?sslmode=require');
    expect(c).toEqual({ url: 'postgresql://app@db.example:5433/shop?sslmode=require', password: 'p@ss:word', hint: 'app@db.example:5433/shop', host: 'db.example', trusted: false });
    expect(parseConnectionUrl('postgres://h/d?password=x&application_name=y')).toMatchObject({ url: 'postgres://h/d?application_name=y', password: 'x' });
  });
});

describe('DIRECTORY engine', () => {
  const mtime = new Date('2024-06-01T12:34:56Z');
  let root: string;
  const content: Record<string, Buffer> = {};

  beforeAll(async () => {
    root = path.join(tmp.dir, 'tree');
    const files: Array<[string, Buffer, number]> = [
      ['a.txt', randomBytes(300_000), 0o640],
      ['bin/run.sh', Buffer.from('#!/bin/sh\necho hi\n'), 0o755],
      ['nested/deep/x/file.bin', randomBytes(1_200_000), 0o600],
      ['.hidden', Buffer.from('dotfile'), 0o644],
      ['empty.txt', Buffer.alloc(0), 0o644],
      ['junk.tmp', Buffer.from('junk'), 0o644],
      ['nested/skip.tmp', Buffer.from('junk'), 0o644],
      ['cache/blob', Buffer.from('cached'), 0o644],
    ];
    for (const [rel, data, mode] of files) {
      await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
      await writeFile(path.join(root, rel), data);
      await chmod(path.join(root, rel), mode);
      await utimes(path.join(root, rel), mtime, mtime);
      content[rel] = data;
    }
    await symlink('a.txt', path.join(root, 'link'));
    await symlink('/etc/passwd', path.join(root, 'outside-link'));
  });

  const engine = (over: Partial<Parameters<typeof createDirectoryEngine>[0]> = {}) =>
    createDirectoryEngine({ root, includeGlobs: [], excludeGlobs: ['*.tmp', 'cache'], ...over });

  it('archives names, modes, mtimes, symlinks and contents, deterministically', async () => {
    const r = await engine().start(never);
    const archive = await collect(r.stream);
    const entries = await untar(archive);
    expect(entries.map((e) => e.header.name)).toEqual([
      './', '.hidden', 'a.txt', 'bin/', 'bin/run.sh', 'empty.txt', 'link', 'nested/', 'nested/deep/', 'nested/deep/x/', 'nested/deep/x/file.bin', 'outside-link',
    ]);
    const byName = new Map(entries.map((e) => [e.header.name, e]));
    expect(byName.get('a.txt')!.header.mode & 0o7777).toBe(0o640);
    expect(byName.get('bin/run.sh')!.header.mode & 0o7777).toBe(0o755);
    expect(byName.get('a.txt')!.header.mtime.getTime()).toBe(mtime.getTime());
    expect(byName.get('bin/')!.header.type).toBe('directory');
    expect(byName.get('link')!.header).toMatchObject({ type: 'symlink', linkname: 'a.txt', size: 0 });
    expect(byName.get('outside-link')!.header).toMatchObject({ type: 'symlink', linkname: '/etc/passwd' });
    for (const [rel, data] of Object.entries(content).filter(([rel]) => byName.has(rel))) {
      expect(sha256(byName.get(rel)!.data)).toBe(sha256(data));
    }
    expect(await r.done).toEqual({ format: 'tar', versions: { tar: 'ustar' }, files: 11 });
    const sizes = ['a.txt', 'bin/run.sh', 'nested/deep/x/file.bin', '.hidden'].reduce((s, k) => s + content[k]!.length, 0);
    expect(await engine().estimateBytes()).toBe(sizes);
    const again = await engine().start(never);
    expect(sha256(await collect(again.stream))).toBe(sha256(archive));
  });

  it('include globs keep matches, subtrees of matching dirs and their parents; excludes win', async () => {
    const r = await engine({ includeGlobs: ['*.sh', 'nested/deep', '*.tmp'] }).start(never);
    const names = (await untar(await collect(r.stream))).map((e) => e.header.name);
    expect(names).toEqual(['./', 'bin/', 'bin/run.sh', 'nested/', 'nested/deep/', 'nested/deep/x/', 'nested/deep/x/file.bin']);
    const m = globMatcher(['*.log', 'logs/*.gz', '/top'])!;
    expect([m('a/b/c.log'), m('logs/x.gz'), m('a/logs/x.gz'), m('top'), m('a/top')]).toEqual([true, true, false, true, false]);
  });

  it('stays inside allowedRoots, judged by real paths', async () => {
    const allowed = path.join(tmp.dir, 'allowed');
    await mkdir(path.join(allowed, 'tenant'), { recursive: true });
    await symlink(root, path.join(allowed, 'escape'));
    const start = (r: string) => createDirectoryEngine({ root: r, includeGlobs: [], excludeGlobs: [], allowedRoots: [allowed] }).start(never);
    await expect(start(root)).rejects.toBeInstanceOf(PathEscapeError);
    await expect(start('/etc')).rejects.toBeInstanceOf(PathEscapeError);
    await expect(start(path.join(allowed, 'escape'))).rejects.toBeInstanceOf(PathEscapeError);
    // Outside the roots, a missing path is refused the same way: no existence oracle.
    await expect(start('/no/such/dir')).rejects.toBeInstanceOf(PathEscapeError);
    const ok = await start(path.join(allowed, 'tenant'));
    expect((await untar(await collect(ok.stream))).map((e) => e.header.name)).toEqual(['./']); // the root itself only
    expect((await ok.done).files).toBe(0);
  });

  it('a missing root is a SourceNotFoundError', async () => {
    await expect(engine({ root: path.join(tmp.dir, 'missing') }).start(never)).rejects.toBeInstanceOf(SourceNotFoundError);
    await expect(engine({ root: path.join(root, 'a.txt') }).start(never)).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND' });
  });

  it('abort stops reading, destroys the stream and rejects done with CancelledError', async () => {
    const ac = new AbortController();
    const r = await engine().start(ac.signal);
    const it = r.stream[Symbol.asyncIterator]();
    await it.next();
    ac.abort();
    await expect(r.done).rejects.toBeInstanceOf(CancelledError);
    expect(r.stream.destroyed).toBe(true);
  });

  it('a file that shrinks while it is read fails with SourceChangedError', async () => {
    const dir = path.join(tmp.dir, 'shrinking');
    await mkdir(dir);
    await writeFile(path.join(dir, 'grows-and-shrinks.log'), randomBytes(4 * 1024 * 1024));
    const r = await createDirectoryEngine({ root: dir, includeGlobs: [], excludeGlobs: [] }).start(never);
    const it = r.stream[Symbol.asyncIterator]();
    await it.next(); // the producer is now held back by backpressure, mid-file
    await truncate(path.join(dir, 'grows-and-shrinks.log'), 1000);
    await expect(collect({ [Symbol.asyncIterator]: () => it })).rejects.toBeInstanceOf(SourceChangedError);
    await expect(r.done).rejects.toBeInstanceOf(SourceChangedError);
  });
});
