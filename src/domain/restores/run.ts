// One attempt at a restore job, as the restore worker runs it. Restores are not retried on their
// own failures (a second blind attempt at a half-understood target does more harm than good);
// only an interrupted attempt (worker shutdown) goes back to the queue. A NEW database is dropped
// and a directory's staging area removed on failure, so a failed restore leaves no half target.
import type { Logger } from 'pino';
import { CancelledError } from '../../backup/errors';
import { openSecret } from '../../crypto/sealed';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import type { EventBus } from '../../events/bus';
import { publishJobEvent } from '../jobs-control/events';
import { recordAudit } from '../../audit/writer';
import { systemScope } from '../../auth/scope';
import { JobProgressWriter } from '../jobs-control/progress';
import { jobStop } from '../jobs-control/stop';
import { restorePoint, type RestoreDeps, type RestoreEvidence, type RestoreTarget } from './copy';
import { targetSealAad } from './request';
import { failureOf, shouldRetry } from '../jobs-control/retry';

export interface RestoreRunDeps extends RestoreDeps {
  events: EventBus;
  log: Logger;
  progressIntervalMs?: number;
}

const OWNERSHIP = { AUTO: 'auto', RESTORE: 'restore', SKIP: 'skip' } as const;

/** The comment a NEW_DATABASE restore leaves on the database it created until it succeeds: proof the database is its own. */
export const restoreMarker = (recoveryJobId: string) => `keepsake restore ${recoveryJobId} in progress`;

export type RestoreOutcome = { status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'SKIPPED' } | { status: 'RETRY'; message: string };

export interface RestoreAttempt {
  recoveryJobId: string;
  orgId: string;
  attempt: number;
  retriesLeft: boolean;
  signal?: AbortSignal;
}

export async function runRestore(deps: RestoreRunDeps, attempt: RestoreAttempt): Promise<RestoreOutcome> {
  const { db } = deps;
  const claimed = await claimRestoreJob(db, attempt);
  if (!claimed) return { status: 'SKIPPED' };
  if (claimed === 'cancelled') {
    await publishJobEvent(db, { orgId: attempt.orgId, kind: 'RECOVERY', id: attempt.recoveryJobId, status: 'CANCELLED', phase: null });
    return { status: 'CANCELLED' };
  }
  const { job, point } = claimed;
  const log = deps.log.child({ recoveryJobId: job.id, attempt: attempt.attempt });
  await publishJobEvent(db, { orgId: job.orgId, kind: 'RECOVERY', id: job.id, status: 'RUNNING', phase: 'verifying' });

  const stopper = jobStop(deps.events, 'RECOVERY', job.id, attempt.signal);
  const progress = new JobProgressWriter(db, 'RECOVERY', job, deps.progressIntervalMs ?? 500, stopper.cancelled);
  let evidence: RestoreEvidence | undefined;
  try {
    if (!point) throw new CancelledError(new Error('the recovery point was deleted before the restore started'));
    progress.total = Number(point.rawBytes);
    let phase = 'verifying';
    evidence = await restorePoint(deps, point, restoreTargetOf(deps, job), stopper.signal, (p, bytes) => {
      if (p !== phase) {
        phase = p;
        void progress.phase(p);
      }
      progress.update(bytes);
    });
    await progress.phase('validating');
    await recordRestoreSuccess(db, job, point.id, evidence);
    log.info({ bytes: evidence.bytes }, 'restore succeeded');
    await publishJobEvent(db, { orgId: job.orgId, kind: 'RECOVERY', id: job.id, status: 'SUCCEEDED', phase: null, percent: 100 });
    return { status: 'SUCCEEDED' };
  } catch (caught) {
    const err: unknown = stopper.signal.aborted ? stopper.signal.reason : caught;
    return await recordRestoreFailure(db, job, attempt, err, evidence, log);
  } finally {
    stopper.dispose();
    progress.stop();
  }
}

type ClaimedRestore = Exclude<Awaited<ReturnType<typeof claimRestoreJob>>, null | 'cancelled'>;

/** The worker takes the row (RUNNING, this attempt) with the point and its copies; a job cancelled while queued ends here. */
async function claimRestoreJob(db: Db, attempt: RestoreAttempt) {
  return withTenant(db, attempt.orgId, async (tx) => {
    const job = await tx.recoveryJob.findFirst({
      where: { id: attempt.recoveryJobId, orgId: attempt.orgId },
      include: { recoveryPoint: { include: { artifacts: { include: { destination: true } } } } },
    });
    if (!job || ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.status)) return null;
    if (job.cancelRequestedAt) {
      await tx.recoveryJob.update({ where: { id: job.id }, data: { status: 'CANCELLED', phase: null, finishedAt: new Date() } });
      return 'cancelled' as const;
    }
    const running = await tx.recoveryJob.update({
      where: { id: job.id },
      data: { status: 'RUNNING', phase: 'verifying', attempt: attempt.attempt, startedAt: job.startedAt ?? new Date(), error: null, errorCode: null, bytesDone: 0n, percent: 0 },
    });
    return { job: running, point: job.recoveryPoint };
  });
}

/** Where the job restores to, with the target URL unsealed only here, in the worker. */
function restoreTargetOf(deps: RestoreRunDeps, job: ClaimedRestore['job']): RestoreTarget {
  const selection = (job.selection ?? {}) as { schemas?: string[]; tables?: string[]; paths?: string[]; glob?: string | null };
  if (job.targetKind === 'DIRECTORY') return { kind: 'directory', path: job.targetPath!, paths: selection.paths, glob: selection.glob ?? undefined };
  return {
    kind: 'postgres',
    url: openSecret(deps.masterKey, job.targetUrlSealed!, targetSealAad(job.orgId)),
    mode: job.targetKind === 'NEW_DATABASE' ? 'new' : 'existing',
    schemas: selection.schemas,
    tables: selection.tables,
    jobs: job.jobs ?? undefined,
    ownership: OWNERSHIP[job.ownership],
    marker: restoreMarker(job.id),
  };
}

async function recordRestoreSuccess(db: Db, job: ClaimedRestore['job'], pointId: string, evidence: RestoreEvidence): Promise<void> {
  await withTenant(db, job.orgId, async (tx) => {
    await tx.recoveryJob.update({
      where: { id: job.id },
      data: { status: 'SUCCEEDED', phase: null, finishedAt: new Date(), percent: 100, etaSeconds: 0, bytesDone: BigInt(evidence.bytes), validation: evidence as object },
    });
    await recordAudit(tx, systemScope(job.orgId, 'restore-worker'), {
      action: 'restore.succeeded', resourceType: 'RecoveryJob', resourceId: job.id,
      after: { recoveryPointId: pointId, destinationId: evidence.destinationId, bytes: evidence.bytes, skippedCopies: evidence.skipped.length },
    });
  });
}

/** CANCELLED, back to the queue (an interrupted attempt with retries left), or FAILED, with the evidence gathered so far. */
async function recordRestoreFailure(
  db: Db,
  job: ClaimedRestore['job'],
  attempt: RestoreAttempt,
  err: unknown,
  evidence: RestoreEvidence | undefined,
  log: RestoreRunDeps['log'],
): Promise<RestoreOutcome> {
  const failure = failureOf(err);
  const { code, message } = failure;
  const retry = shouldRetry('RECOVERY', failure, attempt.retriesLeft);
  const status = code === 'CANCELLED' ? 'CANCELLED' : retry ? 'QUEUED' : 'FAILED';
  await withTenant(db, job.orgId, async (tx) => {
    await tx.recoveryJob.update({
      where: { id: job.id },
      data: { status, phase: retry ? 'retrying' : null, finishedAt: retry ? null : new Date(), error: message, errorCode: code, validation: (evidence as object | undefined) ?? undefined },
    });
    if (!retry) await recordAudit(tx, systemScope(job.orgId, 'restore-worker'), { action: code === 'CANCELLED' ? 'restore.cancelled' : 'restore.failed', resourceType: 'RecoveryJob', resourceId: job.id, after: { code, message } });
  });
  log.warn({ code, err: message }, 'restore did not complete');
  await publishJobEvent(db, { orgId: job.orgId, kind: 'RECOVERY', id: job.id, status, phase: null, error: message });
  return retry ? { status: 'RETRY', message } : { status: status === 'CANCELLED' ? 'CANCELLED' : 'FAILED' };
}
