// Turning schedules into jobs. Due strategies are found across organizations in the named
// system context; each one is then handled in its own tenant transaction. Two schedulers
// racing for one slot cannot both enqueue it: BackupJob(strategyId, scheduledFor) is unique.
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/client';
import { withSystem, withTenant } from '../../db/context';
import { recordAudit } from '../../audit/writer';
import { publishJobEvent } from '../jobs-control/events';
import { systemScope } from '../../auth/scope';
import { enqueueBackup } from '../backups/trigger';
import { nextRunWithPeak } from '../rules/schedule';
import { isUniqueViolation } from '../unique';
import { raiseAlert } from '../alerts/raise';

export interface TickResult {
  enqueued: number;
  missed: number;
}

/** The most missed slots recorded for one strategy in one tick (a long outage is summarised). */
const MAX_MISSED_PER_TICK = 50;

export async function schedulerTick(db: Db, boss: PgBoss, now: Date = new Date()): Promise<TickResult> {
  const due = await withSystem(db, 'scheduler-find-due', (tx) =>
    tx.strategy.findMany({
      where: { status: 'ACTIVE', nextRunAt: { lte: now } },
      select: { id: true, orgId: true },
      orderBy: { nextRunAt: 'asc' },
      take: 500,
    }),
  );
  const result: TickResult = { enqueued: 0, missed: 0 };
  for (const { id, orgId } of due) {
    const r = await scheduleStrategy(db, boss, orgId, id, now);
    result.enqueued += r.enqueued;
    result.missed += r.missed;
  }
  return result;
}

async function scheduleStrategy(db: Db, boss: PgBoss, orgId: string, strategyId: string, now: Date): Promise<TickResult> {
  const scope = systemScope(orgId, 'scheduler');
  const outcome = await withTenant(db, orgId, async (tx) => {
    const s = await tx.strategy.findFirst({ where: { id: strategyId, orgId, status: 'ACTIVE' }, include: { org: true } });
    if (!s?.nextRunAt || s.nextRunAt > now) return { enqueued: 0, missed: 0, jobId: undefined as string | undefined };
    // Walk every slot from nextRunAt up to now: only the newest may still start, and only
    // inside its start window; earlier ones are recorded as missed, never silently dropped.
    const slots: Date[] = [];
    let slot: Date | null = s.nextRunAt;
    while (slot && slot <= now && slots.length < MAX_MISSED_PER_TICK + 1) {
      slots.push(slot);
      slot = nextRunWithPeak(s, slot);
    }
    const newest = slots[slots.length - 1]!;
    const windowEnd = new Date(newest.getTime() + s.startWindowMinutes * 60_000);
    const missedSlots = slots.slice(0, -1);
    let jobId: string | undefined;
    if (now <= windowEnd) {
      try {
        const job = await enqueueBackup(tx, boss, {
          orgId, strategyId, trigger: 'SCHEDULED', scheduledFor: newest, priority: s.priority, orgMaxConcurrent: s.org.maxConcurrentBackups,
        });
        jobId = job.id;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        return { enqueued: 0, missed: 0, jobId: undefined }; // another scheduler took this slot
      }
    } else {
      missedSlots.push(newest);
    }
    for (const at of missedSlots) {
      await tx.missedRun.createMany({
        data: [{ orgId, strategyId, slotAt: at, reason: `did not start within the ${s.startWindowMinutes}-minute start window` }],
        skipDuplicates: true,
      });
    }
    const next = nextRunWithPeak(s, now);
    // Conditional on the value we read, so a concurrent scheduler cannot move it twice.
    await tx.strategy.updateMany({ where: { id: strategyId, nextRunAt: s.nextRunAt }, data: { nextRunAt: next, lastRunAt: jobId ? now : s.lastRunAt } });
    if (jobId) await recordAudit(tx, scope, { action: 'backup.schedule', resourceType: 'BackupJob', resourceId: jobId, after: { strategyId, scheduledFor: newest } });
    if (missedSlots.length) {
      await recordAudit(tx, scope, { action: 'backup.missed', resourceType: 'Strategy', resourceId: strategyId, after: { slots: missedSlots } });
      await raiseAlert(tx, boss, {
        orgId, kind: 'MISSED_RUN', resourceType: 'Strategy', resourceId: strategyId, strategyId,
        message: `${missedSlots.length} scheduled run${missedSlots.length === 1 ? '' : 's'} of ${s.name} did not start within the ${s.startWindowMinutes}-minute start window`,
        figures: { missedSlots: missedSlots.length, firstMissed: missedSlots[0]!.toISOString(), startWindowMinutes: s.startWindowMinutes },
      });
    }
    return { enqueued: jobId ? 1 : 0, missed: missedSlots.length, jobId };
  }).catch((err) => {
    if (isUniqueViolation(err)) return { enqueued: 0, missed: 0, jobId: undefined };
    throw err;
  });
  if (outcome.jobId) {
    await publishJobEvent(db, { orgId, kind: 'BACKUP', id: outcome.jobId, status: 'QUEUED' });
  }
  return { enqueued: outcome.enqueued, missed: outcome.missed };
}
