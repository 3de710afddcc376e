// Production defaults (NODE_ENV=production): introspection only for authenticated callers, no
// cross-origin access unless CORS_ORIGINS lists the origin, no mutation from a form body, no demo
// seed, a warning for an open /metrics, typed errors for an undecodable cursor, and a malformed
// JSON body that is not echoed back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createMetrics } from '../../src/http/metrics';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';

let t: TestApp;
let org: TestOrg;

beforeAll(async () => {
  t = await startTestApp({ NODE_ENV: 'production' });
  org = await t.createOrg();
});

afterAll(async () => {
  await t?.stop();
});

const INTROSPECT = '{ __schema { queryType { name } } }';

describe('production defaults', () => {
  it('answers introspection to authenticated callers only', async () => {
    const anonymous = await t.gql(null, INTROSPECT);
    expect(anonymous.data?.__schema).toBeUndefined();
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const member = await t.gql(org.users.VIEWER.token, INTROSPECT);
    expect(member.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('INTROSPECTION=off refuses it to everyone, open allows it', async () => {
    const base = { NODE_ENV: 'production', MASTER_KEY: 'a'.repeat(64), JWT_SECRET: 'b'.repeat(32) };
    expect(loadConfig(base).introspection).toBe('authenticated');
    expect(loadConfig({ ...base, INTROSPECTION: 'off' }).introspection).toBe('off');
    expect(loadConfig({ NODE_ENV: 'development' }).introspection).toBe('open');
  });

  it('sends no CORS headers to another origin by default, and those of a listed origin only', async () => {
    const preflight = (url: string, origin: string) =>
      fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' } });
    const refused = await preflight(t.url, 'https://evil.example');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const listed = await startTestApp({ NODE_ENV: 'production', CORS_ORIGINS: 'https://dash.example.com' });
    try {
      expect((await preflight(listed.url, 'https://dash.example.com')).headers.get('access-control-allow-origin')).toBe('https://dash.example.com');
      expect((await preflight(listed.url, 'https://evil.example')).headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
    } finally {
      await listed.stop();
    }
  });

  it('refuses mutations in urlencoded, multipart and text bodies, and changes nothing', async () => {
    const mutation = 'mutation { updateOrganization(input: { name: "pwned" }) { __typename } }';
    const auth = { authorization: `Bearer ${org.users.OWNER.token}` };
    const form = await fetch(t.url, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: `query=${encodeURIComponent(mutation)}` });
    expect(form.status).toBe(415);
    const multipart = new FormData();
    multipart.set('operations', JSON.stringify({ query: mutation }));
    multipart.set('map', '{}');
    const mp = await fetch(t.url, { method: 'POST', headers: auth, body: multipart });
    expect(mp.status === 415 || mp.status === 400).toBe(true);
    const { data } = await t.gql<{ viewer: { organization: { name: string } } }>(org.users.OWNER.token, '{ viewer { organization { name } } }');
    expect(data!.viewer.organization.name).not.toBe('pwned');
    // Queries in a form body still answer (they change nothing).
    const query = await fetch(t.url, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: `query=${encodeURIComponent('{ __typename }')}` });
    expect(await query.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('does not seed the demo organization unless asked', () => {
    const base = { NODE_ENV: 'production', MASTER_KEY: 'a'.repeat(64), JWT_SECRET: 'b'.repeat(32) };
    expect(loadConfig(base).seedDemo).toBe(false);
    expect(loadConfig({ ...base, SEED_DEMO: 'true' }).seedDemo).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development' }).seedDemo).toBe(true);
  });

  it('warns at start when /metrics is open', () => {
    const warnings: string[] = [];
    const log = { ...t.services.log, warn: (m: string) => warnings.push(m) } as unknown as typeof t.services.log;
    createMetrics({ ...t.services, log, config: { ...t.config, metricsToken: undefined } });
    expect(warnings.join('\n')).toMatch(/METRICS_TOKEN/);
    warnings.length = 0;
    createMetrics({ ...t.services, log, config: { ...t.config, metricsToken: 'x'.repeat(16) } });
    expect(warnings).toEqual([]);
  });

  it('answers an undecodable cursor with BAD_USER_INPUT', async () => {
    for (const after of ['garbage!!', Buffer.from('GPC:xyz').toString('base64')]) {
      const r = await t.gql(org.users.VIEWER.token, '{ sources(first: 2, after: $after) { edges { node { id } } } }'.replace('$after', JSON.stringify(after)));
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('does not echo a malformed JSON body', async () => {
    const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ __typename }", "token": SECRET-PASSWORD' });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toContain('SECRET-PASSWORD');
    expect(JSON.parse(text).errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});
