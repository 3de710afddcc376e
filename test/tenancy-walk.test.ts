// Walks EVERY query and mutation in the schema as a member of org B, aimed at org A's objects.
// Each must answer "not found" (or show nothing of A) and change nothing of A. A field whose
// arguments this walker cannot build fails the test, so new fields are covered or noticed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  getNamedType, isEnumType, isInputObjectType, isListType, isNonNullType, isObjectType, isScalarType, isUnionType,
  type GraphQLField, type GraphQLInputType, type GraphQLInputField, type GraphQLArgument,
} from 'graphql';
import { schema } from '../src/graphql/schema';
import { startTestApp, type TestApp, type TestOrg } from './support/app';
import { seedOrgObjects } from './support/seed-objects';

let t: TestApp;
let orgA: TestOrg;
let orgB: TestOrg;
let idsOfA: Map<string, string[]>;
let superuser: pg.Client;

beforeAll(async () => {
  t = await startTestApp();
  orgA = await t.createOrg();
  orgB = await t.createOrg();
  idsOfA = await seedOrgObjects(t, orgA);
  await seedOrgObjects(t, orgB);
  superuser = new pg.Client({ connectionString: t.db.url });
  await superuser.connect();
});

afterAll(async () => {
  await superuser?.end();
  await t?.stop();
});

/** A fingerprint of every row org A owns, taken as superuser (bypassing RLS). */
async function fingerprintOf(orgId: string): Promise<string> {
  const tables = await superuser.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns WHERE table_schema='public' AND column_name='orgId' ORDER BY table_name`,
  );
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const r = await superuser.query(`SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS h, count(*) AS n FROM "${table_name}" t WHERE "orgId" = $1`, [orgId]);
    parts.push(`${table_name}:${r.rows[0].n}:${r.rows[0].h}`);
  }
  const org = await superuser.query(`SELECT md5(t::text) AS h FROM "Organization" t WHERE id = $1`, [orgId]);
  parts.push(`Organization:${org.rows[0].h}`);
  return parts.join('|');
}

const TYPE_BY_ID_FIELD: Record<string, string> = {
  membershipId: 'Membership', sourceId: 'Source', destinationId: 'Destination', destinationIds: 'Destination',
  retentionPolicyId: 'RetentionPolicy', strategyId: 'Strategy', recoveryPointId: 'RecoveryPoint', backupJobId: 'BackupJob',
  recoveryJobId: 'RecoveryJob', apiKeyId: 'ApiKey', channelId: 'NotificationChannel', verificationId: 'Verification',
};

/** The object type an `id` argument of this operation refers to: the longest type name in the operation name. */
function targetTypeOf(operation: string): string | undefined {
  const candidates = [...idsOfA.keys()].filter((name) => operation.toLowerCase().includes(name.toLowerCase()));
  return candidates.sort((a, b) => b.length - a.length)[0];
}

const SAMPLE_STRINGS: Array<[RegExp, string]> = [
  [/cron/i, '0 3 * * *'], [/timezone/i, 'UTC'], [/email/i, 'walker@example.com'], [/connectionurl/i, 'postgresql://u:p@127.0.0.1:1/db'],
  [/endpoint/i, 'http://127.0.0.1:1'], [/bucket/i, 'walk-bucket'], [/^path$/i, 'walk'], [/mmdd|peak(start|end)|season(start|end)/i, '01-01'],
  [/reason/i, 'walk'], [/confirm/i, 'walk'],
];

class Unbuildable extends Error {}

function sampleFor(name: string, type: GraphQLInputType, operation: string): unknown {
  if (isNonNullType(type)) return sampleFor(name, type.ofType, operation);
  if (isListType(type)) {
    const one = sampleFor(name.replace(/s$/, ''), type.ofType, operation);
    return name in TYPE_BY_ID_FIELD && Array.isArray(one) ? one : [one];
  }
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) return buildInput(type.getFields(), operation, true);
  if (isScalarType(type)) {
    if (type.name === 'ID') {
      const target = name === 'id' || name === 'ids' ? targetTypeOf(operation) : TYPE_BY_ID_FIELD[name] ?? TYPE_BY_ID_FIELD[`${name}s`];
      const ids = target ? idsOfA.get(target) : undefined;
      if (!ids?.length) throw new Unbuildable(`no org-A object for ID field "${name}" of ${operation}; add it to seedOrgObjects or TYPE_BY_ID_FIELD`);
      return ids[0];
    }
    if (type.name === 'String') return SAMPLE_STRINGS.find(([re]) => re.test(name))?.[1] ?? `walk-${name}`;
    if (type.name === 'Int') return 1;
    if (type.name === 'Float') return 1;
    if (type.name === 'Boolean') return /confirm/i.test(name);
    if (type.name === 'DateTime') return new Date(Date.now() + 86_400_000).toISOString();
    if (type.name === 'BigInt') return '1';
    if (type.name === 'JSON') return {};
  }
  throw new Unbuildable(`cannot build a value for ${name}: ${String(type)} in ${operation}`);
}

function buildInput(fields: Record<string, GraphQLInputField | GraphQLArgument>, operation: string, requiredOnly: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of Object.values(fields)) {
    const isId = getNamedType(f.type).name === 'ID';
    if (requiredOnly && !isNonNullType(f.type) && !isId) continue;
    out[f.name] = sampleFor(f.name, f.type, operation);
  }
  return out;
}

function referencesOrgA(value: unknown): boolean {
  const all = new Set([...idsOfA.values()].flat());
  const walk = (v: unknown): boolean =>
    typeof v === 'string' ? all.has(v) : Array.isArray(v) ? v.some(walk) : v && typeof v === 'object' ? Object.values(v).some(walk) : false;
  return walk(value);
}

function selectionFor(field: GraphQLField<unknown, unknown>): string {
  const named = getNamedType(field.type);
  if (isUnionType(named)) {
    const ok = named.getTypes().find((tp) => !tp.getInterfaces().some((i) => i.name === 'Error'));
    const okSel = ok && 'data' in ok.getFields() ? ` ... on ${ok.name} { data { __typename ${idSel(ok.getFields().data!.type)} } }` : '';
    return `{ __typename ... on Error { message code }${okSel} }`;
  }
  if (isObjectType(named)) {
    const f = named.getFields();
    if ('edges' in f) return '{ edges { node { id } } }';
    return `{ __typename ${'id' in f ? 'id' : ''} }`;
  }
  return '';
}

function idSel(type: unknown): string {
  const named = getNamedType(type as never);
  return isObjectType(named) && 'id' in named.getFields() ? 'id' : '';
}

function argDecls(field: GraphQLField<unknown, unknown>) {
  return field.args.length ? `(${field.args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ')})` : '';
}
function argUses(field: GraphQLField<unknown, unknown>) {
  return field.args.length ? `(${field.args.map((a) => `${a.name}: $${a.name}`).join(', ')})` : '';
}

describe('a member of org B aimed at org A', () => {
  it('has org A objects of every seeded type to aim at', () => {
    for (const type of ['Source', 'Destination', 'RetentionPolicy', 'Strategy', 'Membership', 'ApiKey', 'AuditEvent']) {
      expect(idsOfA.get(type)?.length, type).toBeGreaterThan(0);
    }
  });

  it('reads nothing of org A through any query', async () => {
    const queryFields = Object.values(schema.getQueryType()!.getFields());
    expect(queryFields.length).toBeGreaterThan(5);
    const allA = new Set([...idsOfA.values()].flat());
    for (const field of queryFields) {
      if (field.name === 'node') {
        for (const id of allA) {
          const r = await t.gql(orgB.users.OWNER.token, `query($id: ID!) { node(id: $id) { id } }`, { id });
          expect(r.data?.node ?? null, `node(${id})`).toBeNull();
        }
        continue;
      }
      if (field.name === 'nodes') {
        const r = await t.gql(orgB.users.OWNER.token, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [...allA] });
        expect(r.errors, field.name).toBeUndefined();
        expect((r.data!.nodes as unknown[]).every((n) => n === null), field.name).toBe(true);
        continue;
      }
      const variables = buildInput(Object.fromEntries(field.args.map((a) => [a.name, a])), field.name, true);
      const r = await t.gql(orgB.users.OWNER.token, `query${argDecls(field)} { ${field.name}${argUses(field)} ${selectionFor(field)} }`, variables);
      const json = JSON.stringify(r.data ?? {});
      for (const id of allA) expect(json.includes(id), `${field.name} leaked ${id}`).toBe(false);
      if (referencesOrgA(variables) && r.data) {
        const value = r.data[field.name] as { __typename?: string } | null;
        expect(value === null || value.__typename === 'NotFoundError' || (r.errors?.length ?? 0) > 0, `${field.name} answered for an org-A id`).toBe(true);
      }
    }
  });

  it('changes nothing of org A through any mutation, and gets not-found for its ids', async () => {
    const mutationFields = Object.values(schema.getMutationType()!.getFields());
    expect(mutationFields.length).toBeGreaterThan(10);
    const before = await fingerprintOf(orgA.id);
    const problems: string[] = [];
    for (const field of mutationFields) {
      let variables: Record<string, unknown>;
      try {
        variables = buildInput(Object.fromEntries(field.args.map((a) => [a.name, a])), field.name, true);
      } catch (err) {
        if (err instanceof Unbuildable) problems.push(err.message);
        else throw err;
        continue;
      }
      const r = await t.gql(orgB.users.OWNER.token, `mutation${argDecls(field)} { ${field.name}${argUses(field)} ${selectionFor(field)} }`, variables);
      const json = JSON.stringify(r.data ?? {});
      for (const id of new Set([...idsOfA.values()].flat())) {
        if (json.includes(id)) problems.push(`${field.name} returned org-A id ${id}`);
      }
      if (referencesOrgA(variables)) {
        const value = r.data?.[field.name] as { __typename?: string } | undefined;
        if (value?.__typename !== 'NotFoundError') problems.push(`${field.name} with org-A ids answered ${JSON.stringify(r.data ?? r.errors)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(await fingerprintOf(orgA.id)).toBe(before);
  });
});
