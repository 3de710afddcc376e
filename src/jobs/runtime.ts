// Starts every worker of this process. Each worker lives in its own file under workers/.
import type { AppServices } from '../services';
import { registerBackupWorker } from './workers/backup';
import { registerBackupDeadLetter } from './workers/backup-dead';
import { registerSchedulerTick } from './workers/scheduler-tick';
import { registerSweep } from './workers/sweep';
import { queues } from './queues';

export interface Workers {
  stop(): Promise<void>;
}

export async function startWorkers(app: AppServices): Promise<Workers> {
  const stopBackup = await registerBackupWorker(app);
  await registerBackupDeadLetter(app);
  await registerSchedulerTick(app);
  await registerSweep(app);
  return {
    stop: async () => {
      await stopBackup();
      for (const q of [queues.backupDead, queues.schedulerTick, queues.sweep]) await app.boss.offWork(q.name).catch(() => undefined);
    },
  };
}
