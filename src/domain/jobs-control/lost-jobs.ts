// A job whose worker vanished and whose retries are used up: its row must say FAILED
// (WORKER_LOST) instead of RUNNING forever. The worker records that itself when it can; the dead
// letter queue calls this when it could not (killed mid-run). Rows already settled are left alone.
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import { publishJobEvent } from './events';
import { ACTIVE_JOB_STATUSES } from './statuses';

export type LostJobKind = 'BACKUP' | 'RECOVERY';

const LOST_MESSAGE: Record<LostJobKind, string> = {
  BACKUP: 'The job stopped responding (worker crashed or was killed) and its retries are exhausted',
  RECOVERY: 'The restore stopped responding (worker crashed or was killed); check the target before retrying',
};

/** Marks the job FAILED if it is still active; true when this call settled it. */
export async function failLostJob(db: Db, kind: LostJobKind, orgId: string, jobId: string): Promise<boolean> {
  const error = LOST_MESSAGE[kind];
  const where = { id: jobId, status: { in: [...ACTIVE_JOB_STATUSES] } };
  const data = { status: 'FAILED' as const, phase: null, finishedAt: new Date(), errorCode: 'WORKER_LOST', error };
  const updated = await withTenant(db, orgId, (tx) =>
    kind === 'BACKUP' ? tx.backupJob.updateMany({ where, data }) : tx.recoveryJob.updateMany({ where, data }),
  );
  if (!updated.count) return false;
  await publishJobEvent(db, { orgId, kind, id: jobId, status: 'FAILED', error });
  return true;
}
