// Runs backup jobs. Concurrency is bounded twice: per process (WORKER_CONCURRENCY) and per
// organization across every process (pg-boss group concurrency, the org's maxConcurrentBackups
// as the group's tier, made strict by the claim: see backup-claim.ts), so one tenant's burst
// cannot starve the others.
import type { AppServices } from '../../services';
import { runBackup } from '../../domain/backups/run';
import { backupEngineFor, directoryOptionsFor } from '../../domain/backups/engine';
import { queues } from '../../queue/queues';
import type { WorkerContext } from '../inflight';

/** The highest maxConcurrentBackups an organization may have; each value is a tier. */
export const MAX_ORG_CONCURRENCY = 16;

export async function registerBackupWorker(app: AppServices, { inflight, workerId }: WorkerContext): Promise<void> {
  const tiers = Object.fromEntries(Array.from({ length: MAX_ORG_CONCURRENCY }, (_, i) => [String(i + 1), i + 1]));
  const deps = {
    db: app.db,
    boss: app.boss,
    masterKey: app.masterKey,
    storageRoot: app.config.storageRoot,
    events: app.events,
    log: app.log,
    engineFor: backupEngineFor(app),
    directoryOptionsFor: directoryOptionsFor(app),
  };
  await app.boss.work(
    queues.backup.name,
    { localConcurrency: app.config.workerConcurrency, groupConcurrency: { default: 2, tiers }, pollingIntervalSeconds: 1 },
    ([job]) => inflight.run(job!.signal, async (signal) => {
      const payload = queues.backup.payload.parse(job!.data);
      const outcome = await runBackup(deps, {
        backupJobId: payload.backupJobId,
        orgId: payload.orgId,
        attempt: job!.retryCount + 1,
        retriesLeft: job!.retryCount < queues.backup.options.retryLimit,
        signal,
        workerId,
        queueJobId: job!.id,
      });
      // Throwing hands the job back to pg-boss for a retry with backoff; every other outcome is
      // already recorded on the row, so the queue job is done.
      if (outcome.status === 'FAILED' && outcome.retry) throw new Error(`${outcome.code}: ${outcome.message}`);
      return outcome;
    }),
  );
}
