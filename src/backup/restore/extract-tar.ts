// Unpacks a tar stream (a DIRECTORY backup, or pg_dump's directory format) into a directory that
// the caller has just created and owns. An archive is untrusted input: names that are absolute,
// contain '..' or NUL are refused; files are created with O_EXCL, never through an existing path;
// symlinks are created last, so no entry can be written through a link the archive itself made.
import { chmod, lutimes, mkdir, open, symlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { reasonForFailure, throwIfAborted } from '../cancellation';
import { PathEscapeError } from '../errors';

export interface ExtractOptions {
  /** Keep only entries for which this returns true (selective restore); directories leading to kept entries are created as needed. */
  include?: (rel: string) => boolean;
  signal?: AbortSignal;
}

export interface ExtractResult {
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file contents written. */
  bytes: number;
}

/** The archive's entry for the root directory itself (tar-tree.ts writes it first). */
const isRootEntry = (name: string) => name === './' || name === '.';

/**
 * An entry's mtime: the pax record's exact time when there is one, else the ustar whole seconds.
 * Returned as seconds for utimes, which (libuv) truncates to microseconds: half a microsecond is
 * added so the double's rounding cannot push the time below the intended microsecond.
 */
export function entryTime(h: tar.Header): number | Date | undefined {
  const pax = (h.pax as Record<string, string> | undefined)?.mtime;
  const m = pax ? /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(pax) : null;
  if (!m) return h.mtime;
  const micros = Math.floor(Number((m[2] ?? '').padEnd(9, '0')) / 1000);
  return Number(m[1]) + (micros + 0.5) / 1e6;
}

/** An archive entry name as a safe relative path ('a/b'), or a PathEscapeError. */
export function safeEntryName(name: string): string {
  const trimmed = name.replace(/\/+$/, '').replace(/^\.\//, '');
  if (!trimmed || trimmed.includes('\0') || trimmed.startsWith('/') || trimmed.split('/').some((s) => s === '..' || s === '')) {
    throw new PathEscapeError(name, `archive entry ${JSON.stringify(name)} is not a plain relative path`);
  }
  return trimmed;
}

// setuid/setgid bits are not restored: a backup must not become a way to plant them.
const MODE_MASK = 0o1777;

export async function extractTar(input: Readable, targetDir: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const result: ExtractResult = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
  const links: Array<{ rel: string; target: string; mtime?: number | Date }> = [];
  const dirTimes: Array<{ full: string; mtime: number | Date; mode: number }> = [];
  let root: { mtime: number | Date; mode: number } | undefined;
  const extract = tar.extract();
  const consume = async () => {
    for await (const entry of extract) {
      throwIfAborted(opts.signal);
      const h = entry.header;
      if (h.type === 'directory' && isRootEntry(h.name)) {
        // The root's own mode and times, applied last (not an entry of the backup's count).
        root = { mtime: entryTime(h) ?? new Date(), mode: (h.mode ?? 0o755) & MODE_MASK };
        for await (const _ of entry) void _;
        continue;
      }
      const rel = safeEntryName(h.name);
      const full = path.join(targetDir, ...rel.split('/'));
      const wanted = !opts.include || opts.include(rel);
      if (!wanted) {
        for await (const _ of entry) void _; // drain: the next entry follows this one's body
        continue;
      }
      if (h.type === 'directory') {
        await mkdir(full, { recursive: true });
        dirTimes.push({ full, mtime: entryTime(h) ?? new Date(), mode: (h.mode ?? 0o755) & MODE_MASK });
        result.directories++;
      } else if (h.type === 'file' || h.type === 'contiguous-file') {
        await mkdir(path.dirname(full), { recursive: true });
        const fh = await open(full, 'wx', 0o600);
        try {
          for await (const chunk of entry) {
            await fh.write(chunk as Buffer);
            result.bytes += (chunk as Buffer).length;
          }
        } finally {
          await fh.close();
        }
        await chmod(full, (h.mode ?? 0o644) & MODE_MASK);
        const mtime = entryTime(h);
        if (mtime) await utimes(full, mtime, mtime);
        result.files++;
      } else if (h.type === 'symlink' && h.linkname) {
        links.push({ rel, target: h.linkname, mtime: entryTime(h) });
      }
      // Other types (hard links, devices, FIFOs) are not produced by our engines: skipped.
      for await (const _ of entry) void _;
    }
  };
  try {
    await Promise.all([pipeline(input, extract, { signal: opts.signal }), consume()]);
  } catch (err) {
    extract.destroy();
    throw reasonForFailure(err, opts.signal);
  }
  for (const l of links) {
    const full = path.join(targetDir, ...l.rel.split('/'));
    await mkdir(path.dirname(full), { recursive: true });
    await symlink(l.target, full);
    if (l.mtime) await lutimes(full, l.mtime, l.mtime).catch(() => undefined);
    result.symlinks++;
  }
  // Directory modes and times last: creating their contents changed both.
  for (const d of dirTimes.reverse()) {
    await chmod(d.full, d.mode);
    await utimes(d.full, d.mtime, d.mtime);
  }
  if (root) {
    await mkdir(targetDir, { recursive: true });
    await chmod(targetDir, root.mode);
    await utimes(targetDir, root.mtime, root.mtime);
  }
  return result;
}
