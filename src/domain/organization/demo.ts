// What the demo organization protects on first start: the sample shop database, backed up
// nightly to the local disk with a retention policy and a weekly restore test. Built through the
// same services the API uses (validated, audited), as the seed's system actor.
import type { Db } from '../../db/client';
import { withSystem } from '../../db/context';
import { systemScope } from '../../auth/scope';
import { createRetentionPolicy } from '../retention/policies';
import { createPostgresSource } from '../sources/sources';
import { createStrategy } from '../strategies/strategies';

export const DEMO_STRATEGY_NAME = 'demo-shop nightly';

/**
 * The demo strategy's id. With `create` (the demo organization was just made) it is seeded first;
 * otherwise it is only looked up, so a demo strategy the user deleted stays deleted.
 */
export async function ensureDemoProtection(db: Db, masterKey: Buffer, orgId: string, shopUrl: string, opts: { create: boolean }): Promise<string | null> {
  const existing = await withSystem(db, 'seed-demo', (tx) => tx.strategy.findFirst({ where: { orgId, name: DEMO_STRATEGY_NAME } }));
  if (existing || !opts.create) return existing?.id ?? null;
  const destination = await withSystem(db, 'seed-demo', (tx) => tx.destination.findFirst({ where: { orgId, name: 'local-disk' } }));
  if (!destination) return null;
  const scope = systemScope(orgId, 'seed-demo');
  const source = await createPostgresSource(db, masterKey, scope, { name: 'demo-shop', connectionUrl: shopUrl, probeQueries: ['SELECT count(*) AS customers FROM crm.customers'] });
  const policy = await createRetentionPolicy(db, scope, { name: 'keep 7 daily, 4 weekly', keepLast: 3, keepDaily: 7, keepWeekly: 4 });
  const strategy = await createStrategy(db, scope, {
    name: DEMO_STRATEGY_NAME, sourceId: source.id, destinationIds: [destination.id], retentionPolicyId: policy.id, cron: '0 2 * * *', verifyCron: '0 4 * * 0',
  });
  return strategy.id;
}
