// Catalog disaster recovery: real backups to LOCAL and S3, then the catalog loses its recovery
// points and backup jobs (deleted as superuser, past RLS and the API). The backup sweep must not
// take the unknown runs for orphans; importRecoveryPoints rebuilds the points from the manifests,
// adds the second destination's copies, is idempotent, refuses foreign manifests and ids.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legalHoldKey, manifestKey, runPrefix } from '../../src/backup/manifest';
import { withSystem } from '../../src/db/context';
import { sweepBackups } from '../../src/domain/backups/sweep';
import { driverFor } from '../../src/domain/destinations/driver';
import { queues } from '../../src/queue/queues';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import {
  CreateRetentionPolicyDocument, DeleteRecoveryPointDocument, ImportRecoveryPointsDocument, ReleaseLegalHoldDocument, SetLegalHoldDocument, type ImportRecoveryPointsMutation,
} from '../generated/graphql';
import { collect, tempDir } from '../support/backups';
import { backupFlow, ok } from '../support/backup-flow';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { startS3, type TestS3 } from '../support/s3';
import { auditEvents, DAY, env, globalId, payload, uuidOf } from '../support/retention-fixtures';

const BUCKET = 'catalog-import';
let t: TestApp;
let org: TestOrg;
let other: TestOrg;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let s3: TestS3;
let workers: Workers;
let superuser: pg.Client;

beforeAll(async () => {
  tmp = await tempDir('catalog-import');
  t = await startTestApp();
  org = await t.createOrg();
  other = await t.createOrg();
  s3 = await startS3([BUCKET]);
  workers = await startWorkers(t.services);
  await t.services.boss.unschedule(queues.retention.name);
  superuser = new pg.Client({ connectionString: t.db.url });
  await superuser.connect();
});

afterAll(async () => {
  await superuser?.end();
  await workers?.stop();
  await t?.stop();
  await s3?.close();
  await tmp?.cleanup();
});

type Imported = Extract<ImportRecoveryPointsMutation['importRecoveryPoints'], { __typename: 'MutationImportRecoveryPointsSuccess' }>['data'];

async function importFrom(destinationId: string, token = org.users.ADMIN.token): Promise<Imported> {
  const r = await t.request(token, ImportRecoveryPointsDocument, { input: { destinationId } });
  return payload<{ __typename: string; data: Imported }>(r, 'importRecoveryPoints', 'MutationImportRecoveryPointsSuccess').data;
}

const catalog = () =>
  withSystem(t.services.db, 'test-check', (tx) =>
    tx.recoveryPoint.findMany({ where: { orgId: org.id }, include: { artifacts: { orderBy: { destinationId: 'asc' } } }, orderBy: { takenAt: 'asc' } }),
  );

describe('importRecoveryPoints', () => {
  it('rebuilds a lost catalog from the manifests, idempotently, and the backup sweep keeps the rebuilt copies', async () => {
    const flow = backupFlow(t, org, s3);
    const files = path.join(tmp.dir, 'files');
    await mkdir(files, { recursive: true });
    await writeFile(path.join(files, 'contract.pdf'), Buffer.alloc(30_000, 9));
    const local = await flow.localDestination('nas');
    const remote = await flow.s3Destination('cloud', BUCKET);
    const policy = await ok(t.request(org.users.ADMIN.token, CreateRetentionPolicyDocument, { input: { name: 'month', keepDaily: 30, maxAgeDays: 30 } }), 'createRetentionPolicy');
    const strategyId = await flow.strategy('docs', await flow.directorySource('docs', files), [local, remote], { retentionPolicyId: policy.data!.id });
    await flow.backup(strategyId);
    await flow.backup(strategyId);
    const original = await catalog();
    expect(original).toHaveLength(2);

    // A manifest claiming another organization, planted in this org's prefix, is refused.
    const localRow = await withSystem(t.services.db, 'test-check', (tx) => tx.destination.findUniqueOrThrow({ where: { id: uuidOf(local) } }));
    const localDriver = driverFor(localRow, env(t));
    const forgedPrefix = runPrefix(org.id, uuidOf(strategyId), '0190a0a0-0000-7000-8000-00000000f00d');
    const forged = { ...(original[0]!.manifest as Record<string, unknown>), orgId: other.id, backupJobId: '0190a0a0-0000-7000-8000-00000000f00d' };
    await localDriver.put(manifestKey(forgedPrefix), Readable.from([Buffer.from(JSON.stringify(forged))]));

    // The catalog is lost: points and jobs gone, usage forgotten (artifacts cascade with the points).
    await superuser.query('DELETE FROM "RecoveryPoint" WHERE "orgId" = $1', [org.id]);
    await superuser.query('DELETE FROM "BackupJob" WHERE "orgId" = $1', [org.id]);
    await superuser.query('UPDATE "Destination" SET "usedBytes" = 0 WHERE "orgId" = $1', [org.id]);
    expect(await catalog()).toHaveLength(0);

    // The backup sweep must not take finished runs of jobs it never heard of for orphans.
    await sweepBackups(t.services.db, t.services.boss, env(t), t.services.log, { graceMs: 0 });
    for (const p of original) expect(await localDriver.exists(p.artifacts[0]!.key)).toBe(true);

    const first = await importFrom(local);
    expect(first).toMatchObject({ manifests: 3, imported: 2, artifactsAdded: 0, alreadyPresent: 0, checksumsVerified: false });
    expect(first.skipped).toEqual([{ key: manifestKey(forgedPrefix), reason: `manifest belongs to another organization (${other.id})` }]);
    const second = await importFrom(remote);
    expect(second).toMatchObject({ manifests: 2, imported: 0, artifactsAdded: 2, alreadyPresent: 0, skipped: [] });
    const again = await importFrom(local);
    expect(again).toMatchObject({ imported: 0, artifactsAdded: 0, alreadyPresent: 2 });
    expect(again.skipped).toHaveLength(1);

    const rebuilt = await catalog();
    expect(rebuilt).toHaveLength(2);
    for (const [i, p] of rebuilt.entries()) {
      const o = original[i]!;
      expect(p.id).not.toBe(o.id);
      expect(p).toMatchObject({
        strategyId: o.strategyId, sourceId: o.sourceId, backupJobId: null, sourceKind: o.sourceKind, format: o.format, compression: o.compression,
        encrypted: o.encrypted, keyId: o.keyId, rawBytes: o.rawBytes, storedBytes: o.storedBytes, sha256: o.sha256, takenAt: o.takenAt,
        legalHold: false, verifiedAt: null, deletingSince: null,
      });
      // The job id survives in the manifest even though the job row is gone.
      expect(p.manifest).toEqual(o.manifest);
      expect((p.manifest as { backupJobId: string }).backupJobId).toBe(o.backupJobId);
      expect(p.expiresAt!.getTime()).toBe(p.takenAt.getTime() + 30 * DAY);
      expect(p.artifacts.map((a) => [a.destinationId, a.key, a.manifestKey, a.sizeBytes, a.sha256, a.status])).toEqual(
        o.artifacts.map((a) => [a.destinationId, a.key, a.manifestKey, a.sizeBytes, a.sha256, 'PRESENT']),
      );
      // The bytes at the destination are the ones the rebuilt point names.
      const bytes = await collect(await localDriver.get(p.artifacts.find((a) => a.destinationId === localRow.id)!.key));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.sha256);
    }
    const usage = await withSystem(t.services.db, 'test-check', (tx) => tx.destination.findMany({ where: { orgId: org.id } }));
    const total = original.reduce((n, p) => n + p.storedBytes, 0n);
    for (const d of usage) expect(d.usedBytes, d.kind).toBe(total);

    // Rebuilt points have no backupJobId: the sweep must still know their copies by key.
    await sweepBackups(t.services.db, t.services.boss, env(t), t.services.log, { graceMs: 0 });
    const driverOf = new Map(usage.map((d) => [d.id, driverFor(d, env(t))]));
    for (const a of rebuilt.flatMap((p) => p.artifacts)) {
      expect(await driverOf.get(a.destinationId)!.exists(a.key)).toBe(true);
      expect(await driverOf.get(a.destinationId)!.exists(a.manifestKey)).toBe(true);
    }

    expect(await auditEvents(t, org.id, 'recoveryPoint.import')).toHaveLength(2);
    expect(await auditEvents(t, org.id, 'recoveryPoint.importArtifact')).toHaveLength(2);
    const runs = await auditEvents(t, org.id, 'catalog.import');
    expect(runs.map((e) => e.after)).toEqual([
      { manifests: 3, imported: 2, artifactsAdded: 0, alreadyPresent: 0, skipped: 1 },
      { manifests: 2, imported: 0, artifactsAdded: 2, alreadyPresent: 0, skipped: 0 },
      { manifests: 3, imported: 0, artifactsAdded: 0, alreadyPresent: 2, skipped: 1 },
    ]);
  });

  it('keeps legal holds through a catalog loss: markers at every copy follow hold and release, a destination that is down catches up at the sweep', async () => {
    const own = await t.createOrg();
    const flow = backupFlow(t, own, s3);
    const files = path.join(tmp.dir, 'held');
    await mkdir(files, { recursive: true });
    await writeFile(path.join(files, 'evidence.txt'), 'exhibit A\n');
    const [local, remote] = [await flow.localDestination('nas'), await flow.s3Destination('cloud', BUCKET)];
    const strategyId = await flow.strategy('held', await flow.directorySource('held', files), [local, remote]);
    const [held, released] = [(await flow.backup(strategyId)).recoveryPoint!.id, (await flow.backup(strategyId)).recoveryPoint!.id];
    const admin = own.users.ADMIN.token;
    const rows = await withSystem(t.services.db, 'test-check', (tx) => tx.destination.findMany({ where: { orgId: own.id }, orderBy: { id: 'asc' } }));
    const drivers = rows.map((d) => driverFor(d, env(t)));
    const markersOf = async (pointGid: string) => {
      const artifacts = await withSystem(t.services.db, 'test-check', (tx) => tx.artifact.findMany({ where: { recoveryPointId: uuidOf(pointGid) }, orderBy: { destinationId: 'asc' } }));
      return Promise.all(artifacts.map(async (a) => {
        const driver = drivers[rows.findIndex((d) => d.id === a.destinationId)]!;
        return (await driver.exists(legalHoldKey(a.manifestKey))) ? JSON.parse((await collect(await driver.get(legalHoldKey(a.manifestKey)))).toString()).reason as string : null;
      }));
    };
    const stale = async (pointGid: string) => (await superuser.query(`SELECT "legalHoldMarkerStale" AS s FROM "RecoveryPoint" WHERE id = $1`, [uuidOf(pointGid)])).rows[0].s as boolean;

    payload(await t.request(admin, SetLegalHoldDocument, { input: { recoveryPointId: held, reason: 'litigation 42' } }), 'setLegalHold', 'MutationSetLegalHoldSuccess');
    expect(await markersOf(held)).toEqual(['litigation 42', 'litigation 42']);
    expect(await stale(held)).toBe(false);

    // The S3 destination is unreachable while the second point is held: its marker waits for the sweep.
    const s3Row = rows.find((d) => d.kind === 'S3')!;
    await superuser.query(`UPDATE "Destination" SET endpoint = 'http://127.0.0.1:1' WHERE id = $1`, [s3Row.id]);
    payload(await t.request(admin, SetLegalHoldDocument, { input: { recoveryPointId: released, reason: 'audit 7' } }), 'setLegalHold', 'MutationSetLegalHoldSuccess');
    expect(await stale(released)).toBe(true);
    await superuser.query(`UPDATE "Destination" SET endpoint = $2 WHERE id = $1`, [s3Row.id, s3Row.endpoint]);
    const swept = await sweepBackups(t.services.db, t.services.boss, env(t), t.services.log, { graceMs: 0 });
    // (A scheduled sweep may have got there first: what matters is that nothing is left pending.)
    expect(swept.holdMarkers.pending).toBe(0);
    expect(await markersOf(released)).toEqual(['audit 7', 'audit 7']);
    payload(await t.request(admin, ReleaseLegalHoldDocument, { input: { recoveryPointId: released } }), 'releaseLegalHold', 'MutationReleaseLegalHoldSuccess');
    expect(await markersOf(released)).toEqual([null, null]);

    // The catalog is lost. The sweep keeps the markers of the runs it does not know; import brings the hold back.
    await superuser.query('DELETE FROM "RecoveryPoint" WHERE "orgId" = $1', [own.id]);
    await superuser.query('DELETE FROM "BackupJob" WHERE "orgId" = $1', [own.id]);
    await sweepBackups(t.services.db, t.services.boss, env(t), t.services.log, { graceMs: 0 });
    expect(await importFrom(local, own.users.OWNER.token)).toMatchObject({ imported: 2, skipped: [] });
    const rebuilt = await withSystem(t.services.db, 'test-check', (tx) => tx.recoveryPoint.findMany({ where: { orgId: own.id }, orderBy: { takenAt: 'asc' } }));
    expect(rebuilt.map((p) => [p.legalHold, p.legalHoldReason])).toEqual([[true, 'litigation 42'], [false, null]]);
    // Held means held: nobody deletes the rebuilt point.
    const del = await t.request(own.users.OWNER.token, DeleteRecoveryPointDocument, { input: { id: globalId('RecoveryPoint', rebuilt[0]!.id) } });
    expect(del.data?.deleteRecoveryPoint.__typename).toMatch(/Error$/);
  });

  it("answers not-found for another organization's destination, and for roles below ADMIN is forbidden", async () => {
    const flow = backupFlow(t, org, s3);
    const local = await flow.localDestination('foreign-target');
    const r = await t.request(other.users.OWNER.token, ImportRecoveryPointsDocument, { input: { destinationId: local } });
    payload(r, 'importRecoveryPoints', 'NotFoundError');
    payload(await t.request(org.users.OPERATOR.token, ImportRecoveryPointsDocument, { input: { destinationId: local } }), 'importRecoveryPoints', 'ForbiddenError');
    expect((await auditEvents(t, other.id, 'catalog.import'))).toHaveLength(0);
  });

  it('skips copies whose size does not match their manifest, and manifests that are not manifests', async () => {
    const own = await t.createOrg();
    const flow = backupFlow(t, own, s3);
    const files = path.join(tmp.dir, 'small');
    await mkdir(files, { recursive: true });
    await writeFile(path.join(files, 'a.txt'), 'vows\n');
    const local = await flow.localDestination('nas');
    const strategyId = await flow.strategy('small', await flow.directorySource('small', files), [local], { encrypted: false, compression: 'NONE' });
    const job = await flow.backup(strategyId);
    const row = await withSystem(t.services.db, 'test-check', (tx) => tx.destination.findUniqueOrThrow({ where: { id: uuidOf(local) } }));
    const driver = driverFor(row, env(t));
    const key = job.recoveryPoint!.artifacts[0]!.key;
    await driver.put(key, Readable.from([Buffer.from('truncated')]));
    const junk = manifestKey(runPrefix(own.id, uuidOf(strategyId), '0190a0a0-0000-7000-8000-0000000000aa'));
    await driver.put(junk, Readable.from([Buffer.from('{"manifestVersion": 99}')]));
    await superuser.query('DELETE FROM "RecoveryPoint" WHERE "orgId" = $1', [own.id]);

    const r = await importFrom(local, own.users.OWNER.token);
    expect(r.imported).toBe(0);
    expect(r.skipped.map((s) => s.key).sort()).toEqual([junk, key.replace(/[^/]+$/, 'manifest.json')].sort());
    expect(r.skipped.find((s) => s.key === junk)!.reason).toMatch(/does not match the manifest schema/);
    expect(r.skipped.find((s) => s.key !== junk)!.reason).toMatch(/artifact holds 9 bytes, the manifest says \d+/);
  });
});
