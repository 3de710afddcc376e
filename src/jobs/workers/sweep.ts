// Every five minutes (one run across all processes): settle jobs whose worker was lost and remove
// what crashed runs left at the destinations.
import type { AppServices } from '../../services';
import { sweepBackups } from '../../domain/backups/sweep';
import { queues } from '../../queue/queues';

/** A writer keeps its temp file's mtime fresh; anything older than this has no writer left. */
const GRACE_MS = 30 * 60_000;

export async function registerSweep(app: AppServices): Promise<void> {
  await app.boss.schedule(queues.sweep.name, '*/5 * * * *');
  await app.boss.work(queues.sweep.name, { pollingIntervalSeconds: 10 }, async () => {
    const r = await sweepBackups(app.db, app.boss, { masterKey: app.masterKey, storageRoot: app.config.storageRoot }, app.log, { graceMs: GRACE_MS });
    if (r.settledJobs || r.settledRestores || r.partialFiles || r.orphanObjects || r.holdMarkers.synced || r.holdMarkers.pending) app.log.info(r, 'sweep');
  });
}
