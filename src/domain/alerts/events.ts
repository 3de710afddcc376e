// What the backup worker calls when a run ends: a failure (after its retries) raises
// BACKUP_FAILED; a success resolves the strategy's failure, missed-run and RPO alerts and tells
// the channels that asked for successes. Both inside the worker's own transaction.
import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Tx } from '../../db/context';
import { raiseAlert, resolveAlerts } from './raise';
import { fanOut } from './routing';

export interface BackupFailure {
  orgId: string;
  strategyId: string;
  backupJobId: string;
  code: string;
  message: string;
  attempt: number;
}

export async function backupFailedAlert(tx: Tx, boss: PgBoss, f: BackupFailure) {
  const strategy = await tx.strategy.findFirst({ where: { id: f.strategyId, orgId: f.orgId }, select: { name: true } });
  return raiseAlert(tx, boss, {
    orgId: f.orgId, kind: 'BACKUP_FAILED', resourceType: 'Strategy', resourceId: f.strategyId, strategyId: f.strategyId,
    message: `The backup of ${strategy?.name ?? 'a strategy'} failed after ${f.attempt} attempt${f.attempt === 1 ? '' : 's'}: ${f.message}`.slice(0, 2000),
    figures: { backupJobId: encodeGlobalID('BackupJob', f.backupJobId), attempts: f.attempt, errorCode: f.code, error: f.message.slice(0, 500) },
  });
}

export interface BackupSuccess {
  orgId: string;
  strategy: { id: string; name: string; critical: boolean };
  backupJobId: string;
  recoveryPointId: string;
  rawBytes: number;
  storedBytes: number;
  durationMs: number;
  finishedAt: Date;
}

export async function backupSucceededNotices(tx: Tx, boss: PgBoss, s: BackupSuccess): Promise<void> {
  await resolveAlerts(tx, boss, { orgId: s.orgId, kinds: ['BACKUP_FAILED', 'MISSED_RUN', 'RPO_BREACHED'], strategyId: s.strategy.id, by: 'system:backup-worker', at: s.finishedAt });
  const org = await tx.organization.findUniqueOrThrow({ where: { id: s.orgId }, select: { id: true, slug: true, name: true } });
  await fanOut(tx, boss, s.orgId, { type: 'backup.succeeded', strategyId: s.strategy.id, strategyCritical: s.strategy.critical }, {
    id: randomUUID(), type: 'backup.succeeded', timestamp: s.finishedAt.toISOString(), organization: org,
    link: `/graphql?query=${encodeURIComponent(`{ node(id: "${encodeGlobalID('BackupJob', s.backupJobId)}") { ... on BackupJob { status finishedAt recoveryPoint { storedBytes sha256 } } } }`)}`,
    alert: null,
    backup: {
      jobId: encodeGlobalID('BackupJob', s.backupJobId), strategy: { id: encodeGlobalID('Strategy', s.strategy.id), name: s.strategy.name },
      recoveryPointId: encodeGlobalID('RecoveryPoint', s.recoveryPointId), rawBytes: s.rawBytes, storedBytes: s.storedBytes, durationMs: s.durationMs, finishedAt: s.finishedAt.toISOString(),
    },
  }, null);
}
