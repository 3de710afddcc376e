// A destination that is a directory on this machine (or a mounted volume). Writes are atomic
// and durable: temp file in the same directory → fsync → rename → fsync of the directory, so a
// crash leaves either the old state or the complete object, plus at worst a temp file that
// sweepPartials() removes.
import { randomBytes } from 'node:crypto';
import { mkdir, open, opendir, realpath, rename, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { addAbortSignal, type Readable } from 'node:stream';
import { reasonForFailure } from '../cancellation';
import { BackupError, DestinationError, PathEscapeError } from '../errors';
import { ByteCounter } from '../pipeline/byte-counter';
import { keySegments, validatePrefix } from './object-key';
import { probeDestination } from './probe';
import type { Destination, ObjectInfo, ProbeResult, PutOptions, PutResult } from './types';

/** Suffix of in-progress writes; list() hides them and sweepPartials() removes stale ones. */
export const PARTIAL_SUFFIX = '.ks-partial';

/** A temp file of an unfinished write (see put()). */
export interface PartialWrite {
  path: string;
  /** The object key the write was to produce. */
  key: string;
  modifiedAt: Date;
}

export interface LocalDestinationOptions {
  /** Absolute (or cwd-relative) directory every key lives under. Created if missing. */
  root: string;
  /** File mode of stored objects; backups are private by default. */
  fileMode?: number;
}

export class LocalDestination implements Destination {
  readonly kind = 'LOCAL' as const;
  readonly root: string;
  private readonly fileMode: number;

  constructor(opts: LocalDestinationOptions) {
    this.root = path.resolve(opts.root);
    this.fileMode = opts.fileMode ?? 0o600;
  }

  /** Absolute path of `key`; throws PathEscapeError for keys that are not plain relative paths. */
  resolve(key: string): string {
    const full = path.join(this.root, ...keySegments(key));
    const rel = path.relative(this.root, full);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new PathEscapeError(key);
    return full;
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const target = this.resolve(key);
    const dir = path.dirname(target);
    const temp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`);
    let created = false;
    try {
      await mkdir(dir, { recursive: true });
      await this.assertRealInside(dir, key);
      const fh = await open(temp, 'wx', this.fileMode);
      created = true;
      const counter = new ByteCounter();
      // The stream owns the handle: `flush` fsyncs before it closes, and a failed or aborted
      // pipeline destroys the stream, which closes the handle too. (Closing a FileHandle that a
      // non-autoClose stream still references waits forever on Node 24.)
      await pipeline(body, counter, fh.createWriteStream({ flush: true }), { signal: opts.signal });
      await rename(temp, target);
      created = false;
      await fsyncDirectory(dir);
      return { key, bytes: counter.bytes };
    } catch (err) {
      if (created) await unlink(temp).catch(() => undefined);
      throw this.wrap('put', key, reasonForFailure(err, opts.signal));
    }
  }

  async get(key: string, opts: { signal?: AbortSignal } = {}): Promise<Readable> {
    const file = this.resolve(key);
    try {
      const fh = await open(file, 'r');
      const stream = fh.createReadStream();
      return opts.signal ? addAbortSignal(opts.signal, stream) : stream;
    } catch (err) {
      throw this.wrap('get', key, err);
    }
  }

  async getRange(key: string, offset: number, length: number, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const file = this.resolve(key);
    try {
      if (opts.signal?.aborted) throw reasonForFailure(new Error('aborted'), opts.signal);
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done === length ? buf : buf.subarray(0, done);
      } finally {
        await fh.close();
      }
    } catch (err) {
      throw this.wrap('get', key, err);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const file = this.resolve(key);
    try {
      const st = await stat(file);
      return st.isFile() ? { key, size: st.size, modifiedAt: st.mtime } : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw this.wrap('head', key, err);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== null;
  }

  async delete(key: string): Promise<void> {
    const file = this.resolve(key);
    try {
      await unlink(file);
    } catch (err) {
      if (!isNotFound(err)) throw this.wrap('delete', key, err);
      return;
    }
    await fsyncDirectory(path.dirname(file)).catch(() => undefined);
    await this.pruneEmptyParents(path.dirname(file));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    // Walk only the directory the prefix names; its last partial segment filters names.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    yield* this.walk(base ? path.join(this.root, ...base.split('/')) : this.root, base, prefix);
  }

  probe(): Promise<ProbeResult> {
    return probeDestination(this);
  }

  /** Removes temp files of writes that crashed more than `olderThanMs` ago; returns their paths. */
  async sweepPartials(olderThanMs: number): Promise<string[]> {
    const removed: string[] = [];
    const cutoff = Date.now() - olderThanMs;
    for await (const p of this.listPartials()) {
      if (p.modifiedAt.getTime() > cutoff) continue;
      await this.removePartial(p);
      removed.push(p.path);
    }
    return removed;
  }

  /**
   * Temp files of unfinished writes whose key starts with `prefix`, each with the key it was to
   * become, so a caller that knows the writer is gone (the job is no longer running) can remove it
   * whatever its age.
   */
  async *listPartials(prefix = ''): AsyncGenerator<PartialWrite> {
    if (prefix) validatePrefix(prefix);
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const visit = async function* (dir: string, relDir: string): AsyncGenerator<PartialWrite> {
      let handle;
      try {
        handle = await opendir(dir);
      } catch (err) {
        if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      const entries = [];
      for await (const entry of handle) entries.push(entry);
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) yield* visit(full, relDir ? `${relDir}/${entry.name}` : entry.name);
        else if (entry.isFile() && entry.name.endsWith(PARTIAL_SUFFIX)) {
          // `.<name>.<12 hex><suffix>`, as put() names it.
          const name = entry.name.slice(1, -PARTIAL_SUFFIX.length).replace(/\.[0-9a-f]{12}$/, '');
          const key = relDir ? `${relDir}/${name}` : name;
          if (!key.startsWith(prefix)) continue;
          const st = await stat(full).catch(() => undefined);
          if (st) yield { path: full, key, modifiedAt: st.mtime };
        }
      }
    };
    yield* visit(base ? path.join(this.root, ...base.split('/')) : this.root, base);
  }

  async removePartial(p: PartialWrite): Promise<void> {
    await unlink(p.path).catch((err: unknown) => {
      if (!isNotFound(err)) throw this.wrap('delete', p.key, err);
    });
    await this.pruneEmptyParents(path.dirname(p.path));
  }

  private async *walk(dir: string, relDir: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let names: string[];
    try {
      const handle = await opendir(dir);
      names = [];
      for await (const e of handle) names.push(e.name);
    } catch (err) {
      if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw this.wrap('list', prefix, err);
    }
    names.sort();
    for (const name of names) {
      if (name.endsWith(PARTIAL_SUFFIX)) continue;
      const key = relDir ? `${relDir}/${name}` : name;
      // Descend into directories that could still contain matching keys.
      if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
      const full = path.join(dir, name);
      const st = await stat(full).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) yield* this.walk(full, key, prefix);
      else if (st.isFile() && key.startsWith(prefix)) yield { key, size: st.size, modifiedAt: st.mtime };
    }
  }

  /** A symlinked directory inside the root must not lead writes outside of it. */
  private async assertRealInside(dir: string, key: string): Promise<void> {
    const [realRoot, realDir] = await Promise.all([realpath(this.root), realpath(dir)]);
    const rel = path.relative(realRoot, realDir);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new PathEscapeError(key, `object key ${JSON.stringify(key)} resolves outside the destination root through a symlink`);
  }

  private async pruneEmptyParents(dir: string): Promise<void> {
    // Keep the tree tidy after retention deletes; stop at the first non-empty directory.
    while (dir !== this.root && dir.startsWith(this.root + path.sep)) {
      try {
        await rmdir(dir);
      } catch {
        return;
      }
      dir = path.dirname(dir);
    }
  }

  private wrap(operation: string, key: string, err: unknown): Error {
    return err instanceof BackupError ? err : new DestinationError(`local ${operation}`, key, err);
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
