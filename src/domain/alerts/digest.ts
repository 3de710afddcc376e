// The daily digest: once a day, at the channel's digestHour in the organization's time zone, one
// message summarising yesterday (runs that succeeded and failed, the failures) and the alerts
// still open. lastDigestOn is claimed in the same transaction that queues the message, so two
// ticks (or two processes) never send the same day twice.
import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Db } from '../../db/client';
import { withSystem, withTenant } from '../../db/context';
import { enqueueDelivery } from './routing';

function localDay(at: Date, timeZone: string): { date: string; hour: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' }).formatToParts(at).map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, hour: Number(parts.hour) };
}

export async function sendDailyDigests(db: Db, boss: PgBoss, now = new Date()): Promise<number> {
  const channels = await withSystem(db, 'alert-digest-find-due', (tx) =>
    tx.notificationChannel.findMany({ where: { dailyDigest: true, enabled: true }, select: { id: true, orgId: true, digestHour: true, lastDigestOn: true, org: { select: { timeZone: true } } } }),
  );
  let sent = 0;
  for (const c of channels) {
    const today = localDay(now, c.org.timeZone);
    if (today.hour < c.digestHour || c.lastDigestOn === today.date) continue;
    const yesterday = localDay(new Date(now.getTime() - 86_400_000), c.org.timeZone).date;
    const done = await withTenant(db, c.orgId, async (tx) => {
      const claimed = await tx.notificationChannel.updateMany({ where: { id: c.id, orgId: c.orgId, OR: [{ lastDigestOn: null }, { lastDigestOn: { not: today.date } }] }, data: { lastDigestOn: today.date } });
      if (claimed.count === 0) return false;
      const channel = await tx.notificationChannel.findUniqueOrThrow({ where: { id: c.id } });
      const org = await tx.organization.findUniqueOrThrow({ where: { id: c.orgId }, select: { id: true, slug: true, name: true, timeZone: true } });
      // Two days back covers yesterday in any time zone; the local date picks the day exactly.
      const jobs = await tx.backupJob.findMany({
        where: { orgId: c.orgId, status: { in: ['SUCCEEDED', 'FAILED'] }, finishedAt: { gte: new Date(now.getTime() - 2 * 86_400_000) } },
        select: { status: true, error: true, finishedAt: true, strategy: { select: { name: true } } },
        orderBy: { finishedAt: 'asc' },
      });
      const ofDay = jobs.filter((j) => j.finishedAt && localDay(j.finishedAt, org.timeZone).date === yesterday);
      const failed = ofDay.filter((j) => j.status === 'FAILED');
      const open = await tx.alert.findMany({ where: { orgId: c.orgId, state: { not: 'RESOLVED' } }, orderBy: { lastSeenAt: 'desc' }, take: 50 });
      await enqueueDelivery(tx, boss, c.orgId, {
        id: randomUUID(), type: 'digest.daily', timestamp: now.toISOString(), organization: { id: org.id, slug: org.slug, name: org.name },
        link: `/graphql?query=${encodeURIComponent('{ alerts(first: 50, state: OPEN) { edges { node { kind severity title count lastSeenAt } } } }')}`,
        alert: null,
        digest: {
          date: yesterday, succeeded: ofDay.length - failed.length, failed: failed.length,
          failures: failed.slice(0, 50).map((j) => ({ strategy: j.strategy.name, error: j.error, finishedAt: j.finishedAt?.toISOString() ?? null })),
          openAlerts: open.map((a) => ({ id: encodeGlobalID('Alert', a.id), kind: a.kind, severity: a.severity, title: a.title, count: a.count, lastSeenAt: a.lastSeenAt.toISOString() })),
        },
      }, { channel }, null);
      return true;
    });
    if (done) sent++;
  }
  return sent;
}
