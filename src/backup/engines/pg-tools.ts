// Running the PostgreSQL client tools: finding them, checking pg_dump's version against the
// server, and a child process that can be aborted without leaving anything behind.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { cancelledFrom } from '../cancellation';
import { PgDumpTooOldError, PgToolFailedError, PgToolMissingError } from '../errors';

const STDERR_TAIL = 2048;
const KILL_GRACE_MS = 3000;

export function toolPath(tool: string, binDir: string | undefined): string {
  return binDir ? path.join(binDir, tool) : tool;
}

/** `pg_dump --version` → '15.18'. A missing binary is a PgToolMissingError. */
export async function readToolVersion(tool: string, binDir: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(toolPath(tool, binDir), ['--version'], { env, timeout: 30_000 });
    // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", "pg_dump (PostgreSQL) 17beta2"
    const m = /\)\s+(\d+(?:\.\d+)*)/.exec(stdout);
    if (!m) throw new PgToolFailedError(tool, 0, `unexpected --version output: ${stdout.slice(0, 200)}`);
    return m[1]!;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES') throw new PgToolMissingError(tool, binDir, err);
    throw err;
  }
}

/** '15.18' → 150018, '9.6.24' → 90624, '17' → 170000: the server_version_num scheme. */
export function pgVersionNum(version: string): number {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version.trim());
  if (!m) throw new RangeError(`not a PostgreSQL version: ${JSON.stringify(version)}`);
  const [major, minor, patch] = [m[1], m[2], m[3]].map((x) => Number(x ?? 0)) as [number, number, number];
  return major >= 10 ? major * 10000 + minor : major * 10000 + minor * 100 + patch;
}

/** The major release of a version number: 15 for 150018, 9.6 for 90624 (before 10, majors had two parts). */
export function pgMajor(versionNum: number): number {
  return versionNum >= 100000 ? Math.floor(versionNum / 10000) : Math.floor(versionNum / 10000) + (Math.floor(versionNum / 100) % 100) / 10;
}

/**
 * pg_dump refuses (or worse, half-understands) servers of a newer major release; minor releases
 * never matter. Checked up front so the job fails with a message naming the package to install.
 */
export function checkPgDumpVersion(pgDumpVersion: string, serverVersionNum: number, serverVersion = String(serverVersionNum)): void {
  const dumpMajor = pgMajor(pgVersionNum(pgDumpVersion));
  const serverMajor = pgMajor(serverVersionNum);
  if (dumpMajor < serverMajor) throw new PgDumpTooOldError(pgDumpVersion, serverVersion, serverMajor);
}

export interface ToolProcess {
  child: ChildProcess;
  /** The child's stdin when it was requested (restores feed pg_restore/psql through it). */
  stdin: Writable | null;
  /** The child's stdout when it was requested. */
  stdout: Readable | null;
  /** Resolves when the tool exited with 0; rejects with PgToolFailedError, PgToolMissingError or CancelledError. */
  exit: Promise<void>;
}

export interface SpawnToolOptions {
  binDir?: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  stdout: 'pipe' | 'ignore';
  stdin?: 'pipe' | 'ignore';
  /** Scrubs secrets from stderr before it becomes part of an error. */
  redact: (text: string) => string;
}

/**
 * Spawns `tool` with an argument array (never a shell). The child leads its own process group so
 * that aborting also reaches the workers of `pg_dump --jobs` (SIGTERM, then SIGKILL after a grace
 * period: a SIGKILLed leader alone would orphan its workers); `exit` settles only after the
 * process is gone and reaped (Node reaps before 'close'), so no zombie is left. A
 * consumer that destroys stdout early also ends the child, instead of leaving it blocked.
 */
export function spawnTool(tool: string, args: string[], opts: SpawnToolOptions): ToolProcess {
  const child = spawn(toolPath(tool, opts.binDir), args, { env: opts.env, stdio: [opts.stdin ?? 'ignore', opts.stdout, 'pipe'], detached: true });
  // A tool that exits before reading all of its input makes writes fail with EPIPE: its exit code
  // and stderr say why, so the write error itself is not the story.
  child.stdin?.on('error', () => undefined);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-2 * STDERR_TAIL);
  });
  let exited = false;
  let killTimer: NodeJS.Timeout | undefined;
  const kill = () => {
    if (exited || child.pid === undefined) return;
    signalGroup(child.pid, 'SIGTERM');
    killTimer ??= setTimeout(() => !exited && signalGroup(child.pid!, 'SIGKILL'), KILL_GRACE_MS);
  };
  const onAbort = () => kill();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  if (opts.signal.aborted) kill(); // aborted while we were getting here: the listener never fires
  child.stdout?.on('close', () => {
    if (!child.stdout!.readableEnded) kill();
  });

  const exit = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => {
      // Only spawn failures arrive here before 'close' (a failed kill is ignored).
      if (child.pid !== undefined) return;
      exited = true;
      const code = (err as NodeJS.ErrnoException).code;
      reject(code === 'ENOENT' || code === 'EACCES' ? new PgToolMissingError(tool, opts.binDir, err) : err);
    });
    child.once('close', (code, sig) => {
      exited = true;
      clearTimeout(killTimer);
      if (opts.signal.aborted) reject(cancelledFrom(opts.signal));
      else if (code === 0) resolve();
      else reject(new PgToolFailedError(tool, code, opts.redact(stderr.slice(-STDERR_TAIL)), sig));
    });
  }).finally(() => opts.signal.removeEventListener('abort', onAbort));
  exit.catch(() => undefined); // callers await it; never an unhandled rejection meanwhile
  return { child, stdout: child.stdout, stdin: child.stdin, exit };
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: the group is already gone.
  }
}
