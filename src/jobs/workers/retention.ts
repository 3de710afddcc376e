// Every 15 minutes (one run across all processes: the queue is a singleton): delete the recovery
// points retention lets go, and finish deletions an unreachable destination interrupted before.
import type { AppServices } from '../../services';
import { sweepRetention } from '../../domain/retention/sweep';
import { queues } from '../../queue/queues';

export async function registerRetention(app: AppServices): Promise<void> {
  await app.boss.schedule(queues.retention.name, '*/15 * * * *');
  await app.boss.work(queues.retention.name, { pollingIntervalSeconds: 10 }, async () => {
    const r = await sweepRetention(app.db, { masterKey: app.masterKey, storageRoot: app.config.storageRoot }, { log: app.log });
    if (r.expired || r.purged || r.pending || r.errors) app.log.info(r, 'retention');
  });
}
