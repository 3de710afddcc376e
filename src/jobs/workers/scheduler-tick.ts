// Every minute (a pg-boss schedule, so one tick per minute across all processes): enqueue
// due strategies, record missed slots, and queue due restore tests.
import type { AppServices } from '../../services';
import { schedulerTick } from '../../domain/strategies/scheduler';
import { scheduleVerifications } from '../../domain/verification/request';
import { queues } from '../../queue/queues';

export async function registerSchedulerTick(app: AppServices): Promise<void> {
  await app.boss.schedule(queues.schedulerTick.name, '* * * * *');
  await app.boss.work(queues.schedulerTick.name, { pollingIntervalSeconds: 5 }, async () => {
    const now = new Date();
    const r = await schedulerTick(app.db, app.boss, now);
    const verifications = await scheduleVerifications(app.db, app.boss, now);
    if (r.enqueued || r.missed || verifications) app.log.info({ ...r, verifications }, 'scheduler tick');
  });
}
