// Restoring a pg_dump artifact into a database. The decoded dump streams into pg_restore's stdin
// (custom, tar) or psql's (plain). Into an existing database the restore is one transaction, so a
// failed restore leaves it as it was. pg_dump's directory format is unpacked to a temp directory
// first, and a custom-format dump is spooled to a temp file when parallel jobs are asked for:
// that is what lets pg_restore run parallel jobs into a new database. A NEW database is created
// here and dropped again if the restore fails, so it either completes or leaves nothing.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { cancelledFrom, throwIfAborted } from '../cancellation';
import { BackupError, TargetAccessError, TargetExistsError } from '../errors';
import { connectSource, libpqEnv, parseConnectionUrl, pinConnection, redact, type SourceConnection } from '../engines/pg-connection';
import { spawnTool } from '../engines/pg-tools';
import { extractTar } from './extract-tar';

export type DumpFormatName = 'custom' | 'plain' | 'tar' | 'directory';

export interface PostgresRestoreOptions {
  /** The database to restore into (its name is created first in 'new' mode). */
  targetUrl: string;
  format: DumpFormatName;
  /** 'new': create the database (it must not exist); 'existing': replace the objects in the dump (--clean). */
  mode: 'new' | 'existing';
  /** Restore only these schemas / tables (pg_restore -n / -t); not possible for plain dumps. */
  schemas?: string[];
  tables?: string[];
  /** Skip GRANT/REVOKE (a scratch database for verification lacks the source's roles). */
  noPrivileges?: boolean;
  pgBinDir?: string;
  /** pg_restore --jobs into a new database: the directory format uses 2 by default; a custom-format dump is spooled to disk for more than 1. */
  jobs?: number;
  tempDir?: string;
  /** The operator's own server (a restore test's scratch database): exempt from the outbound policy. */
  trusted?: boolean;
  /** targetUrl already opened (openTarget): used as is, so the name is not resolved again. */
  pinned?: SourceConnection;
}

/** libpq identifier quoting for CREATE/DROP DATABASE. */
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

function databaseOf(conn: SourceConnection): string {
  return decodeURIComponent(new URL(conn.url).pathname.replace(/^\//, ''));
}

/** A client on the server's maintenance database, to create or drop the target. */
async function maintenanceClient(conn: SourceConnection): Promise<pg.Client> {
  const u = new URL(conn.url);
  u.pathname = '/postgres';
  try {
    return await connectSource({ ...conn, url: u.toString() });
  } catch (err) {
    throw new TargetAccessError(`cannot reach the target server ${conn.hint}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export interface TargetOptions {
  /** The operator's own server, exempt from the outbound policy (tenants' targets never are). */
  trusted?: boolean;
}

/** Parses a target URL and pins it to a checked address; unreachable names become TargetAccessError. */
export async function openTarget(targetUrl: string, opts: TargetOptions = {}): Promise<SourceConnection> {
  const conn = parseConnectionUrl(targetUrl, opts);
  try {
    return await pinConnection(conn);
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new TargetAccessError(`cannot reach the target server ${conn.hint}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A target URL, or a connection openTarget already parsed and pinned (resolved and checked once). */
export type TargetRef = string | SourceConnection;

const targetOf = (target: TargetRef, opts: TargetOptions) => (typeof target === 'string' ? openTarget(target, opts) : Promise.resolve(target));

export async function createTargetDatabase(target: TargetRef, opts: TargetOptions = {}): Promise<void> {
  const conn = await targetOf(target, opts);
  const name = databaseOf(conn);
  const client = await maintenanceClient(conn);
  try {
    await client.query(`CREATE DATABASE ${ident(name)}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '42P04') throw new TargetExistsError(`database ${JSON.stringify(name)} already exists on ${conn.hint}: choose a new name, or restore into the existing database with confirmation`);
    throw new TargetAccessError(`cannot create database ${JSON.stringify(name)} on ${conn.hint}: ${redact((err as Error).message, conn.password)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function dropTargetDatabase(target: TargetRef, opts: TargetOptions = {}): Promise<void> {
  const conn = await targetOf(target, opts);
  const client = await maintenanceClient(conn);
  try {
    await client.query(`DROP DATABASE IF EXISTS ${ident(databaseOf(conn))} WITH (FORCE)`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * pg_restore's (or psql's) arguments. `archive` is a seekable copy of the dump on disk (an
 * unpacked directory-format dump, or a spooled custom-format file); without one the dump comes on
 * stdin. Into an existing database the restore always runs as one transaction, so a failure
 * leaves it as it was; that rules out --jobs, which pg_restore cannot combine with it. A new
 * database is dropped again on failure, so it may be restored in parallel from an archive.
 */
export function restoreArgs(opts: PostgresRestoreOptions, conn: SourceConnection, archive?: string): { tool: 'pg_restore' | 'psql'; args: string[] } {
  if (opts.format === 'plain') {
    return { tool: 'psql', args: ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--single-transaction', `--dbname=${conn.url}`, '--file=-'] };
  }
  const args = [`--dbname=${conn.url}`, '--exit-on-error', '--no-owner'];
  if (opts.noPrivileges) args.push('--no-privileges');
  if (opts.mode === 'existing') args.push('--clean', '--if-exists');
  for (const s of opts.schemas ?? []) args.push(`--schema=${s}`);
  for (const t of opts.tables ?? []) args.push(`--table=${t}`);
  if (archive && opts.mode === 'new') args.push(`--jobs=${parallelJobs(opts)}`);
  else args.push('--single-transaction');
  if (archive) args.push(archive);
  return { tool: 'pg_restore', args };
}

/** pg_restore --jobs for a restore from an archive on disk: as asked, else 2 for the directory format. */
function parallelJobs(opts: PostgresRestoreOptions): number {
  return Math.max(1, opts.jobs ?? (opts.format === 'directory' ? 2 : 1));
}

/**
 * A custom-format dump restores in parallel only from a seekable file: with jobs > 1 (into a new
 * database) the decoded stream is written to a private temp file first, at the cost of disk space
 * the size of the dump.
 */
function spoolsCustomDump(opts: PostgresRestoreOptions): boolean {
  return opts.format === 'custom' && opts.mode === 'new' && (opts.jobs ?? 1) > 1;
}

/**
 * Feeds `input` (the decoded dump) into the target. Rejects with a typed BackupError; in 'new'
 * mode the created database is dropped again on any failure, cancellation included.
 */
export async function restorePostgres(input: Readable, opts: PostgresRestoreOptions, signal: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  if (opts.format === 'plain' && (opts.schemas?.length || opts.tables?.length)) {
    throw new BackupError('VALIDATION_FAILED', 'a plain SQL dump cannot be restored selectively: restore it whole');
  }
  const conn = opts.pinned ?? (await openTarget(opts.targetUrl, { trusted: opts.trusted }));
  if (opts.mode === 'new') await createTargetDatabase(conn);
  let tmp: string | undefined;
  try {
    let archive: string | undefined;
    if (opts.format === 'directory' || spoolsCustomDump(opts)) {
      // mkdtemp makes the directory 0700: the decoded dump inside is readable by this user only.
      tmp = await mkdtemp(path.join(opts.tempDir ?? tmpdir(), 'keepsake-restore-'));
      archive = path.join(tmp, 'dump');
      if (opts.format === 'directory') await extractTar(input, archive, { signal });
      else await pipeline(input, createWriteStream(archive, { mode: 0o600, flags: 'wx' }), { signal });
    }
    const { tool, args } = restoreArgs(opts, conn, archive);
    const proc = spawnTool(tool, args, {
      binDir: opts.pgBinDir,
      env: libpqEnv(conn),
      signal,
      stdout: 'ignore',
      stdin: archive ? 'ignore' : 'pipe',
      redact: (text) => redact(text, conn.password),
    });
    if (proc.stdin) {
      // If the tool dies early its exit error is the one to report, not the broken pipe.
      const feeding = pipeline(input, proc.stdin, { signal }).catch((err: unknown) => err);
      await proc.exit;
      const feedError = await feeding;
      // A selective pg_restore stops reading once it has what it selected: its successful exit
      // makes the broken pipe harmless (the artifact was verified end to end before).
      const brokenPipe = (feedError as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' || (feedError as Error | undefined)?.message?.includes('EPIPE');
      if (feedError && !signal.aborted && !brokenPipe) throw feedError;
      if (brokenPipe) input.destroy();
    } else {
      await proc.exit;
    }
    throwIfAborted(signal);
  } catch (err) {
    if (opts.mode === 'new') await dropTargetDatabase(conn).catch(() => undefined);
    throw signal.aborted ? cancelledFrom(signal) : err;
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

/** Exact row counts of the given "schema.table" names in the target, for comparison with the dump's. */
export async function targetRowCounts(target: TargetRef, tables: string[], opts: TargetOptions = {}): Promise<Record<string, number | null>> {
  const client = await connectSource(await targetOf(target, opts));
  const out: Record<string, number | null> = {};
  try {
    for (const qualified of tables) {
      const dot = qualified.indexOf('.');
      const [schema, name] = [qualified.slice(0, dot), qualified.slice(dot + 1)];
      try {
        const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${ident(schema)}.${ident(name)}`);
        out[qualified] = Number(rows[0]!.n);
      } catch {
        out[qualified] = null; // missing table
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  return out;
}
