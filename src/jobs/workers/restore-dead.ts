// A restore whose worker was lost and whose retry is used up lands here: make sure its row says
// FAILED instead of RUNNING forever.
import { withTenant } from '../../db/context';
import { EventBus } from '../../events/bus';
import type { AppServices } from '../../services';
import { queues } from '../../queue/queues';

export async function registerRestoreDeadLetter(app: AppServices): Promise<void> {
  await app.boss.work(queues.restoreDead.name, { pollingIntervalSeconds: 2 }, async ([job]) => {
    const payload = queues.restoreDead.payload.parse(job!.data);
    const error = 'The restore stopped responding (worker crashed or was killed); check the target before retrying';
    const updated = await withTenant(app.db, payload.orgId, (tx) =>
      tx.recoveryJob.updateMany({
        where: { id: payload.recoveryJobId, status: { in: ['QUEUED', 'RUNNING', 'VERIFYING'] } },
        data: { status: 'FAILED', phase: null, finishedAt: new Date(), errorCode: 'WORKER_LOST', error },
      }),
    );
    if (updated.count) {
      await EventBus.publish((sql, p) => app.db.$executeRawUnsafe(sql, ...p), { orgId: payload.orgId, kind: 'RECOVERY', id: payload.recoveryJobId, status: 'FAILED', error });
    }
  });
}
