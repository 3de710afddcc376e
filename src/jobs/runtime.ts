// Starts every worker of this process. Each worker lives in its own file under workers/.
import type { AppServices } from '../services';
import { registerBackupDeadLetter } from './workers/backup-dead';
import { registerSchedulerTick } from './workers/scheduler-tick';

export interface Workers {
  stop(): Promise<void>;
}

export async function startWorkers(app: AppServices): Promise<Workers> {
  await registerBackupDeadLetter(app);
  await registerSchedulerTick(app);
  return {
    stop: async () => {
      for (const q of ['backup-dead', 'scheduler-tick']) await app.boss.offWork(q).catch(() => undefined);
    },
  };
}
