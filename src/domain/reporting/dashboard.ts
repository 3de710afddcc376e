// What dashboards ask about an organization's backups: health and statistics.
import type { TenantRead } from '../../db/context';
import { NotFoundError } from '../errors';
import { RUNNING_JOB_STATUSES } from '../jobs-control/statuses';

/** Midnight of `now`'s calendar day in the given IANA zone, as an instant. */
export function startOfDayIn(now: Date, timeZone: string): Date {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!);
  const offset = asUtc - Math.floor(now.getTime() / 1000) * 1000;
  return new Date(Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!) - offset);
}

/** `read` runs in a tenant transaction: the GraphQL operation's session, or tenantRead(db, orgId). */
export async function backupHealth(read: TenantRead, orgId: string, now: Date) {
  return read(async (tx) => {
    const org = await tx.organization.findUniqueOrThrow({ where: { id: orgId }, select: { timeZone: true } });
    const midnight = startOfDayIn(now, org.timeZone);
    const [lastOk, scheduledJobs, missedToday, missed24h, running, next, failing, damaged] = await Promise.all([
      tx.backupJob.findFirst({ where: { orgId, status: 'SUCCEEDED' }, orderBy: { finishedAt: 'desc' }, select: { finishedAt: true } }),
      tx.backupJob.groupBy({ by: ['status'], where: { orgId, trigger: 'SCHEDULED', scheduledFor: { gte: midnight, lte: now } }, _count: { _all: true } }),
      tx.missedRun.count({ where: { orgId, slotAt: { gte: midnight, lte: now } } }),
      tx.missedRun.count({ where: { orgId, slotAt: { gte: new Date(now.getTime() - 86_400_000) } } }),
      tx.backupJob.count({ where: { orgId, status: { in: [...RUNNING_JOB_STATUSES] } } }),
      tx.strategy.findFirst({ where: { orgId, status: 'ACTIVE', nextRunAt: { not: null } }, orderBy: { nextRunAt: 'asc' }, select: { nextRunAt: true } }),
      // Latest finished job per strategy, failing ones only: one statement for any number of strategies.
      tx.$queryRaw<Array<{ strategyId: string }>>`
        SELECT DISTINCT ON ("strategyId") "strategyId"::text AS "strategyId", status::text AS status
        FROM "BackupJob" WHERE "orgId" = ${orgId}::uuid AND status IN ('SUCCEEDED', 'FAILED')
        ORDER BY "strategyId", "finishedAt" DESC NULLS LAST`,
      tx.artifact.findMany({ where: { orgId, status: 'DAMAGED' }, select: { recoveryPointId: true }, orderBy: { createdAt: 'desc' } }),
    ]);
    const total = scheduledJobs.reduce((n, g) => n + g._count._all, 0);
    const ran = scheduledJobs.filter((g) => g.status === 'SUCCEEDED').reduce((n, g) => n + g._count._all, 0);
    return {
      lastSuccessfulBackupAt: lastOk?.finishedAt ?? null,
      scheduledToday: total + missedToday,
      ranToday: ran,
      missedLast24h: missed24h,
      failingStrategyIds: (failing as Array<{ strategyId: string; status: string }>).filter((r) => r.status === 'FAILED').map((r) => r.strategyId),
      runningJobs: running,
      damagedCopies: damaged.length,
      damagedRecoveryPointIds: [...new Set(damaged.map((a) => a.recoveryPointId))],
      nextRunAt: next?.nextRunAt ?? null,
    };
  });
}

export async function backupStats(read: TenantRead, orgId: string, strategyId?: string) {
  return read(async (tx) => {
    // A strategy id of another organization (or none) reads as not found, never as empty stats.
    if (strategyId && !(await tx.strategy.findFirst({ where: { id: strategyId, orgId }, select: { id: true } }))) {
      throw new NotFoundError('Strategy');
    }
    const agg = await tx.recoveryPoint.aggregate({
      where: { orgId, strategyId, deletingSince: null },
      _count: { _all: true },
      _sum: { storedBytes: true, rawBytes: true },
      _min: { takenAt: true },
      _max: { takenAt: true },
    });
    const count = agg._count._all;
    const totalStored = agg._sum.storedBytes ?? 0n;
    return {
      count,
      totalStoredBytes: totalStored,
      totalRawBytes: agg._sum.rawBytes ?? 0n,
      averageStoredBytes: count ? totalStored / BigInt(count) : 0n,
      oldestAt: agg._min.takenAt,
      newestAt: agg._max.takenAt,
    };
  });
}
