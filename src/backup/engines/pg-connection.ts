// A tenant's PostgreSQL connection URL, split so the password never reaches argv (visible in
// `ps`), error messages or logs: libpq tools get the URL without it plus PGPASSWORD, node-pg gets
// it as a separate config field.
import pg from 'pg';
import { BackupError, SourceAccessError, SourceNotFoundError } from '../errors';

export interface SourceConnection {
  /** The URL without the password, for `pg_dump --dbname` and node-pg. */
  url: string;
  password: string | undefined;
  /** user@host:port/database: safe to put in messages. */
  hint: string;
}

export function parseConnectionUrl(connectionUrl: string): SourceConnection {
  let u: URL;
  let password: string | undefined;
  try {
    u = new URL(connectionUrl);
    password = u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    // No cause attached: URL's TypeError carries the input, password included.
    throw new SourceAccessError('the connection URL is not a valid postgresql:// URL');
  }
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') {
    throw new SourceAccessError(`the connection URL must start with postgresql://, not ${u.protocol}//`);
  }
  // libpq also accepts ?password=…; move it out of the URL the same way.
  const queryPassword = u.searchParams.get('password');
  if (queryPassword !== null) {
    password ??= queryPassword;
    u.searchParams.delete('password');
  }
  u.password = '';
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const hint = `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host || 'localhost'}/${db}`;
  return { url: u.toString(), password, hint };
}

/**
 * Environment for libpq tools. Inherited PG* variables are dropped: the worker's own PGHOST or
 * PGPASSWORD must never fill gaps in a tenant's URL (a URL without a password or host would
 * otherwise log in with the platform's credentials). For the same reason the worker user's
 * ~/.pgpass is disabled: PGPASSFILE points below /dev/null, a path that cannot exist, which libpq
 * ignores silently (/dev/null itself would make it warn that it is "not a plain file").
 */
export function libpqEnv(conn: SourceConnection): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
  env.PGPASSFILE = '/dev/null/keepsake-no-pgpass';
  env.PGAPPNAME = 'keepsake-backup'; // shows in pg_stat_activity; an application_name in the URL wins
  env.PGCONNECT_TIMEOUT ??= '30';
  if (conn.password !== undefined) env.PGPASSWORD = conn.password;
  return env;
}

/**
 * A node-pg client on the same server as pg_dump. `uselibpqcompat` makes node-pg read sslmode
 * like libpq does (its default treats `require` as `verify-full`), so both agree on what the URL
 * means. The password is set on the client after construction, because node-pg lets a
 * connection string override the config's password and then falls back to the worker's
 * PGPASSWORD and ~/.pgpass; a URL without a password must log in without one, as pg_dump does.
 */
export async function connectSource(conn: SourceConnection): Promise<pg.Client> {
  const url = new URL(conn.url);
  if (url.searchParams.has('sslmode') && !url.searchParams.has('uselibpqcompat')) url.searchParams.set('uselibpqcompat', 'true');
  const client = new pg.Client({
    connectionString: url.toString(),
    connectionTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'keepsake-backup',
  });
  // Read when the server asks for a password; '' fails authentication rather than falling back.
  client.password = conn.password ?? '';
  // A connection dropped while idle must not crash the worker; the next query reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw sourceError(err, conn, 'cannot connect to');
  }
}

/** node-pg/network errors as typed errors, with the password scrubbed from the message. */
export function sourceError(err: unknown, conn: SourceConnection, doing: string): BackupError {
  if (err instanceof BackupError) return err;
  const { code, message } = err as { code?: unknown; message?: unknown };
  const text = redact(typeof message === 'string' ? message : String(err), conn.password);
  if (code === '3D000') return new SourceNotFoundError(conn.hint, `${conn.hint}: ${text}`);
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  return new SourceAccessError(`${doing} ${conn.hint}: ${text}`, sqlState);
}

export function redact(text: string, password: string | undefined): string {
  if (!password) return text;
  return text.split(password).join('***').split(encodeURIComponent(password)).join('***');
}
