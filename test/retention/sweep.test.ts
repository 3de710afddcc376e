// The retention sweep on real recovery points (real backups by the real workers to a LOCAL directory
// and a real S3 server): it deletes exactly what the plan lets go, copies and manifests at every
// destination, audits each point and gives the bytes back; a destination that is down keeps the
// point marked until a later sweep finishes the job.
import { createRequire } from 'node:module';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgPrefix } from '../../src/backup/manifest';
import { withSystem } from '../../src/db/context';
import { driverFor } from '../../src/domain/destinations/driver';
import { sweepRetention } from '../../src/domain/retention/sweep';
import { queues } from '../../src/queue/queues';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { CreateRetentionPolicyDocument, RetentionPreviewDocument, StrategyPointsDocument, type PointStateFragment } from '../generated/graphql';
import { tempDir } from '../support/backups';
import { backupFlow, ok } from '../support/backup-flow';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import type { TestS3 } from '../support/s3';
import { auditEvents, DAY, env, uuidOf } from '../support/retention-fixtures';

const BUCKET = 'retention-sweep';
// s3rver ships no types; it is a CommonJS class (as in test/support/s3.ts).
const S3rver = createRequire(import.meta.url)('s3rver') as new (opts: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };

/** An s3rver that can be stopped and started again on the same port with the same data: a destination that goes down. */
async function restartableS3(dir: string) {
  const start = async (port: number) => {
    const server = new S3rver({ address: '127.0.0.1', port, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
    return { server, port: (await server.run()).port };
  };
  let current: Awaited<ReturnType<typeof start>> | null = await start(0);
  const port = current.port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => { await current?.server.close(); current = null; },
    restart: async () => { current = await start(port); },
  };
}

let t: TestApp;
let org: TestOrg;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let s3: Awaited<ReturnType<typeof restartableS3>>;
let workers: Workers;
let flow: ReturnType<typeof backupFlow>;
let strategyId: string;
let destinations: { local: string; remote: string };

beforeAll(async () => {
  tmp = await tempDir('retention-sweep');
  t = await startTestApp();
  org = await t.createOrg();
  s3 = await restartableS3(path.join(tmp.dir, 's3'));
  flow = backupFlow(t, org, { endpoint: s3.endpoint } as TestS3);
  workers = await startWorkers(t.services);
  // The tests run the sweep themselves; the 15-minute schedule must not race them.
  await t.services.boss.unschedule(queues.retention.name);

  const files = path.join(tmp.dir, 'files');
  await mkdir(path.join(files, 'album'), { recursive: true });
  await writeFile(path.join(files, 'album', 'first-dance.jpg'), Buffer.alloc(50_000, 3));
  await writeFile(path.join(files, 'guests.csv'), 'name,table\nAda,1\n');
  destinations = { local: await flow.localDestination('nas'), remote: await flow.s3Destination('cloud', BUCKET) };
  const policy = await ok(t.request(org.users.ADMIN.token, CreateRetentionPolicyDocument, { input: { name: 'newest only', keepLast: 1, maxAgeDays: 30 } }), 'createRetentionPolicy');
  strategyId = await flow.strategy('files', await flow.directorySource('files', files), [destinations.local, destinations.remote], { retentionPolicyId: policy.data!.id, compression: 'GZIP' });
});

afterAll(async () => {
  await workers?.stop();
  await t?.stop();
  await s3?.stop();
  await tmp?.cleanup();
});

async function points(): Promise<PointStateFragment[]> {
  const r = await t.request(org.users.VIEWER.token, StrategyPointsDocument, { strategyId });
  expect(r.errors).toBeUndefined();
  return r.data!.recoveryPoints.edges.map((e) => e.node);
}

async function drivers() {
  const rows = await withSystem(t.services.db, 'test-check', (tx) => tx.destination.findMany({ where: { orgId: org.id }, orderBy: { kind: 'asc' } }));
  return Object.fromEntries(rows.map((r) => [r.kind, { row: r, driver: driverFor(r, env(t)) }])) as Record<'LOCAL' | 'S3', { row: (typeof rows)[number]; driver: ReturnType<typeof driverFor> }>;
}

async function keysAt(driver: ReturnType<typeof driverFor>): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of driver.list(orgPrefix(org.id))) keys.push(o.key);
  return keys.sort();
}

const runKeys = (p: PointStateFragment) => [p.artifacts[0]!.key, p.artifacts[0]!.key.replace(/[^/]+$/, 'manifest.json')].sort();
const sweep = () => sweepRetention(t.services.db, env(t), { orgId: org.id });

describe('the retention sweep', () => {
  it('deletes exactly the points the plan lets go, their copies and manifests at LOCAL and S3, and audits each', async () => {
    for (let i = 0; i < 3; i++) await flow.backup(strategyId);
    const before = await points();
    expect(before).toHaveLength(3);
    // The policy's maxAgeDays is stamped on each point when the backup commits.
    for (const p of before) expect(new Date(p.expiresAt!).getTime()).toBe(new Date(p.takenAt).getTime() + 30 * DAY);
    const preview = await t.request(org.users.VIEWER.token, RetentionPreviewDocument, { strategyId });
    expect(preview.data!.retentionPreview).toMatchObject({ data: { keepCount: 1, deleteCount: 2 } });

    const [newest, ...old] = before.sort((a, b) => b.takenAt.localeCompare(a.takenAt));
    const r = await sweep();
    expect(r).toMatchObject({ expired: 2, purged: 2, pending: 0, errors: 0 });
    expect((await points()).map((p) => p.id)).toEqual([newest!.id]);

    const d = await drivers();
    for (const kind of ['LOCAL', 'S3'] as const) {
      expect(await keysAt(d[kind].driver), kind).toEqual(runKeys(newest!));
      // Each destination's usage is what is left: the newest point's copy.
      expect(d[kind].row.usedBytes, kind).toBe(BigInt(newest!.storedBytes));
    }

    const expired = await auditEvents(t, org.id, 'recoveryPoint.expire');
    expect(expired.map((e) => e.resourceId).sort()).toEqual(old.map((p) => uuidOf(p.id)).sort());
    for (const e of expired) {
      expect(e.actorType).toBe('SYSTEM');
      expect(e.after).toMatchObject({ reasons: ['no-rule'] });
      const copies = (e.before as { copies: Array<{ kind: string; key: string }> }).copies;
      expect(copies.map((c) => c.kind).sort()).toEqual(['LOCAL', 'S3']);
      expect(e.before).toMatchObject({ strategyId: uuidOf(strategyId), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    }
    expect((await auditEvents(t, org.id, 'recoveryPoint.purge')).map((e) => e.resourceId).sort()).toEqual(old.map((p) => uuidOf(p.id)).sort());
  });

  it('keeps a point marked while a destination is down, and a later sweep finishes the job', async () => {
    await flow.backup(strategyId);
    const [newest, doomed] = (await points()).sort((a, b) => b.takenAt.localeCompare(a.takenAt));
    await s3.stop();
    try {
      const first = await sweep();
      expect(first).toMatchObject({ expired: 1, purged: 0, pending: 1 });
      const marked = (await points()).find((p) => p.id === doomed!.id)!;
      expect(marked.deletingSince).not.toBeNull();
      const byKind = Object.fromEntries(marked.artifacts.map((a) => [a.destination.kind, a]));
      expect(byKind.LOCAL).toMatchObject({ status: 'DELETED', lastError: null });
      expect(byKind.S3!.status).toBe('FAILED');
      expect(byKind.S3!.lastError).toMatch(/s3 delete|ECONNREFUSED|connect/i);
      expect(await keysAt((await drivers()).LOCAL.driver)).toEqual(runKeys(newest!));
      // The plan no longer counts it, and says so.
      const preview = await t.request(org.users.VIEWER.token, RetentionPreviewDocument, { strategyId });
      expect(JSON.stringify(preview.data)).toContain('being deleted');

      // Still down: retried, still marked, no second decision recorded.
      expect(await sweep()).toMatchObject({ expired: 0, purged: 0, pending: 1 });
    } finally {
      await s3.restart();
    }
    expect(await sweep()).toMatchObject({ expired: 0, purged: 1, pending: 0 });
    expect((await points()).map((p) => p.id)).toEqual([newest!.id]);
    const d = await drivers();
    expect(await keysAt(d.S3.driver)).toEqual(runKeys(newest!));
    expect(d.S3.row.usedBytes).toBe(BigInt(newest!.storedBytes));
    expect((await auditEvents(t, org.id, 'recoveryPoint.expire')).filter((e) => e.resourceId === uuidOf(doomed!.id))).toHaveLength(1);
    expect((await auditEvents(t, org.id, 'recoveryPoint.purge')).filter((e) => e.resourceId === uuidOf(doomed!.id))).toHaveLength(1);
  });
});
