// Platform-wide numbers for /metrics, read at scrape time from the database, so every API process
// reports the same values whichever worker did the work. Aggregates only: no organization,
// strategy or job identifiers ever leave through metrics.
import type { Db } from '../../db/client';
import { withSystem } from '../../db/context';
import { Prisma } from '../../db/generated/prisma/client';
import { ACTIVE_JOB_STATUSES, ACTIVE_VERIFICATION_STATUSES, RUNNING_JOB_STATUSES, sqlList } from '../jobs-control/statuses';

export interface PlatformSnapshot {
  /** Jobs by kind and status: active ones (QUEUED, RUNNING, VERIFYING) and those finished in the last 24 h. */
  jobs: Array<{ kind: 'backup' | 'restore' | 'verification'; status: string; count: number }>;
  /** Seconds since the oldest running job of each kind started (0 when none runs). */
  oldestRunningSeconds: Record<'backup' | 'restore' | 'verification', number>;
  recoveryPoints: number;
  storedBytes: number;
  strategies: Array<{ status: string; count: number }>;
  /** Active strategies with an RPO target and no successful backup within it. */
  rpoBreached: number;
  organizations: number;
  /** pg-boss jobs waiting or running, by queue and state. */
  queue: Array<{ queue: string; state: string; count: number }>;
}

type Row = Record<string, unknown>;
const ACTIVE_JOBS = Prisma.raw(sqlList(ACTIVE_JOB_STATUSES));
const RUNNING_JOBS = Prisma.raw(sqlList(RUNNING_JOB_STATUSES));
const ACTIVE_VERIFICATIONS = Prisma.raw(sqlList(ACTIVE_VERIFICATION_STATUSES));
const n = (v: unknown) => Number(v ?? 0);

export async function readPlatformMetrics(db: Db): Promise<PlatformSnapshot> {
  const snapshot = await withSystem(db, 'metrics', async (tx) => {
    const jobs = await tx.$queryRaw<Row[]>`
      SELECT 'backup' AS kind, status::text AS status, count(*) AS n FROM "BackupJob"
        WHERE status IN (${ACTIVE_JOBS}) OR "finishedAt" > now() - interval '24 hours' GROUP BY status
      UNION ALL
      SELECT 'restore', status::text, count(*) FROM "RecoveryJob"
        WHERE status IN (${ACTIVE_JOBS}) OR "finishedAt" > now() - interval '24 hours' GROUP BY status
      UNION ALL
      SELECT 'verification', status::text, count(*) FROM "Verification"
        WHERE status IN (${ACTIVE_VERIFICATIONS}) OR "finishedAt" > now() - interval '24 hours' GROUP BY status`;
    const oldest = await tx.$queryRaw<Row[]>`
      SELECT 'backup' AS kind, extract(epoch FROM now() - min("startedAt")) AS s FROM "BackupJob" WHERE status IN (${RUNNING_JOBS})
      UNION ALL SELECT 'restore', extract(epoch FROM now() - min("startedAt")) FROM "RecoveryJob" WHERE status = 'RUNNING'
      UNION ALL SELECT 'verification', extract(epoch FROM now() - min("startedAt")) FROM "Verification" WHERE status = 'RUNNING'`;
    const [points] = await tx.$queryRaw<Row[]>`SELECT count(*) AS n, coalesce(sum("storedBytes"), 0) AS bytes FROM "RecoveryPoint"`;
    const strategies = await tx.$queryRaw<Row[]>`SELECT status::text AS status, count(*) AS n FROM "Strategy" GROUP BY status`;
    const [breached] = await tx.$queryRaw<Row[]>`
      SELECT count(*) AS n FROM "Strategy" s
      WHERE s.status = 'ACTIVE' AND s."rpoMinutes" IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM "BackupJob" j WHERE j."strategyId" = s.id AND j.status = 'SUCCEEDED' AND j."finishedAt" > now() - make_interval(mins => s."rpoMinutes"))`;
    const [orgs] = await tx.$queryRaw<Row[]>`SELECT count(*) AS n FROM "Organization"`;
    return {
      jobs: jobs.map((r) => ({ kind: r.kind as PlatformSnapshot['jobs'][number]['kind'], status: String(r.status), count: n(r.n) })),
      oldestRunningSeconds: Object.fromEntries(oldest.map((r) => [r.kind, n(r.s)])) as PlatformSnapshot['oldestRunningSeconds'],
      recoveryPoints: n(points?.n),
      storedBytes: n(points?.bytes),
      strategies: strategies.map((r) => ({ status: String(r.status), count: n(r.n) })),
      rpoBreached: n(breached?.n),
      organizations: n(orgs?.n),
    };
  });
  // The queue's own schema belongs to the platform login, not to the tenant roles.
  const queue = await db.$queryRaw<Row[]>`
    SELECT name, state::text AS state, count(*) AS n FROM pgboss.job WHERE state IN ('created', 'retry', 'active') GROUP BY name, state`;
  return { ...snapshot, queue: queue.map((r) => ({ queue: String(r.name), state: String(r.state), count: n(r.n) })) };
}
