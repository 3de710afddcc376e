// Walks a directory tree without following symlinks and streams it as a ustar archive with pax
// records for exact (nanosecond) mtimes (tar-stream); the root itself is the first entry, './'. Shared by the DIRECTORY engine and pg_dump's directory format.
import { constants, type BigIntStats } from 'node:fs';
import { lstat, open, readdir, readlink, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import tar from 'tar-stream';
import { reasonForFailure, throwIfAborted } from '../cancellation';
import { PathEscapeError, SourceAccessError, SourceChangedError } from '../errors';

export interface TreeEntry {
  /** Path relative to the root, '/'-separated, no leading './'. */
  rel: string;
  kind: 'file' | 'directory' | 'symlink';
  /** BigInt stats: the nanoseconds of mtime survive (Stats.mtime is rounded to milliseconds). */
  stat: BigIntStats;
}

export interface PackedTree {
  /** The tar bytes (a Node stream; tar-stream's own streams are streamx). */
  stream: Readable;
  /** Resolves with the number of entries archived once the stream has ended. */
  done: Promise<number>;
}

const CHUNK = 128 * 1024;

type EntryHeader = Partial<tar.Header> & { name: string };
/** One entry's body: a streamx Writable, not a Node one (different events and end()). */
type Sink = ReturnType<tar.Pack['entry']>;

/**
 * Every entry under `root` in a deterministic order (pre-order, names sorted), skipping what
 * `skip` rejects (a skipped directory is not descended into). Symlinks are listed, never followed.
 * Sockets, FIFOs and devices are left out: reading a FIFO would block forever and devices are
 * not data. Entries that vanish between readdir and lstat are simply not part of the backup.
 */
export async function walkTree(root: string, skip: (rel: string) => boolean, signal?: AbortSignal): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const visit = async (dirRel: string): Promise<void> => {
    throwIfAborted(signal);
    const names = await fsCall(dirRel || '.', () => readdir(path.join(root, dirRel)));
    for (const name of (names ?? []).sort()) {
      const rel = dirRel ? `${dirRel}/${name}` : name;
      if (skip(rel)) continue;
      const stat = await fsCall(rel, () => lstat(path.join(root, rel), { bigint: true }));
      if (!stat) continue;
      if (stat.isDirectory()) {
        out.push({ rel, kind: 'directory', stat });
        await visit(rel);
      } else if (stat.isFile()) out.push({ rel, kind: 'file', stat });
      else if (stat.isSymbolicLink()) out.push({ rel, kind: 'symlink', stat });
    }
  };
  await visit('');
  return out;
}

/**
 * Streams `entries` (from walkTree on `realRoot`, which must be a real path) as a tar archive.
 * Aborting `signal` destroys the stream and makes `done` reject with CancelledError; any failure
 * destroys the stream with the typed error, so a consumer never sees a clean end of a partial tar.
 */
export function packTree(realRoot: string, entries: TreeEntry[], signal: AbortSignal): PackedTree {
  const pack = tar.pack();
  // objectMode: false, or Readable.from would hand out each Buffer as an object.
  const stream = Readable.from(pack, { objectMode: false });
  // Errors reach the consumer's pipeline and `done`; without a listener of our own, a consumer
  // that already went away would turn the 'error' event into an uncaught exception.
  stream.on('error', () => undefined);
  const onAbort = () => stream.destroy(reasonForFailure(undefined, signal) as Error);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  const done = (async () => {
    try {
      let count = 0;
      // The root first, as './': a restore gives the directory itself its mode and times back.
      const rootStat = await fsCall('.', () => lstat(realRoot, { bigint: true }));
      if (rootStat) await voidEntry(pack, { ...timesOf(rootStat), name: './', type: 'directory' });
      for (const entry of entries) {
        throwIfAborted(signal);
        if (await addEntry(pack, realRoot, entry)) count++;
      }
      pack.finalize();
      await finished(stream);
      return count;
    } catch (err) {
      const reason = reasonForFailure(err, signal);
      // Reaches the consumer through Readable.from as the same typed error.
      pack.destroy(reason as Error);
      throw reason;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  })();
  // Callers await `done`, but a caller that bails out early must not crash the worker with an
  // unhandled rejection.
  done.catch(() => undefined);
  return { stream, done };
}

/**
 * Mode, owner and times of an entry's header. ustar holds whole seconds (truncated, never rounded
 * up); the exact time goes in a pax `mtime` record with nanoseconds, which extract-tar.ts reads.
 * The full st_mode is passed: tar-stream masks it to 0o7777 but replaces a falsy mode (a file
 * with permissions 000) by its 0o644 default.
 */
function timesOf(st: BigIntStats): Pick<tar.Header, 'mode' | 'mtime' | 'uid' | 'gid' | 'pax'> {
  const sec = st.mtimeNs / 1_000_000_000n;
  const ns = st.mtimeNs % 1_000_000_000n;
  return {
    mode: Number(st.mode), mtime: new Date(Number(sec) * 1000), uid: Number(st.uid), gid: Number(st.gid),
    pax: { mtime: `${sec}.${ns.toString().padStart(9, '0')}` },
  };
}

/** Adds one entry; false when it vanished before it could be read (it is then left out). */
async function addEntry(pack: tar.Pack, realRoot: string, entry: TreeEntry): Promise<boolean> {
  const full = path.join(realRoot, entry.rel);
  const base = timesOf(entry.stat);
  if (entry.kind === 'directory') {
    // tar-stream does not append the '/' that marks directory names, so do it here.
    await voidEntry(pack, { ...base, name: `${entry.rel}/`, type: 'directory' });
    return true;
  }
  if (entry.kind === 'symlink') {
    const linkname = await fsCall(entry.rel, () => readlink(full));
    if (linkname === undefined) return false;
    await voidEntry(pack, { ...base, name: entry.rel, type: 'symlink', linkname });
    return true;
  }
  // O_NOFOLLOW: a file swapped for a symlink since the walk is refused, not followed.
  // O_NONBLOCK: a file swapped for a FIFO must not block open() forever.
  const fh = await fsCall(entry.rel, () => open(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK));
  if (!fh) return false;
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile() || st.ino !== entry.stat.ino || st.dev !== entry.stat.dev) {
      throw new SourceChangedError(entry.rel, `${entry.rel} was replaced while the directory was being archived`);
    }
    await assertOpenedInside(fh, full);
    await copyFile(pack, fh, Number(st.size), { ...timesOf(st), name: entry.rel, type: 'file', size: Number(st.size) });
    return true;
  } finally {
    await fh.close();
  }
}

/**
 * Reads exactly the size stat'ed at open time (that is what the tar header promises). A file that
 * grows meanwhile (an active log) is archived up to that size, which is a consistent prefix; a
 * file that shrinks cannot fill its header honestly, so the run fails with SourceChangedError.
 * fh.read in a loop rather than createReadStream: the bytes come from the very descriptor that was
 * checked above, and there is no second stream lifecycle to tear down on failure.
 */
async function copyFile(pack: tar.Pack, fh: FileHandle, size: number, header: EntryHeader): Promise<void> {
  const rel = header.name;
  const { sink, finished: entryDone } = fileEntry(pack, header);
  let pos = 0;
  while (pos < size) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) {
      throw new SourceChangedError(rel, `${rel} shrank from ${size} to ${pos} bytes while it was being archived`);
    }
    await write(sink, bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  sink.end(undefined); // streamx's typings insist on an argument
  await entryDone;
}

/**
 * The walk checked each path with lstat, but a tenant could swap a parent directory for a symlink
 * before the open. The descriptor's real path (Linux: /proc/self/fd) must still be the expected one.
 */
async function assertOpenedInside(fh: FileHandle, expected: string): Promise<void> {
  const actual = await readlink(`/proc/self/fd/${fh.fd}`)
    .then((p) => p.replace(/ \(deleted\)$/, ''))
    .catch(() => realpath(expected));
  if (actual !== expected) throw new PathEscapeError(expected, `${expected} resolves to ${actual}, outside the archived directory`);
}

function voidEntry(pack: tar.Pack, header: EntryHeader): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    sink.on('error', () => undefined); // reported through the callback
  });
}

function fileEntry(pack: tar.Pack, header: EntryHeader): { sink: Sink; finished: Promise<void> } {
  let sink!: Sink;
  const entryFinished = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  entryFinished.catch(() => undefined); // a failed write reports the same error first
  // tar-stream re-emits the pack's destroy error on the current entry; without a listener that
  // 'error' event would crash the process.
  sink.on('error', () => undefined);
  return { sink, finished: entryFinished };
}

/** Writes with backpressure; rejects if the archive is torn down while waiting for 'drain'. */
function write(sink: Sink, chunk: Buffer): Promise<void> {
  if (sink.destroyed) return Promise.reject(new Error('tar stream closed'));
  if (sink.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      sink.off('drain', onDrain).off('close', onClose).off('error', settle);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(new Error('tar stream closed'));
    sink.on('drain', onDrain).on('close', onClose).on('error', settle);
  });
}

/** Runs an fs call; undefined if the path vanished, SourceAccessError if permission is denied. */
async function fsCall<T>(rel: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EACCES' || code === 'EPERM') throw new SourceAccessError(`cannot read ${rel}: permission denied`);
    if (code === 'ELOOP' || code === 'ENOTDIR') throw new SourceChangedError(rel, `${rel} was replaced while being archived`);
    throw err;
  }
}
