// Authentication over real HTTP: JWTs (missing, malformed, expired, wrong audience or issuer,
// unsigned, forged, non-members) and org-scoped API keys (shown once, hashed, last use, revoke).
import { createHmac } from 'node:crypto';
import type pg from 'pg';
import { getNamedType, isLeafType, isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../src/auth/jwt';
import { schema } from '../../src/graphql/schema';
import { startTestApp, type GqlResult, type TestApp, type TestOrg } from '../support/app';
import { seedOrgObjects } from '../support/seed-objects';
import { mutate, mutateOk, rawId, superuser, tokenFor, unique } from '../support/foundation';

let t: TestApp;
let orgA: TestOrg;
let orgB: TestOrg;
let idsOfA: Map<string, string[]>;
let su: pg.Client;

beforeAll(async () => {
  t = await startTestApp();
  orgA = await t.createOrg();
  orgB = await t.createOrg();
  idsOfA = await seedOrgObjects(t, orgA);
  su = await superuser(t);
});

afterAll(async () => {
  await su?.end();
  await t?.stop();
});

const VIEWER = `{ viewer { kind label role organization { id slug } } }`;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function expectUnauthenticated(r: GqlResult, secrets: string[] = []) {
  const json = JSON.stringify({ data: r.data, errors: r.errors });
  expect(r.status, json).toBe(401);
  expect(r.errors?.[0]?.extensions?.code, json).toBe('UNAUTHENTICATED');
  expect(r.data ?? null).toBeNull();
  for (const s of secrets.filter(Boolean)) expect(json, `leaked ${s}`).not.toContain(s);
}

describe('JWT', () => {
  it('answers a valid member token with its viewer', async () => {
    const r = await t.gql(orgA.users.OPERATOR.token, VIEWER);
    expect(r.data?.viewer).toEqual({ kind: 'USER', label: orgA.users.OPERATOR.email, role: 'OPERATOR', organization: { id: expect.any(String), slug: orgA.slug } });
  });

  it('requires a token on protected fields', async () => {
    for (const query of [VIEWER, `{ sources(first: 1) { edges { node { id } } } }`, `{ auditEvents(first: 1) { edges { node { id } } } }`, `{ backupHealth { runningJobs } }`]) {
      const r = await t.gql(null, query);
      expect(r.status, query).toBe(401);
      expect(r.errors?.[0]?.extensions?.code, query).toBe('UNAUTHENTICATED');
      expect(r.errors?.[0]?.message).toBe('Authentication required');
      expect(r.data ?? null).toBeNull();
    }
    const m = await mutate(t, null, 'createDirectorySource', 'CreateDirectorySourceInput', { name: 'anon', path: '/srv/anon' }, 'id');
    expect(m.errors?.[0]?.extensions?.code, m.json).toBe('UNAUTHENTICATED');
    expect((await su.query(`SELECT 1 FROM "Source" WHERE name = 'anon'`)).rowCount).toBe(0);
  });

  it('lets an anonymous caller read nothing through node/nodes', async () => {
    const all = [...idsOfA.values()].flat();
    const r = await t.gql(null, `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on User { email } ... on Source { name } } }`, { ids: all });
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(r.data ?? null)).not.toMatch(/"id"|@|src-/);
    const users = await su.query(`SELECT u.id FROM "User" u JOIN "Membership" m ON m."userId" = u.id WHERE m."orgId" = $1`, [orgA.id]);
    for (const { id } of users.rows) {
      const one = await t.gql(null, `query($id: ID!) { node(id: $id) { id ... on User { email } } }`, { id: Buffer.from(`User:${id}`).toString('base64') });
      expect(JSON.stringify(one.data ?? null), `User ${id}`).not.toContain('@');
      expect(one.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('rejects malformed, expired, misaddressed, unsigned and forged tokens without echoing them', async () => {
    const { jwt } = t.config;
    if (jwt.kind !== 'hs256') throw new Error('hs256 expected');
    const user = orgA.users.OWNER;
    const claims = { sub: user.id, org: orgA.id, iss: jwt.issuer, aud: jwt.audience, exp: Math.floor(Date.now() / 1000) + 600 };
    const hs = (header: unknown, payload: unknown, secret = jwt.secret) => {
      const input = `${b64(header)}.${b64(payload)}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const sign = (over: Partial<Parameters<typeof signDevToken>[0]>) =>
      signDevToken({ secret: jwt.secret, issuer: jwt.issuer, audience: jwt.audience, sub: user.id, org: orgA.id, expiresIn: 600, ...over });
    const cases: Record<string, string> = {
      garbage: 'not-a-jwt',
      'three garbage parts': 'abc.def.ghi',
      'bad JSON': `${b64({ alg: 'HS256' })}.${Buffer.from('{not json').toString('base64url')}.sig`,
      expired: await sign({ expiresIn: -120 }),
      'wrong audience': await sign({ audience: 'someone-else' }),
      'wrong issuer': await sign({ issuer: 'evil' }),
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
      'wrong secret': hs({ alg: 'HS256', typ: 'JWT' }, claims, 'x'.repeat(48)),
      'tampered payload': (() => {
        const [h, , s] = hs({ alg: 'HS256', typ: 'JWT' }, claims).split('.');
        return `${h}.${b64({ ...claims, org: orgB.id })}.${s}`;
      })(),
      'no exp': hs({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: undefined }),
      'subject not a user id': await sign({ sub: user.email }),
      'no org claim': await sign({ org: undefined }),
    };
    for (const [name, token] of Object.entries(cases)) {
      const r = await t.gql(token, VIEWER);
      expectUnauthenticated(r, [token, ...token.split('.').filter((p) => p.length > 8), user.id, user.email, orgA.id]);
      expect(r.errors?.[0]?.message, name).toMatch(/^Authentication failed/);
      expect(r.errors![0]!.extensions!.requestId, name).toBe(r.headers.get('x-request-id'));
    }
    expectUnauthenticated(await t.gql(null, VIEWER, {}, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }));
  });

  it('gives nothing to a valid token whose user is not a member of the claimed org', async () => {
    const outsider = orgB.users.OWNER;
    for (const org of [orgA.id, orgA.slug, '00000000-0000-4000-8000-000000000000']) {
      expectUnauthenticated(await t.gql(await tokenFor(t, outsider.id, org), VIEWER), [outsider.email]);
    }
    expectUnauthenticated(await t.gql(await tokenFor(t, '00000000-0000-4000-8000-000000000001', orgA.id), VIEWER));
    // The org claim may be the slug.
    const bySlug = await t.gql(await tokenFor(t, orgA.users.VIEWER.id, orgA.slug), VIEWER);
    expect(bySlug.data?.viewer).toMatchObject({ role: 'VIEWER', organization: { slug: orgA.slug } });
  });
});

describe('API keys', () => {
  const API_KEY_FIELDS = () => {
    const type = schema.getType('ApiKey');
    if (!isObjectType(type)) throw new Error('ApiKey type expected');
    return Object.values(type.getFields()).filter((f) => isLeafType(getNamedType(f.type)) && f.args.length === 0).map((f) => f.name).join(' ');
  };
  const create = (input: Record<string, unknown>, token = orgA.users.ADMIN.token) =>
    mutate(t, token, 'createApiKey', 'CreateApiKeyInput', input, `token apiKey { ${API_KEY_FIELDS()} }`);

  it('returns the full key once; later reads show only the prefix', async () => {
    const { payload } = await create({ name: unique('ci'), role: 'OPERATOR' });
    const token = payload!.data!.token as string;
    const key = payload!.data!.apiKey as { id: string; prefix: string; role: string; lastUsedAt: string | null };
    expect(token).toMatch(/^ks_[0-9A-Za-z]{12}_[A-Za-z0-9_-]{43}$/);
    expect(token.startsWith(`ks_${key.prefix}_`)).toBe(true);
    expect(key).toMatchObject({ role: 'OPERATOR', lastUsedAt: null });
    const secret = token.slice(`ks_${key.prefix}_`.length);
    const listed = await t.gql(orgA.users.OWNER.token, `{ apiKeys(first: 100) { edges { node { ${API_KEY_FIELDS()} } } } }`);
    const node = await t.gql(orgA.users.ADMIN.token, `query($id: ID!) { node(id: $id) { ... on ApiKey { ${API_KEY_FIELDS()} } } }`, { id: key.id });
    for (const r of [listed, node]) {
      expect(r.errors).toBeUndefined();
      expect(JSON.stringify(r.data)).toContain(key.prefix);
      expect(JSON.stringify(r.data)).not.toContain(secret);
    }
    const stored = await su.query(`SELECT "secretHash" FROM "ApiKey" WHERE id = $1`, [rawId(key.id)]);
    expect(stored.rows[0].secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.rows[0].secretHash).not.toContain(secret);
  });

  it('authenticates as its org and role, records its last use, and stops working at once when revoked', async () => {
    const { payload } = await create({ name: 'deploy bot', role: 'OPERATOR' });
    const token = payload!.data!.token as string;
    const id = (payload!.data!.apiKey as { id: string }).id;
    const lastUsed = async () => (await su.query(`SELECT "lastUsedAt" FROM "ApiKey" WHERE id = $1`, [rawId(id)])).rows[0].lastUsedAt as Date | null;
    expect(await lastUsed()).toBeNull();
    const before = Date.now();
    const r = await t.gql(token, VIEWER);
    expect(r.data?.viewer).toEqual({ kind: 'API_KEY', label: 'api-key:deploy bot', role: 'OPERATOR', organization: { id: expect.any(String), slug: orgA.slug } });
    const used = await lastUsed();
    expect(used!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    // Minute resolution: a second call does not write again.
    await t.gql(token, VIEWER);
    expect((await lastUsed())!.getTime()).toBe(used!.getTime());
    // Its role is enforced like a member's.
    expect((await create({ name: unique('k'), role: 'VIEWER' }, token)).payload?.__typename).toBe('ForbiddenError');

    expect((await mutate(t, orgA.users.ADMIN.token, 'revokeApiKey', 'RevokeApiKeyInput', { id }, 'revokedAt')).payload?.__typename).toMatch(/Success$/);
    expectUnauthenticated(await t.gql(token, VIEWER), [token]);
    expect((await mutate(t, orgA.users.ADMIN.token, 'revokeApiKey', 'RevokeApiKeyInput', { id }, 'revokedAt')).payload?.__typename).toBe('ConflictError');
  });

  it('rejects expired keys, wrong secrets and malformed keys', async () => {
    const key = await mutateOk(t, orgA.users.ADMIN.token, 'createApiKey', 'CreateApiKeyInput', { name: unique('exp'), role: 'VIEWER' }, 'token apiKey { id prefix }');
    const token = key.token as string;
    const { prefix, id } = key.apiKey as { prefix: string; id: string };
    expect((await t.gql(token, VIEWER)).data?.viewer).toBeTruthy();
    const wrong = `ks_${prefix}_${'A'.repeat(43)}`;
    expectUnauthenticated(await t.gql(wrong, VIEWER), [wrong]);
    expectUnauthenticated(await t.gql(`${token}x`, VIEWER), [token]);
    expectUnauthenticated(await t.gql(`ks_${prefix}`, VIEWER));
    await su.query(`UPDATE "ApiKey" SET "expiresAt" = now() - interval '1 second' WHERE id = $1`, [rawId(id)]);
    expectUnauthenticated(await t.gql(token, VIEWER), [token]);
    const past = await create({ name: unique('past'), role: 'VIEWER', expiresAt: new Date(Date.now() - 60_000).toISOString() });
    expect(past.payload?.__typename).toBe('ValidationError');
  });

  it('can never hold OWNER, and only ADMIN or OWNER can create one', async () => {
    const count = async () => (await su.query(`SELECT count(*)::int AS n FROM "ApiKey" WHERE "orgId" = $1`, [orgA.id])).rows[0].n as number;
    const before = await count();
    for (const token of [orgA.users.OWNER.token, orgA.users.ADMIN.token]) {
      expect((await create({ name: unique('owner'), role: 'OWNER' }, token)).payload?.__typename).toBe('ForbiddenError');
    }
    for (const role of ['OPERATOR', 'AUDITOR', 'VIEWER'] as const) {
      const r = await create({ name: unique('nope'), role: 'VIEWER' }, orgA.users[role].token);
      expect(r.payload?.__typename, role).toBe('ForbiddenError');
      expect(r.json).not.toContain('ks_');
    }
    expect(await count()).toBe(before);
    expect((await create({ name: unique('owner-made'), role: 'ADMIN' }, orgA.users.OWNER.token)).payload?.__typename).toMatch(/Success$/);
  });

  it('of one org never authenticates into another', async () => {
    const key = await mutateOk(t, orgB.users.ADMIN.token, 'createApiKey', 'CreateApiKeyInput', { name: unique('b'), role: 'ADMIN' }, 'token');
    const r = await t.gql(key.token as string, `{ viewer { organization { slug } } sources(first: 50) { edges { node { id } } } }`);
    expect(r.data?.viewer).toEqual({ organization: { slug: orgB.slug } });
    const seen = JSON.stringify(r.data);
    for (const id of idsOfA.get('Source')!) expect(seen).not.toContain(id);
  });
});
