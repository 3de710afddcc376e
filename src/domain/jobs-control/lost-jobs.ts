// A backup whose worker vanished and whose retries are used up: its row must say FAILED
// (WORKER_LOST) instead of RUNNING forever, and its failure alert is raised. The worker records
// that itself when it can; the dead letter queue calls this when it could not (killed mid-run).
// Rows already settled are left alone. (Lost restores also drop their half-made target:
// restores/lost.ts.)
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import type { PgBoss } from 'pg-boss';
import { backupFailedAlert } from '../alerts/events';
import { publishJobEvent } from './events';
import { ACTIVE_JOB_STATUSES } from './statuses';

const LOST_MESSAGE = 'The job stopped responding (worker crashed or was killed) and its retries are exhausted';

/** Marks the backup FAILED and raises its BACKUP_FAILED alert if it is still active; true when this call settled it. */
export async function failLostBackup(db: Db, boss: PgBoss, orgId: string, jobId: string): Promise<boolean> {
  const where = { id: jobId, status: { in: [...ACTIVE_JOB_STATUSES] } };
  const data = { status: 'FAILED' as const, phase: null, finishedAt: new Date(), errorCode: 'WORKER_LOST', error: LOST_MESSAGE };
  const updated = await withTenant(db, orgId, async (tx) => {
    const r = await tx.backupJob.updateMany({ where, data });
    const row = r.count ? await tx.backupJob.findFirst({ where: { id: jobId }, select: { strategyId: true, attempt: true } }) : null;
    if (row) await backupFailedAlert(tx, boss, { orgId, strategyId: row.strategyId, backupJobId: jobId, code: 'WORKER_LOST', message: LOST_MESSAGE, attempt: row.attempt });
    return r;
  });
  if (!updated.count) return false;
  await publishJobEvent(db, { orgId, kind: 'BACKUP', id: jobId, status: 'FAILED', error: LOST_MESSAGE });
  return true;
}
