// Housekeeping after crashes. A worker killed mid-run can leave (1) a job row that still says
// RUNNING, (2) temp files of an unfinished LOCAL write, (3) complete objects of a run that never
// reached the catalog. The sweep settles (1) from the queue's own view of the job and removes (2)
// and (3), so no orphan survives and no job stays RUNNING forever. It also brings legal hold
// markers at the destinations in line with the catalog (legal-hold-markers.ts).
import type { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import { LocalDestination } from '../../backup/destinations/local';
import { legalHoldKey, orgPrefix } from '../../backup/manifest';
import type { Db } from '../../db/client';
import { withSystem, withTenant } from '../../db/context';
import { publishJobEvent } from '../jobs-control/events';
import { queues } from '../../queue/queues';
import { driverFor, type DestinationEnv } from '../destinations/driver';
import { syncStaleLegalHoldMarkers } from '../immutability/markers';
import { isActiveJobStatus, RUNNING_JOB_STATUSES } from '../jobs-control/statuses';
import { settleLostRestores } from '../restores/lost';

export interface SweepOptions {
  /** Temp files and orphan objects younger than this are left alone (a writer may still own them). */
  graceMs: number;
}

export interface SweepResult {
  settledJobs: number;
  /** Restores whose worker was lost for good: FAILED, their half-made new database dropped (restores/lost.ts). */
  settledRestores: number;
  partialFiles: number;
  orphanObjects: number;
  /** Points whose legal hold markers were brought in line, and those still waiting for a destination. */
  holdMarkers: { synced: number; pending: number };
}

const UUID = /^[0-9a-f-]{36}$/i;

export async function sweepBackups(db: Db, boss: PgBoss, env: DestinationEnv, log: Logger, opts: SweepOptions, now = new Date()): Promise<SweepResult> {
  const result: SweepResult = { settledJobs: 0, settledRestores: 0, partialFiles: 0, orphanObjects: 0, holdMarkers: { synced: 0, pending: 0 } };
  result.settledJobs = await settleLostJobs(db, boss);
  result.settledRestores = await settleLostRestores(db, boss, env.masterKey, log);
  // Markers first: the orphan pass below keeps a cataloged copy's marker, never writes one.
  result.holdMarkers = await syncStaleLegalHoldMarkers(db, env, log);
  const destinations = await withSystem(db, 'sweep-list-destinations', (tx) => tx.destination.findMany({ orderBy: { id: 'asc' } }));
  for (const row of destinations) {
    try {
      const driver = driverFor(row, env);
      if (driver instanceof LocalDestination) result.partialFiles += await removePartials(db, row.orgId, driver, now.getTime() - opts.graceMs);
      result.orphanObjects += await removeOrphans(db, row.orgId, driver, now.getTime() - opts.graceMs);
    } catch (err) {
      // One unreachable destination must not stop the sweep of the others.
      log.warn({ destinationId: row.id, err: err instanceof Error ? err.message : String(err) }, 'sweep skipped a destination');
    }
  }
  return result;
}

/** Rows that say RUNNING while the queue no longer runs their job. */
async function settleLostJobs(db: Db, boss: PgBoss): Promise<number> {
  const running = await withSystem(db, 'sweep-running-jobs', (tx) =>
    tx.backupJob.findMany({ where: { status: { in: [...RUNNING_JOB_STATUSES] }, queueJobId: { not: null } }, select: { id: true, orgId: true, queueJobId: true } }),
  );
  let settled = 0;
  for (const job of running) {
    const queued = await boss.getJobById(queues.backup.name, job.queueJobId!);
    if (queued?.state === 'active') continue;
    const waiting = queued?.state === 'retry' || queued?.state === 'created';
    const data = waiting
      ? { status: 'QUEUED' as const, phase: 'retrying', error: 'The worker running this job was lost; it will be retried', errorCode: 'WORKER_LOST' }
      : { status: 'FAILED' as const, phase: null, finishedAt: new Date(), error: 'The worker running this job was lost', errorCode: 'WORKER_LOST' };
    const updated = await withTenant(db, job.orgId, (tx) => tx.backupJob.updateMany({ where: { id: job.id, status: { in: [...RUNNING_JOB_STATUSES] } }, data }));
    if (updated.count) {
      settled++;
      await publishJobEvent(db, { orgId: job.orgId, kind: 'BACKUP', id: job.id, status: data.status, phase: data.phase, error: data.error });
    }
  }
  return settled;
}

/**
 * Temp files of unfinished writes. One under a job's prefix whose job is not running has no writer
 * left and goes at once (a killed worker's 530 MB dump used to wait out the whole grace period);
 * one of a job this catalog does not know, or outside any job, only once it is older than the grace.
 */
async function removePartials(db: Db, orgId: string, driver: LocalDestination, olderThan: number): Promise<number> {
  const prefix = orgPrefix(orgId);
  const partials = [];
  for await (const p of driver.listPartials()) partials.push(p);
  if (partials.length === 0) return 0;
  const jobOf = (key: string) => (key.startsWith(prefix) ? key.slice(prefix.length).split('/')[1] : undefined);
  const jobIds = [...new Set(partials.map((p) => jobOf(p.key)).filter((id): id is string => !!id && UUID.test(id)))];
  // Read before deciding: a write that starts after this read (a new attempt) has a newer mtime.
  const readAt = Date.now();
  const jobs = await withTenant(db, orgId, (tx) => tx.backupJob.findMany({ where: { orgId, id: { in: jobIds } }, select: { id: true, status: true } }));
  const status = new Map(jobs.map((j) => [j.id, j.status]));
  let removed = 0;
  for (const p of partials) {
    const jobStatus = status.get(jobOf(p.key) ?? '');
    const writerGone = jobStatus !== undefined && !(RUNNING_JOB_STATUSES as readonly string[]).includes(jobStatus) && p.modifiedAt.getTime() < readAt;
    if (!writerGone && p.modifiedAt.getTime() > olderThan) continue;
    await driver.removePartial(p);
    removed++;
  }
  return removed;
}

/**
 * Objects under keepsake/<org>/<strategy>/<job>/ that no artifact row names and no live job may
 * still claim. Those of a job that is known and no longer active go at once; those of a job this
 * catalog never heard of only once they are older than the grace.
 */
async function removeOrphans(db: Db, orgId: string, driver: ReturnType<typeof driverFor>, olderThan: number): Promise<number> {
  const byJob = new Map<string, { keys: string[]; newest: number }>();
  const prefix = orgPrefix(orgId);
  for await (const obj of driver.list(prefix)) {
    const [strategyId, jobId] = obj.key.slice(prefix.length).split('/');
    // The chunked repository's packs are shared by many points: only prune may remove them.
    if (!strategyId || !jobId || strategyId === 'repository') continue;
    const entry = byJob.get(jobId) ?? { keys: [], newest: 0 };
    entry.keys.push(obj.key);
    entry.newest = Math.max(entry.newest, obj.modifiedAt.getTime());
    byJob.set(jobId, entry);
  }
  if (byJob.size === 0) return 0;
  const jobIds = [...byJob.keys()].filter((id) => UUID.test(id));
  const listed = [...byJob.values()].flatMap((e) => e.keys);
  const [jobs, cataloged] = await withTenant(db, orgId, (tx) =>
    Promise.all([
      tx.backupJob.findMany({ where: { orgId, id: { in: jobIds } }, select: { id: true, status: true } }),
      // By key as well as by job: imported points and points of a deleted strategy have no backupJobId.
      tx.artifact.findMany({
        where: { orgId, OR: [{ recoveryPoint: { backupJobId: { in: jobIds } } }, { key: { in: listed } }, { manifestKey: { in: listed } }] },
        select: { key: true, manifestKey: true },
      }),
    ]),
  );
  // A cataloged copy keeps its manifest and its legal hold marker (legal-hold-markers.ts).
  const keep = new Set([...cataloged.flatMap((a) => [a.key, a.manifestKey, legalHoldKey(a.manifestKey)])]);
  const liveIds = new Set(jobs.filter((j) => isActiveJobStatus(j.status)).map((j) => j.id));
  // A finished run (it has its manifest) of a job this catalog never heard of belongs to a catalog
  // that was lost or restored from an older copy: importRecoveryPoints brings it back, and deleting
  // it here would destroy the very copies disaster recovery needs. Crashed runs have no manifest.
  const knownIds = new Set(jobs.map((j) => j.id));
  const completedElsewhere = (jobId: string, keys: string[]) => !knownIds.has(jobId) && keys.some((k) => k.endsWith('/manifest.json'));
  let removed = 0;
  for (const [jobId, { keys, newest }] of byJob) {
    if (liveIds.has(jobId) || (!knownIds.has(jobId) && newest > olderThan) || completedElsewhere(jobId, keys)) continue;
    for (const key of keys) {
      if (keep.has(key)) continue;
      await driver.delete(key);
      removed++;
    }
  }
  return removed;
}
