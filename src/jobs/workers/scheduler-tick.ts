// Every minute (a pg-boss schedule, so one tick per minute across all processes): enqueue
// due strategies and record missed slots.
import type { AppServices } from '../../services';
import { schedulerTick } from '../../domain/scheduler';
import { queues } from '../queues';

export async function registerSchedulerTick(app: AppServices): Promise<void> {
  await app.boss.schedule(queues.schedulerTick.name, '* * * * *');
  await app.boss.work(queues.schedulerTick.name, { pollingIntervalSeconds: 5 }, async () => {
    const r = await schedulerTick(app.db, app.boss, new Date());
    if (r.enqueued || r.missed) app.log.info(r, 'scheduler tick');
  });
}
