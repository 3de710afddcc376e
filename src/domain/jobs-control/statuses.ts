// Which job states count as still going: the one list every query about live work uses (what a
// strategy deletion, a point deletion, the sweep, the claim, dashboards and metrics ask).
import type { JobStatus, VerificationStatus } from '../../db/generated/prisma/enums';

/** A backup or restore that is waiting or working: it still holds its strategy or point. */
export const ACTIVE_JOB_STATUSES = ['QUEUED', 'RUNNING', 'VERIFYING'] as const satisfies readonly JobStatus[];
/** A backup or restore that a worker holds right now. */
export const RUNNING_JOB_STATUSES = ['RUNNING', 'VERIFYING'] as const satisfies readonly JobStatus[];
/** A restore test that is waiting or working. */
export const ACTIVE_VERIFICATION_STATUSES = ['QUEUED', 'RUNNING'] as const satisfies readonly VerificationStatus[];

export function isActiveJobStatus(status: string): boolean {
  return (ACTIVE_JOB_STATUSES as readonly string[]).includes(status);
}

/** The list as SQL literals, for the few raw queries (constants only, never user input). */
export function sqlList(statuses: readonly string[]): string {
  return statuses.map((s) => `'${s}'`).join(', ');
}
