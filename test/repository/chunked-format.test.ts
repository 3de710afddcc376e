// The chunked repository format on its own (no database): the chunker's properties, round trips
// of real trees through LOCAL packs, incremental runs, selections, and damage detection.
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDestination } from '../../src/backup/destinations/local';
import { walkTree } from '../../src/backup/engines/tar-tree';
import { backupTree, type TreeBackupResult } from '../../src/backup/chunked/backup';
import { Chunker, type ChunkerParams } from '../../src/backup/chunked/chunker';
import { repositoryKeys } from '../../src/backup/chunked/keys';
import { Repository } from '../../src/backup/chunked/repository';
import { restoreEntries } from '../../src/backup/chunked/restore';
import { SelectionError, listEntries, selectEntries } from '../../src/backup/chunked/select';
import { decodeSnapshot, encodeSnapshot, type Snapshot } from '../../src/backup/chunked/snapshot';
import { IntegrityError } from '../../src/backup/errors';
import { tempDir } from '../support/backups';

const SMALL: ChunkerParams = { minSize: 2 * 1024, avgSize: 8 * 1024, maxSize: 64 * 1024 };
const keys = repositoryKeys({ id: 'key-1', key: randomBytes(32) });
const never = new AbortController().signal;
let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  tmp = await tempDir('chunked');
});
afterAll(async () => tmp.cleanup());

describe('FastCDC chunker', () => {
  const chunker = new Chunker(keys.gear, SMALL);
  const cuts = (buf: Buffer) => {
    const out: number[] = [];
    for (let at = 0; at < buf.length;) {
      const n = chunker.cut(buf, at, Math.min(buf.length, at + SMALL.maxSize));
      out.push(n);
      at += n;
    }
    return out;
  };

  it('cuts within bounds around the average, deterministically', () => {
    const data = randomBytes(2 * 1024 * 1024);
    const sizes = cuts(data);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(data.length);
    expect(sizes.slice(0, -1).every((n) => n >= SMALL.minSize && n <= SMALL.maxSize)).toBe(true);
    const avg = data.length / sizes.length;
    expect(avg).toBeGreaterThan(SMALL.avgSize * 0.6);
    expect(avg).toBeLessThan(SMALL.avgSize * 1.6);
    expect(cuts(data)).toEqual(sizes);
  });

  it('an insertion in the middle changes only the chunks around it', () => {
    const data = randomBytes(1024 * 1024);
    const edited = Buffer.concat([data.subarray(0, 500_000), Buffer.from('inserted bytes'), data.subarray(500_000)]);
    const ends = (sizes: number[]) => sizes.reduce<number[]>((acc, n) => [...acc, (acc.at(-1) ?? 0) + n], []);
    const before = new Set(ends(cuts(data)).filter((e) => e < 500_000));
    const afterShifted = new Set(ends(cuts(edited)).filter((e) => e > 600_000).map((e) => e - 14));
    const beforeTail = ends(cuts(data)).filter((e) => e > 600_000);
    expect(ends(cuts(edited)).filter((e) => e < 500_000)).toEqual([...before]);
    expect(beforeTail.every((e) => afterShifted.has(e))).toBe(true);
  });

  it('a key changes where it cuts (boundaries do not fingerprint content across organizations)', () => {
    const other = new Chunker(repositoryKeys({ id: 'key-2', key: randomBytes(32) }).gear, SMALL);
    const data = randomBytes(512 * 1024);
    expect(other.cut(data, 0, SMALL.maxSize)).not.toBe(chunker.cut(data, 0, SMALL.maxSize));
  });
});

describe('backup and restore through a LOCAL repository', () => {
  let root: string;
  let repo: Repository;
  const mtime = new Date('2024-05-04T03:02:01.250Z');

  const run = async (parent: Snapshot | null, extra: Partial<Parameters<typeof backupTree>[0]> = {}): Promise<TreeBackupResult> => {
    const index = await repo.loadIndex();
    const entries = await walkTree(root, () => false);
    const r = await backupTree({
      root, entries, parent, parentId: parent ? 'parent' : null, repositories: [repo], indexes: [index], keys, chunker: SMALL,
      packSize: 256 * 1024, signal: never, meta: {}, ...extra,
    });
    // Through the sealed encoding, as it is stored.
    return { ...r, snapshot: decodeSnapshot(keys, encodeSnapshot(keys, r.snapshot)) };
  };
  const restoreInto = async (snapshot: Snapshot, dir: string, sel?: Parameters<typeof selectEntries>[1]) => {
    await mkdir(dir);
    return restoreEntries(repo, await repo.loadIndex(), sel ? selectEntries(snapshot.entries, sel) : snapshot.entries, dir);
  };
  const describeTree = async (dir: string) => {
    const out: Record<string, unknown> = {};
    for (const e of await walkTree(dir, () => false)) {
      const full = path.join(dir, e.rel);
      const st = await lstat(full);
      out[e.rel] = {
        kind: e.kind, mode: st.mode & 0o7777,
        mtime: e.kind === 'directory' ? Math.floor(st.mtimeMs) : Math.floor(st.mtimeMs),
        body: e.kind === 'file' ? (await readFile(full)).toString('base64').slice(0, 64) + (await readFile(full)).length : e.kind === 'symlink' ? await readlink(full) : null,
      };
    }
    return out;
  };

  beforeAll(async () => {
    root = path.join(tmp.dir, 'tree');
    repo = new Repository(new LocalDestination({ root: path.join(tmp.dir, 'dest') }), 'keepsake/org/repository/', keys);
    const files: Array<[string, Buffer, number]> = [
      ['photos/2024/IMG 0001.jpg', randomBytes(300_000), 0o640],
      ['photos/2024/IMG 0002.jpg', randomBytes(200_000), 0o644],
      ['photos/2024/dup.jpg', Buffer.alloc(0), 0o644],
      ['docs/contract ✓ "final".pdf', Buffer.from('x'.repeat(100_000)), 0o600],
      ['docs/notes\nwith newline.txt', Buffer.from('odd name'), 0o644],
      ['bin/run.sh', Buffer.from('#!/bin/sh\necho hi\n'), 0o755],
      ['big.bin', randomBytes(900_000), 0o644],
      ['empty.txt', Buffer.alloc(0), 0o644],
    ];
    for (const [rel, data, mode] of files) {
      await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
      await writeFile(path.join(root, rel), data);
      await chmod(path.join(root, rel), mode);
      await utimes(path.join(root, rel), mtime, mtime);
    }
    // A second copy of a photo: stored once.
    await writeFile(path.join(root, 'photos/2024/dup.jpg'), await readFile(path.join(root, 'photos/2024/IMG 0001.jpg')));
    await utimes(path.join(root, 'photos/2024/dup.jpg'), mtime, mtime);
    await mkdir(path.join(root, 'empty-dir'));
    await chmod(path.join(root, 'empty-dir'), 0o750);
    await symlink('photos/2024/IMG 0001.jpg', path.join(root, 'latest'));
    await symlink('/etc/passwd', path.join(root, 'outside'));
    for (const d of ['photos/2024', 'photos', 'docs', 'bin', 'empty-dir']) await utimes(path.join(root, d), mtime, mtime);
  });

  let first: TreeBackupResult;

  it('round-trips names, modes, mtimes, symlinks, empty dirs and contents; equal content is stored once', async () => {
    first = await run(null);
    expect(first.stats).toMatchObject({ filesNew: 8, filesChanged: 0, filesUnchanged: 0, symlinks: 2 });
    const photoChunks = first.snapshot.entries.find((e) => e.path === 'photos/2024/IMG 0001.jpg')!.chunks!;
    expect(first.snapshot.entries.find((e) => e.path === 'photos/2024/dup.jpg')!.chunks).toEqual(photoChunks);
    expect(first.stats.chunksReused).toBeGreaterThanOrEqual(photoChunks.length);
    expect(first.stats.packs).toBeGreaterThan(1);
    const out = path.join(tmp.dir, 'restore-1');
    const r = await restoreInto(first.snapshot, out);
    expect(r).toMatchObject({ files: 8, symlinks: 2 });
    expect(await describeTree(out)).toEqual(await describeTree(root));
    expect((await lstat(path.join(out, 'docs/contract ✓ "final".pdf'))).mtime.getTime()).toBe(mtime.getTime());
  });

  it('a second run with nothing changed reads no file and adds nothing', async () => {
    const second = await run(first.snapshot);
    expect(second.stats).toMatchObject({ filesNew: 0, filesChanged: 0, filesUnchanged: 8, bytesRead: 0, bytesAdded: 0, chunksNew: 0 });
    expect(second.snapshot.entries.map((e) => [e.path, e.chunks])).toEqual(first.snapshot.entries.map((e) => [e.path, e.chunks]));
  });

  it('a file changed in the middle stores only the chunks around the change', async () => {
    const file = path.join(root, 'big.bin');
    const data = await readFile(file);
    data.write('CHANGED IN THE MIDDLE', 450_000);
    await writeFile(file, data);
    const r = await run(first.snapshot);
    expect(r.stats).toMatchObject({ filesChanged: 1, filesUnchanged: 7, bytesRead: 900_000 });
    const before = first.snapshot.entries.find((e) => e.path === 'big.bin')!.chunks!;
    const after = r.snapshot.entries.find((e) => e.path === 'big.bin')!.chunks!;
    expect(r.stats.chunksNew).toBeLessThanOrEqual(2);
    expect(after.filter((c) => !before.includes(c)).length).toBe(r.stats.chunksNew);
    expect(r.stats.bytesAdded).toBeLessThan(before.length * SMALL.maxSize / 4);
    first = r;
  });

  it('a renamed directory is read again but adds no chunk', async () => {
    await rename(path.join(root, 'photos'), path.join(root, 'pictures'));
    const r = await run(first.snapshot);
    expect(r.stats).toMatchObject({ filesNew: 3, chunksNew: 0, bytesAdded: 0 });
    const out = path.join(tmp.dir, 'restore-renamed');
    await restoreInto(r.snapshot, out);
    expect(await describeTree(out)).toEqual(await describeTree(root));
    first = r;
  });

  it('restores one file, a subtree or a glob; a missing path or an empty glob is a typed error', async () => {
    const one = path.join(tmp.dir, 'restore-one');
    await restoreInto(first.snapshot, one, { paths: ['docs/contract ✓ "final".pdf'] });
    expect(await readdir(one)).toEqual(['docs']);
    expect(await readdir(path.join(one, 'docs'))).toEqual(['contract ✓ "final".pdf']);
    const globbed = path.join(tmp.dir, 'restore-glob');
    await restoreInto(first.snapshot, globbed, { glob: '*.jpg' });
    expect((await readdir(path.join(globbed, 'pictures/2024'))).sort()).toEqual(['IMG 0001.jpg', 'IMG 0002.jpg', 'dup.jpg']);
    expect(await readdir(globbed)).toEqual(['pictures']);
    expect(() => selectEntries(first.snapshot.entries, { paths: ['nope'] })).toThrow(SelectionError);
    expect(() => selectEntries(first.snapshot.entries, { glob: '*.mov' })).toThrow(/matches nothing/);
    expect(() => selectEntries(first.snapshot.entries, { paths: ['../etc'] })).toThrow(SelectionError);
    expect(listEntries(first.snapshot.entries, '').map((e) => e.path)).toEqual(['big.bin', 'bin', 'docs', 'empty-dir', 'empty.txt', 'latest', 'outside', 'pictures']);
    expect(listEntries(first.snapshot.entries, 'pictures', '*.jpg').map((e) => e.path)).toHaveLength(3);
  });

  it('a damaged pack is named and nothing is restored silently; a missing pack too', async () => {
    const index = await repo.loadIndex();
    const loc = index.get(first.snapshot.entries.find((e) => e.path === 'big.bin')!.chunks![0]!)!;
    const file = (repo.driver as LocalDestination).resolve(repo.packKey(loc.pack));
    const bytes = await readFile(file);
    bytes[loc.offset + 20]! ^= 0xff;
    await writeFile(file, bytes);
    const out = path.join(tmp.dir, 'restore-damaged');
    await expect(restoreInto(first.snapshot, out, { paths: ['big.bin'] })).rejects.toThrow(new RegExp(`pack ${loc.pack}`));
    await expect(restoreInto(first.snapshot, `${out}-2`, { paths: ['big.bin'] })).rejects.toBeInstanceOf(IntegrityError);
    await rm(file);
    await expect(restoreInto(first.snapshot, `${out}-3`, { paths: ['big.bin'] })).rejects.toThrow(new RegExp(`pack ${loc.pack} is missing`));
  });
});
