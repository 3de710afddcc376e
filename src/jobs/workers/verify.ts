// Runs restore tests. Scratch databases go to VERIFY_DATABASE_URL's server, or to the platform's
// own server when it is not set (fine for development; in production point it at a server sized
// for restores, away from the control plane's data).
import type { AppServices } from '../../services';
import { runVerification } from '../../domain/verification/run';
import { queues } from '../../queue/queues';
import type { WorkerContext } from '../inflight';

export async function registerVerifyWorker(app: AppServices, { inflight }: WorkerContext): Promise<void> {
  const deps = {
    db: app.db, masterKey: app.masterKey, storageRoot: app.config.storageRoot, pgBinDir: app.config.pgBinDir, events: app.events, log: app.log, boss: app.boss,
    scratchServerUrl: app.config.verifyDatabaseUrl ?? app.databaseUrl,
  };
  await app.boss.work(queues.verify.name, { localConcurrency: 1, pollingIntervalSeconds: 2 }, ([job]) => inflight.run(job!.signal, async (signal) => {
    const payload = queues.verify.payload.parse(job!.data);
    const outcome = await runVerification(deps, { ...payload, retriesLeft: job!.retryCount < queues.verify.options.retryLimit, signal });
    if (outcome === 'RETRY') throw new Error('interrupted; retrying');
    return { outcome };
  }));
}
