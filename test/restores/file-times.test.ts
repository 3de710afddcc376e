// A directory archived by the DIRECTORY engine and unpacked by extract-tar comes back with its
// times exact (to the microsecond, the finest Node's utimes can set; the archive keeps
// nanoseconds), including times in the last half-millisecond of a second that Stats.mtime would
// round up into the next second, and the root directory keeps its own mode and mtime.
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirectoryEngine } from '../../src/backup/engines/directory';
import { extractTar } from '../../src/backup/restore/extract-tar';
import { tempDir } from '../support/backups';

let tmp: Awaited<ReturnType<typeof tempDir>>;
const src = () => path.join(tmp.dir, 'src');
const out = () => path.join(tmp.dir, 'out');

// touch(1) sets nanoseconds, which Node cannot; -h sets a symlink's own time.
const touch = (p: string, at: string) => execFileSync('touch', ['-h', '-m', '-d', `@${at}`, p]);

const TIMES: Record<string, string> = {
  'late.txt': '1700000000.999700123', // the last half-millisecond: Stats.mtime says ...01.000
  'early.txt': '1700000000.000000999',
  'album/photo.raw': '1600000000.123456789',
  album: '1650000000.999999999',
  link: '1690000000.999800000',
  '.': '1710000000.999900001',
};

beforeAll(async () => {
  tmp = await tempDir('file-times');
  await mkdir(path.join(src(), 'album'), { recursive: true });
  await writeFile(path.join(src(), 'late.txt'), 'late');
  await writeFile(path.join(src(), 'early.txt'), 'early');
  await writeFile(path.join(src(), 'album', 'photo.raw'), Buffer.alloc(5000, 7));
  execFileSync('ln', ['-s', 'album/photo.raw', path.join(src(), 'link')]);
  await chmod(src(), 0o755);
  for (const [rel, at] of Object.entries(TIMES)) touch(path.join(src(), rel), at);
});

afterAll(async () => {
  await tmp?.cleanup();
});

const micros = async (p: string) => (await lstat(p, { bigint: true })).mtimeNs / 1000n;

describe('directory archive round trip', () => {
  it('keeps mtimes to the microsecond and the root directory its own mode and time', async () => {
    const run = await createDirectoryEngine({ root: src(), includeGlobs: [], excludeGlobs: [] }).start(new AbortController().signal);
    await mkdir(out(), { mode: 0o700 });
    const [result, files] = await Promise.all([extractTar(run.stream, out()), run.done]);
    expect(files.files).toBe(5);
    expect(result.files + result.directories + result.symlinks).toBe(5);
    for (const rel of Object.keys(TIMES)) {
      expect(await micros(path.join(out(), rel)), rel).toBe(await micros(path.join(src(), rel)));
    }
    expect((await lstat(out())).mode & 0o777).toBe(0o755);
  });
});
