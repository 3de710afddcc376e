// The dead-letter queues of backups and restores: a job lands here when its worker was lost and
// its retries are used up. The worker reads the payload; the domain settles the row.
import { failLostBackup } from '../../domain/jobs-control/lost-jobs';
import { settleLostRestore } from '../../domain/restores/lost';
import type { AppServices } from '../../services';
import { queues } from '../../queue/queues';

export async function registerDeadLetters(app: AppServices): Promise<void> {
  await app.boss.work(queues.backupDead.name, { pollingIntervalSeconds: 2 }, async ([job]) => {
    const p = queues.backupDead.payload.parse(job!.data);
    await failLostBackup(app.db, app.boss, p.orgId, p.backupJobId);
  });
  await app.boss.work(queues.restoreDead.name, { pollingIntervalSeconds: 2 }, async ([job]) => {
    const p = queues.restoreDead.payload.parse(job!.data);
    // Also drops the new database the restore had begun, if it still carries the restore's mark.
    await settleLostRestore(app.db, app.masterKey, app.log, { recoveryJobId: p.recoveryJobId, orgId: p.orgId });
  });
}
