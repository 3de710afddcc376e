// Restores whose worker was lost (SIGKILL, OOM, a dead machine) and will not be retried: the row
// is settled FAILED and a NEW_DATABASE target that the restore created is dropped, but only while
// it still carries the restore's mark (restore/postgres.ts), so a database anyone else made, or
// one a finished restore handed over, is never touched. Called by the restore dead-letter worker
// and by the sweep (for rows whose queue job is gone without reaching the dead letter queue).
import type { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import { dropMarkedDatabase } from '../../backup/restore/postgres';
import { openSecret } from '../../crypto/sealed';
import type { Db } from '../../db/client';
import { withSystem, withTenant } from '../../db/context';
import { publishJobEvent } from '../jobs-control/events';
import { isActiveJobStatus, RUNNING_JOB_STATUSES } from '../jobs-control/statuses';
import { queues } from '../../queue/queues';
import { targetSealAad } from './request';
import { restoreMarker } from './run';

const LOST_ERROR = 'The restore stopped responding (worker crashed or was killed); its half-made new database was dropped, check any other target before retrying';

/** Settles one lost restore; returns whether its row changed. */
export async function settleLostRestore(db: Db, masterKey: Buffer, log: Logger, lostJob: { recoveryJobId: string; orgId: string }): Promise<boolean> {
  const job = await withTenant(db, lostJob.orgId, async (tx) => {
    const row = await tx.recoveryJob.findFirst({ where: { id: lostJob.recoveryJobId, orgId: lostJob.orgId } });
    if (!row || !isActiveJobStatus(row.status)) return { row, changed: false };
    const updated = await tx.recoveryJob.update({
      where: { id: row.id },
      data: { status: 'FAILED', phase: null, finishedAt: new Date(), errorCode: 'WORKER_LOST', error: LOST_ERROR },
    });
    return { row: updated, changed: true };
  });
  const row = job.row;
  // Dropped also for a row already settled: a worker may have recorded FAILED and died before its drop.
  if (row && row.targetKind === 'NEW_DATABASE' && row.targetUrlSealed && row.status === 'FAILED') {
    try {
      const url = openSecret(masterKey, row.targetUrlSealed, targetSealAad(row.orgId));
      if (await dropMarkedDatabase(url, restoreMarker(row.id))) log.info({ recoveryJobId: row.id }, 'dropped the half-made target database of a lost restore');
    } catch (err) {
      log.warn({ recoveryJobId: row.id, err: err instanceof Error ? err.message : String(err) }, 'could not drop the target database of a lost restore');
    }
  }
  if (job.changed) {
    await publishJobEvent(db, { orgId: lostJob.orgId, kind: 'RECOVERY', id: lostJob.recoveryJobId, status: 'FAILED', error: LOST_ERROR });
  }
  return job.changed;
}

/** Restore rows that say RUNNING while the queue no longer runs (nor will retry) their job. */
export async function settleLostRestores(db: Db, boss: PgBoss, masterKey: Buffer, log: Logger): Promise<number> {
  const running = await withSystem(db, 'sweep-running-restores', (tx) =>
    tx.recoveryJob.findMany({ where: { status: { in: [...RUNNING_JOB_STATUSES] }, queueJobId: { not: null } }, select: { id: true, orgId: true, queueJobId: true } }),
  );
  let settled = 0;
  for (const job of running) {
    const queued = await boss.getJobById(queues.restore.name, job.queueJobId!);
    if (queued && ['active', 'retry', 'created'].includes(queued.state)) continue;
    if (await settleLostRestore(db, masterKey, log, { recoveryJobId: job.id, orgId: job.orgId })) settled++;
  }
  return settled;
}
