// One contract for every destination driver, run for LOCAL (a temp directory) and S3 (a real
// s3rver): write, read, list, delete, a missing object, a partial write, and a driver that may not
// write. A new driver joins by adding one entry to DRIVERS.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination } from '../../src/backup/destinations/types';
import { LocalDestination } from '../../src/backup/destinations/local';
import { S3Destination } from '../../src/backup/destinations/s3';
import { DestinationError, isBackupError } from '../../src/backup/errors';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, startS3, type TestS3 } from '../support/s3';

const BUCKET = 'keepsake-contract';

interface DriverUnderTest {
  name: 'LOCAL' | 'S3';
  /** A fresh, empty driver. */
  make(): Promise<Destination>;
  /** A driver that is configured but may not write (no permission, bad credentials). */
  denied(): Promise<Destination>;
}

let tmp: string;
let s3: TestS3;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'keepsake-contract-'));
  s3 = await startS3([BUCKET]);
});

afterAll(async () => {
  await s3?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const unique = () => randomBytes(4).toString('hex');

const DRIVERS: DriverUnderTest[] = [
  {
    name: 'LOCAL',
    make: async () => new LocalDestination({ root: path.join(tmp, `local-${unique()}`) }),
    // A root below a regular file cannot be created, whoever runs the test (root ignores modes).
    denied: async () => {
      const file = path.join(tmp, `file-${unique()}`);
      await writeFile(file, 'not a directory');
      return new LocalDestination({ root: path.join(file, 'root') });
    },
  },
  {
    name: 'S3',
    make: async () =>
      new S3Destination({ bucket: BUCKET, endpoint: s3.endpoint, prefix: `contract/${unique()}`, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: S3_SECRET_ACCESS_KEY } }),
    denied: async () =>
      new S3Destination({ bucket: BUCKET, endpoint: s3.endpoint, prefix: `contract/${unique()}`, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'not-the-secret' } }),
  },
];

/** A body that yields some bytes, then fails: a source or upstream stage dying mid-write. */
function failingBody(afterBytes: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(Buffer.alloc(afterBytes, 7));
        return;
      }
      this.destroy(new Error('upstream failed mid-write'));
    },
  });
}

async function keys(d: Destination, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of d.list(prefix)) out.push(o.key);
  return out.sort();
}

describe.each(DRIVERS)('destination contract: $name', (driver) => {
  it('writes an object, reads it back byte for byte, and reports its size', async () => {
    const d = await driver.make();
    const body = `hello ${driver.name} ${'x'.repeat(10_000)}`;
    const put = await d.put('runs/one/artifact.bin', Readable.from([Buffer.from(body)]));
    expect(put.bytes).toBe(Buffer.byteLength(body));
    expect(await text(await d.get('runs/one/artifact.bin'))).toBe(body);
    expect(await d.head('runs/one/artifact.bin')).toMatchObject({ key: 'runs/one/artifact.bin', size: Buffer.byteLength(body) });
    expect(await d.exists('runs/one/artifact.bin')).toBe(true);
  });

  it('overwrites an existing key with the new content', async () => {
    const d = await driver.make();
    await d.put('k', Readable.from([Buffer.from('first')]));
    await d.put('k', Readable.from([Buffer.from('second')]));
    expect(await text(await d.get('k'))).toBe('second');
  });

  it('lists by plain prefix, nested keys included, nothing of other prefixes', async () => {
    const d = await driver.make();
    for (const k of ['a/1', 'a/2/deep', 'ab/3', 'b/4']) await d.put(k, Readable.from([Buffer.from(k)]));
    expect(await keys(d, 'a/')).toEqual(['a/1', 'a/2/deep']);
    expect(await keys(d, 'a')).toEqual(['a/1', 'a/2/deep', 'ab/3']);
    expect(await keys(d)).toEqual(['a/1', 'a/2/deep', 'ab/3', 'b/4']);
    expect(await keys(d, 'zzz/')).toEqual([]);
  });

  it('deletes an object, and deleting a missing key is not an error', async () => {
    const d = await driver.make();
    await d.put('gone/x', Readable.from([Buffer.from('x')]));
    await d.delete('gone/x');
    expect(await d.exists('gone/x')).toBe(false);
    expect(await keys(d, 'gone/')).toEqual([]);
    await expect(d.delete('gone/x')).resolves.toBeUndefined();
    await expect(d.delete('never/was')).resolves.toBeUndefined();
  });

  it('a missing object: head is null, exists is false, get fails with a typed error', async () => {
    const d = await driver.make();
    expect(await d.head('missing/object')).toBeNull();
    expect(await d.exists('missing/object')).toBe(false);
    const err = await d.get('missing/object').then(text).then(() => null, (e: unknown) => e);
    expect(isBackupError(err), String(err)).toBe(true);
  });

  it('a write whose body fails midway leaves nothing behind, not even a partial object', async () => {
    const d = await driver.make();
    await expect(d.put('partial/object', failingBody(64 * 1024))).rejects.toThrow();
    expect(await d.exists('partial/object')).toBe(false);
    expect(await keys(d)).toEqual([]);
  });

  it('an aborted write leaves nothing behind', async () => {
    const d = await driver.make();
    const ac = new AbortController();
    const body = new Readable({ read() { /* never ends */ } });
    body.push(Buffer.alloc(1024));
    const put = d.put('aborted/object', body, { signal: ac.signal });
    setImmediate(() => ac.abort(new Error('stop')));
    await expect(put).rejects.toThrow();
    expect(await keys(d)).toEqual([]);
  });

  it('refuses keys that climb out of its namespace', async () => {
    const d = await driver.make();
    for (const bad of ['../escape', 'a/../../b', '/abs']) {
      const err = await d.put(bad, Readable.from([Buffer.from('x')])).then(() => null, (e: unknown) => e);
      expect(isBackupError(err), `${bad}: ${String(err)}`).toBe(true);
    }
  });

  it('a driver that may not write fails with a DestinationError, in put and in probe', async () => {
    const d = await driver.denied();
    await expect(d.put('denied/object', Readable.from([Buffer.from('x')]))).rejects.toBeInstanceOf(DestinationError);
    await expect(d.probe()).rejects.toBeInstanceOf(DestinationError);
  });

  it('probes itself with a real round trip and leaves no probe object', async () => {
    const d = await driver.make();
    const r = await d.probe();
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(await keys(d)).toEqual([]);
  });
});

describe('LOCAL specifics', () => {
  it('stores objects private to the service user (mode 0600)', async () => {
    const d = new LocalDestination({ root: path.join(tmp, `mode-${unique()}`) });
    await d.put('m/x', Readable.from([Buffer.from('x')]));
    expect((await stat(d.resolve('m/x'))).mode & 0o777).toBe(0o600);
  });
});
