// The alert kinds, what raises each, and the order of severities. One table so that the README,
// the e-mail subject and the routing rules use the same words.
import type { AlertKind, AlertSeverity } from '../../db/generated/prisma/enums';

export const ALERT_KINDS: Record<AlertKind, { title: string; fires: string; clears: string }> = {
  BACKUP_FAILED: { title: 'Backup failed', fires: 'a backup failed after its retries (or its worker was lost for good)', clears: 'the next backup of the strategy succeeds' },
  MISSED_RUN: { title: 'Missed backup run', fires: 'a scheduled slot could not start within the start window', clears: 'the next backup of the strategy succeeds' },
  RPO_BREACHED: { title: 'RPO breached', fires: 'an active strategy has had no successful backup within its rpoMinutes', clears: 'a backup succeeds (checked every minute)' },
  RESTORE_TEST_FAILED: { title: 'Restore test failed', fires: 'a restore test (verification) of the strategy failed', clears: 'the next restore test of the strategy passes' },
  DESTINATION_UNREACHABLE: { title: 'Destination unreachable', fires: 'testing a destination failed', clears: 'the destination answers a test' },
  DESTINATION_NEARLY_FULL: { title: 'Destination nearly full', fires: 'reserved: nothing raises it yet (destinations report no capacity)', clears: 'resolved by a person' },
  RETENTION_DELETION_STUCK: { title: 'Retention deletion stuck', fires: 'a recovery point has been marked for deletion for over an hour (a destination keeps refusing)', clears: 'the point is gone (checked every minute)' },
  CONTROL_NON_COMPLIANT: { title: 'Compliance control non-compliant', fires: 'a compliance control evaluated as non-compliant', clears: 'the control is compliant again' },
  AUDIT_CHAIN_BROKEN: { title: 'Audit chain broken', fires: 'reserved: nothing raises it yet (verifyAuditChain is a query)', clears: 'resolved by a person' },
};

export const SEVERITY_RANK: Record<AlertSeverity, number> = { INFO: 0, WARNING: 1, CRITICAL: 2 };

export const atLeast = (severity: AlertSeverity, min: AlertSeverity) => SEVERITY_RANK[severity] >= SEVERITY_RANK[min];
