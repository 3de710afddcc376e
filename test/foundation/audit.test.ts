// The audit trail: every mutation writes its event in the same transaction as the change, the
// events carry no secrets, and the database refuses to rewrite history.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { mutate, mutateOk, rawId, superuser, unique } from '../support/foundation';

let t: TestApp;
let org: TestOrg;
let su: pg.Client;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.createOrg();
  su = await superuser(t);
});

afterAll(async () => {
  await su?.end();
  await t?.stop();
});

const admin = () => org.users.ADMIN.token;
const createDir = (name: string, token = admin(), path = '/srv/files') =>
  mutate(t, token, 'createDirectorySource', 'CreateDirectorySourceInput', { name, path }, 'id name');

async function auditCount(orgId = org.id): Promise<number> {
  const r = await su.query(`SELECT count(*)::int AS n FROM "AuditEvent" WHERE "orgId" = $1`, [orgId]);
  return r.rows[0].n as number;
}

async function eventsFor(resourceId: string) {
  const r = await su.query(`SELECT * FROM "AuditEvent" WHERE "resourceId" = $1 ORDER BY seq`, [resourceId]);
  return r.rows as Array<Record<string, unknown> & { after: Record<string, unknown> | null }>;
}

describe('audit events of mutations', () => {
  it('record the actor, the action, the resource and the request', async () => {
    const name = unique('audited');
    const r = await t.gql(admin(), `mutation($i: CreateDirectorySourceInput!) { createDirectorySource(input: $i) { ... on MutationCreateDirectorySourceSuccess { data { id } } } }`,
      { i: { name, path: '/srv/audited' } }, { 'x-request-id': 'req-audit-42', 'user-agent': 'audit-test/1.0' });
    const id = rawId((r.data!.createDirectorySource as { data: { id: string } }).data.id);
    const [event, ...more] = await eventsFor(id);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      orgId: org.id, action: 'source.create', resourceType: 'Source', resourceId: id,
      actorType: 'USER', actorId: org.users.ADMIN.id, actorLabel: org.users.ADMIN.email,
      requestId: 'req-audit-42', userAgent: 'audit-test/1.0',
    });
    expect(event!.ip).toMatch(/127\.0\.0\.1$/);
    expect(event!.after).toMatchObject({ name, path: '/srv/audited', kind: 'DIRECTORY' });
    expect(r.headers.get('x-request-id')).toBe('req-audit-42');
  });

  it('name the API key when a key acts', async () => {
    const created = await mutateOk(t, admin(), 'createApiKey', 'CreateApiKeyInput', { name: unique('key'), role: 'ADMIN' }, 'token apiKey { id }');
    const keyId = rawId((created.apiKey as { id: string }).id);
    const id = rawId(((await createDir(unique('by-key'), created.token as string)).payload!.data!.id) as string);
    const [event] = await eventsFor(id);
    expect(event).toMatchObject({ action: 'source.create', actorType: 'API_KEY', actorId: keyId });
    // Creating the key was audited too, under the admin who created it.
    expect((await eventsFor(keyId)).map((e) => [e.action, e.actorId])).toEqual([['apiKey.create', org.users.ADMIN.id]]);
  });

  it('are not written when the mutation fails with a typed error', async () => {
    const name = unique('dup');
    await mutateOk(t, admin(), 'createDirectorySource', 'CreateDirectorySourceInput', { name, path: '/srv/a' }, 'id');
    const before = await auditCount();
    expect((await createDir(name)).payload?.__typename).toBe('ConflictError');
    expect((await createDir(unique('rel'), admin(), 'relative/path')).payload?.__typename).toBe('ValidationError');
    expect((await createDir(unique('viewer'), org.users.VIEWER.token)).payload?.__typename).toBe('ForbiddenError');
    const missing = Buffer.from('Source:00000000-0000-4000-8000-000000000000').toString('base64');
    expect((await mutate(t, admin(), 'deleteSource', 'DeleteSourceInput', { id: missing }, 'deletedId')).payload?.__typename).toBe('NotFoundError');
    expect(await auditCount()).toBe(before);
  });

  it('fail together with the change: a failing audit insert leaves no change behind', async () => {
    const name = unique('explode-on-audit');
    await su.query(`CREATE FUNCTION test_fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.after->>'name' LIKE 'explode-on-audit%' THEN RAISE EXCEPTION 'audit store unavailable'; END IF; RETURN NEW; END $$`);
    await su.query(`CREATE TRIGGER test_fail_audit BEFORE INSERT ON "AuditEvent" FOR EACH ROW EXECUTE FUNCTION test_fail_audit()`);
    try {
      const before = await auditCount();
      const r = await createDir(name);
      expect(r.errors?.[0]?.message, r.json).toBe('Unexpected error.');
      expect(r.json).not.toContain('audit store unavailable');
      expect((await su.query(`SELECT 1 FROM "Source" WHERE name = $1`, [name])).rowCount).toBe(0);
      expect(await auditCount()).toBe(before);
    } finally {
      await su.query(`DROP TRIGGER test_fail_audit ON "AuditEvent"; DROP FUNCTION test_fail_audit()`);
    }
  });

  it('fail together with the change: a commit that fails after both writes keeps neither', async () => {
    const name = unique('explode-at-commit');
    // Deferred to commit time, so the source row and the audit event are both written first.
    await su.query(`CREATE FUNCTION test_fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.name LIKE 'explode-at-commit%' THEN RAISE EXCEPTION 'commit refused'; END IF; RETURN NULL; END $$`);
    await su.query(`CREATE CONSTRAINT TRIGGER test_fail_commit AFTER INSERT ON "Source" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_commit()`);
    try {
      const before = await auditCount();
      const r = await createDir(name);
      expect(r.errors?.[0]?.message, r.json).toBe('Unexpected error.');
      expect((await su.query(`SELECT 1 FROM "Source" WHERE name = $1`, [name])).rowCount).toBe(0);
      expect(await auditCount()).toBe(before);
    } finally {
      await su.query(`DROP TRIGGER test_fail_commit ON "Source"; DROP FUNCTION test_fail_commit()`);
    }
    // The rolled-back event took no sequence number: the chain has no gap.
    await mutateOk(t, admin(), 'createDirectorySource', 'CreateDirectorySourceInput', { name: unique('after-rollback'), path: '/srv/b' }, 'id');
    const seqs = await su.query(`SELECT seq FROM "AuditEvent" WHERE "orgId" = $1 ORDER BY seq`, [org.id]);
    expect(seqs.rows.map((r) => r.seq)).toEqual(seqs.rows.map((_, i) => i + 1));
  });
});

describe('secrets', () => {
  it('never appear in any audit event', async () => {
    const secrets = {
      pw1: `pw1-${unique('s')}`, pw2: `pw2-${unique('s')}`,
      ak1: `AKIA${unique('a').toUpperCase()}`, sk1: `sk1-${unique('s')}`, ak2: `AKIA${unique('b').toUpperCase()}`, sk2: `sk2-${unique('s')}`,
    };
    const src = await mutateOk(t, admin(), 'createPostgresSource', 'CreatePostgresSourceInput',
      { name: unique('pg'), connectionUrl: `postgresql://dbuser:${secrets.pw1}@db.example:5432/crm?sslmode=require&password=${secrets.pw1}` }, 'id connectionHint');
    await mutateOk(t, admin(), 'updateSource', 'UpdateSourceInput', { id: src.id, connectionUrl: `postgres://dbuser:${secrets.pw2}@db2.example/crm` }, 'id');
    const dst = await mutateOk(t, admin(), 'createS3Destination', 'CreateS3DestinationInput',
      { name: unique('s3'), endpoint: 'http://127.0.0.1:9', bucket: 'audit-bucket', accessKeyId: secrets.ak1, secretAccessKey: secrets.sk1 }, 'id');
    await mutateOk(t, admin(), 'updateDestination', 'UpdateDestinationInput', { id: dst.id, accessKeyId: secrets.ak2, secretAccessKey: secrets.sk2 }, 'id');
    const key = await mutateOk(t, admin(), 'createApiKey', 'CreateApiKeyInput', { name: unique('k'), role: 'VIEWER' }, 'token apiKey { id }');
    await mutateOk(t, admin(), 'revokeApiKey', 'RevokeApiKeyInput', { id: (key.apiKey as { id: string }).id }, 'id');
    await mutateOk(t, admin(), 'deleteDestination', 'DeleteDestinationInput', { id: dst.id }, 'deletedId');
    await mutateOk(t, admin(), 'deleteSource', 'DeleteSourceInput', { id: src.id }, 'deletedId');

    const token = key.token as string;
    const keySecret = token.split('_').slice(2).join('_');
    const needles = [...Object.values(secrets), token, keySecret, createHash('sha256').update(keySecret).digest('hex')];
    const rows = await su.query<{ action: string; json: string }>(`SELECT action, row_to_json(e)::text AS json FROM "AuditEvent" e`);
    const actions = rows.rows.map((r) => r.action);
    for (const a of ['source.create', 'source.update', 'source.delete', 'destination.create', 'destination.update', 'destination.delete', 'apiKey.create', 'apiKey.revoke']) {
      expect(actions, a).toContain(a);
    }
    const leaks = rows.rows.flatMap((r) => needles.filter((n) => r.json.includes(n)).map((n) => `${r.action}: ${n}`));
    expect(leaks).toEqual([]);
    expect(rows.rows.filter((r) => /Sealed|secretHash/.test(r.json)).map((r) => r.action)).toEqual([]);
    // The events still say what changed, without the secret.
    const [created, updated] = await eventsFor(rawId(src.id as string));
    expect(created!.after).toMatchObject({ connectionHint: 'dbuser@db.example:5432/crm' });
    expect(updated!.after).toMatchObject({ connectionUrlChanged: true, connectionHint: 'dbuser@db2.example:5432/crm' });
    const [, dstUpdated] = await eventsFor(rawId(dst.id as string));
    expect(dstUpdated!.after).toMatchObject({ credentialsChanged: true });
  });
});

describe('append-only', () => {
  it('refuses UPDATE, DELETE and TRUNCATE even for the owning superuser', async () => {
    const owner = await su.query(`SELECT tableowner, current_user AS me, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super FROM pg_tables WHERE tablename = 'AuditEvent'`);
    expect(owner.rows[0].tableowner).toBe(owner.rows[0].me);
    expect(owner.rows[0].super).toBe(true);
    const snapshot = async () => (await su.query(`SELECT md5(string_agg(e::text, ',' ORDER BY id)) AS h, count(*)::int AS n FROM "AuditEvent" e`)).rows[0];
    const before = await snapshot();
    expect(before.n).toBeGreaterThan(0);
    for (const sql of [
      `UPDATE "AuditEvent" SET action = 'rewritten'`,
      `UPDATE "AuditEvent" SET after = '{}'::jsonb WHERE seq = 1`,
      `DELETE FROM "AuditEvent"`,
      `DELETE FROM "AuditEvent" WHERE seq = (SELECT max(seq) FROM "AuditEvent")`,
      `TRUNCATE "AuditEvent"`,
      `TRUNCATE "Organization", "AuditEvent" CASCADE`,
    ]) {
      await su.query('BEGIN');
      const err = await su.query(sql).then(() => null, (e: Error & { code?: string }) => e);
      await su.query('ROLLBACK');
      expect(err?.message, sql).toMatch(/AuditEvent is append-only/);
      expect(err?.code, sql).toBe('42501');
    }
    expect(await snapshot()).toEqual(before);
  });

  it('does not even grant UPDATE, DELETE or TRUNCATE to the app and system roles', async () => {
    for (const role of ['keepsake_app', 'keepsake_system']) {
      for (const sql of [`UPDATE "AuditEvent" SET action = 'x'`, `DELETE FROM "AuditEvent"`, `TRUNCATE "AuditEvent"`]) {
        await su.query('BEGIN');
        await su.query(`SET LOCAL ROLE ${role}`);
        if (role === 'keepsake_app') await su.query(`SELECT set_config('app.org_id', $1, true)`, [org.id]);
        const err = await su.query(sql).then(() => null, (e: Error & { code?: string }) => e);
        await su.query('ROLLBACK');
        expect(err?.message, `${role}: ${sql}`).toMatch(/permission denied/);
      }
    }
  });

  it('assigns seq and hashes itself: forged chain fields in an INSERT are overwritten', async () => {
    const last = await su.query(`SELECT seq, hash FROM "AuditEvent" WHERE "orgId" = $1 ORDER BY seq DESC LIMIT 1`, [org.id]);
    const inserted = await su.query(
      `INSERT INTO "AuditEvent" (id, "orgId", seq, "actorType", action, "resourceType", "prevHash", hash)
       VALUES (gen_random_uuid(), $1, 999, 'SYSTEM', 'test.forged', 'Test', $2, $2) RETURNING seq, "prevHash", hash`,
      [org.id, 'f'.repeat(64)],
    );
    expect(inserted.rows[0].seq).toBe(last.rows[0].seq + 1);
    expect(inserted.rows[0].prevHash).toBe(last.rows[0].hash);
    expect(inserted.rows[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(inserted.rows[0].hash).not.toBe('f'.repeat(64));
    const verify = await su.query(`SELECT * FROM keepsake_audit_verify($1)`, [org.id]);
    expect(verify.rows).toEqual([]);
  });
});
