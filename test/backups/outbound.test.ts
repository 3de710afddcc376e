// The outbound policy: where workers may connect for a tenant. A tenant names hosts (a source's
// server, a restore target, an S3 endpoint); the platform must not become its way into addresses
// only the platform reaches (cloud metadata, the control plane's network, local Unix sockets).
// Here loopback plays the forbidden network: the policy is switched to deny 127.0.0.0/8 and ::1,
// and real pg_dump, pg_restore and s3rver on loopback must never be reached through a tenant.
import http from 'node:http';
import net from 'node:net';
import { readdir } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/backup/engines/pg-connection';
import { OutboundDeniedError } from '../../src/backup/errors';
import { configureOutbound, DEFAULT_OUTBOUND_DENY, firstReachable, OutboundPolicy } from '../../src/backup/outbound';
import { ConfigError, loadConfig } from '../../src/config';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import {
  CreatePostgresSourceDocument, CreateS3DestinationDocument, RestoreRecoveryPointDocument, VerificationDocument, VerifyStrategyDocument,
} from '../generated/graphql';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { backupFlow, FINAL, ok, poll } from '../support/backup-flow';
import { createEmptyDatabase, type TestDatabase } from '../support/db';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, startS3, type TestS3 } from '../support/s3';

const DENY_LOOPBACK = new OutboundPolicy({ deny: [...DEFAULT_OUTBOUND_DENY, '127.0.0.0/8', '::1/128'] });
const PERMISSIVE = new OutboundPolicy({ deny: DEFAULT_OUTBOUND_DENY });

describe('OutboundPolicy', () => {
  it('denies link-local metadata addresses by default, IPv4-mapped spellings included', () => {
    for (const a of ['169.254.169.254', '::ffff:169.254.169.254', 'fe80::1', '0.0.0.0', 'fd00:ec2::254']) expect(PERMISSIVE.allows(a), a).toBe(false);
    for (const a of ['127.0.0.1', '10.1.2.3', '::1', '2001:db8::1']) expect(PERMISSIVE.allows(a), a).toBe(true);
  });

  it('with an allow list, connects only inside it, and deny still wins', () => {
    const p = new OutboundPolicy({ deny: ['10.9.0.0/16'], allow: ['10.0.0.0/8', 'fd00::/8'] });
    expect(p.allows('10.1.2.3')).toBe(true);
    expect(p.allows('fd12::5')).toBe(true);
    expect(p.allows('10.9.1.1')).toBe(false);
    expect(p.allows('127.0.0.1')).toBe(false);
    expect(p.allows('8.8.8.8')).toBe(false);
  });

  it('checks every address a name resolves to, and Unix sockets only when enabled', async () => {
    await expect(DENY_LOOPBACK.resolveAll('localhost', 'the test')).rejects.toThrow(/localhost resolves to (127\.0\.0\.1|::1), which is not an allowed address/);
    const addresses = await PERMISSIVE.resolveAll('localhost', 'the test');
    expect(addresses.length).toBeGreaterThan(0);
    for (const a of addresses) expect(['127.0.0.1', '::1']).toContain(a);
    expect(() => PERMISSIVE.checkLiteral('/var/run/postgresql', 'the test')).toThrow(OutboundDeniedError);
    expect(() => new OutboundPolicy({ deny: [], unixSockets: true }).checkLiteral('/var/run/postgresql', 'the test')).not.toThrow();
  });

  it('pins a name to an address that accepts connections, trying them in the resolver\'s order', async () => {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      // Nothing listens on ::1 at that port (or there is no IPv6 at all): the IPv4 address is chosen.
      expect(await firstReachable(['::1', '127.0.0.1'], port)).toBe('127.0.0.1');
      expect(await firstReachable(['127.0.0.1', '::1'], port)).toBe('127.0.0.1');
      expect(await firstReachable(['127.0.0.1'], port)).toBe('127.0.0.1');
    } finally {
      server.close();
    }
    // None reachable: the first, whose connection error the caller then reports.
    expect(await firstReachable(['::1', '127.0.0.1'], port)).toBe('::1');
  });

  it("pins HTTP connections: a name resolving to a denied address never gets a request", async () => {
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const get = (policy: OutboundPolicy) =>
      new Promise<number>((resolve, reject) => {
        const agent = new http.Agent({ lookup: policy.lookup });
        http.get({ host: 'localhost', port, agent, family: 4 }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject);
      });
    try {
      await expect(get(DENY_LOOPBACK)).rejects.toBeInstanceOf(OutboundDeniedError);
      expect(requests).toBe(0);
      await expect(get(PERMISSIVE)).resolves.toBe(200);
      expect(requests).toBe(1);
    } finally {
      server.close();
    }
  });

  it('refuses URL parameters that reach other hosts or the worker’s files, several hosts, and sockets', () => {
    configureOutbound(PERMISSIVE);
    for (const param of ['hostaddr=10.0.0.1', 'host=/var/run/postgresql', 'port=6432', 'service=prod', 'passfile=/root/.pgpass', 'sslkey=/etc/keepsake/key', 'sslrootcert=/etc/ssl/x.pem']) {
      expect(() => parseConnectionUrl(`postgresql://u:p@db.example/shop?${param}`), param).toThrow(/parameter "\w+" is not accepted/);
    }
    expect(() => parseConnectionUrl('postgresql://u@a.example,b.example/shop')).toThrow(/single host/);
    expect(() => parseConnectionUrl('postgresql://u@169.254.169.254/shop')).toThrow(/169\.254\.169\.254 is not an allowed address/);
    expect(() => parseConnectionUrl('postgresql://u@[::ffff:a9fe:a9fe]/shop')).toThrow(OutboundDeniedError);
    expect(() => parseConnectionUrl('postgresql:///shop')).toThrow(/Unix-domain sockets/);
    // Safe parameters stay; the operator's own URLs are not the policy's business.
    expect(parseConnectionUrl('postgresql://u@db.example/shop?sslmode=verify-full&application_name=x&connect_timeout=5').host).toBe('db.example');
    expect(parseConnectionUrl('postgresql:///shop?host=/var/run/postgresql', { trusted: true }).trusted).toBe(true);
  });

  it('is configured from OUTBOUND_DENY / OUTBOUND_ALLOW, and a bad CIDR stops the start with a clear message', () => {
    const base = { NODE_ENV: 'test', MASTER_KEY: 'a'.repeat(64), DATA_DIR: '/tmp/keepsake-outbound-config' };
    expect(loadConfig({ ...base }).outbound).toEqual({ deny: DEFAULT_OUTBOUND_DENY, allow: null, unixSockets: false });
    expect(loadConfig({ ...base, OUTBOUND_DENY: '10.0.0.0/8, 169.254.0.0/16', OUTBOUND_ALLOW: '10.0.0.0/8', OUTBOUND_UNIX_SOCKETS: 'true' }).outbound)
      .toEqual({ deny: ['10.0.0.0/8', '169.254.0.0/16'], allow: ['10.0.0.0/8'], unixSockets: true });
    expect(() => loadConfig({ ...base, OUTBOUND_DENY: '10.0.0.0/33' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, OUTBOUND_ALLOW: 'intranet' })).toThrow(/OUTBOUND_ALLOW.*"intranet" is not an IP address or CIDR/s);
  });
});

describe('with loopback denied', () => {
  let t: TestApp;
  let org: TestOrg;
  let source: TestDatabase;
  let s3: TestS3;
  let workers: Workers;
  let flow: ReturnType<typeof backupFlow>;
  let superuser: pg.Client;
  let strategyId: string;
  let pointId: string;
  // The same server under a name: accepted at input (names resolve at connect time), refused then.
  const byName = (url: string) => url.replace('127.0.0.1', 'localhost');

  beforeAll(async () => {
    t = await startTestApp({ OUTBOUND_DENY: DEFAULT_OUTBOUND_DENY.join(',') });
    org = await t.createOrg();
    source = await createEmptyDatabase();
    await (async () => {
      const c = new pg.Client({ connectionString: source.url });
      await c.connect();
      await c.query(`CREATE TABLE items (id serial PRIMARY KEY, label text); INSERT INTO items (label) SELECT 'i' || g FROM generate_series(1, 200) g;`);
      await c.end();
    })();
    s3 = await startS3(['guarded']);
    superuser = new pg.Client({ connectionString: t.db.url });
    await superuser.connect();
    workers = await startWorkers(t.services);
    flow = backupFlow(t, org, s3);
    // A good point first, made while loopback is still allowed, through a host name: pg_dump and
    // our session both connect to the address the name was pinned to.
    const src = await flow.postgresSource('items', byName(source.url));
    strategyId = await flow.strategy('items', src, [await flow.localDestination('items')]);
    pointId = (await flow.backup(strategyId)).recoveryPoint!.id;
    configureOutbound(DENY_LOOPBACK);
  });

  afterAll(async () => {
    configureOutbound(PERMISSIVE);
    await workers?.stop();
    await superuser?.end();
    await t?.stop();
    await s3?.close();
    await source?.drop();
  });

  const admin = () => org.users.ADMIN.token;
  const count = async (table: string) => (await superuser.query(`SELECT count(*)::int AS n FROM "${table}" WHERE "orgId" = $1`, [org.id])).rows[0].n as number;

  it('refuses a literal denied address at input, writing nothing', async () => {
    const [sources, destinations] = [await count('Source'), await count('Destination')];
    const src = await t.request(admin(), CreatePostgresSourceDocument, { input: { name: 'direct', connectionUrl: source.url } });
    expect(src.data?.createPostgresSource).toMatchObject({ __typename: 'ValidationError', issues: [{ path: ['input', 'connectionUrl'], message: expect.stringMatching(/127\.0\.0\.1 is not an allowed address/) }] });
    const dst = await t.request(admin(), CreateS3DestinationDocument, { input: { name: 'direct', endpoint: s3.endpoint, bucket: 'guarded', accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: S3_SECRET_ACCESS_KEY } });
    expect(dst.data?.createS3Destination).toMatchObject({ __typename: 'ValidationError', issues: [{ path: ['input', 'endpoint'], message: expect.stringMatching(/127\.0\.0\.1 is not an allowed address/) }] });
    expect([await count('Source'), await count('Destination')]).toEqual([sources, destinations]);
  });

  it('fails a backup of a source whose name resolves to a denied address once, with OUTBOUND_DENIED, and writes no point', async () => {
    const src = await flow.postgresSource('by-name', byName(source.url));
    const id = await flow.strategy('by-name', src, [await flow.localDestination('by-name')]);
    const done = await flow.waitFor(await flow.trigger(id), (j) => FINAL.includes(j.status));
    expect(done).toMatchObject({ status: 'FAILED', errorCode: 'OUTBOUND_DENIED', attempt: 1, recoveryPoint: null });
    expect(done.error).toMatch(/localhost resolves to (127\.0\.0\.1|::1), which is not an allowed address/);
    const files = await readdir(t.storageRoot, { recursive: true });
    expect(files.filter((f) => f.includes('by-name') && /\.(enc|json)$|partial/.test(f))).toEqual([]);
  });

  it('never sends an S3 request to an endpoint whose name resolves to a denied address', async () => {
    const input = { name: 's3-by-name', endpoint: byName(s3.endpoint), bucket: 'guarded', accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: S3_SECRET_ACCESS_KEY };
    const created = await ok(t.request(admin(), CreateS3DestinationDocument, { input }), 'createS3Destination');
    const tested = await t.gql<{ testDestination: { data?: { status: string; lastError: string } } }>(
      org.users.OPERATOR.token,
      `mutation($id: ID!) { testDestination(input: { id: $id }) { ... on MutationTestDestinationSuccess { data { status lastError } } } }`,
      { id: created.data!.id },
    );
    expect(tested.data?.testDestination.data).toMatchObject({ status: 'UNHEALTHY', lastError: expect.stringMatching(/localhost resolves to (127\.0\.0\.1|::1), which is not an allowed address/) });
    expect(await readdir(`${s3.dir}/guarded`).catch(() => [])).toEqual([]);
  });

  it('fails a restore into a denied target before reading a copy or creating anything', async () => {
    const target = `keepsake_guarded_${Date.now()}`;
    const url = new URL(byName(source.url));
    url.pathname = `/${target}`;
    const started = await ok(t.request(org.users.OPERATOR.token, RestoreRecoveryPointDocument, { input: { recoveryPointId: pointId, targetKind: 'NEW_DATABASE', connectionUrl: url.toString() } }), 'restoreRecoveryPoint');
    const done = await flow.waitForRestore(started.data!.id);
    expect(done).toMatchObject({ status: 'FAILED', errorCode: 'OUTBOUND_DENIED' });
    expect((await superuser.query('SELECT 1 FROM pg_database WHERE datname = $1', [target])).rowCount).toBe(0);
  });

  it('still runs restore tests: the scratch database is on the operator’s own server', async () => {
    const started = await ok(t.request(org.users.OPERATOR.token, VerifyStrategyDocument, { strategyId, pick: 'NEWEST' }), 'verifyStrategy');
    const v = await poll(
      async () => (await t.request(org.users.VIEWER.token, VerificationDocument, { id: started.data!.id })).data!.node as { status: string; error?: string | null },
      (x) => x.status === 'PASSED' || x.status === 'FAILED',
      (x) => `verification stayed ${x.status}`,
      60_000,
    );
    expect(v.status, v.error ?? '').toBe('PASSED');
  });
});
