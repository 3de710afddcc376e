// Retention policies: how long recovery points live. The rules themselves (what a policy
// keeps, which values make sense) live in retention.ts; this file stores policies.
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';
import { recordAudit } from '../../audit/writer';
import type { OrgScope } from '../../auth/scope';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import { onRetentionPolicyChange } from '../immutability/locks';
import { validateRetentionPolicy, type RetentionRules } from '../rules/retention';
import { conflictOnDuplicate } from '../unique';

export interface RetentionPolicyInput extends RetentionRules {
  name: string;
}

/** Omitted fields stay as they are; null turns a rule off (minCopies: null is ignored, it always has a value). */
export type UpdateRetentionPolicyInput = Partial<Omit<RetentionPolicyInput, 'name'>> & { name?: string | null };

const RULE_FIELDS = [
  'keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly', 'maxAgeDays', 'minCopies',
  'peakSeasonStart', 'peakSeasonEnd', 'peakKeepDaily',
] as const satisfies ReadonlyArray<keyof RetentionRules>;

function rulesOf(input: RetentionRules) {
  return {
    keepLast: input.keepLast ?? null,
    keepHourly: input.keepHourly ?? null,
    keepDaily: input.keepDaily ?? null,
    keepWeekly: input.keepWeekly ?? null,
    keepMonthly: input.keepMonthly ?? null,
    keepYearly: input.keepYearly ?? null,
    maxAgeDays: input.maxAgeDays ?? null,
    minCopies: input.minCopies ?? 1,
    peakSeasonStart: input.peakSeasonStart ?? null,
    peakSeasonEnd: input.peakSeasonEnd ?? null,
    peakKeepDaily: input.peakKeepDaily ?? null,
  };
}

function assertValid(rules: RetentionRules): void {
  const issues = validateRetentionPolicy(rules);
  if (issues.length) throw new ValidationError(issues.map((i) => ({ path: ['input', ...i.path], message: i.message })));
}

export async function createRetentionPolicy(db: Db, scope: OrgScope, input: RetentionPolicyInput) {
  const rules = rulesOf(input);
  assertValid(rules);
  return withTenant(db, scope.orgId, (tx) =>
    conflictOnDuplicate(`A retention policy named "${input.name}"`, async () => {
      const policy = await tx.retentionPolicy.create({ data: { orgId: scope.orgId, name: input.name, ...rules } });
      await recordAudit(tx, scope, { action: 'retentionPolicy.create', resourceType: 'RetentionPolicy', resourceId: policy.id, after: policy });
      return policy;
    }),
  );
}

export async function updateRetentionPolicy(db: Db, scope: OrgScope, id: string, input: UpdateRetentionPolicyInput) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.retentionPolicy.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('RetentionPolicy');
    const merged: RetentionRules = { ...before };
    for (const f of RULE_FIELDS) {
      if (input[f] !== undefined && !(f === 'minCopies' && input[f] === null)) Object.assign(merged, { [f]: input[f] });
    }
    const rules = rulesOf(merged);
    // Validate the policy as it will be, so a patch cannot leave it keeping nothing.
    assertValid(rules);
    return conflictOnDuplicate(`A retention policy named "${input.name ?? before.name}"`, async () => {
      const after = await tx.retentionPolicy.update({ where: { id }, data: { name: input.name ?? undefined, ...rules } });
      // Refuses a shortening under a compliance lock (rolling this update back), then updates the points' expiry dates.
      await onRetentionPolicyChange(tx, scope.orgId, id, before, after);
      await recordAudit(tx, scope, { action: 'retentionPolicy.update', resourceType: 'RetentionPolicy', resourceId: id, before, after });
      return after;
    });
  });
}

export async function deleteRetentionPolicy(db: Db, scope: OrgScope, id: string) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.retentionPolicy.findFirst({ where: { id, orgId: scope.orgId }, include: { _count: { select: { strategies: true } } } });
    if (!before) throw new NotFoundError('RetentionPolicy');
    // The foreign key would quietly unset the strategies' policy; losing retention silently is worse.
    if (before._count.strategies > 0) throw new ConflictError('The retention policy is used by strategies; change them first');
    const { _count, ...row } = before;
    await tx.retentionPolicy.delete({ where: { id } });
    await recordAudit(tx, scope, { action: 'retentionPolicy.delete', resourceType: 'RetentionPolicy', resourceId: id, before: row });
    return row;
  });
}
