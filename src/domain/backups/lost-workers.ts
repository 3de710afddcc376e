// Backup jobs whose worker is gone, settled at once rather than after the queue's heartbeat and
// the sweep notice it (1–2.5 minutes during which the job looked RUNNING).
//
// Each worker process holds a session advisory lock named after its worker id (`host:pid`) for as
// long as it runs (src/jobs/worker-lock.ts). A worker id whose lock is free has no live process:
// Postgres drops a session's locks when its process dies, SIGKILL and OOM included. A worker
// starting up settles the jobs of every dead worker id of its own host (its own earlier runs; a
// restarted container often gets its old pid, so its old id too), and a shutdown that could not
// wait for a handler settles that handler's job by its own id.
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/client';
import { withSystem, withTenant } from '../../db/context';
import { publishJobEvent } from '../jobs-control/events';
import { queues } from '../../queue/queues';
import { RUNNING_JOB_STATUSES } from '../jobs-control/statuses';

/** The advisory lock key of a worker id, as SQL of the parameter `$n` (two int4 keys: namespace, id). */
export const workerLockKey = (param: string) => `hashtext('keepsake-worker'), hashtext(${param})`;

export interface SettleResult {
  /** Jobs handed back to the queue (QUEUED, retried at once). */
  requeued: number;
  /** Jobs with no retry left (FAILED). */
  failed: number;
}

/** Worker ids (of those given) whose lock nobody holds: their process is gone. */
export async function deadWorkerIds(db: Db, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  // A transaction-scoped try-lock taken and released within the statement: taken means free.
  const rows = await db.$queryRawUnsafe<Array<{ id: string; free: boolean }>>(
    `SELECT id, pg_try_advisory_xact_lock(${workerLockKey('id')}) AS free FROM unnest($1::text[]) AS id`,
    ids,
  );
  return new Set(rows.filter((r) => r.free).map((r) => r.id));
}

/**
 * Settles the RUNNING/VERIFYING backup jobs of dead workers on `host`. `ownId` is the caller's own
 * id, and `ownIdIsStale` says the caller holds its lock and runs nothing yet, so rows naming its id
 * are an earlier process's.
 */
export async function settleJobsOfDeadWorkers(db: Db, boss: PgBoss, self: { host: string; ownId: string; ownIdIsStale: boolean }): Promise<SettleResult> {
  const rows = await withSystem(db, 'lost-workers-on-host', (tx) =>
    tx.backupJob.findMany({ where: { status: { in: [...RUNNING_JOB_STATUSES] }, workerId: { startsWith: `${self.host}:` } }, select: { workerId: true }, distinct: ['workerId'] }),
  );
  const others = rows.map((r) => r.workerId!).filter((id) => id !== self.ownId && !pidAlive(id));
  const dead = await deadWorkerIds(db, others);
  if (self.ownIdIsStale && rows.some((r) => r.workerId === self.ownId)) dead.add(self.ownId);
  const total: SettleResult = { requeued: 0, failed: 0 };
  for (const workerId of dead) {
    const r = await settleJobsOfWorker(db, boss, workerId, { code: 'WORKER_LOST', error: `The worker running this job (${workerId}) stopped without finishing it` });
    total.requeued += r.requeued;
    total.failed += r.failed;
  }
  return total;
}

/**
 * Hands every RUNNING/VERIFYING backup job of `workerId` back to the queue now: the queue job is
 * failed (so pg-boss retries it without waiting for its heartbeat to lapse) and the row says
 * QUEUED, or FAILED when no retry is left.
 */
export async function settleJobsOfWorker(db: Db, boss: PgBoss, workerId: string, why: { code: string; error: string }): Promise<SettleResult> {
  const jobs = await withSystem(db, 'jobs-of-worker', (tx) =>
    tx.backupJob.findMany({ where: { status: { in: [...RUNNING_JOB_STATUSES] }, workerId }, select: { id: true, orgId: true, queueJobId: true } }),
  );
  const result: SettleResult = { requeued: 0, failed: 0 };
  for (const job of jobs) {
    let state: string | undefined;
    if (job.queueJobId) {
      const queued = await boss.getJobById(queues.backup.name, job.queueJobId);
      if (queued?.state === 'active') await boss.fail(queues.backup.name, job.queueJobId, { error: why.error });
      state = (await boss.getJobById(queues.backup.name, job.queueJobId))?.state;
    }
    const waiting = state === 'retry' || state === 'created';
    const data = waiting
      ? { status: 'QUEUED' as const, phase: 'retrying', error: `${why.error}; it will be retried`, errorCode: why.code }
      : { status: 'FAILED' as const, phase: null, finishedAt: new Date(), error: why.error, errorCode: why.code };
    const updated = await withTenant(db, job.orgId, (tx) => tx.backupJob.updateMany({ where: { id: job.id, workerId, status: { in: [...RUNNING_JOB_STATUSES] } }, data }));
    if (!updated.count) continue;
    if (waiting) result.requeued++;
    else result.failed++;
    await publishJobEvent(db, { orgId: job.orgId, kind: 'BACKUP', id: job.id, status: data.status, phase: data.phase, error: data.error });
  }
  return result;
}

/** Whether the pid in `host:pid` is a live process here (a reused pid errs on the side of alive). */
function pidAlive(workerId: string): boolean {
  const pid = Number(workerId.slice(workerId.lastIndexOf(':') + 1));
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
