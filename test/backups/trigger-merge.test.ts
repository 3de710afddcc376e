// Repeated triggers of one strategy while its run is queued merge into that queued job (no worker
// runs here, so the job stays queued): one row, one queue job, one future point. Once the job has
// ended, a trigger queues a new one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelBackupJobDocument } from '../generated/graphql';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { backupFlow, ok } from '../support/backup-flow';
import { queryOnce } from '../support/db';

let t: TestApp;
let org: TestOrg;
let flow: ReturnType<typeof backupFlow>;
let strategyId: string;
let strategyUuid: string;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.createOrg();
  flow = backupFlow(t, org);
  const src = await flow.directorySource('merge-src', '/tmp');
  strategyId = await flow.strategy('merge', src, [await flow.localDestination('merge-nas')]);
  strategyUuid = (await queryOnce(t.db.url, `SELECT id::text FROM "Strategy" WHERE name = 'merge'`)).rows[0].id as string;
});

afterAll(async () => {
  await t?.stop();
});

const jobsOf = async () => (await queryOnce(t.db.url, `SELECT id::text, status::text FROM "BackupJob" WHERE "strategyId" = $1::uuid ORDER BY "queuedAt"`, [strategyUuid])).rows as Array<{ id: string; status: string }>;
const queueJobs = async () => Number((await queryOnce(t.db.url, `SELECT count(*) AS n FROM pgboss.job WHERE name = 'backup' AND singleton_key = $1`, [strategyUuid])).rows[0].n);

describe('triggerBackup while a run of the strategy is queued', () => {
  it('returns the queued job, sequentially and concurrently, and queues nothing more', async () => {
    const first = await flow.trigger(strategyId);
    const again = await flow.trigger(strategyId);
    const burst = await Promise.all(Array.from({ length: 20 }, () => flow.trigger(strategyId)));
    expect(again).toBe(first);
    expect(new Set(burst)).toEqual(new Set([first]));
    expect(await jobsOf()).toHaveLength(1);
    expect(await queueJobs()).toBe(1);
    // Every merged call is still on the audit trail, as a trigger of that job.
    const audits = await queryOnce(t.db.url, `SELECT count(*)::int AS n FROM "AuditEvent" WHERE action = 'backup.trigger' AND "orgId" = $1::uuid`, [org.id]);
    expect(audits.rows[0].n).toBe(22);
  });

  it('queues a new run once the queued one has ended', async () => {
    const [queued] = await jobsOf();
    const { data } = await t.gql<{ node: { id: string } }>(org.users.VIEWER.token, `{ backupJobs(first: 1) { edges { node { id } } } }`);
    const globalId = (data as unknown as { backupJobs: { edges: Array<{ node: { id: string } }> } }).backupJobs.edges[0]!.node.id;
    await ok(t.request(org.users.OPERATOR.token, CancelBackupJobDocument, { id: globalId }), 'cancelBackupJob');
    const next = await flow.trigger(strategyId);
    const rows = await jobsOf();
    expect(rows.map((r) => r.status)).toEqual(['CANCELLED', 'QUEUED']);
    expect(rows[0]!.id).toBe(queued!.id);
    expect(await flow.job(next)).toMatchObject({ status: 'QUEUED' });
  });
});
