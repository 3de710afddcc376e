// Downloads end to end through the real HTTP server: a database backup downloaded with the caller's
// credentials restores with pg_restore; a directory backup comes as a tar, a subtree as a smaller
// tar, a single file as itself; a damaged copy is skipped for the next destination, and with no
// intact copy the answer is an error (JSON, no body bytes of the file); signed links work until
// forged, and roles and bad paths are refused; every download is audited.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { withSystem } from '../../src/db/context';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { backupFlow } from '../support/backup-flow';
import { createEmptyDatabase, queryOnce, type TestDatabase } from '../support/db';
import { tempDir } from '../support/backups';

let t: TestApp;
let org: TestOrg;
let workers: Workers;
let source: TestDatabase;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let base: string;
let dbPoint: string;
let dirPoint: string;
let flow: ReturnType<typeof backupFlow>;
let twoCopies: string;
const restoredDbs: string[] = [];

const get = (p: string, token?: string) => fetch(`${base}${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const dl = (point: string, token = org.users.OPERATOR.token, query = '') => get(`/recovery-points/${encodeURIComponent(point)}/download${query}`, token);

async function tarEntries(buf: Buffer): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  const extract = tar.extract();
  Readable.from([buf]).pipe(extract);
  for await (const e of extract) {
    const parts: Buffer[] = [];
    for await (const c of e) parts.push(c as Buffer);
    out[e.header.name] = e.header.type === 'file' ? Buffer.concat(parts).toString('utf8') : null;
  }
  return out;
}

async function copies(point: string): Promise<Array<{ file: string; name: string }>> {
  const r = await t.gql<{ node: { artifacts: Array<{ key: string; destination: { name: string } }> } }>(org.users.OPERATOR.token, 'query($id: ID!) { node(id: $id) { ... on RecoveryPoint { artifacts { key destination { name } } } } }', { id: point });
  return r.data!.node.artifacts.map((a) => ({ name: a.destination.name, file: path.join(t.storageRoot, org.id, 'dest', a.destination.name, ...a.key.split('/')) }));
}

async function damage(file: string): Promise<void> {
  const bytes = await readFile(file);
  const i = Math.floor(bytes.length / 2);
  bytes[i] = bytes[i]! ^ 0x01;
  await writeFile(file, bytes);
}

beforeAll(async () => {
  tmp = await tempDir('downloads');
  t = await startTestApp();
  base = t.url.replace(/\/graphql$/, '');
  org = await t.createOrg();
  source = await createEmptyDatabase();
  const c = new pg.Client({ connectionString: source.url });
  await c.connect();
  await c.query(`CREATE TABLE vendors (id serial PRIMARY KEY, name text, fee numeric(10,2)); INSERT INTO vendors (name, fee) SELECT 'vendor ' || g, g * 12.5 FROM generate_series(1, 1200) g;`);
  await c.end();
  workers = await startWorkers(t.services);
  flow = backupFlow(t, org);
  const nas = await flow.localDestination('nas');
  dbPoint = (await flow.backup(await flow.strategy('vendors', await flow.postgresSource('vendors', source.url), [nas]))).recoveryPoint!.id;
  const files = path.join(tmp.dir, 'gallery');
  await mkdir(path.join(files, 'albums/2026/june'), { recursive: true });
  await writeFile(path.join(files, 'albums/2026/june/vows.txt'), 'I do');
  await writeFile(path.join(files, 'albums/2026/cake.txt'), 'three tiers');
  await writeFile(path.join(files, 'invoice.txt'), 'paid');
  const dirStrategy = await flow.strategy('gallery', await flow.directorySource('gallery', files), [nas, await flow.localDestination('offsite')]);
  dirPoint = (await flow.backup(dirStrategy)).recoveryPoint!.id;
  twoCopies = dirStrategy;
});

afterAll(async () => {
  await workers?.stop();
  for (const name of restoredDbs) await queryOnce(source.adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
  await source?.drop();
  await t?.stop();
  await tmp?.cleanup();
});

describe('downloads', () => {
  it('a database backup downloads as the pg_dump file, which pg_restore restores', async () => {
    const res = await dl(dbPoint);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="vendors-\d{8}T\d{6}Z\.dump"$/);
    const body = Buffer.from(await res.arrayBuffer());
    expect(String(body.length)).toBe(res.headers.get('content-length'));
    const file = path.join(tmp.dir, 'vendors.dump');
    await writeFile(file, body);
    const name = `dl_restored_${Date.now()}`;
    restoredDbs.push(name);
    await queryOnce(source.adminUrl, `CREATE DATABASE "${name}"`);
    const target = source.url.replace(/\/[^/]+$/, `/${name}`);
    execFileSync('pg_restore', ['--no-owner', '--dbname', target, file]);
    expect((await queryOnce(target, 'SELECT count(*)::int AS n, sum(fee)::text AS s FROM vendors')).rows[0]).toEqual({ n: 1200, s: '9007500.00' });
  });

  it('a directory backup downloads as a tar; ?path= gives a subtree as a tar, or one file as itself', async () => {
    const whole = await tarEntries(Buffer.from(await (await dl(dirPoint)).arrayBuffer()));
    expect(whole['invoice.txt']).toBe('paid');
    expect(whole['albums/2026/june/vows.txt']).toBe('I do');

    const sub = await dl(dirPoint, undefined, '?path=albums/2026/june');
    expect(sub.status).toBe(200);
    expect(sub.headers.get('content-type')).toBe('application/x-tar');
    const subtree = await tarEntries(Buffer.from(await sub.arrayBuffer()));
    expect(Object.keys(subtree).sort()).toEqual(['albums/2026/june/', 'albums/2026/june/vows.txt']);

    const one = await dl(dirPoint, undefined, `?path=${encodeURIComponent('/albums/2026/cake.txt')}`);
    expect(one.status).toBe(200);
    expect(one.headers.get('content-disposition')).toBe('attachment; filename="cake.txt"');
    expect(await one.text()).toBe('three tiers');

    const missing = await dl(dirPoint, undefined, '?path=albums/1999');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    const escape = await dl(dirPoint, undefined, '?path=../etc/passwd');
    expect(escape.status).toBe(400);
    expect((await dl(dbPoint, undefined, '?path=x')).status).toBe(400);
  });

  it('needs credentials and the OPERATOR role; another organization sees not found', async () => {
    expect((await dl(dbPoint, '')).status).toBe(401);
    expect((await dl(dbPoint, 'garbage')).status).toBe(401);
    const viewer = await dl(dbPoint, org.users.VIEWER.token);
    expect(viewer.status).toBe(403);
    expect(((await viewer.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    const other = await t.createOrg();
    expect((await dl(dbPoint, other.users.OWNER.token)).status).toBe(404);
    expect((await dl('bm9wZQ==')).status).toBe(400);
  });

  it('a signed link downloads without other credentials; forged, tampered or out-of-role links are refused', async () => {
    const create = async (token: string, input: Record<string, unknown>) =>
      (await t.gql<{ createDownloadLink: { __typename: string; data?: { url: string; expiresAt: string }; code?: string } }>(token,
        'mutation($input: CreateDownloadLinkInput!) { createDownloadLink(input: $input) { __typename ... on MutationCreateDownloadLinkSuccess { data { url expiresAt } } ... on Error { code } } }', { input })).data!.createDownloadLink;
    const link = await create(org.users.OPERATOR.token, { recoveryPointId: dirPoint, path: 'invoice.txt', expiresInSeconds: 60 });
    expect(link.__typename).toBe('MutationCreateDownloadLinkSuccess');
    expect(Date.parse(link.data!.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    const res = await get(link.data!.url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('paid');
    const tampered = link.data!.url.slice(0, -3) + (link.data!.url.endsWith('AAA') ? 'BBB' : 'AAA');
    expect((await get(tampered)).status).toBe(401);
    expect((await get('/downloads/not.a.token')).status).toBe(401);
    expect((await create(org.users.VIEWER.token, { recoveryPointId: dirPoint })).__typename).toBe('ForbiddenError');
    expect((await create(org.users.OPERATOR.token, { recoveryPointId: dbPoint, path: 'a' })).__typename).toBe('ValidationError');

    // A link dies with its creator's role.
    const owner = await create(org.users.OWNER.token, { recoveryPointId: dbPoint });
    await withSystem(t.services.db, 'test-demote', (tx) => tx.membership.updateMany({ where: { orgId: org.id, userId: org.users.OWNER.id }, data: { role: 'VIEWER' } }));
    expect((await get(owner.data!.url)).status).toBe(401);
    await withSystem(t.services.db, 'test-promote', (tx) => tx.membership.updateMany({ where: { orgId: org.id, userId: org.users.OWNER.id }, data: { role: 'OWNER' } }));
  });

  it('a damaged copy is skipped for the next destination; with no intact copy the answer is an error, not a file', async () => {
    const point = (await flow.backup(twoCopies)).recoveryPoint!.id;
    const [first, second] = await copies(point);
    await damage(first!.file);
    const ok = await dl(point);
    expect(ok.status).toBe(200);
    expect((await tarEntries(Buffer.from(await ok.arrayBuffer())))['invoice.txt']).toBe('paid');
    await damage(second!.file);
    const refused = await dl(point);
    expect(refused.status).toBe(502);
    expect(refused.headers.get('content-type')).toBe('application/json');
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('INTEGRITY_ERROR');
    expect(body.error.message).toMatch(/no intact copy/);
  });

  it('every download is audited with who, how and which copy', async () => {
    const events = await withSystem(t.services.db, 'test-audit', (tx) => tx.auditEvent.findMany({ where: { orgId: org.id, action: { startsWith: 'recoveryPoint.download' } }, orderBy: { seq: 'asc' } }));
    const actions = events.map((e) => e.action);
    expect(actions).toContain('recoveryPoint.downloaded');
    expect(actions).toContain('recoveryPoint.downloadLinkCreated');
    const viaLink = events.find((e) => e.action === 'recoveryPoint.downloaded' && (e.after as { via: string }).via === 'link')!;
    expect(viaLink.actorLabel).toMatch(/\(download link\)$/);
    const skipped = events.filter((e) => ((e.after as { skippedCopies?: unknown[] }).skippedCopies ?? []).length > 0);
    expect(skipped.length).toBeGreaterThan(0);
  });
});
