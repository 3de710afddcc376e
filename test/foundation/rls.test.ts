// Row-level security, checked in the database itself (not through the API): the app role with
// no tenant set sees nothing, with org A set it sees exactly A's rows and cannot write B's. The
// tenant tables are walked from information_schema and the Prisma datamodel, so a new table with
// an "orgId" column is covered (or the test names it) without editing this file.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymousClient, tenantClient, withSystem, withTenant } from '../../src/db/context';
import { getDatamodel } from '../../src/db/generated/pothos-types';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { seedOrgObjects } from '../support/seed-objects';
import { superuser } from '../support/foundation';

let t: TestApp;
let orgA: TestOrg;
let orgB: TestOrg;
let su: pg.Client;
let tables: string[];

/** Tables whose rows belong to one organization: every public table with an "orgId" column. */
async function tenantTables(): Promise<string[]> {
  const r = await su.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'orgId' ORDER BY table_name`,
  );
  return r.rows.map((row) => row.table_name);
}

async function count(c: pg.Client, sql: string, params: unknown[] = []): Promise<number> {
  const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) x`, params);
  return r.rows[0]!.n;
}

/**
 * Runs fn in a transaction as keepsake_app (optionally with app.org_id set) and rolls back.
 * `rlsOnly` switches triggers off for it, so row-level security is shown to refuse on its own:
 * the tenant guard triggers (same-org.test.ts) would otherwise refuse many of the same writes first.
 */
async function asApp<T>(orgId: string | null, fn: (c: pg.Client) => Promise<T>, opts: { rlsOnly?: boolean } = {}): Promise<T> {
  await su.query('BEGIN');
  try {
    if (opts.rlsOnly) await su.query(`SET LOCAL session_replication_role = replica`);
    await su.query(`SET LOCAL ROLE keepsake_app`);
    if (orgId) await su.query(`SELECT set_config('app.org_id', $1, true)`, [orgId]);
    return await fn(su);
  } finally {
    await su.query('ROLLBACK');
  }
}

/** Runs one statement under a savepoint; returns its row count or the error it raised. */
async function attempt(c: pg.Client, sql: string, params: unknown[] = []): Promise<{ rowCount: number } | { code: string; message: string }> {
  await c.query('SAVEPOINT attempt');
  try {
    const r = await c.query(sql, params);
    await c.query('RELEASE SAVEPOINT attempt');
    return { rowCount: r.rowCount ?? 0 };
  } catch (err) {
    await c.query('ROLLBACK TO SAVEPOINT attempt');
    const e = err as { code: string; message: string };
    return { code: e.code, message: e.message };
  }
}

async function fingerprint(orgId: string): Promise<string> {
  const parts: string[] = [];
  for (const table of tables) {
    const r = await su.query(`SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS h FROM "${table}" t WHERE "orgId" = $1`, [orgId]);
    parts.push(`${table}:${r.rows[0].h}`);
  }
  const org = await su.query(`SELECT md5(o::text) AS h FROM "Organization" o WHERE id = $1`, [orgId]);
  const users = await su.query(`SELECT md5(string_agg(u::text, ',' ORDER BY u.id)) AS h FROM "User" u JOIN "Membership" m ON m."userId" = u.id WHERE m."orgId" = $1`, [orgId]);
  return [...parts, org.rows[0].h, users.rows[0].h].join('|');
}

beforeAll(async () => {
  t = await startTestApp();
  orgA = await t.createOrg();
  orgB = await t.createOrg();
  su = await superuser(t);
  for (const org of [orgA, orgB]) {
    await seedOrgObjects(t, org);
    // seedOrgObjects has no compliance log (no API writes one yet); the walk needs a row in every table.
    await withSystem(t.services.db, 'test-seed', (tx) => tx.complianceLog.create({ data: { orgId: org.id, control: 'seed', status: 'PASS' } }));
  }
  tables = await tenantTables();
});

afterAll(async () => {
  await su?.end();
  await t?.stop();
});

describe('the tenant tables', () => {
  it('are the same in the database and in the Prisma datamodel, and all have forced RLS', async () => {
    const models = Object.entries(getDatamodel().datamodel.models)
      .filter(([, m]) => m.fields.some((f) => f.name === 'orgId' && f.kind === 'scalar'))
      .map(([name]) => name)
      .sort();
    expect(tables.length).toBeGreaterThan(10);
    expect(tables).toEqual(models);
    const rls = await su.query<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>(
      `SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname = ANY($1)`,
      [[...tables, 'Organization', 'User']],
    );
    expect(rls.rows.filter((r) => !r.relrowsecurity || !r.relforcerowsecurity).map((r) => r.relname)).toEqual([]);
    expect(rls.rows).toHaveLength(tables.length + 2);
    const roles = await su.query(`SELECT rolname, rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname IN ('keepsake_app', 'keepsake_system') ORDER BY rolname`);
    expect(roles.rows).toEqual([
      { rolname: 'keepsake_app', rolsuper: false, rolbypassrls: false, rolcanlogin: false },
      { rolname: 'keepsake_system', rolsuper: false, rolbypassrls: false, rolcanlogin: false },
    ]);
  });

  it('each hold rows of both organizations (so the checks below are not vacuous)', async () => {
    const empty: string[] = [];
    for (const table of tables) {
      for (const org of [orgA, orgB]) {
        if ((await count(su, `SELECT 1 FROM "${table}" WHERE "orgId" = $1`, [org.id])) === 0) empty.push(`${table} (${org.slug})`);
      }
    }
    expect(empty, 'seed a row of these tables in test/support/seed-objects.ts').toEqual([]);
  });
});

describe('without a tenant context', () => {
  it('the app role sees no row of any tenant table, organization or user', async () => {
    const seen = await asApp(null, async (c) => {
      const out: Record<string, number> = {};
      for (const table of [...tables, 'Organization', 'User']) out[table] = await count(c, `SELECT 1 FROM "${table}"`);
      return out;
    });
    expect(Object.values(seen).every((n) => n === 0), JSON.stringify(seen)).toBe(true);
    // The superuser does see them: the zero above is RLS, not an empty database.
    expect(await count(su, `SELECT 1 FROM "Source"`)).toBeGreaterThanOrEqual(2);
  });

  it('a tenant set by an earlier transaction on the same connection does not carry over', async () => {
    await su.query('BEGIN');
    await su.query(`SELECT set_config('role', 'keepsake_app', true), set_config('app.org_id', $1, true)`, [orgA.id]);
    expect(await count(su, `SELECT 1 FROM "Source"`)).toBeGreaterThan(0);
    await su.query('COMMIT');
    // A pooled connection is reused by the next request: its transaction starts with no tenant.
    expect(await asApp(null, (c) => count(c, `SELECT 1 FROM "Source"`))).toBe(0);
    const setting = await su.query(`SELECT current_user AS who, current_setting('app.org_id', true) AS org`);
    expect(setting.rows[0].who).not.toBe('keepsake_app');
    expect(setting.rows[0].org ?? '').toBe('');
  });
});

describe('with org A as the tenant', () => {
  it('sees exactly org A rows in every tenant table, its organization and its members', async () => {
    const problems: string[] = [];
    await asApp(orgA.id, async (c) => {
      for (const table of tables) {
        const visible = await count(c, `SELECT 1 FROM "${table}"`);
        const foreign = await count(c, `SELECT 1 FROM "${table}" WHERE "orgId" <> $1`, [orgA.id]);
        const own = await count(su, `SELECT 1 FROM "${table}" WHERE "orgId" = $1`, [orgA.id]);
        if (foreign !== 0 || visible !== own) problems.push(`${table}: visible ${visible}, own ${own}, foreign ${foreign}`);
      }
      const orgs = await c.query(`SELECT id FROM "Organization"`);
      expect(orgs.rows.map((r) => r.id)).toEqual([orgA.id]);
      const users = await c.query(`SELECT email FROM "User" ORDER BY email`);
      expect(users.rows.map((r) => r.email)).toEqual(Object.values(orgA.users).map((u) => u.email).sort());
    });
    expect(problems).toEqual([]);
  });

  it('cannot insert, move, update or delete rows of org B in any table', async () => {
    const before = await fingerprint(orgB.id);
    const problems: string[] = [];
    await asApp(orgA.id, async (c) => {
      for (const table of tables) {
        const hasId = (await count(su, `SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = 'id'`, [table])) > 0;
        const newId = hasId ? `|| jsonb_build_object('id', gen_random_uuid())` : '';
        // A copy of one of A's rows, relabelled as B's.
        const insert = await attempt(c, `INSERT INTO "${table}" SELECT * FROM jsonb_populate_record(NULL::"${table}",
          (SELECT to_jsonb(r) || jsonb_build_object('orgId', $1::text) ${newId} FROM "${table}" r LIMIT 1))`, [orgB.id]);
        if (!('code' in insert) || insert.code !== '42501' || !/row-level security/.test(insert.message)) problems.push(`${table} insert as B: ${JSON.stringify(insert)}`);
        const move = await attempt(c, `UPDATE "${table}" SET "orgId" = $1 WHERE ctid = (SELECT ctid FROM "${table}" LIMIT 1)`, [orgB.id]);
        if (!('code' in move) || move.code !== '42501') problems.push(`${table} move to B: ${JSON.stringify(move)}`);
        if (table === 'AuditEvent') continue; // UPDATE and DELETE are not granted at all (see audit.test.ts)
        const update = await attempt(c, `UPDATE "${table}" SET "orgId" = "orgId" WHERE "orgId" = $1`, [orgB.id]);
        const remove = await attempt(c, `DELETE FROM "${table}" WHERE "orgId" = $1`, [orgB.id]);
        if (!('rowCount' in update) || update.rowCount !== 0) problems.push(`${table} update of B: ${JSON.stringify(update)}`);
        if (!('rowCount' in remove) || remove.rowCount !== 0) problems.push(`${table} delete of B: ${JSON.stringify(remove)}`);
      }
      const orgUpdate = await attempt(c, `UPDATE "Organization" SET name = 'taken' WHERE id = $1`, [orgB.id]);
      if (!('rowCount' in orgUpdate) || orgUpdate.rowCount !== 0) problems.push(`Organization update of B: ${JSON.stringify(orgUpdate)}`);
      const userUpdate = await attempt(c, `UPDATE "User" SET name = 'taken' WHERE email = $1`, [orgB.users.OWNER.email]);
      if (!('rowCount' in userUpdate) || userUpdate.rowCount !== 0) problems.push(`User update of B member: ${JSON.stringify(userUpdate)}`);
      const userInsert = await attempt(c, `INSERT INTO "User" (id, email) VALUES (gen_random_uuid(), 'intruder@example.com')`);
      if (!('code' in userInsert) || userInsert.code !== '42501') problems.push(`User insert: ${JSON.stringify(userInsert)}`);
    }, { rlsOnly: true });
    expect(problems).toEqual([]);
    expect(await fingerprint(orgB.id)).toBe(before);
  });
});

describe('withTenant / tenantClient', () => {
  it('run as keepsake_app with the org set, and leave the pooled connections as they were', async () => {
    const inside = await withTenant(t.services.db, orgA.id, (tx) =>
      tx.$queryRaw<Array<{ who: string; org: string }>>`SELECT current_user::text AS who, current_setting('app.org_id', true) AS org`,
    );
    expect(inside).toEqual([{ who: 'keepsake_app', org: orgA.id }]);
    const outside = await Promise.all(
      Array.from({ length: 12 }, () => t.services.db.$queryRaw<Array<{ who: string }>>`SELECT current_user::text AS who`),
    );
    expect(outside.map((r) => r[0]!.who).filter((who) => who.startsWith('keepsake_'))).toEqual([]);
  });

  it('show only the tenant rows through Prisma and refuse to create or change another org rows', async () => {
    const [sourceOfB] = await withSystem(t.services.db, 'test', (tx) => tx.source.findMany({ where: { orgId: orgB.id }, take: 1 }));
    const ownCount = await count(su, `SELECT 1 FROM "Source" WHERE "orgId" = $1`, [orgA.id]);
    const seen = await withTenant(t.services.db, orgA.id, (tx) => tx.source.findMany());
    expect(seen.length).toBe(ownCount);
    expect(seen.every((s) => s.orgId === orgA.id)).toBe(true);
    const viaClient = await tenantClient(t.services.db, orgA.id).source.findMany();
    expect(viaClient.map((s) => s.id).sort()).toEqual(seen.map((s) => s.id).sort());

    await expect(withTenant(t.services.db, orgA.id, (tx) => tx.source.findUnique({ where: { id: sourceOfB!.id } }))).resolves.toBeNull();
    await expect(withTenant(t.services.db, orgA.id, (tx) => tx.source.update({ where: { id: sourceOfB!.id }, data: { name: 'taken over' } }))).rejects.toThrow();
    await expect(withTenant(t.services.db, orgA.id, (tx) => tx.source.delete({ where: { id: sourceOfB!.id } }))).rejects.toThrow();
    await expect(
      withTenant(t.services.db, orgA.id, (tx) => tx.source.create({ data: { orgId: orgB.id, name: 'planted', kind: 'DIRECTORY', path: '/tmp' } })),
    ).rejects.toThrow(/row-level security/);
    const after = await su.query(`SELECT name FROM "Source" WHERE id = $1`, [sourceOfB!.id]);
    expect(after.rows).toEqual([{ name: sourceOfB!.name }]);
    expect(await count(su, `SELECT 1 FROM "Source" WHERE name = 'planted'`)).toBe(0);
  });

  it('anonymousClient (requests without a viewer) sees no row even on a superuser login', async () => {
    const anon = anonymousClient(t.services.db);
    expect(await anon.user.count()).toBe(0);
    expect(await anon.organization.count()).toBe(0);
    expect(await anon.source.count()).toBe(0);
    expect(await t.services.db.user.count()).toBeGreaterThan(0);
  });

  it('reject a malformed organization id before running anything', async () => {
    for (const bad of ['', 'not-a-uuid', `${orgA.id}' OR true --`, ` ${orgA.id}`, orgA.id.replace(/-/g, ''), `${orgA.id}0`]) {
      let ran = false;
      await expect(
        withTenant(t.services.db, bad, async () => {
          ran = true;
        }),
        JSON.stringify(bad),
      ).rejects.toThrow(/invalid organization id/);
      expect(ran).toBe(false);
      expect(() => tenantClient(t.services.db, bad)).toThrow(/invalid organization id/);
    }
    // Well-formed but unknown: runs, and sees nothing.
    const nobody = '00000000-0000-4000-8000-000000000000';
    await expect(withTenant(t.services.db, nobody, (tx) => tx.source.count())).resolves.toBe(0);
    await expect(withSystem(t.services.db, '', async () => 1)).rejects.toThrow(/reason/);
  });
});
