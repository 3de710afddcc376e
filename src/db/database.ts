// Which PostgreSQL to use: DATABASE_URL when given, otherwise the embedded server under the
// data directory (started here, with a `keepsake` database created on first use).
import path from 'node:path';
import pg from 'pg';
import { ConfigError, type AppConfig } from '../config';
import type { Logger } from '../logger';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded';

export interface DatabaseHandle {
  url: string;
  embedded: boolean;
  /** The embedded server's maintenance database (superuser), for the demo's sample database. */
  adminUrl?: string;
  stop(): Promise<void>;
}

/** Opens and closes one connection; answers the connection error, or null when it worked. */
async function tryConnect(url: string, timeoutMs: number): Promise<Error | null> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await c.connect();
    return null;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * A DATABASE_URL that cannot be reached is a configuration error and says so by name, like every
 * other setting; otherwise the first failure is a driver message deep in start-up that names
 * neither the variable nor what to fix. The URL itself is not echoed: it carries the password.
 * zod has already checked that it parses as a URL.
 */
async function checkDatabaseUrl(url: string): Promise<void> {
  const err = await tryConnect(url, 5000);
  if (!err) return;
  const u = new URL(url);
  throw new ConfigError(
    `Invalid configuration:\n  DATABASE_URL: cannot connect to ${u.hostname}:${u.port || '5432'}${u.pathname} (${err.message}). Unset it to use the embedded PostgreSQL.`,
  );
}

export async function openDatabase(config: AppConfig, log: Logger, opts: { reuseRunning?: boolean } = {}): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    await checkDatabaseUrl(config.databaseUrl);
    return { url: config.databaseUrl, embedded: false, stop: async () => undefined };
  }
  const adminUrl = `postgresql://postgres:keepsake@127.0.0.1:${config.embeddedPgPort}/postgres`;
  let server: EmbeddedServer | undefined;
  // A CLI (e.g. `npm run token`) may run beside `npm start`: use its server if it is up.
  if (!(opts.reuseRunning && (await tryConnect(adminUrl, 1000)) === null)) {
    const dataDir = path.join(config.dataDir, 'postgres');
    log.info({ dataDir, port: config.embeddedPgPort }, 'starting embedded PostgreSQL');
    server = await startEmbeddedPostgres({ dataDir, port: config.embeddedPgPort, password: 'keepsake' });
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'keepsake'`);
    if (exists.rowCount === 0) await admin.query('CREATE DATABASE keepsake');
  } finally {
    await admin.end();
  }
  return {
    url: adminUrl.replace(/\/postgres$/, '/keepsake'),
    embedded: true,
    adminUrl,
    stop: async () => {
      await server?.stop();
    },
  };
}
