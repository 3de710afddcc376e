// Starts every worker of this process. Each worker lives in its own file under workers/.
import type { AppServices } from '../services';
import { registerBackupWorker } from './workers/backup';
import { registerBackupDeadLetter } from './workers/backup-dead';
import { registerRestoreWorker } from './workers/restore';
import { registerRestoreDeadLetter } from './workers/restore-dead';
import { registerVerifyWorker } from './workers/verify';
import { registerRetention } from './workers/retention';
import { registerSchedulerTick } from './workers/scheduler-tick';
import { registerSweep } from './workers/sweep';
import { queues } from './queues';

export interface Workers {
  stop(): Promise<void>;
}

export async function startWorkers(app: AppServices): Promise<Workers> {
  const stopBackup = await registerBackupWorker(app);
  await registerBackupDeadLetter(app);
  const stopRestore = await registerRestoreWorker(app);
  await registerRestoreDeadLetter(app);
  const stopVerify = await registerVerifyWorker(app);
  await registerSchedulerTick(app);
  await registerSweep(app);
  await registerRetention(app);
  return {
    stop: async () => {
      await Promise.all([stopBackup(), stopRestore(), stopVerify()]);
      for (const q of [queues.backupDead, queues.restoreDead, queues.schedulerTick, queues.sweep, queues.retention]) await app.boss.offWork(q.name).catch(() => undefined);
    },
  };
}
