// One chunked backup or restore in its own process, so the parent measures its wall time and
// peak RSS (/usr/bin/time) exactly like restic's. Uses the format layer directly (no database).
//   tsx bench/chunked-child.ts backup  <repoDir> <tree> <snapshotFile>   (reads snapshotFile as parent if present)
//   tsx bench/chunked-child.ts restore <repoDir> <snapshotFile> <target>
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { backupTree } from '../src/backup/chunked/backup';
import { repositoryKeys } from '../src/backup/chunked/keys';
import { Repository } from '../src/backup/chunked/repository';
import { restoreEntries } from '../src/backup/chunked/restore';
import { decodeSnapshot, encodeSnapshot } from '../src/backup/chunked/snapshot';
import { LocalDestination } from '../src/backup/destinations/local';
import { walkTree } from '../src/backup/engines/tar-tree';

const [mode, repoDir, a, b] = process.argv.slice(2) as [string, string, string, string];
const keys = repositoryKeys({ id: 'bench', key: Buffer.alloc(32, 7) });
const repo = new Repository(new LocalDestination({ root: repoDir }), 'repository/', keys);
const signal = new AbortController().signal;

if (mode === 'backup') {
  const parent = existsSync(b) ? decodeSnapshot(keys, await readFile(b)) : null;
  const index = await repo.loadIndex();
  const entries = await walkTree(a, () => false);
  const r = await backupTree({ root: a, entries, parent, parentId: parent ? 'parent' : null, repositories: [repo], indexes: [index], keys, signal, meta: {} });
  const snap = encodeSnapshot(keys, r.snapshot);
  await writeFile(b, snap);
  console.log(JSON.stringify({ ...r.stats, snapshotBytes: snap.length }));
} else {
  const snapshot = decodeSnapshot(keys, await readFile(a));
  await mkdir(b, { recursive: true });
  const r = await restoreEntries(repo, await repo.loadIndex(), snapshot.entries, b, { signal });
  console.log(JSON.stringify(r));
}
