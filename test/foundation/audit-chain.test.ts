// The audit hash chain (per organization, seq 1..n, verified and tamper-evident) and the
// auditEvents query (filters, pagination, who may read it).
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { mutateOk, rawId, superuser, unique } from '../support/foundation';

let t: TestApp;
let su: pg.Client;

beforeAll(async () => {
  t = await startTestApp();
  su = await superuser(t);
});

afterAll(async () => {
  await su?.end();
  await t?.stop();
});

interface ChainReport { valid: boolean; checkedEvents: number; firstBrokenSeq: number | null; firstBrokenEventId: string | null; reason: string | null }

async function verify(org: TestOrg, token = org.users.AUDITOR.token): Promise<ChainReport> {
  const r = await t.gql<{ verifyAuditChain: ChainReport }>(token, `{ verifyAuditChain { valid checkedEvents firstBrokenSeq firstBrokenEventId reason } }`);
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data!.verifyAuditChain;
}

async function chain(orgId: string) {
  const r = await su.query(`SELECT id, seq, "prevHash", hash FROM "AuditEvent" WHERE "orgId" = $1 ORDER BY seq`, [orgId]);
  return r.rows as Array<{ id: string; seq: number; prevHash: string; hash: string }>;
}

/** n events written straight into the table (the trigger chains them), for tampering tests. */
async function orgWithEvents(n: number): Promise<TestOrg> {
  const org = await t.createOrg();
  for (let i = 1; i <= n; i++) {
    await su.query(`INSERT INTO "AuditEvent" (id, "orgId", "actorType", action, "resourceType", after) VALUES (gen_random_uuid(), $1, 'SYSTEM', 'test.event', 'Test', $2)`,
      [org.id, JSON.stringify({ n: i })]);
  }
  return org;
}

/** Changes rows behind the triggers' back, as someone with superuser access could. */
async function tamper(sql: string, params: unknown[]) {
  await su.query('BEGIN');
  await su.query(`SET LOCAL session_replication_role = replica`);
  await su.query(sql, params);
  await su.query('COMMIT');
}

describe('the hash chain', () => {
  it('numbers each org 1..n and links every event to the previous one, even with concurrent writers', async () => {
    const [a, b] = [await t.createOrg(), await t.createOrg()];
    await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => mutateOk(t, a.users.ADMIN.token, 'createDirectorySource', 'CreateDirectorySourceInput', { name: `c${i}`, path: '/srv/c' }, 'id')),
      ...Array.from({ length: 4 }, (_, i) => mutateOk(t, a.users.OWNER.token, 'inviteMember', 'InviteMemberInput', { email: `m${i}@${a.slug}.test`, role: 'VIEWER' }, 'id')),
      ...Array.from({ length: 5 }, (_, i) => mutateOk(t, b.users.ADMIN.token, 'createDirectorySource', 'CreateDirectorySourceInput', { name: `d${i}`, path: '/srv/d' }, 'id')),
    ]);
    for (const [org, n] of [[a, 12], [b, 5]] as const) {
      const events = await chain(org.id);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(events[0]!.prevHash).toBe('0'.repeat(64));
      events.slice(1).forEach((e, i) => expect(e.prevHash, `seq ${e.seq}`).toBe(events[i]!.hash));
      expect(new Set(events.map((e) => e.hash)).size).toBe(n);
      expect(await verify(org)).toEqual({ valid: true, checkedEvents: n, firstBrokenSeq: null, firstBrokenEventId: null, reason: null });
    }
  });

  it('reports an edited event as the first broken link, in its org only', async () => {
    const [org, bystander] = [await orgWithEvents(5), await orgWithEvents(3)];
    expect((await verify(org)).valid).toBe(true);
    const target = (await chain(org.id))[2]!;
    await tamper(`UPDATE "AuditEvent" SET after = '{"n": 333}' WHERE id = $1`, [target.id]);
    expect(await verify(org)).toEqual({ valid: false, checkedEvents: 5, firstBrokenSeq: 3, firstBrokenEventId: target.id, reason: 'hash does not match the event content' });
    expect((await verify(bystander)).valid).toBe(true);
  });

  it('still catches an edit whose own hash was recomputed: the next link breaks', async () => {
    const org = await orgWithEvents(5);
    const events = await chain(org.id);
    await tamper(`UPDATE "AuditEvent" SET action = 'test.rewritten' WHERE id = $1`, [events[1]!.id]);
    await tamper(`UPDATE "AuditEvent" e SET hash = keepsake_audit_hash(e."prevHash", e) WHERE id = $1`, [events[1]!.id]);
    const report = await verify(org);
    expect(report).toMatchObject({ valid: false, firstBrokenSeq: 3, firstBrokenEventId: events[2]!.id });
    expect(report.reason).toMatch(/prevHash/);
  });

  it('reports a deleted event as a gap', async () => {
    const org = await orgWithEvents(4);
    const events = await chain(org.id);
    await tamper(`DELETE FROM "AuditEvent" WHERE id = $1`, [events[1]!.id]);
    const report = await verify(org);
    expect(report).toMatchObject({ valid: false, checkedEvents: 3, firstBrokenSeq: 3, firstBrokenEventId: events[2]!.id });
    expect(report.reason).toMatch(/sequence gap/);
  });

  it('catches events removed from the end, which the chain alone cannot, with a head kept from an earlier run', async () => {
    const org = await orgWithEvents(5);
    const ask = async (anchor?: { seq: number; hash: string }) => {
      const r = await t.gql<{ verifyAuditChain: ChainReport & { head: { seq: number; hash: string } | null } }>(
        org.users.AUDITOR.token,
        `query($anchor: AuditChainAnchorInput) { verifyAuditChain(anchor: $anchor) { valid checkedEvents firstBrokenSeq reason head { seq hash createdAt } } }`,
        { anchor },
      );
      expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
      return r.data!.verifyAuditChain;
    };
    const first = await ask();
    const events = await chain(org.id);
    expect(first.head).toMatchObject({ seq: 5, hash: events[4]!.hash });
    const anchor = { seq: first.head!.seq, hash: first.head!.hash };
    // Later events do not disturb an older anchor.
    await su.query(`INSERT INTO "AuditEvent" (id, "orgId", "actorType", action, "resourceType") VALUES (gen_random_uuid(), $1, 'SYSTEM', 'test.later', 'Test')`, [org.id]);
    expect(await ask(anchor)).toMatchObject({ valid: true, checkedEvents: 6, head: { seq: 6 } });

    // The tail goes: the shorter chain is still intact on its own.
    await tamper(`DELETE FROM "AuditEvent" WHERE "orgId" = $1 AND seq >= 4`, [org.id]);
    expect(await ask()).toMatchObject({ valid: true, checkedEvents: 3 });
    const truncated = await ask(anchor);
    expect(truncated).toMatchObject({ valid: false, firstBrokenSeq: 5 });
    expect(truncated.reason).toMatch(/seq 5\) is gone: the chain ends at seq 3/);

    // Rebuilt to look whole again, with every hash recomputed: the anchor's hash no longer matches.
    for (const n of [4, 5]) {
      await su.query(`INSERT INTO "AuditEvent" (id, "orgId", "actorType", action, "resourceType") VALUES (gen_random_uuid(), $1, 'SYSTEM', 'test.forged', 'Test')`, [org.id]);
      expect((await chain(org.id)).at(-1)!.seq).toBe(n);
    }
    expect(await ask()).toMatchObject({ valid: true, checkedEvents: 5 });
    const forged = await ask(anchor);
    expect(forged).toMatchObject({ valid: false, firstBrokenSeq: 5 });
    expect(forged.reason).toMatch(/does not have the anchored hash/);
  });

  it('refuses a malformed anchor', async () => {
    const org = await orgWithEvents(1);
    const r = await t.gql(org.users.AUDITOR.token, `{ verifyAuditChain(anchor: { seq: 1, hash: "nope" }) { valid } }`);
    expect(JSON.stringify(r.errors)).toMatch(/SHA-256 hex digest/);
  });
});

describe('auditEvents', () => {
  let org: TestOrg;
  let ids: { s1: string; s2: string; keyId: string };
  const EVENT = `id seq action actorType actorId resourceType resourceId createdAt`;
  type Event = { id: string; seq: number; action: string; actorType: string; actorId: string | null; resourceType: string; resourceId: string | null; createdAt: string };

  async function list(filter: Record<string, unknown> | null, args = 'first: 100', token = org.users.AUDITOR.token) {
    const r = await t.gql<{ auditEvents: { edges: Array<{ node: Event }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(token,
      `query($filter: AuditEventFilter) { auditEvents(${args}, filter: $filter) { edges { node { ${EVENT} } } pageInfo { hasNextPage endCursor } } }`, { filter });
    expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    return r.data!.auditEvents;
  }
  const nodes = async (filter: Record<string, unknown> | null) => (await list(filter)).edges.map((e) => e.node);

  beforeAll(async () => {
    org = await t.createOrg();
    const admin = org.users.ADMIN.token;
    const s1 = await mutateOk(t, admin, 'createDirectorySource', 'CreateDirectorySourceInput', { name: 'one', path: '/srv/one' }, 'id');
    const s2 = await mutateOk(t, admin, 'createDirectorySource', 'CreateDirectorySourceInput', { name: 'two', path: '/srv/two' }, 'id');
    await mutateOk(t, org.users.OWNER.token, 'updateSource', 'UpdateSourceInput', { id: s1.id, name: 'one renamed' }, 'id');
    const key = await mutateOk(t, admin, 'createApiKey', 'CreateApiKeyInput', { name: 'ci', role: 'ADMIN' }, 'token apiKey { id }');
    await mutateOk(t, key.token as string, 'deleteSource', 'DeleteSourceInput', { id: s2.id }, 'deletedId');
    await mutateOk(t, org.users.OWNER.token, 'updateOrganization', 'UpdateOrganizationInput', { name: 'Renamed org' }, 'id');
    ids = { s1: rawId(s1.id as string), s2: rawId(s2.id as string), keyId: rawId((key.apiKey as { id: string }).id) };
    // Another org's events must never show up.
    const other = await t.createOrg();
    await mutateOk(t, other.users.ADMIN.token, 'createDirectorySource', 'CreateDirectorySourceInput', { name: 'one', path: '/srv/one' }, 'id');
  });

  it('lists the org events newest first, in chain order', async () => {
    const all = await nodes(null);
    expect(all.map((e) => e.action)).toEqual(['organization.update', 'source.delete', 'apiKey.create', 'source.update', 'source.create', 'source.create']);
    expect(all.map((e) => e.seq)).toEqual([6, 5, 4, 3, 2, 1]);
  });

  it('orders by the chain even when ids do not follow it (each process makes its own ids)', async () => {
    const other = await t.createOrg();
    for (const id of ['ffffffff-ffff-7fff-bfff-ffffffffffff', '00000000-0000-7000-8000-000000000001', '88888888-8888-7888-8888-888888888888']) {
      await su.query(`INSERT INTO "AuditEvent" (id, "orgId", "actorType", action, "resourceType") VALUES ($1, $2, 'SYSTEM', 'test.event', 'Test')`, [id, other.id]);
    }
    const r = await list(null, 'first: 100', other.users.AUDITOR.token);
    expect(r.edges.map((e) => e.node.seq)).toEqual([3, 2, 1]);
    const paged: number[] = [];
    for (let after: string | null = null, page = 0; page < 5; page++) {
      const p = await list(null, after ? `first: 1, after: "${after}"` : 'first: 1', other.users.AUDITOR.token);
      paged.push(...p.edges.map((e) => e.node.seq));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(paged).toEqual([3, 2, 1]);
  });

  it('filters by actor, action, resource and time range', async () => {
    const actions = (events: Event[]) => events.map((e) => e.action);
    expect(actions(await nodes({ actorId: org.users.OWNER.id }))).toEqual(['organization.update', 'source.update']);
    expect(await nodes({ actorType: 'API_KEY' })).toMatchObject([{ action: 'source.delete', actorId: ids.keyId, resourceId: ids.s2 }]);
    expect(actions(await nodes({ action: 'source.create' }))).toEqual(['source.create', 'source.create']);
    expect(actions(await nodes({ resourceType: 'Source', resourceId: ids.s1 }))).toEqual(['source.update', 'source.create']);
    expect(actions(await nodes({ resourceType: 'ApiKey' }))).toEqual(['apiKey.create']);
    expect(await nodes({ resourceId: '00000000-0000-4000-8000-000000000000' })).toEqual([]);
    expect(await nodes({ action: 'source.create', actorType: 'API_KEY' })).toEqual([]);

    const all = await nodes(null);
    const pivot = all[2]!.createdAt;
    const at = (e: Event) => Date.parse(e.createdAt);
    expect((await nodes({ from: pivot })).map((e) => e.id)).toEqual(all.filter((e) => at(e) >= Date.parse(pivot)).map((e) => e.id));
    expect((await nodes({ to: pivot })).map((e) => e.id)).toEqual(all.filter((e) => at(e) < Date.parse(pivot)).map((e) => e.id));
    expect(await nodes({ from: new Date(Date.now() + 3_600_000).toISOString() })).toEqual([]);
  });

  it('refuses malformed filter ids as a validation error', async () => {
    const r = await t.gql(org.users.AUDITOR.token, `{ auditEvents(filter: { resourceId: "nope" }) { edges { node { id } } } }`);
    expect(r.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(r.data?.auditEvents ?? null).toBeNull();
  });

  it('pages through every event exactly once', async () => {
    const all = (await nodes(null)).map((e) => e.id);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const r = await list(null, after ? `first: 2, after: "${after}"` : 'first: 2');
      seen.push(...r.edges.map((e) => e.node.id));
      expect(r.edges.length).toBeLessThanOrEqual(2);
      if (!r.pageInfo.hasNextPage) break;
      after = r.pageInfo.endCursor;
    }
    expect(seen).toEqual(all);
  });

  it('is readable by AUDITOR, ADMIN and OWNER; OPERATOR and VIEWER get a ForbiddenError', async () => {
    for (const role of ['OWNER', 'ADMIN', 'AUDITOR'] as const) {
      expect((await list(null, 'first: 100', org.users[role].token)).edges.length, role).toBe(6);
      expect((await verify(org, org.users[role].token)).valid, role).toBe(true);
    }
    for (const role of ['OPERATOR', 'VIEWER'] as const) {
      for (const query of [`{ auditEvents(first: 5) { edges { node { id action } } } }`, `{ verifyAuditChain { valid } }`]) {
        const r = await t.gql(org.users[role].token, query);
        expect(r.errors?.[0]?.extensions?.code, `${role} ${query}`).toBe('FORBIDDEN');
        expect(r.errors?.[0]?.message).toBe('Your role does not allow this');
        expect(r.data ?? null).toBeNull();
      }
    }
    const viewerKey = await mutateOk(t, org.users.ADMIN.token, 'createApiKey', 'CreateApiKeyInput', { name: unique('v'), role: 'VIEWER' }, 'token');
    const r = await t.gql(viewerKey.token as string, `{ auditEvents(first: 5) { edges { node { id } } } }`);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
