// Storage usage of an organization: what its copies take per destination and per strategy, how
// that grew per day, and what compression saved. Read from the catalog (artifacts are the copies,
// recovery points the logical backups), under the tenant's RLS, in a handful of statements.
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import { ValidationError } from '../errors';

export const USAGE_DAYS_MAX = 90;

export interface DailyUsage {
  /** The calendar day in the organization's time zone, `YYYY-MM-DD`. */
  day: string;
  addedBytes: bigint;
  removedBytes: bigint;
  /** Bytes held at all destinations at the end of the day (or now, for today). */
  storedBytes: bigint;
}

export interface StorageUsage {
  storedBytes: bigint;
  rawBytes: bigint;
  /** Of one copy per recovery point: raw minus stored (what compression saved). */
  compressionSavedBytes: bigint;
  byDestination: Array<{ destinationId: string; name: string; kind: string; storedBytes: bigint; copies: number }>;
  byStrategy: Array<{ strategyId: string; name: string; storedBytes: bigint; rawBytes: bigint; points: number }>;
  daily: DailyUsage[];
}

/** A copy counts while it is held: written and not yet deleted (failed deletions still take space). */
const HELD = `a.status <> 'DELETED' AND a."deletedAt" IS NULL`;

export async function storageUsage(db: Db, orgId: string, now: Date, days = 30): Promise<StorageUsage> {
  if (!Number.isInteger(days) || days < 1 || days > USAGE_DAYS_MAX) {
    throw ValidationError.field(['days'], `must be a whole number between 1 and ${USAGE_DAYS_MAX}`);
  }
  return withTenant(db, orgId, async (tx) => {
    const org = await tx.organization.findUniqueOrThrow({ where: { id: orgId }, select: { timeZone: true } });
    const [byDestination, byStrategy, points, daily] = await Promise.all([
      tx.$queryRawUnsafe<Array<{ destinationId: string; name: string; kind: string; storedBytes: bigint; copies: number }>>(
        `SELECT d.id::text AS "destinationId", d.name, d.kind::text AS kind,
                COALESCE(SUM(a."sizeBytes") FILTER (WHERE ${HELD}), 0)::bigint AS "storedBytes",
                (COUNT(a.id) FILTER (WHERE ${HELD}))::int AS copies
         FROM "Destination" d LEFT JOIN "Artifact" a ON a."destinationId" = d.id
         WHERE d."orgId" = $1::uuid GROUP BY d.id, d.name, d.kind ORDER BY "storedBytes" DESC, d.name`,
        orgId,
      ),
      tx.$queryRawUnsafe<Array<{ strategyId: string; name: string; storedBytes: bigint; rawBytes: bigint; points: number }>>(
        `SELECT s.id::text AS "strategyId", s.name,
                COALESCE((SELECT SUM(a."sizeBytes") FROM "Artifact" a JOIN "RecoveryPoint" p ON p.id = a."recoveryPointId"
                          WHERE p."strategyId" = s.id AND ${HELD}), 0)::bigint AS "storedBytes",
                COALESCE(SUM(p."rawBytes"), 0)::bigint AS "rawBytes", COUNT(p.id)::int AS points
         FROM "Strategy" s LEFT JOIN "RecoveryPoint" p ON p."strategyId" = s.id AND p."deletingSince" IS NULL
         WHERE s."orgId" = $1::uuid GROUP BY s.id, s.name ORDER BY "storedBytes" DESC, s.name`,
        orgId,
      ),
      tx.recoveryPoint.aggregate({ where: { orgId, deletingSince: null }, _sum: { rawBytes: true, storedBytes: true } }),
      // One row per day of the window in the organization's zone: bytes written, bytes deleted,
      // and what was held at the day's end.
      tx.$queryRawUnsafe<Array<{ day: string; addedBytes: bigint; removedBytes: bigint; storedBytes: bigint }>>(
        `WITH days AS (
           SELECT d::date AS day,
                  (d::date::timestamp AT TIME ZONE $2) AS starts,
                  LEAST(((d::date + 1)::timestamp AT TIME ZONE $2), $3::timestamptz) AS ends
           FROM generate_series((($3::timestamptz AT TIME ZONE $2)::date - ($4::int - 1)), ($3::timestamptz AT TIME ZONE $2)::date, interval '1 day') AS d
         )
         SELECT to_char(days.day, 'YYYY-MM-DD') AS day,
                COALESCE(SUM(a."sizeBytes") FILTER (WHERE a."createdAt" >= days.starts AND a."createdAt" < days.ends), 0)::bigint AS "addedBytes",
                COALESCE(SUM(a."sizeBytes") FILTER (WHERE a."deletedAt" >= days.starts AND a."deletedAt" < days.ends), 0)::bigint AS "removedBytes",
                COALESCE(SUM(a."sizeBytes") FILTER (WHERE a."createdAt" < days.ends AND (a."deletedAt" IS NULL OR a."deletedAt" >= days.ends)), 0)::bigint AS "storedBytes"
         FROM days LEFT JOIN "Artifact" a ON a."orgId" = $1::uuid
         GROUP BY days.day ORDER BY days.day`,
        orgId, org.timeZone, now, days,
      ),
    ]);
    const raw = points._sum.rawBytes ?? 0n;
    const stored = points._sum.storedBytes ?? 0n;
    return {
      storedBytes: byDestination.reduce((n, d) => n + BigInt(d.storedBytes), 0n),
      rawBytes: raw,
      compressionSavedBytes: raw > stored ? raw - stored : 0n,
      byDestination: byDestination.map((d) => ({ ...d, storedBytes: BigInt(d.storedBytes) })),
      byStrategy: byStrategy.map((s) => ({ ...s, storedBytes: BigInt(s.storedBytes), rawBytes: BigInt(s.rawBytes) })),
      daily: daily.map((d) => ({ day: d.day, addedBytes: BigInt(d.addedBytes), removedBytes: BigInt(d.removedBytes), storedBytes: BigInt(d.storedBytes) })),
    };
  });
}
