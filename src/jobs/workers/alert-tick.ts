// Every minute (a pg-boss schedule: one tick across all processes): escalate unacknowledged
// critical alerts, check RPO and stuck deletions, send daily digests.
import type { AppServices } from '../../services';
import { alertTick } from '../../domain/alerts/tick';
import { queues } from '../../queue/queues';

export async function registerAlertTick(app: AppServices): Promise<void> {
  await app.boss.schedule(queues.alertTick.name, '* * * * *');
  await app.boss.work(queues.alertTick.name, { pollingIntervalSeconds: 5 }, async () => {
    const r = await alertTick(app.db, app.boss);
    if (r.escalated || r.rpo.raised || r.rpo.resolved || r.stuck.raised || r.stuck.resolved || r.digests) app.log.info(r, 'alert tick');
  });
}
