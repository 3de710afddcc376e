// A fresh database per test file, cloned from the migrated template made in global-setup.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { withDatabase } from './global-setup';

export interface TestDatabase {
  name: string;
  /** URL of the new database, logging in as the server's superuser. */
  url: string;
  /** URL of the `postgres` maintenance database (superuser). */
  adminUrl: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: inject('adminUrl') });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A new database with every migration applied. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `keepsake_test_${randomBytes(5).toString('hex')}`;
  const template = inject('templateDb');
  // CREATE DATABASE … TEMPLATE fails if another session is connected to the template;
  // nothing connects to it after setup, but retry briefly to be safe under parallel files.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
      break;
    } catch (err) {
      if (attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
  return {
    name,
    url: withDatabase(inject('adminUrl'), name),
    adminUrl: inject('adminUrl'),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** An empty database (no migrations), e.g. to seed as a backup source or restore target. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const name = `keepsake_src_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: withDatabase(inject('adminUrl'), name),
    adminUrl: inject('adminUrl'),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** One statement on its own connection (for servers and databases the test app does not hold). */
export async function queryOnce(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/** Runs `fn` with a connection of its own to `url`, closed afterwards whatever happens. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

export async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  return (await withClient(adminUrl, (c) => c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]))).rowCount === 1;
}
