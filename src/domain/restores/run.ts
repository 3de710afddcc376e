// One attempt at a restore job, as the restore worker runs it. Restores are not retried on their
// own failures (a second blind attempt at a half-understood target does more harm than good);
// only an interrupted attempt (worker shutdown) goes back to the queue. A NEW database is dropped
// and a directory's staging area removed on failure, so a failed restore leaves no half target.
import type { Logger } from 'pino';
import { CancelledError } from '../../backup/errors';
import { openSecret } from '../../crypto/sealed';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import { EventBus, type JobEvent } from '../../events/bus';
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

export async function runRestore(
  deps: RestoreRunDeps,
  a: { recoveryJobId: string; orgId: string; attempt: number; retriesLeft: boolean; signal?: AbortSignal },
): Promise<RestoreOutcome> {
  const { db } = deps;
  const claimed = await withTenant(db, a.orgId, async (tx) => {
    const job = await tx.recoveryJob.findFirst({
      where: { id: a.recoveryJobId, orgId: a.orgId },
      include: { recoveryPoint: { include: { artifacts: { include: { destination: true } } } } },
    });
    if (!job || ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.status)) return null;
    if (job.cancelRequestedAt) {
      await tx.recoveryJob.update({ where: { id: job.id }, data: { status: 'CANCELLED', phase: null, finishedAt: new Date() } });
      return 'cancelled' as const;
    }
    const running = await tx.recoveryJob.update({
      where: { id: job.id },
      data: { status: 'RUNNING', phase: 'verifying', attempt: a.attempt, startedAt: job.startedAt ?? new Date(), error: null, errorCode: null, bytesDone: 0n, percent: 0 },
    });
    return { job: running, point: job.recoveryPoint };
  });
  if (!claimed) return { status: 'SKIPPED' };
  if (claimed === 'cancelled') {
    await publish(db, { orgId: a.orgId, kind: 'RECOVERY', id: a.recoveryJobId, status: 'CANCELLED', phase: null });
    return { status: 'CANCELLED' };
  }
  const { job, point } = claimed;
  const log = deps.log.child({ recoveryJobId: job.id, attempt: a.attempt });
  await publish(db, { orgId: job.orgId, kind: 'RECOVERY', id: job.id, status: 'RUNNING', phase: 'verifying' });

  const halt = jobStop(deps.events, 'RECOVERY', job.id, a.signal);
  const progress = new JobProgressWriter(db, 'RECOVERY', job, deps.progressIntervalMs ?? 500, halt.cancelled);
  let evidence: RestoreEvidence | undefined;
  try {
    if (!point) throw new CancelledError(new Error('the recovery point was deleted before the restore started'));
    progress.total = Number(point.rawBytes);
    const selection = (job.selection ?? {}) as { schemas?: string[]; tables?: string[]; paths?: string[]; glob?: string | null };
    const target: RestoreTarget = job.targetKind === 'DIRECTORY'
      ? { kind: 'directory', path: job.targetPath!, paths: selection.paths, glob: selection.glob ?? undefined }
      : {
          kind: 'postgres',
          url: openSecret(deps.masterKey, job.targetUrlSealed!, targetSealAad(job.orgId)),
          mode: job.targetKind === 'NEW_DATABASE' ? 'new' : 'existing',
          schemas: selection.schemas,
          tables: selection.tables,
          jobs: job.jobs ?? undefined,
          ownership: OWNERSHIP[job.ownership],
          marker: restoreMarker(job.id),
        };
    let phase = 'verifying';
    evidence = await restorePoint(deps, point, target, halt.signal, (p, bytes) => {
      if (p !== phase) {
        phase = p;
        void progress.phase(p);
      }
      progress.update(bytes);
    });
    await progress.phase('validating');
    await withTenant(db, job.orgId, async (tx) => {
      await tx.recoveryJob.update({
        where: { id: job.id },
        data: { status: 'SUCCEEDED', phase: null, finishedAt: new Date(), percent: 100, etaSeconds: 0, bytesDone: BigInt(evidence!.bytes), validation: evidence as object },
      });
      await recordAudit(tx, systemScope(job.orgId, 'restore-worker'), {
        action: 'restore.succeeded', resourceType: 'RecoveryJob', resourceId: job.id,
        after: { recoveryPointId: point.id, destinationId: evidence!.destinationId, bytes: evidence!.bytes, skippedCopies: evidence!.skipped.length },
      });
    });
    log.info({ bytes: evidence.bytes }, 'restore succeeded');
    await publish(db, { orgId: job.orgId, kind: 'RECOVERY', id: job.id, status: 'SUCCEEDED', phase: null, percent: 100 });
    return { status: 'SUCCEEDED' };
  } catch (caught) {
    const err: unknown = halt.signal.aborted ? halt.signal.reason : caught;
    const failure = failureOf(err);
    const { code, message } = failure;
    const retry = shouldRetry('RECOVERY', failure, a.retriesLeft);
    const status = code === 'CANCELLED' ? 'CANCELLED' : retry ? 'QUEUED' : 'FAILED';
    await withTenant(db, job.orgId, async (tx) => {
      await tx.recoveryJob.update({
        where: { id: job.id },
        data: { status, phase: retry ? 'retrying' : null, finishedAt: retry ? null : new Date(), error: message, errorCode: code, validation: (evidence as object | undefined) ?? undefined },
      });
      if (!retry) await recordAudit(tx, systemScope(job.orgId, 'restore-worker'), { action: code === 'CANCELLED' ? 'restore.cancelled' : 'restore.failed', resourceType: 'RecoveryJob', resourceId: job.id, after: { code, message } });
    });
    log.warn({ code, err: message }, 'restore did not complete');
    await publish(db, { orgId: job.orgId, kind: 'RECOVERY', id: job.id, status, phase: null, error: message });
    return retry ? { status: 'RETRY', message } : { status: status === 'CANCELLED' ? 'CANCELLED' : 'FAILED' };
  } finally {
    halt.dispose();
    progress.stop();
  }
}

function publish(db: Db, event: Omit<JobEvent, 'at'>): Promise<void> {
  return publishJobEvent(db, event);
}
