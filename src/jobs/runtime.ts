// Starts every worker of this process. Each worker lives in its own file under workers/.
import type { AppServices } from '../services';
import { registerBackupWorker } from './workers/backup';
import { registerDeadLetters } from './workers/dead-letter';
import { registerRestoreWorker } from './workers/restore';
import { registerVerifyWorker } from './workers/verify';
import { registerRetention } from './workers/retention';
import { registerSchedulerTick } from './workers/scheduler-tick';
import { registerSweep } from './workers/sweep';
import { registerAlertDeliveryWorker } from './workers/alert-delivery';
import { registerAlertDeliveryDeadLetter } from './workers/alert-delivery-dead';
import { registerAlertTick } from './workers/alert-tick';
import { queues } from '../queue/queues';
import { createDb } from '../db/client';

export interface Workers {
  /**
   * Stops fetching jobs and waits for the running ones. With `graceMs`, running jobs get that
   * long; then pg-boss hands them back to the queue (retried by another worker, or this one after
   * a restart) and aborts them, and their handlers record INTERRUPTED and clean up before this
   * returns. Without it, running jobs are waited for however long they take.
   */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

export async function startWorkers(api: AppServices): Promise<Workers> {
  // Workers get their own pool: the API under load must not make a backup wait for connections,
  // nor a busy worker make dashboards fail.
  // Not disconnected in stop(): an aborted handler may still be recording INTERRUPTED after
  // offWork returns, and cutting its pool lost that write (cross-process SIGTERM test). Idle
  // connections close by themselves (pg's idle timeout) or with the process.
  const db = createDb(api.databaseUrl, { max: api.config.database.workerPoolMax });
  const app: AppServices = { ...api, db };
  const stopBackup = await registerBackupWorker(app);
  const stopRestore = await registerRestoreWorker(app);
  await registerDeadLetters(app);
  const stopVerify = await registerVerifyWorker(app);
  await registerSchedulerTick(app);
  await registerSweep(app);
  await registerRetention(app);
  await registerAlertDeliveryWorker(app);
  await registerAlertDeliveryDeadLetter(app);
  await registerAlertTick(app);
  return {
    stop: async (opts = {}) => {
      if (opts.graceMs !== undefined) await app.boss.stop({ graceful: true, timeout: Math.max(opts.graceMs, 1000), close: false });
      // Waits for every handler still running, aborted ones included.
      await Promise.all([stopBackup(), stopRestore(), stopVerify()]);
      for (const q of [queues.backupDead, queues.restoreDead, queues.schedulerTick, queues.sweep, queues.retention, queues.alertDelivery, queues.alertDeliveryDead, queues.alertTick]) await app.boss.offWork(q.name).catch(() => undefined);
    },
  };
}
