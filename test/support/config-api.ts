// The configuration API harness shared by the destinations, retention policy, strategy and
// input-limit tests: a real API with two organizations, a real s3rver, a superuser connection to
// count rows and read audit events, and helpers that run one mutation and expect a typed error
// that writes nothing. Call setupConfigApi() once at the top of a test file; the bindings below
// are live (set in its beforeAll).
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { startTestApp, type TestApp, type TestOrg } from './app';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, startS3, type TestS3 } from './s3';

export const BUCKET = 'keepsake-config-test';
export const ACCESS_KEY_ID = S3_ACCESS_KEY_ID;
export const SECRET_ACCESS_KEY = S3_SECRET_ACCESS_KEY;

export let t: TestApp;
export let org: TestOrg;
export let other: TestOrg;
export let s3: TestS3;
export let s3Endpoint: string;
export let superuser: pg.Client;

export function setupConfigApi(): void {
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
}

export type Payload = {
  __typename: string;
  message?: string;
  code?: string;
  resourceType?: string;
  issues?: Array<{ path: string[]; message: string }>;
  data?: Record<string, unknown>;
};

export const ERRORS = `__typename ... on Error { message code } ... on ValidationError { issues { path message } } ... on NotFoundError { resourceType }`;
export const DESTINATION = `id name kind path endpoint region bucket prefix forcePathStyle hasCredentials status lastTestedAt lastError usedBytes createdAt`;
export const POLICY = `id name keepLast keepHourly keepDaily keepWeekly keepMonthly keepYearly maxAgeDays minCopies peakSeasonStart peakSeasonEnd peakKeepDaily`;
export const STRATEGY = `id name status cron timeZone startWindowMinutes peakCron peakStart peakEnd compression compressionLevel encrypted priority
  rpoMinutes maxSizeBytes timeoutSeconds verifyCron nextRunAt lastRunAt createdAt
  source { id name } destinations { id name kind } retentionPolicy { id name }`;

/** Runs one mutation and returns its payload plus the raw JSON text of the whole response. */
export async function mutate(token: string, name: string, inputType: string, input: Record<string, unknown>, fields: string) {
  const success = `Mutation${name[0]!.toUpperCase()}${name.slice(1)}Success`;
  const r = await t.gql(token, `mutation($input: ${inputType}!) { ${name}(input: $input) { ${ERRORS} ... on ${success} { data { ${fields} } } } }`, { input });
  const payload = (r.data?.[name] ?? null) as Payload | null;
  return { payload, errors: r.errors, json: JSON.stringify(r) };
}

export const admin = () => org.users.ADMIN.token;
export const operator = () => org.users.OPERATOR.token;
export const viewer = () => org.users.VIEWER.token;

export async function rows(table: string, orgId = org.id): Promise<number> {
  const r = await superuser.query(`SELECT count(*)::int AS n FROM "${table}" WHERE "orgId" = $1`, [orgId]);
  return r.rows[0].n as number;
}

export async function auditActions(resourceId: string): Promise<Array<{ action: string; before: unknown; after: unknown; actorType: string }>> {
  const r = await superuser.query(`SELECT action, before, after, "actorType" FROM "AuditEvent" WHERE "resourceId" = $1 ORDER BY seq`, [resourceId]);
  return r.rows;
}

export const rawId = (gid: string) => Buffer.from(gid, 'base64').toString('utf8').split(':')[1]!;

/** Expects a typed error and no new row in `table`. */
export async function rejects(table: string, run: () => Promise<{ payload: Payload | null; errors?: unknown }>, typename: string, path?: string[]) {
  const before = await rows(table);
  const { payload, errors } = await run();
  expect(errors, JSON.stringify(errors)).toBeUndefined();
  expect(payload?.__typename, JSON.stringify(payload)).toBe(typename);
  if (path) expect(payload!.issues!.map((i) => i.path.join('.'))).toContain(path.join('.'));
  expect(await rows(table)).toBe(before);
  return payload!;
}

export const createLocal = (input: Record<string, unknown>, token = admin()) =>
  mutate(token, 'createLocalDestination', 'CreateLocalDestinationInput', input, DESTINATION);
export const createS3 = (input: Record<string, unknown>, token = admin()) => mutate(token, 'createS3Destination', 'CreateS3DestinationInput', input, DESTINATION);
export const testDest = (id: string, token = operator()) => mutate(token, 'testDestination', 'TestDestinationInput', { id }, DESTINATION);
export const s3Input = (over: Record<string, unknown> = {}) => ({
  name: `s3-${Math.random().toString(36).slice(2, 8)}`, endpoint: s3Endpoint, bucket: BUCKET, prefix: 'org/backups', accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, ...over,
});
