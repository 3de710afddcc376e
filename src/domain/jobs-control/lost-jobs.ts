// A job whose worker vanished and whose retries are used up: its row must say FAILED
// (WORKER_LOST) instead of RUNNING forever. The worker records that itself when it can; the dead
// letter queue calls this when it could not (killed mid-run). Rows already settled are left alone.
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import type { PgBoss } from 'pg-boss';
import { backupFailedAlert } from '../alerts/events';
import { publishJobEvent } from './events';
import { ACTIVE_JOB_STATUSES } from './statuses';

export type LostJobKind = 'BACKUP' | 'RECOVERY';

const LOST_MESSAGE: Record<LostJobKind, string> = {
  BACKUP: 'The job stopped responding (worker crashed or was killed) and its retries are exhausted',
  RECOVERY: 'The restore stopped responding (worker crashed or was killed); check the target before retrying',
};

/** Marks the job FAILED if it is still active (a backup also raises its BACKUP_FAILED alert); true when this call settled it. */
export async function failLostJob(db: Db, kind: LostJobKind, orgId: string, jobId: string, boss?: PgBoss): Promise<boolean> {
  const error = LOST_MESSAGE[kind];
  const where = { id: jobId, status: { in: [...ACTIVE_JOB_STATUSES] } };
  const data = { status: 'FAILED' as const, phase: null, finishedAt: new Date(), errorCode: 'WORKER_LOST', error };
  const updated = await withTenant(db, orgId, async (tx) => {
    if (kind !== 'BACKUP') return tx.recoveryJob.updateMany({ where, data });
    const r = await tx.backupJob.updateMany({ where, data });
    const row = r.count && boss ? await tx.backupJob.findFirst({ where: { id: jobId }, select: { strategyId: true, attempt: true } }) : null;
    if (row && boss) await backupFailedAlert(tx, boss, { orgId, strategyId: row.strategyId, backupJobId: jobId, code: 'WORKER_LOST', message: error, attempt: row.attempt });
    return r;
  });
  if (!updated.count) return false;
  await publishJobEvent(db, { orgId, kind, id: jobId, status: 'FAILED', error });
  return true;
}
