// POSTGRES sources: pg_dump streamed into the backup pipeline, with exact row counts taken from
// the same snapshot as the dump (exported by our session, imported by pg_dump --snapshot), so a
// later verification can compare a restore against numbers that describe exactly this dump.
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { cancelledFrom, throwIfAborted } from '../cancellation';
import { CancelledError } from '../errors';
import { connectSource, libpqEnv, parseConnectionUrl, pinConnection, redact, sourceError, type SourceConnection } from './pg-connection';
import { countRows, coveredTables, listUserRelations, listUserTables, lockTables, type TableName, type TableSelection } from './pg-tables';
import { checkPgDumpVersion, readToolVersion, spawnTool } from './pg-tools';
import { packTree, walkTree } from './tar-tree';
import type { BackupEngine, EngineResult, EngineRun } from './types';

export type PgDumpFormat = 'CUSTOM' | 'PLAIN' | 'TAR' | 'DIRECTORY';

export interface PostgresEngineOptions extends TableSelection {
  connectionUrl: string;
  /** Directory holding pg_dump; PATH when omitted. */
  pgBinDir?: string;
  format: PgDumpFormat;
  noOwner: boolean;
  noAcl: boolean;
  /** Where the DIRECTORY format is dumped before it is streamed as a tar; os.tmpdir() by default. */
  tempDir?: string;
}

const FORMAT_NAME: Record<PgDumpFormat, string> = { CUSTOM: 'custom', PLAIN: 'plain', TAR: 'tar', DIRECTORY: 'directory' };

interface Session {
  client: pg.Client;
  serverVersion: string;
  snapshot: string | undefined;
  tables: TableName[];
  /** "schema.name" of every relation the dump covers (tables, views, ...): what a restore may select. */
  relations: string[];
  /** The server supports client_connection_check_interval (PostgreSQL 14+). */
  watchDisconnect: boolean;
}

const DISCONNECT_CHECK_MS = 1000;

/** pg_dump's arguments. Everything goes as --option=value, so a pattern starting with '-' stays a value. */
export function pgDumpArgs(opts: PostgresEngineOptions, conn: SourceConnection, extra: { snapshot?: string; dir?: string } = {}): string[] {
  // The URL carries no password (PGPASSWORD does), so argv, visible in `ps`, holds no secret.
  const args = [`--format=${FORMAT_NAME[opts.format]}`, '--no-password', `--dbname=${conn.url}`];
  // Custom and directory formats compress by default; our pipeline compresses the whole stream
  // (zstd/gzip) and then encrypts, so compressing twice would only burn CPU and defeat zstd.
  if (opts.format === 'CUSTOM' || opts.format === 'DIRECTORY') args.push('--compress=0');
  if (extra.snapshot) args.push(`--snapshot=${extra.snapshot}`);
  if (extra.dir) args.push(`--file=${extra.dir}`, '--jobs=2');
  for (const s of opts.includeSchemas) args.push(`--schema=${s}`);
  for (const s of opts.excludeSchemas) args.push(`--exclude-schema=${s}`);
  for (const t of opts.includeTables) args.push(`--table=${t}`);
  for (const t of opts.excludeTables) args.push(`--exclude-table=${t}`);
  if (opts.noOwner) args.push('--no-owner');
  if (opts.noAcl) args.push('--no-acl');
  return args;
}

export function createPostgresEngine(opts: PostgresEngineOptions): BackupEngine {
  return {
    async estimateBytes() {
      let client: pg.Client | undefined;
      try {
        client = await connectSource(parseConnectionUrl(opts.connectionUrl));
        const { rows } = await client.query<{ n: string }>('SELECT pg_catalog.pg_database_size(current_database())::text AS n');
        return Number(rows[0]!.n);
      } catch {
        return null; // best effort: start() reports the real problem
      } finally {
        await client?.end().catch(() => undefined);
      }
    },

    async start(signal: AbortSignal): Promise<EngineRun> {
      throwIfAborted(signal);
      // Resolved and checked against the outbound policy once; pg_dump and our session both go
      // to that address.
      const parsed = parseConnectionUrl(opts.connectionUrl);
      const conn = await pinConnection(parsed).catch((err: unknown) => {
        throw sourceError(err, parsed, 'cannot connect to');
      });
      const env = libpqEnv(conn);
      const pgDumpVersion = await readToolVersion('pg_dump', opts.pgBinDir, env);
      throwIfAborted(signal);
      const client = await connectSource(conn);
      // Opening the session may wait for table locks as long as another transaction holds them:
      // closing the connection is what interrupts it (see watchDisconnect).
      const onAbort = () => void client.end().catch(() => undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort(); // aborted while connecting: the listener would never fire
      let session: Session;
      try {
        session = await openSession(client, conn, pgDumpVersion, opts);
        throwIfAborted(signal);
      } catch (err) {
        await client.end().catch(() => undefined);
        if (signal.aborted) throw cancelledFrom(signal);
        throw sourceError(err, conn, 'reading the catalog of');
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      if (session.watchDisconnect) env.PGOPTIONS = `${env.PGOPTIONS ?? ''} -c client_connection_check_interval=${DISCONNECT_CHECK_MS}`.trim();
      return runDump(opts, conn, env, session, { pg_dump: pgDumpVersion, server: session.serverVersion }, signal);
    },
  };
}

/** Version check, then a REPEATABLE READ transaction whose snapshot pg_dump will share. */
async function openSession(client: pg.Client, conn: SourceConnection, pgDumpVersion: string, sel: TableSelection): Promise<Session> {
  const { rows } = await client.query<{ num: number; version: string }>(
    `SELECT current_setting('server_version_num')::int AS num, split_part(current_setting('server_version'), ' ', 1) AS version`,
  );
  checkPgDumpVersion(pgDumpVersion, rows[0]!.num, rows[0]!.version);
  // A server notices a vanished client only when it next talks to it; a session waiting for a
  // lock would wait on after a cancel killed pg_dump or closed ours. PostgreSQL 14+ can look for
  // the disconnect while it waits.
  const watchDisconnect = rows[0]!.num >= 140000;
  if (watchDisconnect) await client.query(`SET client_connection_check_interval = ${DISCONNECT_CHECK_MS}`);
  const begin = async () => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    // No server default may cancel a long count(*), or end this session while it idles in its
    // transaction for as long as pg_dump runs. row_security off: like pg_dump, fail on a table
    // filtered by a policy instead of silently counting fewer rows.
    await client.query('SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0; SET LOCAL row_security = off');
  };
  await begin();
  let snapshot: string | undefined;
  try {
    snapshot = (await client.query<{ id: string }>('SELECT pg_catalog.pg_export_snapshot() AS id')).rows[0]!.id;
  } catch {
    // Some setups cannot export snapshots (e.g. a transaction-pooling proxy): counts then come
    // from their own snapshot, taken just before pg_dump's, and the result says so.
    await client.query('ROLLBACK');
    await begin();
  }
  const tables = coveredTables(await listUserTables(client), sel);
  const relations = coveredTables(await listUserRelations(client), sel).map((t) => `${t.schema}.${t.name}`);
  await lockTables(client, tables);
  return { client, serverVersion: rows[0]!.version, snapshot, tables, relations, watchDisconnect };
}

/** The first failure of a run (pg_dump, a count, the tar) stops every other part of it. */
function firstFailure(signal: AbortSignal) {
  const internal = new AbortController();
  let firstError: unknown;
  return {
    runSignal: AbortSignal.any([signal, internal.signal]),
    fail(err: unknown) {
      if (firstError === undefined) firstError = err;
      internal.abort(err);
    },
    /** What the run reports: the caller's cancel, else the first failure, else `err`. */
    finalError: (err: unknown) => (signal.aborted ? cancelledFrom(signal) : (firstError ?? err)),
  };
}

/**
 * The dump as one stream. Plain, custom and tar formats come from pg_dump's stdout, whose end is
 * held back until `complete` settles (when pg_dump dies its stdout just ends, and a consumer must
 * not mistake that for a complete dump). The directory format is packed as a tar afterwards.
 */
function dumpOutput(stdout: Readable | null, dumpDir: string | undefined, runSignal: AbortSignal, complete: () => Promise<unknown>) {
  if (stdout) {
    const gate = new Transform({
      transform: (chunk, _enc, cb) => cb(null, chunk),
      flush: (cb) => void complete().then(() => cb(), (err: unknown) => cb(err as Error)),
    });
    pipeline(stdout, gate).catch(() => undefined); // failures surface through `gate` and `done`
    return { out: gate as Readable, tarInto: undefined };
  }
  const tarInto = async (target: PassThrough) => {
    const root = await realpath(dumpDir!);
    const packed = packTree(root, await walkTree(root, () => false, runSignal), runSignal);
    await pipeline(packed.stream, target);
    return packed.done;
  };
  return { out: new PassThrough() as Readable, tarInto };
}

/**
 * Errors reach the consumer's pipeline and `done`; a consumer that already went away must not
 * turn the stream's 'error' event into an uncaught exception. The caller's cancel destroys the
 * stream, and a consumer that gives up (its pipeline failed) stops pg_dump too. Returns the
 * remover of the cancel listener.
 */
function guardOutput(out: Readable, signal: AbortSignal, fail: (err: unknown) => void): () => void {
  out.on('error', () => undefined);
  const onAbort = () => out.destroy(cancelledFrom(signal));
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  out.once('close', () => {
    if (!out.readableEnded) fail(new CancelledError(new Error('the backup stream was closed before the dump completed')));
  });
  return () => signal.removeEventListener('abort', onAbort);
}

async function runDump(
  opts: PostgresEngineOptions,
  conn: SourceConnection,
  env: NodeJS.ProcessEnv,
  session: Session,
  versions: Record<string, string>,
  signal: AbortSignal,
): Promise<EngineRun> {
  const { client } = session;
  const { runSignal, fail, finalError } = firstFailure(signal);
  let clientEnded: Promise<void> | undefined;
  // Closing the connection also interrupts a running count(*).
  const endClient = () => (clientEnded ??= client.end().catch(() => undefined));
  runSignal.addEventListener('abort', () => void endClient(), { once: true });
  if (runSignal.aborted) void endClient();

  let tmp: string | undefined;
  try {
    if (opts.format === 'DIRECTORY') tmp = await mkdtemp(path.join(opts.tempDir ?? tmpdir(), 'keepsake-pgdump-'));
  } catch (err) {
    await endClient();
    throw err;
  }
  const dumpDir = tmp && path.join(tmp, 'dump');
  const tool = spawnTool('pg_dump', pgDumpArgs(opts, conn, { snapshot: session.snapshot, dir: dumpDir }), {
    binDir: opts.pgBinDir,
    env,
    signal: runSignal,
    stdout: dumpDir ? 'ignore' : 'pipe',
    redact: (text) => redact(text, conn.password),
  });
  const counts = countRows(client, session.tables).catch((err: unknown) => {
    throw sourceError(err, conn, 'counting rows in');
  });
  const { out, tarInto } = dumpOutput(tool.stdout ?? null, dumpDir, runSignal, () => completion);
  const unguard = guardOutput(out, signal, fail);

  const completion = (async (): Promise<EngineResult> => {
    const watch = <T>(p: Promise<T>) => p.catch((err: unknown) => (fail(err), Promise.reject(err)));
    try {
      // The exporting transaction stays open until pg_dump exits: pg_dump (and each --jobs
      // worker) imports the snapshot when it connects, which is only possible while it lives.
      const [, rowCounts] = await Promise.all([watch(tool.exit), watch(counts)]);
      await endClient();
      const files = tarInto ? await watch(tarInto(out as PassThrough)) : undefined;
      return { format: FORMAT_NAME[opts.format], versions, rowCounts, relations: session.relations, snapshotShared: session.snapshot !== undefined, files };
    } catch (err) {
      throw finalError(err);
    } finally {
      // pg_dump is gone (exit settles after it is reaped) before its directory is removed.
      await Promise.allSettled([tool.exit, counts]);
      await endClient();
      if (tmp) await rm(tmp, { recursive: true, force: true });
      unguard();
    }
  })();
  completion.catch((err: unknown) => out.destroy(err as Error));

  const done = completion
    .then(async (result) => {
      await finished(out);
      return result;
    })
    .catch((err: unknown) => Promise.reject(finalError(err)));
  done.catch(() => undefined); // the caller awaits it; never an unhandled rejection meanwhile
  return { stream: out, done, pid: tool.child.pid };
}
