// A restore test, as the verify worker runs it: restore the point into a scratch database (or a
// temp directory), compare row counts with those recorded at dump time, run the source's read-only
// probe queries, record the evidence, and drop the scratch target whatever happened. A pass sets
// the point's verifiedAt (retention never deletes the newest verified point); a failure is
// recorded and published as a VERIFICATION event.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { PgBoss } from 'pg-boss';
import { raiseAlert, resolveAlerts } from '../alerts/raise';
import { connectSource, parseConnectionUrl } from '../../backup/engines/pg-connection';
import { dropTargetDatabase } from '../../backup/restore/postgres';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import { EventBus } from '../../events/bus';
import { publishJobEvent } from '../jobs-control/events';
import { recordAudit } from '../../audit/writer';
import { systemScope } from '../../auth/scope';
import { jobStop } from '../jobs-control/stop';
import { restorePoint, type RestoreDeps, type RestoreEvidence } from '../restores/copy';
import { failureOf, shouldRetry } from '../jobs-control/retry';

export interface VerificationDeps extends RestoreDeps {
  events: EventBus;
  /** To queue the alert deliveries of a failed (or passing again) restore test. */
  boss: PgBoss;
  log: Logger;
  /** A server where scratch databases may be created and dropped (VERIFY_DATABASE_URL, else the platform's own). */
  scratchServerUrl: string;
}

export interface ProbeResult {
  query: string;
  ok: boolean;
  rows?: number;
  firstRow?: string;
  error?: string;
}

const PROBE_TIMEOUT_MS = 30_000;

export async function runVerification(deps: VerificationDeps, attempt: { verificationId: string; orgId: string; retriesLeft: boolean; signal?: AbortSignal }): Promise<'PASSED' | 'FAILED' | 'SKIPPED' | 'RETRY'> {
  const { db } = deps;
  const claimed = await withTenant(db, attempt.orgId, async (tx) => {
    const v = await tx.verification.findFirst({
      where: { id: attempt.verificationId, orgId: attempt.orgId },
      include: { recoveryPoint: { include: { artifacts: { include: { destination: true } }, source: { select: { probeQueries: true } } } } },
    });
    if (!v || v.status === 'PASSED' || v.status === 'FAILED') return null;
    await tx.verification.update({ where: { id: v.id }, data: { status: 'RUNNING', startedAt: new Date(), error: null } });
    return v;
  });
  if (!claimed) return 'SKIPPED';
  const point = claimed.recoveryPoint;
  const started = Date.now();
  const log = deps.log.child({ verificationId: claimed.id, recoveryPointId: point?.id });
  await publish(db, attempt.orgId, claimed.id, 'RUNNING');
  const stopper = jobStop(deps.events, 'VERIFICATION', claimed.id, attempt.signal);

  let evidence: (Partial<RestoreEvidence> & { recoveryPointId?: string; probes?: ProbeResult[]; scratch?: string }) = { recoveryPointId: point?.id };
  let scratchDb: string | undefined;
  let scratchDir: string | undefined;
  let failure: unknown;
  try {
    if (!point) throw new Error('the recovery point no longer exists');
    if (point.sourceKind === 'POSTGRES') {
      const name = `keepsake_verify_${randomBytes(6).toString('hex')}`;
      const u = new URL(deps.scratchServerUrl);
      u.pathname = `/${name}`;
      scratchDb = u.toString();
      evidence.scratch = name;
      evidence = { ...evidence, ...(await restorePoint(deps, point, { kind: 'postgres', url: scratchDb, mode: 'new', noPrivileges: true, trusted: true }, stopper.signal, () => undefined, { checkEveryCopy: true })) };
      evidence.probes = await runProbes(scratchDb, point.source?.probeQueries ?? []);
      const failed = evidence.probes.filter((p) => !p.ok);
      if (failed.length) throw new Error(`probe quer${failed.length > 1 ? 'ies' : 'y'} failed: ${failed.map((p) => `${p.query.slice(0, 80)} → ${p.error}`).join('; ')}`);
    } else {
      scratchDir = await mkdtemp(path.join(tmpdir(), 'keepsake-verify-'));
      evidence = { ...evidence, ...(await restorePoint(deps, point, { kind: 'directory', path: path.join(scratchDir, 'restore') }, stopper.signal, () => undefined, { checkEveryCopy: true })) };
    }
  } catch (caught) {
    failure = stopper.signal.aborted ? stopper.signal.reason : caught;
  } finally {
    stopper.dispose();
    // The scratch target goes before the result is recorded, whatever happened: it holds a
    // tenant's data outside its own server, and nobody should see a result while it still exists.
    if (scratchDb) await dropTargetDatabase(scratchDb, { trusted: true }).catch((err: unknown) => log.error({ err }, 'could not drop the scratch database'));
    if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
  }

  const durationMs = Date.now() - started;
  if (failure === undefined && point) {
    await withTenant(db, attempt.orgId, async (tx) => {
      await tx.verification.update({ where: { id: claimed.id }, data: { status: 'PASSED', evidence: evidence as object, durationMs, finishedAt: new Date() } });
      await tx.recoveryPoint.update({ where: { id: point.id }, data: { verifiedAt: new Date() } });
      await recordAudit(tx, systemScope(attempt.orgId, 'verify-worker'), { action: 'verification.passed', resourceType: 'Verification', resourceId: claimed.id, after: { recoveryPointId: point.id, durationMs } });
      if (claimed.strategyId) await resolveAlerts(tx, deps.boss, { orgId: attempt.orgId, kinds: ['RESTORE_TEST_FAILED'], strategyId: claimed.strategyId, by: 'system:verify-worker' });
    });
    log.info({ durationMs }, 'restore test passed');
    await publish(db, attempt.orgId, claimed.id, 'PASSED');
    return 'PASSED';
  }
  const { message } = failureOf(failure);
  const retry = shouldRetry('VERIFICATION', failureOf(failure), attempt.retriesLeft);
  await withTenant(db, attempt.orgId, async (tx) => {
    await tx.verification.update({
      where: { id: claimed.id },
      data: retry ? { status: 'QUEUED', error: message } : { status: 'FAILED', error: message, evidence: evidence as object, durationMs, finishedAt: new Date() },
    });
    if (!retry) {
      await recordAudit(tx, systemScope(attempt.orgId, 'verify-worker'), { action: 'verification.failed', resourceType: 'Verification', resourceId: claimed.id, after: { recoveryPointId: point?.id, error: message } });
      await raiseAlert(tx, deps.boss, {
        orgId: attempt.orgId, kind: 'RESTORE_TEST_FAILED', resourceType: claimed.strategyId ? 'Strategy' : 'Verification', resourceId: claimed.strategyId ?? claimed.id, strategyId: claimed.strategyId,
        message: `A restore test failed: ${message}`.slice(0, 2000), figures: { verificationId: claimed.id, durationMs, error: message.slice(0, 500) },
      });
    }
  });
  log.warn({ err: message, retry }, 'restore test failed');
  await publishJobEvent(db, { orgId: attempt.orgId, kind: 'VERIFICATION', id: claimed.id, status: retry ? 'QUEUED' : 'FAILED', error: message });
  return retry ? 'RETRY' : 'FAILED';
}

/** Each probe in a read-only transaction with a time limit, so a probe can neither write nor hang the worker. */
async function runProbes(url: string, queries: string[]): Promise<ProbeResult[]> {
  if (queries.length === 0) return [];
  // The scratch database is on the operator's server: no outbound policy.
  const client = await connectSource(parseConnectionUrl(url, { trusted: true }));
  const results: ProbeResult[] = [];
  try {
    for (const query of queries) {
      try {
        await client.query('BEGIN READ ONLY');
        await client.query(`SET LOCAL statement_timeout = ${PROBE_TIMEOUT_MS}`);
        const r = await client.query(query);
        const first = Array.isArray(r) ? undefined : r.rows[0];
        results.push({ query, ok: true, rows: Array.isArray(r) ? undefined : (r.rowCount ?? r.rows.length), firstRow: first === undefined ? undefined : JSON.stringify(first).slice(0, 500) });
      } catch (err) {
        results.push({ query, ok: false, error: err instanceof Error ? err.message : String(err) });
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  return results;
}

function publish(db: Db, orgId: string, id: string, status: string) {
  return publishJobEvent(db, { orgId, kind: 'VERIFICATION', id, status });
}
