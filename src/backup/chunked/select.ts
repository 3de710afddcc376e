// Choosing entries of a snapshot: a path (a file or a subtree) or a glob, for the catalog and
// for selective restores. Globs follow the same .gitignore-like rules as the DIRECTORY engine's
// include/exclude lists. A selection that names nothing is an error, never an empty restore.
import { globMatcher } from '../engines/directory';
import type { SnapshotEntry } from './snapshot';

export class SelectionError extends Error {
  constructor(readonly reason: 'PATH_NOT_FOUND' | 'NO_MATCH' | 'BAD_PATH', message: string) {
    super(message);
    this.name = 'SelectionError';
  }
}

/** 'a/b' from '/a/b/', or a SelectionError for '..', NUL or empty segments. */
export function normalizeSnapshotPath(p: string): string {
  const trimmed = p.replace(/^\/+|\/+$/g, '');
  if (trimmed.includes('\0') || (trimmed && trimmed.split('/').some((s) => s === '' || s === '.' || s === '..'))) {
    throw new SelectionError('BAD_PATH', `${JSON.stringify(p)} is not a plain path inside the snapshot`);
  }
  return trimmed;
}

const within = (rel: string, root: string) => root === '' || rel === root || rel.startsWith(`${root}/`);

/**
 * Entries to restore for `paths` (each a file or directory) and/or `glob`: the matches, every
 * entry under a matching directory, and the directories leading to them (so their modes and
 * times come back too). Pre-order is kept.
 */
export function selectEntries(entries: SnapshotEntry[], sel: { paths?: string[]; glob?: string }): SnapshotEntry[] {
  const roots = (sel.paths ?? []).map(normalizeSnapshotPath);
  const known = new Set(entries.map((e) => e.path));
  for (const r of roots) if (r !== '' && !known.has(r)) throw new SelectionError('PATH_NOT_FOUND', `${r} is not in this recovery point`);
  const glob = sel.glob ? globMatcher([sel.glob]) : undefined;
  const inRoots = (rel: string) => roots.length === 0 || roots.some((r) => within(rel, r));
  const matched = new Set<string>();
  const coveredDirs: string[] = [];
  for (const e of entries) {
    if (!inRoots(e.path)) continue;
    const underMatchedDir = coveredDirs.some((d) => within(e.path, d));
    if (glob && !underMatchedDir && !glob(e.path)) continue;
    matched.add(e.path);
    if (glob && e.type === 'dir') coveredDirs.push(e.path);
  }
  if (glob && matched.size === 0) throw new SelectionError('NO_MATCH', `${sel.glob} matches nothing in this recovery point`);
  for (const rel of [...matched]) {
    for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) matched.add(rel.slice(0, i));
  }
  return entries.filter((e) => matched.has(e.path));
}

/**
 * The catalog view: without a glob, the direct children of directory `dir` ('' = root); with
 * one, every entry under `dir` whose path matches it. Sorted by path.
 */
export function listEntries(entries: SnapshotEntry[], dir: string, glob?: string): SnapshotEntry[] {
  const root = normalizeSnapshotPath(dir);
  if (root !== '') {
    const self = entries.find((e) => e.path === root);
    if (!self) throw new SelectionError('PATH_NOT_FOUND', `${root} is not in this recovery point`);
    if (self.type !== 'dir') return [self];
  }
  const match = glob ? globMatcher([glob]) : undefined;
  const depth = root === '' ? 0 : root.split('/').length;
  const out = entries.filter((e) => e.path !== root && within(e.path, root) && (match ? match(e.path) : e.path.split('/').length === depth + 1));
  if (glob && out.length === 0) throw new SelectionError('NO_MATCH', `${glob} matches nothing under ${root || '/'}`);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
