// DIRECTORY sources: a tree of files (uploads, photos, logs) archived as one tar stream.
// The root is confined to the operator's allowed roots, so a tenant cannot archive the worker
// host's /etc; symlinks are stored as links and never followed.
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { throwIfAborted } from '../cancellation';
import { PathEscapeError, SourceAccessError, SourceNotFoundError } from '../errors';
import { packTree, walkTree, type TreeEntry } from './tar-tree';
import type { BackupEngine, EngineRun } from './types';

export interface DirectoryEngineOptions {
  root: string;
  /** Empty means everything. */
  includeGlobs: string[];
  /** Wins over includeGlobs; an excluded directory is not descended into. */
  excludeGlobs: string[];
  /** When non-empty, the real path of `root` must lie inside one of these. */
  allowedRoots?: string[];
}

/** The confined real root and the entries a backup of it covers (globs applied), in pre-order. */
export async function planDirectory(opts: DirectoryEngineOptions, signal?: AbortSignal): Promise<{ realRoot: string; entries: TreeEntry[] }> {
  const include = globMatcher(opts.includeGlobs);
  const exclude = globMatcher(opts.excludeGlobs);
  const realRoot = await resolveRoot(opts.root, opts.allowedRoots ?? []);
  const walked = await walkTree(realRoot, (rel) => exclude?.(rel) ?? false, signal);
  return { realRoot, entries: include ? selectIncluded(walked, include) : walked };
}

export function createDirectoryEngine(opts: DirectoryEngineOptions): BackupEngine {
  const plan = (signal?: AbortSignal) => planDirectory(opts, signal);

  return {
    async estimateBytes() {
      try {
        const { entries } = await plan();
        return entries.reduce((sum, e) => sum + (e.kind === 'file' ? Number(e.stat.size) : 0), 0);
      } catch {
        return null; // best effort: start() reports the real problem
      }
    },
    async start(signal: AbortSignal): Promise<EngineRun> {
      throwIfAborted(signal);
      const { realRoot, entries } = await plan(signal);
      throwIfAborted(signal);
      const packed = packTree(realRoot, entries, signal);
      const done = packed.done.then((files) => ({ format: 'tar', versions: { tar: 'ustar' }, files }));
      done.catch(() => undefined); // see packTree: never an unhandled rejection
      return { stream: packed.stream, done };
    },
  };
}

/**
 * Glob semantics follow .gitignore, which is what people writing "*.tmp" expect: a pattern
 * without '/' matches an entry's name at any depth, a pattern with '/' matches the path from the
 * root ('/build' anchors a bare name at the root), and a matching directory covers its subtree.
 * Dotfiles are matched like any other name. (picomatch's own `basename` option cannot be used:
 * it also applies to patterns that contain '/', so 'logs/*.log' would never match 'logs/a.log'.)
 */
export function globMatcher(globs: string[]): ((rel: string) => boolean) | undefined {
  if (globs.length === 0) return undefined;
  const bare = globs.filter((g) => !g.replace(/\/+$/, '').includes('/')).map((g) => g.replace(/\/+$/, ''));
  const anchored = globs.filter((g) => g.replace(/\/+$/, '').includes('/')).map((g) => g.replace(/^\/+|\/+$/g, ''));
  const byName = bare.length > 0 ? picomatch(bare, { dot: true }) : undefined;
  const byPath = anchored.length > 0 ? picomatch(anchored, { dot: true }) : undefined;
  return (rel) => (byName?.(path.posix.basename(rel)) ?? false) || (byPath?.(rel) ?? false);
}

/**
 * Entries matching an include glob, everything under a matching directory, and the directories
 * leading to them (so an extract recreates their modes and times too). `entries` is pre-order.
 */
function selectIncluded(entries: TreeEntry[], include: (rel: string) => boolean): TreeEntry[] {
  const coveredDirs = new Set<string>();
  const selected = new Set<string>();
  for (const e of entries) {
    const parent = path.posix.dirname(e.rel);
    if (!include(e.rel) && !coveredDirs.has(parent)) continue;
    selected.add(e.rel);
    if (e.kind === 'directory') coveredDirs.add(e.rel);
    for (let d = parent; d !== '.' && !selected.has(d); d = path.posix.dirname(d)) selected.add(d);
  }
  return entries.filter((e) => selected.has(e.rel));
}

/** The real path of `root`, checked against the allowed roots; typed errors for every refusal. */
export async function resolveRoot(root: string, allowedRoots: string[]): Promise<string> {
  const abs = path.resolve(root);
  const allowed = await Promise.all(
    allowedRoots.map(async (a) => [path.resolve(a), await realpath(a).catch(() => undefined)] as const),
  );
  // Refuse a path outside the allowed roots before touching it, so the answer never tells a
  // tenant whether some path on the worker host exists.
  if (allowed.length > 0 && !allowed.some((roots) => roots.some((r) => r !== undefined && isInside(abs, r)))) {
    throw new PathEscapeError(root, `${root} is outside the directories this worker may archive`);
  }
  let real: string;
  try {
    real = await realpath(abs);
    if (!(await stat(real)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new SourceNotFoundError(root, `source directory ${root} does not exist or is not a directory`);
    if (code === 'EACCES') throw new SourceAccessError(`source directory ${root} is not readable by the worker`);
    throw err;
  }
  // A symlink inside an allowed root may still point outside it: the real path decides.
  if (allowed.length > 0 && !allowed.some(([, r]) => r !== undefined && isInside(real, r))) {
    throw new PathEscapeError(root, `${root} resolves to a directory outside the directories this worker may archive`);
  }
  return real;
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}
