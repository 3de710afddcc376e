// A tenant's PostgreSQL connection URL, split so the password never reaches argv (visible in
// `ps`), error messages or logs: libpq tools get the URL without it plus PGPASSWORD, node-pg gets
// it as a separate config field.
import { isIP } from 'node:net';
import pg from 'pg';
import { parse as parsePgUrl, toClientConfig } from 'pg-connection-string';
import { BackupError, OutboundDeniedError, SourceAccessError, SourceNotFoundError } from '../errors';
import { firstReachable, isUnixSocket, outboundPolicy } from '../outbound';

export interface SourceConnection {
  /** The URL without the password, for `pg_dump --dbname` and node-pg. */
  url: string;
  password: string | undefined;
  /** user@host:port/database: safe to put in messages. */
  hint: string;
  /** The URL's host ('' when it names none: libpq then uses a Unix socket). */
  host: string;
  /** The operator's own server (VERIFY_DATABASE_URL, the platform database): no outbound policy. */
  trusted: boolean;
  /** The checked address every connection goes to (see pinConnection). */
  hostaddr?: string;
}

/**
 * Query parameters a tenant's URL may carry. The others could point the worker somewhere else
 * (host, hostaddr, port, service: pg_service.conf entries) or at its own files (passfile,
 * sslcert, sslkey, sslrootcert, sslcrl).
 */
const TENANT_URL_PARAMS = new Set([
  'sslmode', 'sslnegotiation', 'channel_binding', 'gssencmode', 'connect_timeout', 'application_name', 'options',
  'target_session_attrs', 'keepalives', 'keepalives_idle', 'keepalives_interval', 'keepalives_count', 'tcp_user_timeout',
  'client_encoding',
]);

export function parseConnectionUrl(connectionUrl: string, opts: { trusted?: boolean } = {}): SourceConnection {
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
  const host = decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, '$1');
  const conn = { url: u.toString(), password, hint, host, trusted: opts.trusted ?? false };
  if (!conn.trusted) checkTenantUrl(u, conn);
  return conn;
}

/** What a tenant's URL may name: one host (an allowed literal address, if an address), known parameters. */
function checkTenantUrl(u: URL, conn: SourceConnection): void {
  for (const key of u.searchParams.keys()) {
    if (!TENANT_URL_PARAMS.has(key)) throw new OutboundDeniedError(`the connection URL parameter "${key}" is not accepted: name the server in the URL's host and port`);
  }
  if (conn.host.includes(',')) throw new OutboundDeniedError('the connection URL must name a single host');
  outboundPolicy().checkLiteral(conn.host || '/', `the connection URL of ${conn.hint}`);
}

/**
 * Resolves a tenant's host under the outbound policy and records the address to use: node-pg
 * connects to it and libpq tools get it as PGHOSTADDR (the host name still serves TLS checks).
 */
export async function pinConnection(conn: SourceConnection): Promise<SourceConnection> {
  if (conn.trusted || conn.hostaddr !== undefined) return conn;
  const host = conn.host || '/';
  const addresses = await outboundPolicy().resolveAll(host, `the server of ${conn.hint}`);
  if (isUnixSocket(addresses[0]!)) return conn;
  const port = Number(new URL(conn.url).port || 5432);
  return { ...conn, hostaddr: await firstReachable(addresses, port) };
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
  if (conn.hostaddr !== undefined) env.PGHOSTADDR = conn.hostaddr;
  else if (!conn.trusted) throw new Error('a tenant connection must be pinned (pinConnection) before a libpq tool uses it');
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
  try {
    conn = await pinConnection(conn);
  } catch (err) {
    throw sourceError(err, conn, 'cannot connect to');
  }
  const client = new pg.Client({ ...clientConfig(conn), connectionTimeoutMillis: 30_000, keepAlive: true });
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

/** node-pg's settings for the URL, aimed at the pinned address when there is one. */
function clientConfig(conn: SourceConnection): pg.ClientConfig {
  const url = new URL(conn.url);
  const useLibpqCompat = url.searchParams.has('sslmode');
  const config = toClientConfig(parsePgUrl(url.toString(), { useLibpqCompat }));
  config.application_name ??= 'keepsake-backup';
  if (conn.hostaddr !== undefined) {
    config.host = conn.hostaddr;
    // TLS still checks the certificate against the name the tenant gave, as libpq does with hostaddr.
    if (config.ssl && isIP(conn.host) === 0) config.ssl = { ...(typeof config.ssl === 'object' ? config.ssl : {}), servername: conn.host };
  }
  return config;
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
