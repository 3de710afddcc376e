// The migration runner against a real PostgreSQL: deploy/pending bookkeeping compatible with
// `prisma migrate deploy`, atomic failing migrations that block later deploys, and the
// schema.prisma ⇄ migrations check and migration creation through shadow databases.
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkSchemaMatchesMigrations,
  createMigration,
  deployMigrations,
  MIGRATIONS_DIR,
  MigrationError,
  pendingMigrations,
  SCHEMA_PATH,
} from '../../src/db/migrate';
import { createEmptyDatabase, type TestDatabase } from '../support/db';

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

async function exists(url: string, regclass: string): Promise<boolean> {
  const [row] = await query<{ ok: boolean }>(url, 'SELECT to_regclass($1) IS NOT NULL AS ok', [regclass]);
  return row!.ok;
}

async function shadowDatabases(url: string): Promise<string[]> {
  const rows = await query<{ datname: string }>(url, `SELECT datname FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'`);
  return rows.map((r) => r.datname);
}

async function writeMigration(dir: string, name: string, sql: string): Promise<void> {
  await mkdir(path.join(dir, name), { recursive: true });
  await writeFile(path.join(dir, name, 'migration.sql'), sql);
}

const repoMigrations = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

const tmpDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'keepsake-migrate-'));
  tmpDirs.push(dir);
  return dir;
}

const dbs: TestDatabase[] = [];
async function emptyDb(): Promise<TestDatabase> {
  const db = await createEmptyDatabase();
  dbs.push(db);
  return db;
}

afterAll(async () => {
  for (const db of dbs) await db.drop();
  for (const dir of tmpDirs) await rm(dir, { recursive: true, force: true });
});

describe('deployMigrations with the repository migrations', () => {
  let db: TestDatabase;
  let firstApplied: string[];
  let pendingBefore: string[];

  beforeAll(async () => {
    db = await emptyDb();
    pendingBefore = await pendingMigrations(db.url);
    firstApplied = (await deployMigrations(db.url)).applied;
  });

  it('reports every migration as pending while _prisma_migrations does not exist', () => {
    expect(repoMigrations.length).toBeGreaterThanOrEqual(1);
    expect(pendingBefore).toEqual(repoMigrations);
  });

  it('applies all migrations in order and records them like prisma migrate deploy', async () => {
    expect(firstApplied).toEqual(repoMigrations);
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; applied_steps_count: number }>(
      db.url,
      'SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(repoMigrations);
    for (const row of rows) {
      const sql = await readFile(path.join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    expect(await exists(db.url, '"Organization"')).toBe(true);
  });

  it('runs hand-written $$ function bodies intact', async () => {
    // keepsake_audit_chain is a plpgsql trigger function full of `;` in the rls_audit migration.
    const rows = await query<{ src: string }>(db.url, `SELECT prosrc AS src FROM pg_proc WHERE proname = 'keepsake_audit_chain'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.src).toContain('NEW.hash := keepsake_audit_hash');
  });

  it('applies nothing the second time and reports nothing pending', async () => {
    expect(await deployMigrations(db.url)).toEqual({ applied: [] });
    expect(await pendingMigrations(db.url)).toEqual([]);
    const [count] = await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM _prisma_migrations');
    expect(count!.n).toBe(repoMigrations.length);
  });
});

describe('deployMigrations with a temporary migrations folder', () => {
  it('serializes concurrent deploys: each migration is applied exactly once', async () => {
    const db = await emptyDb();
    const dir = await tempDir();
    await writeMigration(dir, '001_a', 'CREATE TABLE a (id int);');
    await writeMigration(dir, '002_b', 'CREATE TABLE b (id int);');
    const [x, y] = await Promise.all([deployMigrations(db.url, { migrationsDir: dir }), deployMigrations(db.url, { migrationsDir: dir })]);
    expect([...x.applied, ...y.applied].sort()).toEqual(['001_a', '002_b']);
    const [count] = await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM _prisma_migrations');
    expect(count!.n).toBe(2);
  });

  it('records a failing migration as failed, leaves none of it applied, and blocks later deploys', async () => {
    const db = await emptyDb();
    const dir = await tempDir();
    await writeMigration(
      dir,
      '001_ok',
      `CREATE TABLE ok_table (id int);
CREATE FUNCTION ok_fn() RETURNS int LANGUAGE plpgsql AS $$
DECLARE x int;
BEGIN
  x := 1;
  RETURN x + 1;
END
$$;
`,
    );
    await writeMigration(
      dir,
      '002_bad',
      `CREATE TABLE bad_table (id int);
CREATE FUNCTION bad_fn() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;
INSERT INTO bad_table VALUES (1);
SELECT 1 / 0;
`,
    );

    const first = deployMigrations(db.url, { migrationsDir: dir });
    await expect(first).rejects.toBeInstanceOf(MigrationError);
    await expect(first).rejects.toThrow(/failed at 002_bad: [^]*division by zero/);

    // 001 applied (function body intact), nothing of 002 is left behind.
    const [fn] = await query<{ v: number }>(db.url, 'SELECT ok_fn() AS v');
    expect(fn!.v).toBe(2);
    expect(await exists(db.url, 'bad_table')).toBe(false);
    expect(await query(db.url, `SELECT 1 FROM pg_proc WHERE proname = 'bad_fn'`)).toHaveLength(0);

    const rows = await query<{ migration_name: string; finished_at: Date | null; logs: string | null }>(
      db.url,
      'SELECT migration_name, finished_at, logs FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => [r.migration_name, r.finished_at !== null])).toEqual([
      ['001_ok', true],
      ['002_bad', false],
    ]);
    expect(rows[1]!.logs).toMatch(/division by zero/);
    expect(await pendingMigrations(db.url, { migrationsDir: dir })).toEqual(['002_bad']);

    // A later migration is not applied while 002_bad is recorded as failed.
    await writeMigration(dir, '003_next', 'CREATE TABLE next_table (id int);');
    await expect(deployMigrations(db.url, { migrationsDir: dir })).rejects.toThrow(/002_bad/);
    expect(await exists(db.url, 'next_table')).toBe(false);
    expect(await pendingMigrations(db.url, { migrationsDir: dir })).toEqual(['002_bad', '003_next']);

    // Resolved as with `prisma migrate resolve --rolled-back`: fixed, marked rolled back, redeployed.
    await writeMigration(dir, '002_bad', 'CREATE TABLE bad_table (id int);');
    await query(db.url, `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '002_bad' AND finished_at IS NULL`);
    expect(await deployMigrations(db.url, { migrationsDir: dir })).toEqual({ applied: ['002_bad', '003_next'] });
    expect(await exists(db.url, 'next_table')).toBe(true);
    expect(await pendingMigrations(db.url, { migrationsDir: dir })).toEqual([]);
  });
});

describe('checkSchemaMatchesMigrations and createMigration', () => {
  let db: TestDatabase;
  let shadowsBefore: string[];

  beforeAll(async () => {
    db = await emptyDb();
    shadowsBefore = await shadowDatabases(db.url);
  });

  it('finds the repository schema and migrations in sync, without touching the database', async () => {
    expect(await checkSchemaMatchesMigrations(db.url)).toEqual({ inSync: true, diffSql: '' });
    expect(await exists(db.url, '_prisma_migrations')).toBe(false);
  });

  it('reports the SQL of a missing migration, then creates that migration', async () => {
    const dir = await tempDir();
    const init = repoMigrations.find((m) => m.endsWith('_init'))!;
    await cp(path.join(MIGRATIONS_DIR, init), path.join(dir, init), { recursive: true });
    await cp(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), path.join(dir, 'migration_lock.toml'));
    const schemaPath = path.join(await tempDir(), 'schema.prisma');
    const schema = await readFile(SCHEMA_PATH, 'utf8');
    expect(schema).toContain('model User {\n');
    await writeFile(schemaPath, schema.replace('model User {\n', 'model User {\n  nickname String?\n'));

    // Without any migration, the whole schema is missing.
    const empty = await checkSchemaMatchesMigrations(db.url, { migrationsDir: await tempDir() });
    expect(empty.inSync).toBe(false);
    expect(empty.diffSql).toMatch(/CREATE TABLE "Organization"/);

    const check = await checkSchemaMatchesMigrations(db.url, { migrationsDir: dir, schemaPath });
    expect(check.inSync).toBe(false);
    expect(check.diffSql).toMatch(/ALTER TABLE "User" ADD COLUMN\s+"nickname" TEXT/);

    const created = await createMigration(db.url, 'user_nickname', { createOnly: true, migrationsDir: dir, schemaPath, timestamp: '20991231000000' });
    expect(created.name).toBe('20991231000000_user_nickname');
    expect(created.applied).toEqual([]);
    expect(await readFile(created.file!, 'utf8')).toMatch(/ALTER TABLE "User" ADD COLUMN\s+"nickname" TEXT/);
    expect(await readFile(path.join(dir, 'migration_lock.toml'), 'utf8')).toContain('provider = "postgresql"');
    expect(await exists(db.url, '_prisma_migrations')).toBe(false);

    expect(await checkSchemaMatchesMigrations(db.url, { migrationsDir: dir, schemaPath })).toEqual({ inSync: true, diffSql: '' });
    // Nothing changed since: no migration is written, the pending ones are deployed.
    const none = await createMigration(db.url, 'nothing', { migrationsDir: dir, schemaPath, timestamp: '20991231000002' });
    expect(none).toEqual({ applied: [init, '20991231000000_user_nickname'] });
    expect((await readdir(dir)).sort()).toEqual([init, '20991231000000_user_nickname', 'migration_lock.toml']);

    // createOnly with no changes: an empty draft to write by hand, not applied.
    const draft = await createMigration(db.url, 'hand_written', { createOnly: true, migrationsDir: dir, schemaPath, timestamp: '20991231000003' });
    expect(draft.name).toBe('20991231000003_hand_written');
    expect(await readFile(draft.file!, 'utf8')).toMatch(/empty migration/);
    expect(await pendingMigrations(db.url, { migrationsDir: dir })).toEqual(['20991231000003_hand_written']);

    // Without createOnly the new migration is deployed too.
    await writeFile(schemaPath, schema.replace('model User {\n', 'model User {\n  nickname String?\n  locale String?\n'));
    const applied = await createMigration(db.url, 'user_locale', { migrationsDir: dir, schemaPath, timestamp: '20991231000004' });
    expect(applied.applied).toEqual(['20991231000003_hand_written', '20991231000004_user_locale']);
    const cols = await query<{ column_name: string }>(db.url, `SELECT column_name FROM information_schema.columns WHERE table_name = 'User' AND column_name IN ('nickname', 'locale') ORDER BY 1`);
    expect(cols.map((c) => c.column_name)).toEqual(['locale', 'nickname']);
  });

  it('drops every shadow database it created', async () => {
    expect(await shadowDatabases(db.url)).toEqual(shadowsBefore);
  });
});
