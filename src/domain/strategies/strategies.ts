// Strategies: what is backed up (source), where to (destinations), when (cron in a time zone,
// peak-season override), how long it is kept (retention) and how (compression, encryption).
// nextRunAt is what the scheduler looks at: set for active strategies, null while paused.
import type { Db } from '../../db/client';
import { withTenant, type Tx } from '../../db/context';
import type { Compression, Strategy } from '../../db/generated/prisma/client';
import { recordAudit } from '../../audit/writer';
import type { OrgScope } from '../../auth/scope';
import { ConflictError, NotFoundError, ValidationError, type FieldIssue } from '../errors';
import { onStrategyPolicyChange } from '../immutability/locks';
import { nextRunWithPeak, validateCron, validateSchedule } from '../rules/schedule';
import { conflictOnDuplicate } from '../unique';
import { ACTIVE_JOB_STATUSES } from '../jobs-control/statuses';

export interface StrategyInput {
  name: string;
  sourceId: string;
  destinationIds: string[];
  retentionPolicyId?: string | null;
  cron: string;
  /** Default: the organization's time zone. */
  timeZone?: string | null;
  startWindowMinutes?: number | null;
  peakCron?: string | null;
  peakStart?: string | null;
  peakEnd?: string | null;
  compression?: Compression | null;
  compressionLevel?: number | null;
  encrypted?: boolean | null;
  priority?: number | null;
  rpoMinutes?: number | null;
  maxSizeBytes?: bigint | null;
  timeoutSeconds?: number | null;
  verifyCron?: string | null;
  /** Alerts about a critical strategy are CRITICAL and escalate to the emergency contacts. */
  critical?: boolean | null;
  /** DIRECTORY sources: TAR (default) or CHUNKED (deduplicated, incremental; set at creation). */
  repositoryFormat?: 'TAR' | 'CHUNKED' | null;
}

/**
 * Omitted fields stay as they are. null clears the optional ones (retention policy, peak
 * season, compression level, RPO, size limit, timeout, verify cron) and is ignored for the rest.
 */
export type UpdateStrategyInput = { [K in keyof StrategyInput]?: StrategyInput[K] | null };

export const MAX_DESTINATIONS = 10;

/** Throws NotFoundError unless the strategy exists in the organization (RLS hides other orgs' rows too). */
export async function requireStrategy(db: Db, orgId: string, id: string): Promise<void> {
  const found = await withTenant(db, orgId, (tx) => tx.strategy.findFirst({ where: { id, orgId }, select: { id: true } }));
  if (!found) throw new NotFoundError('Strategy');
}
const LEVELS: Record<Compression, [number, number] | null> = { ZSTD: [1, 19], GZIP: [1, 9], NONE: null };
const MAX_BIGINT = 9_223_372_036_854_775_807n;

type Settings = Omit<StrategyInput, 'name' | 'sourceId' | 'destinationIds' | 'retentionPolicyId'> & { timeZone: string };

/** Every rule on the strategy's own fields, reported together with ['input', field] paths. */
function settingIssues(s: Settings): FieldIssue[] {
  const issues: FieldIssue[] = validateSchedule(s).map((i) => ({ path: ['input', ...i.path], message: i.message }));
  const add = (f: string, message: string) => issues.push({ path: ['input', f], message });
  const intIn = (f: keyof Settings, min: number, max: number) => {
    const v = s[f];
    if (v === null || v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) add(f, `must be a whole number from ${min} to ${max}`);
  };
  // validateSchedule allows a week; a start window longer than a day overlaps the next daily slot.
  if (!issues.some((i) => i.path[1] === 'startWindowMinutes')) intIn('startWindowMinutes', 1, 1440);
  intIn('priority', -10, 10);
  intIn('rpoMinutes', 1, 525_600);
  intIn('timeoutSeconds', 1, 7 * 86_400);
  if (s.maxSizeBytes != null && (s.maxSizeBytes < 1n || s.maxSizeBytes > MAX_BIGINT)) add('maxSizeBytes', `must be from 1 to ${MAX_BIGINT}`);
  const range = LEVELS[s.compression ?? 'ZSTD'];
  if (s.compressionLevel != null) {
    if (!range) add('compressionLevel', 'must be empty when compression is NONE');
    else intIn('compressionLevel', range[0], range[1]);
  }
  if (s.verifyCron != null) {
    const v = validateCron(s.verifyCron);
    if (!v.ok) add('verifyCron', v.message);
  }
  return issues;
}

function assertDestinationIds(ids: string[]): void {
  if (ids.length < 1 || ids.length > MAX_DESTINATIONS) throw ValidationError.field(['input', 'destinationIds'], `must list 1 to ${MAX_DESTINATIONS} destinations`);
  if (new Set(ids).size !== ids.length) throw ValidationError.field(['input', 'destinationIds'], 'must not list a destination twice');
}

/** References must belong to this org; a foreign id reads as not found, like an unknown one. */
async function assertReferences(tx: Tx, orgId: string, refs: { sourceId?: string; destinationIds?: string[]; retentionPolicyId?: string | null }) {
  if (refs.sourceId !== undefined) {
    const found = await tx.source.findFirst({ where: { id: refs.sourceId, orgId }, select: { id: true } });
    if (!found) throw new NotFoundError('Source', 'Source not found (input.sourceId)');
  }
  if (refs.destinationIds !== undefined) {
    const found = await tx.destination.findMany({ where: { id: { in: refs.destinationIds }, orgId }, select: { id: true } });
    const known = new Set(found.map((d) => d.id));
    const missing = refs.destinationIds.findIndex((id) => !known.has(id));
    if (missing >= 0) throw new NotFoundError('Destination', `Destination not found (input.destinationIds.${missing})`);
  }
  if (refs.retentionPolicyId) {
    const found = await tx.retentionPolicy.findFirst({ where: { id: refs.retentionPolicyId, orgId }, select: { id: true } });
    if (!found) throw new NotFoundError('RetentionPolicy', 'RetentionPolicy not found (input.retentionPolicyId)');
  }
}

const withDestinationIds = async (tx: Tx, strategy: Strategy) => ({
  ...strategy,
  destinationIds: (await tx.strategyDestination.findMany({ where: { strategyId: strategy.id, orgId: strategy.orgId }, select: { destinationId: true } })).map(
    (d) => d.destinationId,
  ),
});

export async function createStrategy(db: Db, scope: OrgScope, input: StrategyInput, now = new Date()) {
  assertDestinationIds(input.destinationIds);
  return withTenant(db, scope.orgId, async (tx) => {
    // Ownership first: an id of another org is "not found" whatever else is wrong with the input.
    await assertReferences(tx, scope.orgId, input);
    const org = await tx.organization.findFirstOrThrow({ where: { id: scope.orgId }, select: { timeZone: true } });
    const settings: Settings = {
      cron: input.cron.trim(),
      timeZone: input.timeZone ?? org.timeZone,
      startWindowMinutes: input.startWindowMinutes ?? 60,
      peakCron: input.peakCron?.trim() ?? null,
      peakStart: input.peakStart ?? null,
      peakEnd: input.peakEnd ?? null,
      compression: input.compression ?? 'ZSTD',
      compressionLevel: input.compressionLevel ?? null,
      encrypted: input.encrypted ?? true,
      priority: input.priority ?? 0,
      rpoMinutes: input.rpoMinutes ?? null,
      maxSizeBytes: input.maxSizeBytes ?? null,
      timeoutSeconds: input.timeoutSeconds ?? null,
      verifyCron: input.verifyCron?.trim() ?? null,
      critical: input.critical ?? false,
    };
    const issues = settingIssues(settings);
    if (input.repositoryFormat === 'CHUNKED') {
      const source = await tx.source.findFirstOrThrow({ where: { id: input.sourceId, orgId: scope.orgId }, select: { kind: true } });
      if (source.kind !== 'DIRECTORY') issues.push({ path: ['input', 'repositoryFormat'], message: 'CHUNKED applies to DIRECTORY sources only' });
      if (settings.encrypted === false) issues.push({ path: ['input', 'encrypted'], message: 'a CHUNKED repository is always encrypted (its chunk names are keyed by the organization key)' });
      if (settings.compression !== 'ZSTD') issues.push({ path: ['input', 'compression'], message: 'a CHUNKED repository compresses chunks with ZSTD' });
    }
    if (issues.length) throw new ValidationError(issues);
    return conflictOnDuplicate(`A strategy named "${input.name}"`, async () => {
      const strategy = await tx.strategy.create({
        data: {
          orgId: scope.orgId,
          name: input.name,
          sourceId: input.sourceId,
          retentionPolicyId: input.retentionPolicyId ?? null,
          ...settings,
          critical: settings.critical ?? false,
          startWindowMinutes: settings.startWindowMinutes!,
          compression: settings.compression!,
          encrypted: settings.encrypted!,
          priority: settings.priority!,
          repositoryFormat: input.repositoryFormat ?? 'TAR',
          status: 'ACTIVE',
          nextRunAt: nextRunWithPeak(settings, now),
        },
      });
      await tx.strategyDestination.createMany({ data: input.destinationIds.map((destinationId) => ({ orgId: scope.orgId, strategyId: strategy.id, destinationId })) });
      const after = await withDestinationIds(tx, strategy);
      await recordAudit(tx, scope, { action: 'strategy.create', resourceType: 'Strategy', resourceId: strategy.id, after });
      return strategy;
    });
  });
}

const SCHEDULE_FIELDS = ['cron', 'timeZone', 'peakCron', 'peakStart', 'peakEnd'] as const;
const CLEARABLE = ['peakCron', 'peakStart', 'peakEnd', 'compressionLevel', 'rpoMinutes', 'maxSizeBytes', 'timeoutSeconds', 'verifyCron'] as const;
const REQUIRED = ['cron', 'timeZone', 'startWindowMinutes', 'compression', 'encrypted', 'priority', 'critical'] as const;

export async function updateStrategy(db: Db, scope: OrgScope, id: string, input: UpdateStrategyInput, now = new Date()) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.strategy.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('Strategy');
    const destinationIds = input.destinationIds ?? undefined;
    if (destinationIds) assertDestinationIds(destinationIds);
    await assertReferences(tx, scope.orgId, { sourceId: input.sourceId ?? undefined, destinationIds, retentionPolicyId: input.retentionPolicyId });

    const settings: Settings = { ...before };
    for (const f of REQUIRED) if (input[f] != null) Object.assign(settings, { [f]: input[f] });
    for (const f of CLEARABLE) if (input[f] !== undefined) Object.assign(settings, { [f]: input[f] });
    settings.cron = settings.cron.trim();
    // A level belongs to its algorithm: switching algorithm without a new level resets it.
    if (input.compression != null && input.compression !== before.compression && input.compressionLevel === undefined) settings.compressionLevel = null;
    const issues = settingIssues(settings);
    if (issues.length) throw new ValidationError(issues);

    const scheduleChanged = SCHEDULE_FIELDS.some((f) => settings[f] !== before[f]);
    const data = {
      name: input.name ?? undefined,
      sourceId: input.sourceId ?? undefined,
      retentionPolicyId: input.retentionPolicyId === undefined ? undefined : input.retentionPolicyId,
      cron: settings.cron,
      timeZone: settings.timeZone,
      startWindowMinutes: settings.startWindowMinutes!,
      peakCron: settings.peakCron ?? null,
      peakStart: settings.peakStart ?? null,
      peakEnd: settings.peakEnd ?? null,
      compression: settings.compression!,
      compressionLevel: settings.compressionLevel ?? null,
      encrypted: settings.encrypted!,
      priority: settings.priority!,
      rpoMinutes: settings.rpoMinutes ?? null,
      maxSizeBytes: settings.maxSizeBytes ?? null,
      timeoutSeconds: settings.timeoutSeconds ?? null,
      verifyCron: settings.verifyCron ?? null,
      critical: settings.critical ?? false,
      // Recomputed only when the schedule changed: recomputing an unchanged one from now could
      // skip a slot that is due but not yet picked up by the scheduler.
      ...(scheduleChanged && before.status === 'ACTIVE' ? { nextRunAt: nextRunWithPeak(settings, now) } : {}),
      // A new restore-test schedule starts from its own next slot (the scheduler fills it in).
      ...((settings.verifyCron ?? null) !== before.verifyCron ? { verifyNextRunAt: null } : {}),
    };
    return conflictOnDuplicate(`A strategy named "${input.name ?? before.name}"`, async () => {
      const beforeSnapshot = await withDestinationIds(tx, before);
      const after = await tx.strategy.update({ where: { id }, data });
      // Refuses a shorter or removed policy under a compliance lock (rolling this update back), then updates the points' expiry dates.
      await onStrategyPolicyChange(tx, scope.orgId, id, before.retentionPolicyId, after.retentionPolicyId);
      if (destinationIds) {
        await tx.strategyDestination.deleteMany({ where: { strategyId: id, orgId: scope.orgId } });
        await tx.strategyDestination.createMany({ data: destinationIds.map((destinationId) => ({ orgId: scope.orgId, strategyId: id, destinationId })) });
      }
      await recordAudit(tx, scope, {
        action: 'strategy.update', resourceType: 'Strategy', resourceId: id, before: beforeSnapshot, after: await withDestinationIds(tx, after),
      });
      return after;
    });
  });
}


export async function deleteStrategy(db: Db, scope: OrgScope, id: string) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.strategy.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('Strategy');
    // Deleting cascades to the job history rows; a job still in flight must finish or be cancelled first.
    const running = await tx.backupJob.count({ where: { strategyId: id, orgId: scope.orgId, status: { in: [...ACTIVE_JOB_STATUSES] } } });
    if (running > 0) throw new ConflictError('The strategy has backup jobs queued or running; cancel them or wait first');
    // Its recovery points live under its retention policy, legal holds and locks. Deleting the
    // strategy would strand them outside retention (and the cascade over its jobs tripped the
    // same-org guard, surfacing as an internal error). Pause it instead, or let retention (or
    // deleteRecoveryPoint) remove the points first.
    const points = await tx.recoveryPoint.count({ where: { strategyId: id, orgId: scope.orgId } });
    if (points > 0) {
      throw new ConflictError(`The strategy still has ${points} recovery point(s); pause it to stop new runs, or delete its recovery points first`);
    }
    const snapshot = await withDestinationIds(tx, before);
    await tx.strategy.delete({ where: { id } });
    await recordAudit(tx, scope, { action: 'strategy.delete', resourceType: 'Strategy', resourceId: id, before: snapshot });
    return before;
  });
}

/** Stops scheduling. Pausing a paused strategy changes nothing and records nothing. */
export async function pauseStrategy(db: Db, scope: OrgScope, id: string) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.strategy.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('Strategy');
    if (before.status === 'PAUSED') return before;
    const after = await tx.strategy.update({ where: { id }, data: { status: 'PAUSED', nextRunAt: null } });
    await recordAudit(tx, scope, {
      action: 'strategy.pause', resourceType: 'Strategy', resourceId: id,
      before: { status: before.status, nextRunAt: before.nextRunAt }, after: { status: after.status, nextRunAt: after.nextRunAt },
    });
    return after;
  });
}

/** Schedules again from now: slots that passed while paused are not run late. */
export async function resumeStrategy(db: Db, scope: OrgScope, id: string, now = new Date()) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.strategy.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('Strategy');
    if (before.status === 'ACTIVE') return before;
    const after = await tx.strategy.update({ where: { id }, data: { status: 'ACTIVE', nextRunAt: nextRunWithPeak(before, now) } });
    await recordAudit(tx, scope, {
      action: 'strategy.resume', resourceType: 'Strategy', resourceId: id,
      before: { status: before.status, nextRunAt: before.nextRunAt }, after: { status: after.status, nextRunAt: after.nextRunAt },
    });
    return after;
  });
}
