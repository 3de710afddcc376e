// Starts every worker of this process. Each worker lives in its own file under workers/.
import type { AppServices } from '../services';
import { settleJobsOfDeadWorkers, settleJobsOfWorker } from '../domain/backups/lost-workers';
import { InflightJobs, type WorkerContext } from './inflight';
import { holdWorkerLock } from './worker-lock';
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

/** How long interrupted handlers get to record INTERRUPTED and clean up before their rows are settled for them. */
const INTERRUPT_WAIT_MS = 30_000;

export interface Workers {
  readonly workerId: string;
  /**
   * Stops fetching jobs and waits for the running ones. With `graceMs`, running jobs get that
   * long; then this process interrupts them itself, and each handler records INTERRUPTED, cleans
   * up and hands its job back to the queue (retried at once by another worker, or this one after a
   * restart) before this returns. A handler that does not answer within INTERRUPT_WAIT_MS has its
   * job settled the same way by this worker's id. Without `graceMs`, running jobs are waited for
   * however long they take.
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
  const lock = await holdWorkerLock(app.databaseUrl, app.log);
  const ctx: WorkerContext = { workerId: lock.workerId, inflight: new InflightJobs() };
  if (!lock.held) app.log.warn({ workerId: lock.workerId }, 'another live session holds this worker id; its jobs are not settled at start-up');
  // Jobs an earlier run of this worker (or another dead worker of this host) left RUNNING go back
  // to the queue now, not when their heartbeat lapses.
  const settled = await settleJobsOfDeadWorkers(app.db, app.boss, { host: lock.host, ownId: lock.workerId, ownIdIsStale: lock.held });
  if (settled.requeued || settled.failed) app.log.info({ ...settled }, 'settled the jobs of workers that stopped without finishing them');

  await registerBackupWorker(app, ctx);
  await registerRestoreWorker(app, ctx);
  await registerDeadLetters(app);
  await registerVerifyWorker(app, ctx);
  await registerSchedulerTick(app);
  await registerSweep(app);
  await registerRetention(app);
  await registerAlertDeliveryWorker(app);
  await registerAlertDeliveryDeadLetter(app);
  await registerAlertTick(app);
  const names = [queues.backup, queues.restore, queues.verify, queues.backupDead, queues.restoreDead, queues.schedulerTick, queues.sweep, queues.retention, queues.alertDelivery, queues.alertDeliveryDead, queues.alertTick].map((q) => q.name);
  return {
    workerId: lock.workerId,
    stop: async (opts = {}) => {
      // Fetch nothing more; the handlers running now go on (with their heartbeats).
      const drained = Promise.all(names.map((n) => app.boss.offWork(n, { wait: true }).catch(() => undefined)));
      let abandoned = false;
      if (opts.graceMs !== undefined && !(await ctx.inflight.idle(opts.graceMs))) {
        app.log.info({ running: ctx.inflight.size }, 'grace period over: interrupting the running jobs');
        ctx.inflight.abortAll(new Error('the worker is shutting down'));
        if (!(await ctx.inflight.idle(INTERRUPT_WAIT_MS))) {
          abandoned = true;
          const r = await settleJobsOfWorker(app.db, app.boss, lock.workerId, { code: 'INTERRUPTED', error: 'The worker shut down while running this job' });
          app.log.warn({ running: ctx.inflight.size, ...r }, 'jobs did not stop when interrupted; handed back to the queue without their cleanup');
        }
      }
      // The handlers have settled; what is left is pg-boss completing or failing their queue jobs.
      if (!abandoned) await drained;
      await lock.release();
    },
  };
}
