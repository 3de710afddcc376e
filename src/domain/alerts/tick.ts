// Everything the alert tick does each minute, in one place for the worker and for tests that
// move the clock: escalations, the standing-condition checks, the daily digests.
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/client';
import { checkRpo, checkStuckDeletions } from './checks';
import { sendDailyDigests } from './digest';
import { escalateDueAlerts } from './escalation';

export async function alertTick(db: Db, boss: PgBoss, now = new Date()) {
  const escalated = await escalateDueAlerts(db, boss, now);
  const rpo = await checkRpo(db, boss, now);
  const stuck = await checkStuckDeletions(db, boss, now);
  const digests = await sendDailyDigests(db, boss, now);
  return { escalated, rpo, stuck, digests };
}
