// Live progress of a running backup or restore. The pipeline reports often; the row is written and
// the event published at most once per interval (the row feeds dashboards, the event feeds
// subscriptions in any API process through LISTEN/NOTIFY). Each write also reads back
// cancelRequestedAt, so a cancel is noticed even if its NOTIFY was missed.
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import { publishJobEvent } from './events';

export class JobProgressWriter {
  /** Estimated raw bytes (null while unknown). */
  total: number | null = null;
  private done = 0;
  private lastWrite = 0;
  private currentPhase = 'dumping';
  private writing: Promise<void> | undefined;
  private readonly startedAt = Date.now();
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly kind: 'BACKUP' | 'RECOVERY',
    private readonly job: { id: string; orgId: string },
    private readonly intervalMs: number,
    private readonly onCancelRequested: () => void,
  ) {}

  update(bytesDone: number): void {
    this.done = bytesDone;
    const now = Date.now();
    if (this.stopped || this.writing || now - this.lastWrite < this.intervalMs) return;
    this.lastWrite = now;
    this.writing = this.flush().finally(() => (this.writing = undefined));
  }

  async phase(name: string): Promise<void> {
    this.currentPhase = name;
    await this.writing;
    await this.flush();
  }

  stop(): void {
    this.stopped = true;
  }

  private estimate(): { percent: number | null; etaSeconds: number | null; total: number | null } {
    // An estimate smaller than what already flowed is stale: report no total rather than >100 %.
    const total = this.total !== null && this.total >= this.done ? this.total : null;
    if (total === null || total === 0) return { percent: null, etaSeconds: null, total };
    const percent = Math.min(99.9, (this.done / total) * 100);
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    return { percent: Math.round(percent * 10) / 10, etaSeconds: rate > 0 ? Math.round((total - this.done) / rate) : null, total };
  }

  private async flush(): Promise<void> {
    const { percent, etaSeconds, total } = this.estimate();
    try {
      const where = { id: this.job.id, status: 'RUNNING' as const };
      const data = { phase: this.currentPhase, bytesDone: BigInt(this.done), bytesTotal: total === null ? null : BigInt(total), percent, etaSeconds };
      const select = { cancelRequestedAt: true };
      const row = await withTenant(this.db, this.job.orgId, async (tx) => {
        if (this.kind === 'BACKUP') {
          await tx.backupJob.updateMany({ where, data });
          return tx.backupJob.findFirst({ where: { id: this.job.id }, select });
        }
        await tx.recoveryJob.updateMany({ where, data });
        return tx.recoveryJob.findFirst({ where: { id: this.job.id }, select });
      });
      if (row?.cancelRequestedAt) this.onCancelRequested();
      await publishJobEvent(this.db, {
        orgId: this.job.orgId, kind: this.kind, id: this.job.id, status: 'RUNNING', phase: this.currentPhase,
        bytesDone: String(this.done), bytesTotal: total === null ? null : String(total), percent, etaSeconds,
      });
    } catch {
      // Progress is advisory: a failed write must not fail the backup.
    }
  }
}
