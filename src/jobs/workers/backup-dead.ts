// A backup whose retries are exhausted lands here: make sure its row says FAILED (the worker
// normally records that itself, but not if it was killed mid-run).
import { withTenant } from '../../db/context';
import { EventBus } from '../../events/bus';
import type { AppServices } from '../../services';
import { queues } from '../../queue/queues';

export async function registerBackupDeadLetter(app: AppServices): Promise<void> {
  await app.boss.work(queues.backupDead.name, { pollingIntervalSeconds: 2 }, async ([job]) => {
    const payload = queues.backupDead.payload.parse(job!.data);
    const updated = await withTenant(app.db, payload.orgId, (tx) =>
      tx.backupJob.updateMany({
        where: { id: payload.backupJobId, status: { in: ['QUEUED', 'RUNNING', 'VERIFYING'] } },
        data: { status: 'FAILED', phase: null, finishedAt: new Date(), errorCode: 'WORKER_LOST', error: 'The job stopped responding (worker crashed or was killed) and its retries are exhausted' },
      }),
    );
    if (updated.count) {
      await EventBus.publish((sql, p) => app.db.$executeRawUnsafe(sql, ...p), { orgId: payload.orgId, kind: 'BACKUP', id: payload.backupJobId, status: 'FAILED' });
    }
  });
}
