// Restoring a pg_dump artifact into a database. The decoded dump streams into pg_restore's stdin
// (custom, tar) or psql's (plain). Into an existing database the restore is one transaction, so a
// failed restore leaves it as it was. pg_dump's directory format is unpacked to a temp directory
// first, and a custom-format dump is spooled to a temp file when parallel jobs are asked for:
// that is what lets pg_restore run parallel jobs into a new database. A NEW database is created
// here and dropped again if the restore fails, so it either completes or leaves nothing.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { cancelledFrom, throwIfAborted } from '../cancellation';
import { BackupError, RestoreValidationError, TargetAccessError, TargetExistsError } from '../errors';
import { connectSource, libpqEnv, parseConnectionUrl, pinConnection, redact, type SourceConnection } from '../engines/pg-connection';
import { spawnTool } from '../engines/pg-tools';
import { extractTar } from './extract-tar';
import { ownersOf, parseToc, selectToc } from './toc';

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
  /** Owners and privileges: 'auto' (default) restores them when every owning role exists on the target and the login may act as it, else neither; see decideOwnership. */
  ownership?: OwnershipMode;
  /**
   * 'new' mode: a mark this restore leaves on the database it creates (its comment) until it
   * succeeds. A database carrying the same mark is this restore's own half-made target (a crashed
   * earlier attempt), which it may drop and recreate; a sweep may drop it for a lost job.
   */
  marker?: string;
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

export interface CreateTargetOptions extends TargetOptions {
  /** Left as the database's comment (see PostgresRestoreOptions.marker); a database that carries it already is dropped and made anew. */
  marker?: string;
}

async function markerOf(client: pg.Client, name: string): Promise<string | null> {
  const { rows } = await client.query<{ c: string | null }>(`SELECT pg_catalog.shobj_description(oid, 'pg_database') AS c FROM pg_catalog.pg_database WHERE datname = $1`, [name]);
  return rows[0]?.c ?? null;
}

export async function createTargetDatabase(target: TargetRef, opts: CreateTargetOptions = {}): Promise<void> {
  const conn = await targetOf(target, opts);
  const name = databaseOf(conn);
  const client = await maintenanceClient(conn);
  try {
    try {
      await client.query(`CREATE DATABASE ${ident(name)}`);
    } catch (err) {
      // Our own half-made target from an attempt that crashed before it could drop it: it holds
      // nothing anyone else made, so it is made anew instead of failing the retry.
      if ((err as { code?: string }).code !== '42P04' || !opts.marker || (await markerOf(client, name)) !== opts.marker) throw err;
      await client.query(`DROP DATABASE ${ident(name)} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${ident(name)}`);
    }
    // Between CREATE and COMMENT a crash would leave an unmarked database: milliseconds, and
    // then the retry says TARGET_EXISTS rather than drop what it cannot prove is its own.
    if (opts.marker) await client.query(`COMMENT ON DATABASE ${ident(name)} IS ${client.escapeLiteral(opts.marker)}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '42P04') throw new TargetExistsError(`database ${JSON.stringify(name)} already exists on ${conn.hint}: choose a new name, or restore into the existing database with confirmation`);
    throw new TargetAccessError(`cannot create database ${JSON.stringify(name)} on ${conn.hint}: ${redact((err as Error).message, conn.password)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Sets (or with null clears) the restore's mark on the target database. */
export async function markTargetDatabase(target: TargetRef, marker: string | null, opts: TargetOptions = {}): Promise<void> {
  const conn = await targetOf(target, opts);
  const client = await maintenanceClient(conn);
  try {
    await client.query(`COMMENT ON DATABASE ${ident(databaseOf(conn))} IS ${marker === null ? 'NULL' : client.escapeLiteral(marker)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops the target database only if it still carries `marker` (a lost restore's half-made target); true if it did. */
export async function dropMarkedDatabase(target: TargetRef, marker: string, opts: TargetOptions = {}): Promise<boolean> {
  const conn = await targetOf(target, opts);
  const name = databaseOf(conn);
  const client = await maintenanceClient(conn);
  try {
    if ((await markerOf(client, name)) !== marker) return false;
    await client.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
    return true;
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

export type OwnershipMode = 'auto' | 'restore' | 'skip';

/** What a restore did about object owners and privileges (GRANT/REVOKE), for the job's evidence. */
export interface OwnershipReport {
  /** restored: ALTER ... OWNER and the ACLs ran; skipped: neither (--no-owner --no-privileges); as-dumped: a plain SQL dump, replayed as written. */
  owners: 'restored' | 'skipped' | 'as-dumped';
  privileges: 'restored' | 'skipped' | 'as-dumped';
  /** Roles owning objects of the dump that the target lacks, or that the restoring login may not act as. */
  missingRoles?: string[];
  reason?: string;
}

export interface PostgresRestoreResult {
  /** "schema.table" of every table whose data was restored (undefined for a plain dump: all of it). */
  tables?: string[];
  ownership: OwnershipReport;
  /** Objects tied to the selection left out because they also need an unselected relation (a foreign key to it, ...). */
  leftOut: string[];
}

/**
 * pg_restore's (or psql's) arguments. `archive` is a seekable copy of the dump on disk (an
 * unpacked directory-format dump, or a spooled custom-format file); without one the dump comes on
 * stdin. Into an existing database the restore always runs as one transaction, so a failure
 * leaves it as it was; that rules out --jobs, which pg_restore cannot combine with it. A new
 * database is dropped again on failure, so it may be restored in parallel from an archive.
 * `listFile` is the --use-list selection (toc.ts); `noOwner` skips owners and privileges.
 */
export function restoreArgs(
  opts: PostgresRestoreOptions, conn: SourceConnection, archive?: string, extra: { listFile?: string; noOwner?: boolean; noPrivileges?: boolean } = {},
): { tool: 'pg_restore' | 'psql'; args: string[] } {
  if (opts.format === 'plain') {
    return { tool: 'psql', args: ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--single-transaction', `--dbname=${conn.url}`, '--file=-'] };
  }
  const args = [`--dbname=${conn.url}`, '--exit-on-error'];
  if (extra.noOwner ?? true) args.push('--no-owner');
  if (extra.noPrivileges ?? opts.noPrivileges) args.push('--no-privileges');
  if (opts.mode === 'existing') args.push('--clean', '--if-exists');
  if (extra.listFile) args.push(`--use-list=${extra.listFile}`);
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
 * The archive's table of contents read from the head of the stream: custom and tar dumps begin
 * with it, and `pg_restore --list` stops reading once it has it. What it read is kept and replayed
 * in front of the rest, so the dump still streams once, with only the head held in memory.
 */
async function peekToc(input: Readable, opts: PostgresRestoreOptions, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<{ text: string; replay: Readable }> {
  const head: Buffer[] = [];
  const proc = spawnTool('pg_restore', ['--list', '--verbose'], { binDir: opts.pgBinDir, env, signal, stdout: 'pipe', stdin: 'pipe', redact: (t) => t });
  let text = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (text += s));
  const EXITED = null;
  const exited = proc.exit.then(() => EXITED, () => EXITED);
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let pending: Promise<IteratorResult<Buffer>> | undefined;
  let ended = false;
  for (;;) {
    pending ??= it.next();
    const next = await Promise.race([pending, exited]);
    if (next === EXITED) break;
    pending = undefined;
    if (next.done) {
      ended = true;
      proc.stdin!.end();
      break;
    }
    head.push(next.value);
    if (!proc.stdin!.write(next.value)) await Promise.race([new Promise((r) => proc.stdin!.once('drain', r)), exited]);
  }
  await proc.exit;
  proc.stdin!.destroy();
  const rest = pending;
  // A chunk that was being awaited when pg_restore exited is still ours: it follows the head.
  const replay = Readable.from(
    (async function* () {
      yield* head;
      if (ended) return;
      if (rest) {
        const n = await rest;
        if (n.done) return;
        yield n.value;
      }
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value;
      }
    })(),
    { objectMode: false },
  );
  return { text, replay };
}

async function listArchive(archive: string, opts: PostgresRestoreOptions, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<string> {
  const proc = spawnTool('pg_restore', ['--list', '--verbose', archive], { binDir: opts.pgBinDir, env, signal, stdout: 'pipe', redact: (t) => t });
  let text = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (text += s));
  await proc.exit;
  return text;
}

/** Roles among `owners` the target lacks, or that the login restoring may not act as (not a member, not superuser). */
async function unusableRoles(conn: SourceConnection, owners: string[]): Promise<string[]> {
  if (owners.length === 0) return [];
  const client = await maintenanceClient(conn);
  try {
    const { rows } = await client.query<{ rolname: string }>(
      `SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.rolname = ANY($1::text[]) AND pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')`,
      [owners],
    );
    const usable = new Set(rows.map((r) => r.rolname));
    return owners.filter((o) => !usable.has(o));
  } finally {
    await client.end().catch(() => undefined);
  }
}

function decideOwnership(mode: OwnershipMode, missing: string[]): OwnershipReport {
  if (mode === 'skip') return { owners: 'skipped', privileges: 'skipped', reason: 'ownership SKIP was asked for' };
  if (mode === 'restore' || missing.length === 0) return { owners: 'restored', privileges: 'restored' };
  return {
    owners: 'skipped', privileges: 'skipped', missingRoles: missing,
    reason: `the target has no role (or the restoring login may not act as) ${missing.join(', ')}: objects belong to the restoring login and privileges were not restored; create the roles and restore with ownership RESTORE to keep them`,
  };
}

/**
 * Feeds `input` (the decoded dump) into the target. Rejects with a typed BackupError; in 'new'
 * mode the created database is dropped again on any failure, cancellation included, and a failure
 * of `check` (run against the restored target) counts as one. A selection (schemas, tables) is
 * built from the archive's table of contents (toc.ts) and restored with --use-list.
 */
export async function restorePostgres(
  input: Readable, opts: PostgresRestoreOptions, signal: AbortSignal, check?: (conn: SourceConnection, result: PostgresRestoreResult) => Promise<void>,
): Promise<PostgresRestoreResult> {
  throwIfAborted(signal);
  const selective = !!(opts.schemas?.length || opts.tables?.length);
  if (opts.format === 'plain' && selective) {
    throw new BackupError('VALIDATION_FAILED', 'a plain SQL dump cannot be restored selectively: restore it whole');
  }
  const conn = opts.pinned ?? (await openTarget(opts.targetUrl, { trusted: opts.trusted }));
  const env = libpqEnv(conn);
  if (opts.mode === 'new') await createTargetDatabase(conn, { marker: opts.marker });
  let tmp: string | undefined;
  const tempDir = async () => (tmp ??= await mkdtemp(path.join(opts.tempDir ?? tmpdir(), 'keepsake-restore-')));
  try {
    let archive: string | undefined;
    let source = input;
    if (opts.format === 'directory' || spoolsCustomDump(opts)) {
      // mkdtemp makes the directory 0700: the decoded dump inside is readable by this user only.
      archive = path.join(await tempDir(), 'dump');
      if (opts.format === 'directory') await extractTar(input, archive, { signal });
      else await pipeline(input, createWriteStream(archive, { mode: 0o600, flags: 'wx' }), { signal });
    }
    let result: PostgresRestoreResult = { ownership: { owners: 'as-dumped', privileges: 'as-dumped' }, leftOut: [] };
    let listFile: string | undefined;
    if (opts.format !== 'plain') {
      let tocText: string;
      if (archive) tocText = await listArchive(archive, opts, env, signal);
      else ({ text: tocText, replay: source } = await peekToc(input, opts, env, signal));
      const toc = parseToc(tocText);
      let entries = toc;
      if (selective) {
        const sel = selectToc(toc, { schemas: opts.schemas, tables: opts.tables, mode: opts.mode });
        if (sel.unknown.length) throw new RestoreValidationError(`not in the backup: ${sel.unknown.join(', ')}`);
        if (sel.unmet.length) throw new RestoreValidationError(`cannot be restored without relations that are not selected: ${sel.unmet.join('; ')}`);
        listFile = path.join(await tempDir(), 'selection.list');
        await writeFile(listFile, sel.list, { mode: 0o600 });
        entries = sel.entries;
        result = { ...result, tables: sel.tables, leftOut: sel.leftOut };
      } else {
        result.tables = toc.filter((e) => e.desc === 'TABLE DATA' && e.schema !== null).map((e) => `${e.schema}.${e.name}`);
      }
      const mode = opts.ownership ?? (opts.noPrivileges ? 'skip' : 'auto');
      result.ownership = decideOwnership(mode, mode === 'auto' ? await unusableRoles(conn, ownersOf(entries)) : []);
    }
    const skip = result.ownership.owners === 'skipped';
    const { tool, args } = restoreArgs(opts, conn, archive, { listFile, noOwner: skip, noPrivileges: skip || opts.noPrivileges });
    const proc = spawnTool(tool, args, {
      binDir: opts.pgBinDir,
      env,
      signal,
      stdout: 'ignore',
      stdin: archive ? 'ignore' : 'pipe',
      redact: (text) => redact(text, conn.password),
    });
    if (proc.stdin) {
      // If the tool dies early its exit error is the one to report, not the broken pipe.
      const feeding = pipeline(source, proc.stdin, { signal }).catch((err: unknown) => err);
      await proc.exit;
      const feedError = await feeding;
      // A selective pg_restore stops reading once it has what it selected: its successful exit
      // makes the broken pipe harmless (the artifact was verified end to end before).
      const brokenPipe = (feedError as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' || (feedError as Error | undefined)?.message?.includes('EPIPE');
      if (feedError && !signal.aborted && !brokenPipe) throw feedError;
      if (brokenPipe) {
        source.destroy();
        input.destroy();
      }
    } else {
      await proc.exit;
    }
    throwIfAborted(signal);
    if (check) await check(conn, result);
    throwIfAborted(signal);
    if (opts.mode === 'new' && opts.marker) await markTargetDatabase(conn, null);
    return result;
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
