// Runs restore jobs, WORKER_CONCURRENCY at a time per process.
import type { AppServices } from '../../services';
import { runRestore } from '../../domain/restores/run';
import { queues } from '../../queue/queues';
import type { WorkerContext } from '../inflight';

export async function registerRestoreWorker(app: AppServices, { inflight }: WorkerContext): Promise<void> {
  const deps = { db: app.db, masterKey: app.masterKey, storageRoot: app.config.storageRoot, pgBinDir: app.config.pgBinDir, events: app.events, log: app.log };
  await app.boss.work(queues.restore.name, { localConcurrency: app.config.workerConcurrency, pollingIntervalSeconds: 1 }, ([job]) => inflight.run(job!.signal, async (signal) => {
    const payload = queues.restore.payload.parse(job!.data);
    const outcome = await runRestore(deps, {
      ...payload,
      attempt: job!.retryCount + 1,
      retriesLeft: job!.retryCount < queues.restore.options.retryLimit,
      signal,
    });
    // Only an interrupted attempt goes back to the queue; every other outcome is on the row.
    if (outcome.status === 'RETRY') throw new Error(outcome.message);
    return outcome;
  }));
}
