import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDestination } from '../../src/backup/destinations/local';
import { CancelledError, IntegrityError, KeyMismatchError, SizeLimitExceededError } from '../../src/backup/errors';
import type { Compression } from '../../src/backup/pipeline/compression';
import { createDecryptStream } from '../../src/backup/pipeline/decrypt';
import { createEncryptStream } from '../../src/backup/pipeline/encrypt';
import { FRAME_PREFIX_BYTES, TAG_BYTES, type DataKey } from '../../src/backup/pipeline/encryption-format';
import { runBackupPipeline } from '../../src/backup/pipeline/run-backup';
import { openRestoreStream, verifyArtifact } from '../../src/backup/pipeline/restore';
import { chunked, collect, mixedPayload, sha256, tempDir } from '../support/backups';

const MIB = 1024 * 1024;
const dataKey: DataKey = { id: 'org-1/dk-1', key: randomBytes(32) };
let tmp: Awaited<ReturnType<typeof tempDir>>;
let payload: Buffer;

beforeAll(async () => {
  tmp = await tempDir('pipeline');
  payload = mixedPayload(6 * MIB);
});
afterAll(() => tmp.cleanup());

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

describe('runBackupPipeline round trip', () => {
  const cases: Array<[Compression, boolean]> = [
    ['ZSTD', true], ['ZSTD', false], ['GZIP', true], ['GZIP', false], ['NONE', true], ['NONE', false],
  ];
  it.each(cases)('%s, encrypted=%s: two destinations, checksums, decode', async (compression, encrypted) => {
    const a = new LocalDestination({ root: path.join(tmp.dir, `rt-${compression}-${encrypted}-a`) });
    const b = new LocalDestination({ root: path.join(tmp.dir, `rt-${compression}-${encrypted}-b`) });
    const progress: number[] = [];
    const result = await runBackupPipeline({
      input: chunked(payload),
      compression,
      key: encrypted ? dataKey : undefined,
      destinations: [{ driver: a, key: 'org/p1.bin' }, { driver: b, key: 'nested/dir/p1.bin' }],
      onProgress: (p) => progress.push(p.bytesDone),
      progressIntervalMs: 0,
    });
    expect(result.rawBytes).toBe(payload.length);
    expect(result.rawSha256).toBe(sha256(payload));
    const storedA = await readFile(a.resolve('org/p1.bin'));
    const storedB = await readFile(b.resolve('nested/dir/p1.bin'));
    expect(storedA.length).toBe(result.storedBytes);
    expect(sha256(storedA)).toBe(result.sha256);
    expect(storedB.equals(storedA)).toBe(true);
    if (compression !== 'NONE') expect(result.storedBytes).toBeLessThan(payload.length);
    if (!encrypted && compression === 'NONE') expect(storedA.equals(payload)).toBe(true);
    expect(progress.at(-1)).toBe(payload.length);

    const restored = await collect(
      await openRestoreStream({ driver: a, key: 'org/p1.bin', expectedSha256: result.sha256, compression, dataKey: encrypted ? dataKey : undefined }),
    );
    expect(restored.equals(payload)).toBe(true);
  });
});

describe('tamper detection', () => {
  let dest: LocalDestination;
  let sha: string;
  let original: Buffer;
  const key = 'artifact.zst.enc';

  beforeAll(async () => {
    dest = new LocalDestination({ root: path.join(tmp.dir, 'tamper') });
    ({ sha256: sha } = await runBackupPipeline({
      input: chunked(payload), compression: 'ZSTD', key: dataKey, destinations: [{ driver: dest, key }],
    }));
    original = await readFile(dest.resolve(key));
  });

  async function withArtifact(bytes: Buffer, fn: () => Promise<void>) {
    await writeFile(dest.resolve(key), bytes);
    try {
      await fn();
    } finally {
      await writeFile(dest.resolve(key), original);
    }
  }
  const decode = (dk: DataKey = dataKey) =>
    openRestoreStream({ driver: dest, key, expectedSha256: sha, compression: 'ZSTD', dataKey: dk, verify: false }).then(collect);
  const decrypt = (bytes: Buffer, dk: DataKey = dataKey) => collect(Readable.from([bytes]).pipe(createDecryptStream(dk)));
  const headerBytes = 11 + Buffer.byteLength(dataKey.id) + 12;
  const frameBytes = FRAME_PREFIX_BYTES + MIB + TAG_BYTES;

  it('a flipped byte is refused by verifyArtifact and by the decoder', async () => {
    const bad = Buffer.from(original);
    bad[Math.floor(bad.length / 2)]! ^= 0x01;
    await withArtifact(bad, async () => {
      await expect(verifyArtifact(dest, key, sha)).rejects.toBeInstanceOf(IntegrityError);
      await expect(openRestoreStream({ driver: dest, key, expectedSha256: sha, compression: 'ZSTD', dataKey })).rejects.toBeInstanceOf(IntegrityError);
      await expect(decode()).rejects.toBeInstanceOf(IntegrityError);
    });
    await expect(decrypt(bad)).rejects.toThrow(/failed authentication/);
  });

  it('a truncated artifact is refused, also when cut exactly at a chunk boundary', async () => {
    expect(original.length).toBeGreaterThan(headerBytes + 2 * frameBytes);
    for (const cut of [headerBytes + frameBytes, original.length - 1, 5]) {
      const short = original.subarray(0, cut);
      await withArtifact(short, async () => {
        await expect(verifyArtifact(dest, key, sha)).rejects.toBeInstanceOf(IntegrityError);
      });
      await expect(decrypt(short)).rejects.toBeInstanceOf(IntegrityError);
    }
  });

  it('reordered chunks and trailing data are refused', async () => {
    const swapped = Buffer.concat([
      original.subarray(0, headerBytes),
      original.subarray(headerBytes + frameBytes, headerBytes + 2 * frameBytes),
      original.subarray(headerBytes, headerBytes + frameBytes),
      original.subarray(headerBytes + 2 * frameBytes),
    ]);
    await expect(decrypt(swapped)).rejects.toThrow(/failed authentication/);
    await expect(decrypt(Buffer.concat([original, Buffer.from([0])]))).rejects.toThrow(/after its final chunk/);
  });

  it('a wrong key is refused: same id other bytes, or another key id', async () => {
    await expect(decode({ id: dataKey.id, key: randomBytes(32) })).rejects.toBeInstanceOf(IntegrityError);
    await expect(decode({ id: 'org-1/dk-2', key: dataKey.key })).rejects.toBeInstanceOf(KeyMismatchError);
  });

  it('encrypts empty input and exact multiples of the chunk size', async () => {
    for (const size of [0, 1, 4096, 8192]) {
      const plain = randomBytes(size);
      const sealed = await collect(Readable.from(size ? [plain] : []).pipe(createEncryptStream(dataKey, { chunkSize: 4096 })));
      expect((await decrypt(sealed)).equals(plain)).toBe(true);
    }
  });
});

describe('limits and cancellation', () => {
  it('maxBytes stops the backup with a typed error and leaves nothing behind', async () => {
    const root = path.join(tmp.dir, 'limit');
    const dest = new LocalDestination({ root });
    await expect(
      runBackupPipeline({ input: chunked(payload), compression: 'ZSTD', key: dataKey, destinations: [{ driver: dest, key: 'a/b.bin' }], maxBytes: MIB }),
    ).rejects.toBeInstanceOf(SizeLimitExceededError);
    expect(await filesUnder(root)).toEqual([]);
  });

  it('an abort mid-stream cancels every destination and leaves no file behind', async () => {
    const rootA = path.join(tmp.dir, 'abort-a');
    const rootB = path.join(tmp.dir, 'abort-b');
    const controller = new AbortController();
    let destroyed = false;
    // An endless source, like a dump of a huge database.
    const endless = new Readable({
      read() {
        this.push(randomBytes(64 * 1024));
      },
      destroy(err, cb) {
        destroyed = true;
        cb(err);
      },
    });
    const run = runBackupPipeline({
      input: endless,
      compression: 'GZIP',
      key: dataKey,
      destinations: [
        { driver: new LocalDestination({ root: rootA }), key: 'x/y.bin' },
        { driver: new LocalDestination({ root: rootB }), key: 'x/y.bin' },
      ],
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (p.bytesDone > 3 * MIB) controller.abort();
      },
      signal: controller.signal,
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(destroyed).toBe(true);
    expect(await filesUnder(rootA)).toEqual([]);
    expect(await filesUnder(rootB)).toEqual([]);
  });

  it('a failing destination fails the run and the other copy is removed', async () => {
    const good = path.join(tmp.dir, 'fail-good');
    const fileAsRoot = path.join(tmp.dir, 'not-a-dir');
    await writeFile(fileAsRoot, 'x');
    await expect(
      runBackupPipeline({
        input: chunked(payload),
        compression: 'ZSTD',
        destinations: [
          { driver: new LocalDestination({ root: good }), key: 'p.bin' },
          { driver: new LocalDestination({ root: fileAsRoot }), key: 'p.bin' },
        ],
      }),
    ).rejects.toMatchObject({ code: 'DESTINATION_ERROR' });
    expect(await filesUnder(good).catch(() => [])).toEqual([]);
  });
});
