// References across organizations, refused by the database itself. Foreign key checks ignore
// row-level security, so without the tenant guards a row of org A could point at org B's source,
// destination or recovery point whenever a service forgot its orgId check. The foreign keys are
// read from the catalog, so a new tenant reference is covered (or named here) without editing this.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { seedOrgObjects } from '../support/seed-objects';
import { rawId, superuser } from '../support/foundation';

let t: TestApp;
let su: pg.Client;
let a: { org: TestOrg; ids: Map<string, string> };
let b: { org: TestOrg; ids: Map<string, string> };

async function seeded(org: TestOrg) {
  const objects = await seedOrgObjects(t, org);
  return { org, ids: new Map([...objects].map(([type, gids]) => [type, rawId(gids[0]!)])) };
}

beforeAll(async () => {
  t = await startTestApp();
  su = await superuser(t);
  a = await seeded(await t.createOrg());
  b = await seeded(await t.createOrg());
});

afterAll(async () => {
  await su?.end();
  await t?.stop();
});

/** Runs one statement in a rolled-back transaction, as the superuser or as keepsake_app in org A. */
async function attempt(as: 'superuser' | 'app', sql: string, params: unknown[]): Promise<{ ok: true } | { code: string; message: string }> {
  await su.query('BEGIN');
  try {
    if (as === 'app') {
      await su.query('SET LOCAL ROLE keepsake_app');
      await su.query(`SELECT set_config('app.org_id', $1, true)`, [a.org.id]);
    }
    await su.query(sql, params);
    return { ok: true };
  } catch (err) {
    const e = err as { code: string; message: string };
    return { code: e.code, message: e.message };
  } finally {
    await su.query('ROLLBACK');
  }
}

describe('tenant guards on references', () => {
  it('cover every foreign key from one tenant table to another, and every tenant table', async () => {
    const fks = await su.query<{ child: string; col: string; parent: string }>(`
      SELECT child.relname AS child, col.attname AS col, parent.relname AS parent
      FROM pg_constraint fk
      JOIN pg_class child ON child.oid = fk.conrelid JOIN pg_class parent ON parent.oid = fk.confrelid
      JOIN pg_namespace ns ON ns.oid = child.relnamespace AND ns.nspname = 'public'
      JOIN pg_attribute col ON col.attrelid = fk.conrelid AND col.attnum = ANY (fk.conkey)
      WHERE fk.contype = 'f' AND col.attname <> 'orgId'
        AND EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = fk.conrelid AND x.attname = 'orgId')
        AND EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = fk.confrelid AND x.attname = 'orgId')`);
    // Sanity: the schema really has such references (strategy → source, artifact → destination, ...).
    expect(fks.rows.length).toBeGreaterThanOrEqual(10);
    const triggers = await su.query<{ tbl: string; tgname: string; args: string[] }>(`
      SELECT c.relname AS tbl, tg.tgname,
             string_to_array(rtrim(encode(tg.tgargs, 'escape'), E'\\\\000'), E'\\\\000') AS args
      FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
      WHERE tg.tgname IN ('tenant_same_org_refs', 'tenant_org_immutable')`);
    const missing = fks.rows.filter((fk) => {
      const guard = triggers.rows.find((tg) => tg.tbl === fk.child && tg.tgname === 'tenant_same_org_refs');
      const args = guard?.args ?? [];
      return !args.some((arg, i) => i % 2 === 0 && arg === fk.col && args[i + 1] === fk.parent);
    });
    expect(missing, 'run SELECT keepsake_install_tenant_guards() in the migration that added these').toEqual([]);

    const tenantTables = await su.query<{ table_name: string }>(`SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'orgId'`);
    const immutable = new Set(triggers.rows.filter((tg) => tg.tgname === 'tenant_org_immutable').map((tg) => tg.tbl));
    expect(tenantTables.rows.map((r) => r.table_name).filter((name) => !immutable.has(name))).toEqual([]);
  });

  for (const as of ['app', 'superuser'] as const) {
    it(`refuse a row of org A that points at org B's rows, even from ${as === 'app' ? 'the app role' : 'a superuser'}, and change nothing`, async () => {
      const A = (type: string) => a.ids.get(type)!;
      const B = (type: string) => b.ids.get(type)!;
      const refused = [
        // A strategy of A on B's source; an existing one of A moved onto B's source.
        [`INSERT INTO "Strategy" (id, "orgId", name, "sourceId", cron, "updatedAt") VALUES (gen_random_uuid(), $1, 'x', $2, '0 3 * * *', now())`, [a.org.id, B('Source')]],
        [`UPDATE "Strategy" SET "sourceId" = $2 WHERE id = $1`, [A('Strategy'), B('Source')]],
        [`UPDATE "Strategy" SET "retentionPolicyId" = $2 WHERE id = $1`, [A('Strategy'), B('RetentionPolicy')]],
        // A's strategy writing to B's destination; A's artifact stored at B's destination.
        [`INSERT INTO "StrategyDestination" ("orgId", "strategyId", "destinationId") VALUES ($1, $2, $3)`, [a.org.id, A('Strategy'), B('Destination')]],
        [`UPDATE "Artifact" SET "destinationId" = $2 WHERE "orgId" = $1`, [a.org.id, B('Destination')]],
        // A restore job of A reading B's recovery point.
        [`UPDATE "RecoveryJob" SET "recoveryPointId" = $2 WHERE id = $1`, [A('RecoveryJob'), B('RecoveryPoint')]],
      ] as const;
      for (const [sql, params] of refused) {
        const r = await attempt(as, sql, [...params]);
        expect(r, sql).toMatchObject({ code: '23503' });
        expect((r as { message: string }).message, sql).toMatch(/must reference a \w+ of organization/);
      }
      // A row never changes organization (B's children would then point across tenants).
      if (as === 'superuser') {
        const moved = await attempt(as, `UPDATE "Source" SET "orgId" = $2 WHERE id = $1`, [A('Source'), b.org.id]);
        expect(moved).toMatchObject({ code: '23000' });
      }
      // Nothing of either organization changed.
      const strategy = await su.query(`SELECT "sourceId", "retentionPolicyId" FROM "Strategy" WHERE id = $1`, [A('Strategy')]);
      expect(strategy.rows[0]).toEqual({ sourceId: A('Source'), retentionPolicyId: A('RetentionPolicy') });
    });
  }

  it('let the same references through within one organization', async () => {
    const ok = await attempt('app', `INSERT INTO "Strategy" (id, "orgId", name, "sourceId", cron, "updatedAt") VALUES (gen_random_uuid(), $1, 'y', $2, '0 3 * * *', now())`, [a.org.id, a.ids.get('Source')]);
    expect(ok).toEqual({ ok: true });
    const nulls = await attempt('app', `UPDATE "Strategy" SET "retentionPolicyId" = NULL WHERE id = $1`, [a.ids.get('Strategy')]);
    expect(nulls).toEqual({ ok: true });
  });
});
