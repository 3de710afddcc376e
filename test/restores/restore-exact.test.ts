// Restores are exact, on a schema we did not design (test/fixtures/pagila-like.sql, modelled on
// the public pagila sample): through the API, a full and a selective restore give every table the
// same content hash and the same normalized `pg_dump --schema-only` as the source, owners and
// privileges included; a selective restore brings its tables back usable (partitions, sequences
// with their values, defaults, indexes, constraints, triggers); names are checked up front;
// ownership follows the roles the target has; a new database that fails its check is dropped, and
// a crashed attempt's half-made database is reused by the retry or dropped by the lost-job path;
// a damaged copy is marked, shown in backupHealth and found by a restore test.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTargetDatabase } from '../../src/backup/restore/postgres';
import { settleLostRestore } from '../../src/domain/restores/lost';
import { restoreMarker, runRestore } from '../../src/domain/restores/run';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { RestoreRecoveryPointDocument, VerifyStrategyDocument, type RestoreRecoveryPointInput } from '../generated/graphql';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { backupFlow, ok, poll } from '../support/backup-flow';
import { createEmptyDatabase, queryOnce, type TestDatabase } from '../support/db';
import { databaseExists, dropDatabase, withClient } from '../support/db';

let t: TestApp;
let org: TestOrg;
let source: TestDatabase;
let workers: Workers;
let flow: ReturnType<typeof backupFlow>;
let strategyId: string;
let pointId: string;
const created: string[] = [];
const suffix = randomBytes(3).toString('hex');
const OWNER = `ks_pagila_owner_${suffix}`;
const READER = `ks_pagila_reader_${suffix}`;
const RESTORER = `ks_restorer_${suffix}`;

// Closed under foreign keys: everything but the actor/category side of the schema.
/** The uuid inside a Relay global id. */
const uuidOf = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1]!;

const SELECTED = ['public.payment', 'customer', 'rental', 'staff', 'store', 'address', 'city', 'country', 'inventory', 'film', 'language'];

beforeAll(async () => {
  t = await startTestApp();
  org = await t.createOrg();
  source = await createEmptyDatabase();
  await admin(async (c) => {
    await c.query(`CREATE ROLE "${OWNER}"; CREATE ROLE "${READER}"; CREATE ROLE "${RESTORER}" LOGIN CREATEDB PASSWORD 'restorer'`);
  });
  const c = new pg.Client({ connectionString: source.url });
  await c.connect();
  await c.query(await readFile(path.join(import.meta.dirname, '..', 'fixtures', 'pagila-like.sql'), 'utf8'));
  // Owned by an application role, with a grant to another: what a restore must bring back.
  await c.query(`
    DO $$ DECLARE r record; BEGIN
      FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') LOOP
        EXECUTE format(CASE r.relkind WHEN 'v' THEN 'ALTER VIEW %I OWNER TO %I' WHEN 'm' THEN 'ALTER MATERIALIZED VIEW %I OWNER TO %I' ELSE 'ALTER TABLE %I OWNER TO %I' END, r.relname, '${OWNER}');
      END LOOP;
    END $$;
    ALTER FUNCTION last_updated() OWNER TO "${OWNER}";
    ALTER TYPE mpaa_rating OWNER TO "${OWNER}";
    GRANT SELECT ON film, film_list TO "${READER}";`);
  await c.end();
  workers = await startWorkers(t.services);
  flow = backupFlow(t, org);
  const src = await flow.postgresSource('pagila', source.url);
  strategyId = await flow.strategy('pagila', src, [await flow.localDestination('pagila-a'), await flow.localDestination('pagila-b')]);
  pointId = (await flow.backup(strategyId)).recoveryPoint!.id;
});

afterAll(async () => {
  await workers?.stop();
  for (const db of created) await dropDb(db).catch(() => undefined);
  await t?.stop();
  await source?.drop();
  await admin((c) => c.query(`DROP ROLE IF EXISTS "${OWNER}"; DROP ROLE IF EXISTS "${READER}"; DROP ROLE IF EXISTS "${RESTORER}"`)).catch(() => undefined);
});

const admin = <T>(fn: (c: pg.Client) => Promise<T>) => withClient(source.adminUrl, fn);
const dropDb = (name: string) => dropDatabase(source.adminUrl, name);
const dbExists = (name: string) => databaseExists(source.adminUrl, name);
function newDb(login?: { user: string; password: string }): { name: string; url: string } {
  const name = `keepsake_px_${randomBytes(4).toString('hex')}`;
  created.push(name);
  const u = new URL(source.url);
  u.pathname = `/${name}`;
  if (login) {
    u.username = login.user;
    u.password = login.password;
  }
  return { name, url: u.toString() };
}

async function restore(input: Omit<RestoreRecoveryPointInput, 'recoveryPointId'> & { recoveryPointId?: string }) {
  const r = await ok(t.request(org.users.OPERATOR.token, RestoreRecoveryPointDocument, { input: { recoveryPointId: pointId, ...input } }), 'restoreRecoveryPoint');
  return flow.waitForRestore(r.data!.id, 90_000);
}

/** Ordinary tables (partitions included) of the public schema. */
async function tablesOf(url: string): Promise<string[]> {
  const r = await queryOnce(url, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`);
  return r.rows.map((row) => row.relname as string);
}

/** A content hash per table: equal tables, equal hashes. */
async function tableHashes(url: string, tables: string[]): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, string> = {};
    for (const table of tables) {
      const r = await c.query(`SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS sum FROM public.${c.escapeIdentifier(table)} t`);
      out[table] = `${r.rows[0].n}:${r.rows[0].sum}`;
    }
    return out;
  } finally {
    await c.end();
  }
}

/** Sequence positions (what the next insert gets). */
async function sequences(url: string, names?: string[]): Promise<Record<string, string>> {
  const r = await queryOnce(url, `SELECT sequencename AS name, coalesce(last_value::text, 'unset') AS v FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1`);
  return Object.fromEntries(r.rows.filter((row) => !names || names.includes(row.name)).map((row) => [row.name, row.v]));
}

/**
 * pg_dump --schema-only without its comments, blank lines and per-run \restrict keys. With
 * `--table` pg_dump breaks ties between unrelated objects by OID, which a selective restore
 * assigns in another order: those dumps are compared as sorted statements.
 */
function schemaDump(url: string, tables?: string[]): string {
  const args = ['--schema-only', `--dbname=${url}`, ...(tables ?? []).map((tb) => `--table=public.${tb}`)];
  return execFileSync('pg_dump', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('--') && !/^\\(un)?restrict /.test(l))
    .join('\n')
    .split(';\n')
    .sort((a, b) => (tables ? a.localeCompare(b) : 0))
    .join(';\n');
}

describe('restoring a pagila-like database through the API', () => {
  it('whole, into a new database: every table and the whole schema identical, owners and grants included', async () => {
    const target = newDb();
    const job = await restore({ targetKind: 'NEW_DATABASE', connectionUrl: target.url });
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');
    const tables = await tablesOf(source.url);
    expect(tables).toHaveLength(18);
    expect(await tablesOf(target.url)).toEqual(tables);
    expect(await tableHashes(target.url, tables)).toEqual(await tableHashes(source.url, tables));
    expect(await sequences(target.url)).toEqual(await sequences(source.url));
    const dumped = schemaDump(source.url);
    expect(dumped).toContain(`OWNER TO ${OWNER}`);
    expect(dumped).toContain(`TO ${READER}`);
    expect(schemaDump(target.url)).toEqual(dumped);
    expect((job.validation as { ownership: unknown }).ownership).toEqual({ owners: 'restored', privileges: 'restored' });
  });

  it('selected tables, qualified and not: usable and identical, with partitions, sequences, indexes, constraints and triggers', async () => {
    const target = newDb();
    const job = await restore({ targetKind: 'NEW_DATABASE', connectionUrl: target.url, tables: SELECTED });
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');
    const partitions = (await tablesOf(source.url)).filter((n) => n.startsWith('payment_p'));
    expect(partitions).toHaveLength(4);
    const expected = [...SELECTED.map((n) => n.replace(/^public\./, '')).filter((n) => n !== 'payment'), ...partitions].sort();
    expect(await tablesOf(target.url)).toEqual(expected);
    expect(await tableHashes(target.url, expected)).toEqual(await tableHashes(source.url, expected));
    const seqNames = Object.keys(await sequences(target.url));
    expect(seqNames).toEqual(expect.arrayContaining(['payment_payment_id_seq', 'rental_rental_id_seq', 'film_film_id_seq', 'language_language_id_seq']));
    expect(await sequences(target.url)).toEqual(await sequences(source.url, seqNames));
    const relations = [...SELECTED.map((n) => n.replace(/^public\./, '')), ...partitions];
    expect(schemaDump(target.url, relations)).toEqual(schemaDump(source.url, relations));
    // Usable: the defaults draw from the restored sequences, the triggers fire, the checks hold.
    const c = new pg.Client({ connectionString: target.url });
    await c.connect();
    try {
      const ins = await c.query(`INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) VALUES (1, 1, 1, 2.99, '2022-03-05') RETURNING payment_id`);
      expect(ins.rows[0].payment_id).toBe(Number((await sequences(source.url, ['payment_payment_id_seq'])).payment_payment_id_seq) + 1);
      const film = await c.query(`INSERT INTO film (title, description, language_id) VALUES ('NEW TITLE', 'a dentist again', 1) RETURNING fulltext::text AS ft`);
      expect(film.rows[0].ft).toContain('dentist');
      await expect(c.query(`INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) VALUES (1, 1, 1, -1, '2022-03-05')`)).rejects.toThrow(/check constraint/);
      await expect(c.query(`INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) VALUES (now(), 999999, 1, 1)`)).rejects.toThrow(/foreign key/);
    } finally {
      await c.end();
    }
    const v = job.validation as { tables: Array<{ table: string; ok: boolean }>; leftOut: string[] };
    expect(v.tables.map((x) => x.table).sort()).toEqual(expected.map((n) => `public.${n}`));
    expect(v.leftOut).toEqual(expect.arrayContaining(['FK CONSTRAINT public.film_actor film_actor_film_id_fkey']));
  });

  it('refuses a name that is not in the backup up front, naming it, and writes nothing', async () => {
    const count = async () => (await queryOnce(t.db.url, `SELECT count(*)::int AS n FROM "RecoveryJob"`)).rows[0].n as number;
    const before = await count();
    const target = newDb();
    const r = await t.request(org.users.OPERATOR.token, RestoreRecoveryPointDocument, {
      input: { recoveryPointId: pointId, targetKind: 'NEW_DATABASE', connectionUrl: target.url, tables: ['public.film', 'public.nope', 'crm.film'] },
    });
    expect(r.data?.restoreRecoveryPoint).toMatchObject({
      __typename: 'ValidationError',
      issues: [
        { path: ['input', 'tables', '1'], message: expect.stringContaining('"public.nope" is not in the backup') },
        { path: ['input', 'tables', '2'], message: expect.stringContaining('"crm.film" is not in the backup') },
      ],
    });
    expect(await count()).toBe(before);
    expect(await dbExists(target.name)).toBe(false);
  });

  it('skips owners and privileges when the target lacks the roles for them, and says so; SKIP skips them on request', async () => {
    const target = newDb({ user: RESTORER, password: 'restorer' });
    const job = await restore({ targetKind: 'NEW_DATABASE', connectionUrl: target.url });
    expect(job.status, job.error ?? '').toBe('SUCCEEDED');
    expect((job.validation as { ownership: unknown }).ownership).toMatchObject({ owners: 'skipped', privileges: 'skipped', missingRoles: expect.arrayContaining([OWNER]) });
    expect((await queryOnce(target.url, `SELECT tableowner FROM pg_tables WHERE tablename = 'film'`)).rows[0].tableowner).toBe(RESTORER);
    const sums = await tableHashes(target.url, ['film', 'payment_p2022_02']);
    expect(sums).toEqual(await tableHashes(source.url, ['film', 'payment_p2022_02']));

    const skipped = newDb();
    const job2 = await restore({ targetKind: 'NEW_DATABASE', connectionUrl: skipped.url, ownership: 'SKIP', tables: ['film', 'language'] });
    expect(job2.status, job2.error ?? '').toBe('SUCCEEDED');
    expect((job2.validation as { ownership: { owners: string } }).ownership.owners).toBe('skipped');
    expect((await queryOnce(skipped.url, `SELECT tableowner FROM pg_tables WHERE tablename = 'film'`)).rows[0].tableowner).not.toBe(OWNER);
  });
});

describe('nothing left behind', () => {
  it('drops the new database when the restored data fails its check', async () => {
    const done = await flow.backup(strategyId);
    const id = done.recoveryPoint!.id;
    // The catalog says one more actor than the dump holds: the row-count check must fail.
    await queryOnce(t.db.url, `UPDATE "RecoveryPoint" SET manifest = jsonb_set(manifest, '{rowCounts,public.actor}', '201') WHERE id = $1::uuid`, [uuidOf(id)]);
    const target = newDb();
    const job = await restore({ recoveryPointId: id, targetKind: 'NEW_DATABASE', connectionUrl: target.url });
    expect(job.status).toBe('FAILED');
    expect(job.errorCode).toBe('VALIDATION_FAILED');
    expect(job.error).toMatch(/public\.actor 200 ≠ 201/);
    expect(await dbExists(target.name)).toBe(false);
  });

  it("a retry reuses its own half-made database; a lost restore's is dropped, anyone else's is not", async () => {
    const target = newDb();
    const first = await restore({ targetKind: 'NEW_DATABASE', connectionUrl: target.url, tables: ['language'] });
    expect(first.status, first.error ?? '').toBe('SUCCEEDED');
    const jobId = (await queryOnce(t.db.url, `SELECT id::text FROM "RecoveryJob" WHERE "targetDatabase" = $1`, [target.name])).rows[0].id as string;
    // As a worker killed mid-restore leaves it: the row RUNNING, the database made and marked.
    await dropDb(target.name);
    await createTargetDatabase(target.url, { marker: restoreMarker(jobId) });
    await queryOnce(t.db.url, `UPDATE "RecoveryJob" SET status = 'RUNNING', "finishedAt" = NULL WHERE id = $1::uuid`, [jobId]);
    const deps = { db: t.services.db, masterKey: t.services.masterKey, storageRoot: t.config.storageRoot, pgBinDir: t.config.pgBinDir, events: t.services.events, log: t.services.log };
    const retried = await runRestore(deps, { recoveryJobId: jobId, orgId: org.id, attempt: 2, retriesLeft: false });
    expect(retried.status).toBe('SUCCEEDED');
    expect(await tableHashes(target.url, ['language'])).toEqual(await tableHashes(source.url, ['language']));
    expect((await queryOnce(source.adminUrl, `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`, [target.name])).rows[0].c).toBeNull();

    // Lost for good (the dead letter queue, or the sweep): FAILED, and its marked database dropped.
    await dropDb(target.name);
    await createTargetDatabase(target.url, { marker: restoreMarker(jobId) });
    await queryOnce(t.db.url, `UPDATE "RecoveryJob" SET status = 'RUNNING', "finishedAt" = NULL WHERE id = $1::uuid`, [jobId]);
    expect(await settleLostRestore(t.services.db, t.services.masterKey, t.services.log, { recoveryJobId: jobId, orgId: org.id })).toBe(true);
    expect(await dbExists(target.name)).toBe(false);
    expect((await queryOnce(t.db.url, `SELECT status::text, "errorCode" FROM "RecoveryJob" WHERE id = $1::uuid`, [jobId])).rows[0]).toEqual({ status: 'FAILED', errorCode: 'WORKER_LOST' });

    // A database without the mark (someone else's, or a finished restore's) is never dropped.
    await admin((c) => c.query(`CREATE DATABASE "${target.name}"`));
    await queryOnce(t.db.url, `UPDATE "RecoveryJob" SET status = 'RUNNING', "finishedAt" = NULL WHERE id = $1::uuid`, [jobId]);
    await settleLostRestore(t.services.db, t.services.masterKey, t.services.log, { recoveryJobId: jobId, orgId: org.id });
    expect(await dbExists(target.name)).toBe(true);
  });
});

describe('damaged copies', () => {
  const artifactFile = async (recoveryPointId: string, destination: string) => {
    const r = await queryOnce(t.db.url, `SELECT a.key FROM "Artifact" a JOIN "Destination" d ON d.id = a."destinationId" WHERE a."recoveryPointId" = $1::uuid AND d.name = $2`, [recoveryPointId, destination]);
    return path.join(t.storageRoot, org.id, 'dest', destination, ...(r.rows[0].key as string).split('/'));
  };
  const flip = async (file: string) => {
    const bytes = await readFile(file);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0x01;
    await writeFile(file, bytes);
  };
  const statusOf = async (recoveryPointId: string) =>
    Object.fromEntries((await queryOnce(t.db.url, `SELECT d.name, a.status::text AS s FROM "Artifact" a JOIN "Destination" d ON d.id = a."destinationId" WHERE a."recoveryPointId" = $1::uuid`, [recoveryPointId])).rows.map((r) => [r.name, r.s]));
  const health = async () =>
    (await t.gql<{ backupHealth: { damagedCopies: number; damagedRecoveryPointIds: string[] } }>(org.users.VIEWER.token, `{ backupHealth { damagedCopies damagedRecoveryPointIds } }`)).data!.backupHealth;

  it('a restore that finds its copies corrupted marks them DAMAGED, shows them in backupHealth and never reads them again', async () => {
    const done = await flow.backup(strategyId);
    const id = done.recoveryPoint!.id;
    await flip(await artifactFile(uuidOf(id), 'pagila-a'));
    await flip(await artifactFile(uuidOf(id), 'pagila-b'));
    const target = newDb();
    const job = await restore({ recoveryPointId: id, targetKind: 'NEW_DATABASE', connectionUrl: target.url, tables: ['language'] });
    expect(job.status).toBe('FAILED');
    expect(job.errorCode).toBe('INTEGRITY_ERROR');
    expect(await dbExists(target.name)).toBe(false);
    expect(await statusOf(uuidOf(id))).toEqual({ 'pagila-a': 'DAMAGED', 'pagila-b': 'DAMAGED' });
    expect(await health()).toEqual({ damagedCopies: 2, damagedRecoveryPointIds: [id] });
    const again = await t.request(org.users.OPERATOR.token, RestoreRecoveryPointDocument, { input: { recoveryPointId: id, targetKind: 'NEW_DATABASE', connectionUrl: newDb().url } });
    expect(again.data?.restoreRecoveryPoint).toMatchObject({ __typename: 'ConflictError', message: expect.stringMatching(/no copy left/) });
  });

  it('a restore test checks every copy, so it finds a damaged one that a restore would not have needed', async () => {
    const done = await flow.backup(strategyId);
    const uuid = uuidOf(done.recoveryPoint!.id);
    await flip(await artifactFile(uuid, 'pagila-b'));
    await ok(t.request(org.users.OPERATOR.token, VerifyStrategyDocument, { strategyId, pick: 'NEWEST' }), 'verifyStrategy');
    const verifications = () => t.gql<{ verifications: { edges: Array<{ node: { status: string; recoveryPoint: { id: string } | null } }> } }>(org.users.VIEWER.token, `{ verifications(first: 5) { edges { node { status recoveryPoint { id } } } } }`);
    await poll(verifications, (r) => r.data!.verifications.edges.some((e) => e.node.recoveryPoint?.id === done.recoveryPoint!.id && ['PASSED', 'FAILED'].includes(e.node.status)), (r) => JSON.stringify(r.data), 90_000);
    expect(await statusOf(uuid)).toEqual({ 'pagila-a': 'PRESENT', 'pagila-b': 'DAMAGED' });
    expect((await health()).damagedCopies).toBe(3);
  });
});
