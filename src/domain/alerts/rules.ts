// Alert rules: which alerts a channel receives (kinds, minimum severity, which strategies: all, a
// list, or those marked critical), and whether it also hears of successes and of resolutions.
// A channel without rules gets the default rule (routing.ts).
import type { Db } from '../../db/client';
import { withTenant, type Tx } from '../../db/context';
import type { AlertKind, AlertSeverity, StrategyScope } from '../../db/generated/prisma/enums';
import { recordAudit } from '../../audit/writer';
import type { OrgScope } from '../../auth/scope';
import { NotFoundError, ValidationError } from '../errors';

export interface AlertRuleInput {
  kinds?: AlertKind[] | null;
  minSeverity?: AlertSeverity | null;
  strategyScope?: StrategyScope | null;
  strategyIds?: string[] | null;
  notifyOnSuccess?: boolean | null;
  notifyOnResolve?: boolean | null;
}

const MAX_STRATEGIES = 100;

async function checkStrategies(tx: Tx, orgId: string, scope: StrategyScope, ids: string[]): Promise<string[]> {
  const unique = [...new Set(ids)];
  if (unique.length > MAX_STRATEGIES) throw ValidationError.field(['input', 'strategyIds'], `at most ${MAX_STRATEGIES} strategies`);
  if (scope !== 'LIST') {
    if (unique.length) throw ValidationError.field(['input', 'strategyIds'], 'only a LIST scope names strategies');
    return [];
  }
  if (unique.length === 0) throw ValidationError.field(['input', 'strategyIds'], 'a LIST scope needs at least one strategy');
  const found = await tx.strategy.count({ where: { orgId, id: { in: unique } } });
  if (found !== unique.length) throw new NotFoundError('Strategy');
  return unique;
}

export async function createAlertRule(db: Db, scope: OrgScope, channelId: string, input: AlertRuleInput) {
  return withTenant(db, scope.orgId, async (tx) => {
    if (!(await tx.notificationChannel.findFirst({ where: { id: channelId, orgId: scope.orgId }, select: { id: true } }))) throw new NotFoundError('NotificationChannel');
    const strategyScope = input.strategyScope ?? 'ALL';
    const rule = await tx.alertRule.create({
      data: {
        orgId: scope.orgId, channelId, kinds: [...new Set(input.kinds ?? [])], minSeverity: input.minSeverity ?? 'WARNING', strategyScope,
        strategyIds: await checkStrategies(tx, scope.orgId, strategyScope, input.strategyIds ?? []),
        notifyOnSuccess: input.notifyOnSuccess ?? false, notifyOnResolve: input.notifyOnResolve ?? true,
      },
    });
    await recordAudit(tx, scope, { action: 'alert_rule.create', resourceType: 'AlertRule', resourceId: rule.id, after: rule });
    return rule;
  });
}

export async function updateAlertRule(db: Db, scope: OrgScope, id: string, patch: AlertRuleInput) {
  return withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.alertRule.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('AlertRule');
    const strategyScope = patch.strategyScope ?? before.strategyScope;
    const strategyIds = patch.strategyIds != null || patch.strategyScope != null
      ? await checkStrategies(tx, scope.orgId, strategyScope, patch.strategyIds ?? (strategyScope === 'LIST' ? before.strategyIds : []))
      : before.strategyIds;
    const after = await tx.alertRule.update({
      where: { id },
      data: {
        ...(patch.kinds != null ? { kinds: [...new Set(patch.kinds)] } : {}),
        ...(patch.minSeverity != null ? { minSeverity: patch.minSeverity } : {}),
        strategyScope, strategyIds,
        ...(patch.notifyOnSuccess != null ? { notifyOnSuccess: patch.notifyOnSuccess } : {}),
        ...(patch.notifyOnResolve != null ? { notifyOnResolve: patch.notifyOnResolve } : {}),
      },
    });
    await recordAudit(tx, scope, { action: 'alert_rule.update', resourceType: 'AlertRule', resourceId: id, before, after });
    return after;
  });
}

export async function deleteAlertRule(db: Db, scope: OrgScope, id: string) {
  await withTenant(db, scope.orgId, async (tx) => {
    const before = await tx.alertRule.findFirst({ where: { id, orgId: scope.orgId } });
    if (!before) throw new NotFoundError('AlertRule');
    await tx.alertRule.delete({ where: { id } });
    await recordAudit(tx, scope, { action: 'alert_rule.delete', resourceType: 'AlertRule', resourceId: id, before });
  });
}
