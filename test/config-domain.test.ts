// Configuration through the real API: destinations (LOCAL under a temp storage root, S3 against
// a real s3rver), retention policies and strategies. Checks secrets never come back, every
// change is audited, and bad input is a typed error that writes nothing.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestOrg } from './support/app';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, startS3, type TestS3 } from './support/s3';
import { globalId } from './support/seed-objects';

const BUCKET = 'keepsake-config-test';
const ACCESS_KEY_ID = S3_ACCESS_KEY_ID;
const SECRET_ACCESS_KEY = S3_SECRET_ACCESS_KEY;

let t: TestApp;
let org: TestOrg;
let other: TestOrg;
let s3: TestS3;
let s3Endpoint: string;
let superuser: pg.Client;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.createOrg();
  other = await t.createOrg();
  s3 = await startS3([BUCKET]);
  s3Endpoint = s3.endpoint;
  superuser = new pg.Client({ connectionString: t.db.url });
  await superuser.connect();
});

afterAll(async () => {
  await superuser?.end();
  await s3?.close();
  await t?.stop();
});

type Payload = {
  __typename: string;
  message?: string;
  code?: string;
  resourceType?: string;
  issues?: Array<{ path: string[]; message: string }>;
  data?: Record<string, unknown>;
};

const ERRORS = `__typename ... on Error { message code } ... on ValidationError { issues { path message } } ... on NotFoundError { resourceType }`;
const DESTINATION = `id name kind path endpoint region bucket prefix forcePathStyle hasCredentials status lastTestedAt lastError usedBytes createdAt`;
const POLICY = `id name keepLast keepHourly keepDaily keepWeekly keepMonthly keepYearly maxAgeDays minCopies peakSeasonStart peakSeasonEnd peakKeepDaily`;
const STRATEGY = `id name status cron timeZone startWindowMinutes peakCron peakStart peakEnd compression compressionLevel encrypted priority
  rpoMinutes maxSizeBytes timeoutSeconds verifyCron nextRunAt lastRunAt createdAt
  source { id name } destinations { id name kind } retentionPolicy { id name }`;

/** Runs one mutation and returns its payload plus the raw JSON text of the whole response. */
async function mutate(token: string, name: string, inputType: string, input: Record<string, unknown>, fields: string) {
  const success = `Mutation${name[0]!.toUpperCase()}${name.slice(1)}Success`;
  const r = await t.gql(token, `mutation($input: ${inputType}!) { ${name}(input: $input) { ${ERRORS} ... on ${success} { data { ${fields} } } } }`, { input });
  const payload = (r.data?.[name] ?? null) as Payload | null;
  return { payload, errors: r.errors, json: JSON.stringify(r) };
}

const admin = () => org.users.ADMIN.token;
const operator = () => org.users.OPERATOR.token;
const viewer = () => org.users.VIEWER.token;

async function rows(table: string, orgId = org.id): Promise<number> {
  const r = await superuser.query(`SELECT count(*)::int AS n FROM "${table}" WHERE "orgId" = $1`, [orgId]);
  return r.rows[0].n as number;
}

async function auditActions(resourceId: string): Promise<Array<{ action: string; before: unknown; after: unknown; actorType: string }>> {
  const r = await superuser.query(`SELECT action, before, after, "actorType" FROM "AuditEvent" WHERE "resourceId" = $1 ORDER BY seq`, [resourceId]);
  return r.rows;
}

const rawId = (gid: string) => Buffer.from(gid, 'base64').toString('utf8').split(':')[1]!;

/** Expects a typed error and no new row in `table`. */
async function rejects(table: string, run: () => Promise<{ payload: Payload | null; errors?: unknown }>, typename: string, path?: string[]) {
  const before = await rows(table);
  const { payload, errors } = await run();
  expect(errors, JSON.stringify(errors)).toBeUndefined();
  expect(payload?.__typename, JSON.stringify(payload)).toBe(typename);
  if (path) expect(payload!.issues!.map((i) => i.path.join('.'))).toContain(path.join('.'));
  expect(await rows(table)).toBe(before);
  return payload!;
}

const createLocal = (input: Record<string, unknown>, token = admin()) =>
  mutate(token, 'createLocalDestination', 'CreateLocalDestinationInput', input, DESTINATION);
const createS3 = (input: Record<string, unknown>, token = admin()) => mutate(token, 'createS3Destination', 'CreateS3DestinationInput', input, DESTINATION);
const testDest = (id: string, token = operator()) => mutate(token, 'testDestination', 'TestDestinationInput', { id }, DESTINATION);
const s3Input = (over: Record<string, unknown> = {}) => ({
  name: `s3-${Math.random().toString(36).slice(2, 8)}`, endpoint: s3Endpoint, bucket: BUCKET, prefix: 'org/backups', accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, ...over,
});

describe('destinations', () => {
  let localId: string;
  let s3Id: string;

  it('creates a LOCAL destination and probes it for real under the org storage directory', async () => {
    const { payload } = await createLocal({ name: 'local main', path: 'nas//main/' });
    expect(payload?.__typename).toBe('MutationCreateLocalDestinationSuccess');
    const d = payload!.data!;
    expect(d).toMatchObject({ name: 'local main', kind: 'LOCAL', path: 'nas/main', status: 'UNKNOWN', hasCredentials: false, usedBytes: '0', lastTestedAt: null });
    localId = d.id as string;

    const tested = await testDest(localId);
    expect(tested.payload?.data).toMatchObject({ status: 'HEALTHY', lastError: null });
    expect(tested.payload!.data!.lastTestedAt).toBeTruthy();
    const dir = path.join(t.storageRoot, org.id, 'nas', 'main');
    expect(existsSync(dir)).toBe(true);
    // The probe object was deleted again (and its directory pruned).
    const left = existsSync(path.join(dir, '.keepsake-probe')) ? await readdir(path.join(dir, '.keepsake-probe')) : [];
    expect(left).toEqual([]);

    const actions = (await auditActions(rawId(localId))).map((a) => a.action);
    expect(actions).toEqual(['destination.create', 'destination.test']);
  });

  it('refuses LOCAL paths that escape the storage root, writing nothing', async () => {
    for (const bad of ['../x', '/etc', 'a/../../x', '..', '.', 'a\\..\\b']) {
      await rejects('Destination', () => createLocal({ name: `bad ${bad}`, path: bad }), 'ValidationError', ['input', 'path']);
    }
    const upd = await mutate(admin(), 'updateDestination', 'UpdateDestinationInput', { id: localId, path: '../../other-org' }, DESTINATION);
    expect(upd.payload?.__typename).toBe('ValidationError');
  });

  it('reports a failing LOCAL probe as UNHEALTHY without a GraphQL error or server paths', async () => {
    const { payload } = await createLocal({ name: 'blocked', path: 'blocked/dir' });
    const id = payload!.data!.id as string;
    // A file where the destination's parent directory should be makes every write fail.
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(path.join(t.storageRoot, org.id), { recursive: true });
    await writeFile(path.join(t.storageRoot, org.id, 'blocked'), 'not a directory');
    const tested = await testDest(id);
    expect(tested.errors).toBeUndefined();
    expect(tested.payload?.data).toMatchObject({ status: 'UNHEALTHY' });
    expect(tested.payload!.data!.lastError).toEqual(expect.any(String));
    expect(tested.json).not.toContain(t.storageRoot);
  });

  it('creates an S3 destination whose credentials are sealed and never returned', async () => {
    const secret = 'S3RVER';
    const { payload, json } = await createS3(s3Input({ name: 's3 main' }));
    expect(payload?.__typename).toBe('MutationCreateS3DestinationSuccess');
    expect(payload!.data).toMatchObject({ kind: 'S3', bucket: BUCKET, prefix: 'org/backups', region: 'us-east-1', forcePathStyle: true, hasCredentials: true, path: null });
    expect(json).not.toContain(secret);
    s3Id = payload!.data!.id as string;

    const list = await t.gql(admin(), `{ destinations(first: 50) { edges { node { ${DESTINATION} } } } }`);
    expect(list.errors).toBeUndefined();
    expect(JSON.stringify(list)).not.toContain(secret);
    const stored = await superuser.query(`SELECT "accessKeyIdSealed", "secretAccessKeySealed" FROM "Destination" WHERE id = $1`, [rawId(s3Id)]);
    for (const v of Object.values(stored.rows[0] as Record<string, Buffer>)) {
      expect(Buffer.isBuffer(v)).toBe(true);
      expect(v.includes(Buffer.from(secret))).toBe(false);
    }
    const audit = await auditActions(rawId(s3Id));
    expect(audit.map((a) => a.action)).toEqual(['destination.create']);
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('probes S3 through a real server, and records a failure with wrong credentials as UNHEALTHY', async () => {
    const ok = await testDest(s3Id);
    expect(ok.errors).toBeUndefined();
    expect(ok.payload?.data).toMatchObject({ status: 'HEALTHY', lastError: null });

    const otherSecret = 'definitely-not-the-secret-value';
    const upd = await mutate(admin(), 'updateDestination', 'UpdateDestinationInput', { id: s3Id, accessKeyId: 'WRONGKEY', secretAccessKey: otherSecret }, DESTINATION);
    expect(upd.payload?.data).toMatchObject({ status: 'UNKNOWN', hasCredentials: true });
    expect(upd.json).not.toContain(otherSecret);

    const bad = await testDest(s3Id);
    expect(bad.errors).toBeUndefined();
    expect(bad.payload?.data).toMatchObject({ status: 'UNHEALTHY' });
    expect(bad.payload!.data!.lastError).toEqual(expect.any(String));
    expect(bad.json).not.toContain(otherSecret);

    await mutate(admin(), 'updateDestination', 'UpdateDestinationInput', { id: s3Id, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }, DESTINATION);
    const again = await testDest(s3Id);
    expect(again.payload?.data).toMatchObject({ status: 'HEALTHY' });
    const audit = await auditActions(rawId(s3Id));
    expect(audit.map((a) => a.action)).toEqual(['destination.create', 'destination.test', 'destination.update', 'destination.test', 'destination.update', 'destination.test']);
    expect(JSON.stringify(audit)).not.toContain(otherSecret);
  });

  it('validates S3 settings field by field', async () => {
    await rejects('Destination', () => createS3(s3Input({ bucket: 'Bad_Bucket' })), 'ValidationError', ['input', 'bucket']);
    await rejects('Destination', () => createS3(s3Input({ bucket: '192.168.1.1' })), 'ValidationError', ['input', 'bucket']);
    await rejects('Destination', () => createS3(s3Input({ endpoint: 'ftp://example.com' })), 'ValidationError', ['input', 'endpoint']);
    await rejects('Destination', () => createS3(s3Input({ endpoint: 'http://user:pw@example.com' })), 'ValidationError', ['input', 'endpoint']);
    await rejects('Destination', () => createS3(s3Input({ prefix: 'a/../b' })), 'ValidationError', ['input', 'prefix']);
    await rejects('Destination', () => createS3(s3Input({ name: 's3 main' })), 'ConflictError');
  });

  it('lets only admins configure and operators test', async () => {
    await rejects('Destination', () => createLocal({ name: 'by viewer', path: 'v' }, viewer()), 'ForbiddenError');
    await rejects('Destination', () => createLocal({ name: 'by operator', path: 'o' }, operator()), 'ForbiddenError');
    const r = await testDest(localId, viewer());
    expect(r.payload?.__typename).toBe('ForbiddenError');
    const foreign = await testDest(localId, other.users.OWNER.token);
    expect(foreign.payload?.__typename).toBe('NotFoundError');
    const malformed = await testDest('not-a-global-id');
    expect(malformed.payload).toMatchObject({ __typename: 'ValidationError', issues: [{ path: ['input', 'id'] }] });
  });
});

describe('retention policies', () => {
  const create = (input: Record<string, unknown>, token = admin()) => mutate(token, 'createRetentionPolicy', 'CreateRetentionPolicyInput', input, POLICY);
  const update = (input: Record<string, unknown>) => mutate(admin(), 'updateRetentionPolicy', 'UpdateRetentionPolicyInput', input, POLICY);

  it('creates, updates and audits a policy', async () => {
    const { payload } = await create({ name: 'gfs', keepDaily: 7, keepWeekly: 4, keepMonthly: 12, peakSeasonStart: '11-15', peakSeasonEnd: '01-15', peakKeepDaily: 30 });
    expect(payload?.data).toMatchObject({ name: 'gfs', keepDaily: 7, minCopies: 1, peakSeasonStart: '11-15', keepLast: null });
    const id = payload!.data!.id as string;
    const u = await update({ id, keepLast: 3, keepWeekly: null });
    expect(u.payload?.data).toMatchObject({ keepLast: 3, keepWeekly: null, keepDaily: 7 });
    expect((await auditActions(rawId(id))).map((a) => a.action)).toEqual(['retentionPolicy.create', 'retentionPolicy.update']);
  });

  it('refuses zero, empty and malformed rules with field paths, writing nothing', async () => {
    await rejects('RetentionPolicy', () => create({ name: 'zero', keepLast: 0 }), 'ValidationError', ['input', 'keepLast']);
    await rejects('RetentionPolicy', () => create({ name: 'nothing', maxAgeDays: 30 }), 'ValidationError', ['input']);
    await rejects('RetentionPolicy', () => create({ name: 'bad day', keepDaily: 7, peakSeasonStart: '13-40', peakSeasonEnd: '01-01', peakKeepDaily: 3 }), 'ValidationError', ['input', 'peakSeasonStart']);
    await rejects('RetentionPolicy', () => create({ name: 'half peak', keepDaily: 7, peakSeasonStart: '11-01' }), 'ValidationError', ['input', 'peakSeasonEnd']);
    await rejects('RetentionPolicy', () => create({ name: 'by operator', keepDaily: 1 }, operator()), 'ForbiddenError');
    const { payload } = await create({ name: 'only last', keepLast: 5 });
    const u = await update({ id: payload!.data!.id, keepLast: null });
    expect(u.payload).toMatchObject({ __typename: 'ValidationError' });
  });
});

describe('strategies', () => {
  let sourceId: string;
  let localId: string;
  let s3Id: string;
  let policyId: string;
  let strategyId: string;

  const create = (input: Record<string, unknown>, token = admin()) => mutate(token, 'createStrategy', 'CreateStrategyInput', input, STRATEGY);
  const update = (input: Record<string, unknown>) => mutate(admin(), 'updateStrategy', 'UpdateStrategyInput', input, STRATEGY);
  const base = () => ({ name: `s-${Math.random().toString(36).slice(2, 8)}`, sourceId, destinationIds: [localId], cron: '0 3 * * *', timeZone: 'Europe/London' });

  beforeAll(async () => {
    const src = await mutate(admin(), 'createDirectorySource', 'CreateDirectorySourceInput', { name: 'files', path: '/srv/files' }, 'id');
    sourceId = src.payload!.data!.id as string;
    localId = (await createLocal({ name: 'strategy local', path: 'strategies' })).payload!.data!.id as string;
    s3Id = (await createS3(s3Input({ name: 'strategy s3' }))).payload!.data!.id as string;
    policyId = (await mutate(admin(), 'createRetentionPolicy', 'CreateRetentionPolicyInput', { name: 'strategy policy', keepLast: 7 }, 'id')).payload!.data!.id as string;
  });

  it('creates a strategy with defaults, destinations through the join and a next run', async () => {
    const before = Date.now();
    const { payload } = await create({ ...base(), name: 'nightly', destinationIds: [localId, s3Id], retentionPolicyId: policyId, maxSizeBytes: '10000000000' });
    expect(payload?.__typename).toBe('MutationCreateStrategySuccess');
    const s = payload!.data!;
    expect(s).toMatchObject({
      name: 'nightly', status: 'ACTIVE', compression: 'ZSTD', compressionLevel: null, encrypted: true, priority: 0, startWindowMinutes: 60,
      timeZone: 'Europe/London', maxSizeBytes: '10000000000', source: { id: sourceId }, retentionPolicy: { id: policyId },
    });
    expect((s.destinations as Array<{ id: string }>).map((d) => d.id).sort()).toEqual([localId, s3Id].sort());
    expect(new Date(s.nextRunAt as string).getTime()).toBeGreaterThan(before);
    strategyId = s.id as string;
    const join = await superuser.query(`SELECT "orgId" FROM "StrategyDestination" WHERE "strategyId" = $1`, [rawId(strategyId)]);
    expect(join.rows.map((r) => r.orgId)).toEqual([org.id, org.id]);

    const list = await t.gql(viewer(), `{ strategies(first: 10) { edges { node { id destinations { name } } } } }`);
    expect(list.errors).toBeUndefined();
    const audit = await auditActions(rawId(strategyId));
    expect(audit.map((a) => a.action)).toEqual(['strategy.create']);
    expect((audit[0]!.after as { destinationIds: string[] }).destinationIds.sort()).toEqual([rawId(localId), rawId(s3Id)].sort());
  });

  it('defaults the time zone to the organization one', async () => {
    const { timeZone: _tz, ...input } = base();
    const { payload } = await create(input);
    expect(payload?.data).toMatchObject({ timeZone: 'UTC' });
  });

  it('refuses bad schedules, compression, ranges and ids with typed errors, writing nothing', async () => {
    await rejects('Strategy', () => create({ ...base(), cron: '61 * * * *' }), 'ValidationError', ['input', 'cron']);
    await rejects('Strategy', () => create({ ...base(), cron: '* * * * * *' }), 'ValidationError', ['input', 'cron']);
    await rejects('Strategy', () => create({ ...base(), timeZone: 'Mars/Olympus_Mons' }), 'ValidationError', ['input', 'timeZone']);
    await rejects('Strategy', () => create({ ...base(), timeZone: '+01:00' }), 'ValidationError', ['input', 'timeZone']);
    await rejects('Strategy', () => create({ ...base(), peakCron: '0 * * * *' }), 'ValidationError', ['input', 'peakStart']);
    await rejects('Strategy', () => create({ ...base(), compression: 'GZIP', compressionLevel: 12 }), 'ValidationError', ['input', 'compressionLevel']);
    await rejects('Strategy', () => create({ ...base(), compression: 'NONE', compressionLevel: 3 }), 'ValidationError', ['input', 'compressionLevel']);
    await rejects('Strategy', () => create({ ...base(), maxSizeBytes: '-5' }), 'ValidationError', ['input', 'maxSizeBytes']);
    await rejects('Strategy', () => create({ ...base(), verifyCron: 'every day' }), 'ValidationError', ['input', 'verifyCron']);
    await rejects('Strategy', () => create({ ...base(), destinationIds: [localId, localId] }), 'ValidationError', ['input', 'destinationIds']);
    await rejects('Strategy', () => create({ ...base(), sourceId: 'not-a-global-id' }), 'ValidationError', ['input', 'sourceId']);
    await rejects('Strategy', () => create({ ...base(), destinationIds: [localId, 'garbage'] }), 'ValidationError', ['input', 'destinationIds', '1']);
    // An id of another type, an unknown id and another org's id all read as not found.
    await rejects('Strategy', () => create({ ...base(), sourceId: localId }), 'NotFoundError');
    await rejects('Strategy', () => create({ ...base(), destinationIds: [globalId('Destination', '00000000-0000-7000-8000-000000000000')] }), 'NotFoundError');
    const foreign = (await mutate(other.users.ADMIN.token, 'createLocalDestination', 'CreateLocalDestinationInput', { name: 'theirs', path: 'theirs' }, 'id')).payload!.data!.id as string;
    const nf = await rejects('Strategy', () => create({ ...base(), destinationIds: [localId, foreign] }), 'NotFoundError');
    expect(nf.message).toContain('input.destinationIds.1');
    await rejects('Strategy', () => create(base(), operator()), 'ForbiddenError');
  });

  it('rejects an unknown enum value before anything runs', async () => {
    const before = await rows('Strategy');
    const r = await create({ ...base(), compression: 'BROTLI' });
    expect(r.errors?.length).toBeGreaterThan(0);
    expect(r.payload).toBeNull();
    expect(await rows('Strategy')).toBe(before);
  });

  it('updates settings, recomputing the next run when the schedule changes', async () => {
    const u = await update({ id: strategyId, cron: '30 1 * * *', compression: 'GZIP', compressionLevel: 6, destinationIds: [s3Id], retentionPolicyId: null, peakCron: '0 * * * *', peakStart: '11-15', peakEnd: '01-15' });
    expect(u.payload?.__typename).toBe('MutationUpdateStrategySuccess');
    const s = u.payload!.data!;
    expect(s).toMatchObject({ cron: '30 1 * * *', compression: 'GZIP', compressionLevel: 6, retentionPolicy: null, destinations: [{ id: s3Id }], peakStart: '11-15' });
    expect(s.nextRunAt).toBeTruthy();
    const bad = await update({ id: strategyId, timeZone: 'Nowhere/Land' });
    expect(bad.payload).toMatchObject({ __typename: 'ValidationError', issues: [{ path: ['input', 'timeZone'] }] });
    // Switching algorithm without a level drops the old level rather than failing.
    const z = await update({ id: strategyId, compression: 'ZSTD' });
    expect(z.payload?.data).toMatchObject({ compression: 'ZSTD', compressionLevel: null });
  });

  it('pauses (no next run) and resumes (next run recomputed) as an operator', async () => {
    const paused = await mutate(operator(), 'pauseStrategy', 'PauseStrategyInput', { id: strategyId }, STRATEGY);
    expect(paused.payload?.data).toMatchObject({ status: 'PAUSED', nextRunAt: null });
    const resumed = await mutate(operator(), 'resumeStrategy', 'ResumeStrategyInput', { id: strategyId }, STRATEGY);
    expect(resumed.payload?.data).toMatchObject({ status: 'ACTIVE' });
    expect(new Date(resumed.payload!.data!.nextRunAt as string).getTime()).toBeGreaterThan(Date.now());
    const byViewer = await mutate(viewer(), 'pauseStrategy', 'PauseStrategyInput', { id: strategyId }, STRATEGY);
    expect(byViewer.payload?.__typename).toBe('ForbiddenError');
    const foreign = await mutate(other.users.OWNER.token, 'pauseStrategy', 'PauseStrategyInput', { id: strategyId }, STRATEGY);
    expect(foreign.payload?.__typename).toBe('NotFoundError');
    const actions = (await auditActions(rawId(strategyId))).map((a) => a.action);
    expect(actions).toEqual(['strategy.create', 'strategy.update', 'strategy.update', 'strategy.pause', 'strategy.resume']);
  });

  it('keeps destinations and policies that are in use, then deletes them once free', async () => {
    const p = await mutate(admin(), 'updateStrategy', 'UpdateStrategyInput', { id: strategyId, retentionPolicyId: policyId }, 'id');
    expect(p.payload?.__typename).toBe('MutationUpdateStrategySuccess');
    const delDest = (id: string) => mutate(admin(), 'deleteDestination', 'DeleteDestinationInput', { id }, 'deletedId');
    const delPolicy = (id: string) => mutate(admin(), 'deleteRetentionPolicy', 'DeleteRetentionPolicyInput', { id }, 'deletedId');
    await rejects('Destination', () => delDest(s3Id), 'ConflictError');
    await rejects('RetentionPolicy', () => delPolicy(policyId), 'ConflictError');

    // Remove every strategy of the org, then the configuration they used is free.
    const all = await t.gql<{ strategies: { edges: Array<{ node: { id: string } }> } }>(admin(), `{ strategies(first: 50) { edges { node { id } } } }`);
    for (const { node } of all.data!.strategies.edges) {
      const d = await mutate(admin(), 'deleteStrategy', 'DeleteStrategyInput', { id: node.id }, 'deletedId');
      expect(d.payload).toMatchObject({ data: { deletedId: node.id } });
    }
    expect(await rows('Strategy')).toBe(0);
    expect(await rows('StrategyDestination')).toBe(0);
    expect((await delDest(s3Id)).payload?.data).toEqual({ deletedId: s3Id });
    expect((await delPolicy(policyId)).payload?.data).toEqual({ deletedId: policyId });
    expect((await auditActions(rawId(strategyId))).at(-1)!.action).toBe('strategy.delete');
    expect((await auditActions(rawId(s3Id))).at(-1)!.action).toBe('destination.delete');
    const again = await delDest(s3Id);
    expect(again.payload?.__typename).toBe('NotFoundError');
  });
});

// Edge limits come from zod schemas on the GraphQL inputs (validation plugin). They run before
// the resolver, so they are typed errors only when the errors plugin also handles input errors
// (`errors: { unsafelyHandleInputErrors: true }` in builder.ts); otherwise they surface as masked
// "Unexpected error." GraphQL errors.
describe('input limits at the GraphQL edge', () => {
  let localId: string;
  let sourceId: string;
  const strategy = (input: Record<string, unknown>) =>
    mutate(admin(), 'createStrategy', 'CreateStrategyInput', { name: 'edge', sourceId, destinationIds: [localId], cron: '0 3 * * *', ...input }, 'id');
  const policy = (input: Record<string, unknown>) => mutate(admin(), 'createRetentionPolicy', 'CreateRetentionPolicyInput', { name: 'edge', keepDaily: 1, ...input }, 'id');

  beforeAll(async () => {
    localId = (await createLocal({ name: 'edge local', path: 'edge' })).payload!.data!.id as string;
    sourceId = (await mutate(admin(), 'createDirectorySource', 'CreateDirectorySourceInput', { name: 'edge files', path: '/srv/edge' }, 'id')).payload!.data!.id as string;
  });

  it('refuses over-long strings, out-of-range numbers and list sizes as ValidationErrors, writing nothing', async () => {
    await rejects('Destination', () => createLocal({ name: 'long', path: 'x'.repeat(1025) }), 'ValidationError', ['input', 'path']);
    await rejects('Destination', () => createS3(s3Input({ name: 'n'.repeat(201) })), 'ValidationError', ['input', 'name']);
    await rejects('Destination', () => createS3(s3Input({ secretAccessKey: 's'.repeat(2000) })), 'ValidationError', ['input', 'secretAccessKey']);
    await rejects('RetentionPolicy', () => policy({ keepDaily: -1 }), 'ValidationError', ['input', 'keepDaily']);
    await rejects('RetentionPolicy', () => policy({ keepLast: 1_000_000 }), 'ValidationError', ['input', 'keepLast']);
    await rejects('RetentionPolicy', () => policy({ peakSeasonStart: '11-01-2026' }), 'ValidationError', ['input', 'peakSeasonStart']);
    await rejects('RetentionPolicy', () => policy({ name: 'x'.repeat(300) }), 'ValidationError', ['input', 'name']);
    await rejects('Strategy', () => strategy({ compressionLevel: 20 }), 'ValidationError', ['input', 'compressionLevel']);
    await rejects('Strategy', () => strategy({ priority: 11 }), 'ValidationError', ['input', 'priority']);
    await rejects('Strategy', () => strategy({ startWindowMinutes: 0 }), 'ValidationError', ['input', 'startWindowMinutes']);
    await rejects('Strategy', () => strategy({ startWindowMinutes: 1441 }), 'ValidationError', ['input', 'startWindowMinutes']);
    await rejects('Strategy', () => strategy({ name: 'n'.repeat(201) }), 'ValidationError', ['input', 'name']);
    await rejects('Strategy', () => strategy({ cron: '0 '.repeat(100) }), 'ValidationError', ['input', 'cron']);
    await rejects('Strategy', () => strategy({ destinationIds: [] }), 'ValidationError', ['input', 'destinationIds']);
    await rejects('Strategy', () => strategy({ destinationIds: Array.from({ length: 11 }, () => localId) }), 'ValidationError', ['input', 'destinationIds']);
  });
});
