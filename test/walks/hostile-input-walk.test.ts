// Walks EVERY query and mutation in the schema as an OWNER of the organization, aimed at its own objects,
// and feeds each input field, one at a time, values a careless or hostile client sends: empty and
// 100 000-character strings, NUL bytes, path and format tricks, extreme numbers, malformed ids,
// dates and big integers, huge lists. Every answer must be a typed error (or a success): never
// an unexpected, masked server error; a refused mutation changes no row of the organization
// (audit trail included); and the server must keep answering.
import {
  getNamedType, isInputObjectType, isListType, isNonNullType, isScalarType,
  type GraphQLField, type GraphQLInputType,
} from 'graphql';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema';
import type { TestApp, TestOrg } from '../support/app';
import { argDecls, argsOf, argumentBuilder, argUses, selectionFor, startOwnOrgWalk, Unbuildable } from '../support/schema-walk';
import { fingerprintOf } from '../support/fingerprint';

let t: TestApp;
let org: TestOrg;
let builder: ReturnType<typeof argumentBuilder>;
let superuser: pg.Client;
let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ t, org, builder, superuser, stop } = await startOwnOrgWalk());
});

afterAll(async () => {
  await stop?.();
});

const LONG = 'x'.repeat(100_000);

function hostileValues(type: GraphQLInputType): unknown[] {
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    const one = hostileValues(inner.ofType)[0];
    return [[], Array.from({ length: 1000 }, () => one)];
  }
  if (!isScalarType(inner)) return [];
  switch (inner.name) {
    case 'String':
      return ['', LONG, 'a\u0000b', '../../../etc/passwd', '%s%n${x}\'"; DROP TABLE x; --', '💥\u202e'];
    case 'Int':
      return [-1, 0, 2_147_483_647, -2_147_483_648];
    case 'Float':
      return [-1, 1e308];
    case 'ID':
      return ['', 'not-an-id', Buffer.from('Source:not-a-uuid').toString('base64'), LONG];
    case 'DateTime':
      return ['yesterday', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '1970-01-01T00:00:00Z'];
    case 'BigInt':
      return ['-1', '99999999999999999999999999', 'abc', '1.5'];
    case 'JSON':
      return [{ deep: LONG }, []];
    case 'Boolean':
      return [];
    default:
      return [];
  }
}

/** Every leaf path of the field's arguments (scalars and lists, inside input objects too). */
function leafPaths(args: Record<string, { type: GraphQLInputType; name: string }>, prefix: string[] = []): Array<{ path: string[]; type: GraphQLInputType }> {
  const out: Array<{ path: string[]; type: GraphQLInputType }> = [];
  for (const a of Object.values(args)) {
    const named = getNamedType(a.type);
    if (isInputObjectType(named) && !isListType(isNonNullType(a.type) ? a.type.ofType : a.type)) out.push(...leafPaths(named.getFields(), [...prefix, a.name]));
    else out.push({ path: [...prefix, a.name], type: a.type });
  }
  return out;
}

function withValue(base: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(base);
  let node = copy;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

describe('hostile input to every query and mutation', () => {
  it('gets typed errors, never an unexpected server error, and a refusal changes nothing', async () => {
    const fields = (kind: 'query' | 'mutation') =>
      Object.values((kind === 'query' ? schema.getQueryType() : schema.getMutationType())!.getFields()).map((f) => ({ kind, field: f as GraphQLField<unknown, unknown> }));
    const problems: string[] = [];
    let sent = 0;
    // node/nodes take any type's id: their hostile ids are covered by the ID values below through every other field.
    for (const { kind, field } of [...fields('query'), ...fields('mutation')].filter(({ field: f }) => f.name !== 'node' && f.name !== 'nodes')) {
      let base: Record<string, unknown>;
      try {
        // Optional fields too: each is a place for bad input.
        base = builder.buildInput(argsOf(field), field.name, false);
      } catch (err) {
        if (err instanceof Unbuildable) problems.push(err.message);
        else throw err;
        continue;
      }
      const query = `${kind}${argDecls(field)} { ${field.name}${argUses(field)} ${selectionFor(field)} }`;
      for (const { path, type } of leafPaths(argsOf(field))) {
        for (const value of hostileValues(type)) {
          const variables = withValue(base, path, value);
          const before = kind === 'mutation' ? await fingerprintOf(superuser, org.id) : '';
          const r = await t.gql(org.users.OWNER.token, query, variables);
          sent++;
          // Refused input changes nothing: no row of the organization, no audit event.
          const payload = r.data?.[field.name] as { __typename?: string } | null | undefined;
          const refused = (r.errors?.length ?? 0) > 0 || (payload?.__typename !== undefined && !payload.__typename.endsWith('Success'));
          if (kind === 'mutation' && refused && (await fingerprintOf(superuser, org.id)) !== before) {
            problems.push(`${field.name} ${path.join('.')}=${JSON.stringify(value).slice(0, 40)} was refused (${payload?.__typename ?? r.errors?.[0]?.message}) but changed rows`);
          }
          const unexpected = (r.errors ?? []).filter((e) => {
            const code = (e as { extensions?: { code?: string } }).extensions?.code;
            return code === 'INTERNAL_SERVER_ERROR' || /unexpected error/i.test(e.message);
          });
          if (unexpected.length) problems.push(`${field.name} ${path.join('.')}=${JSON.stringify(value).slice(0, 40)}: ${JSON.stringify(unexpected).slice(0, 300)}`);
          if (kind === 'mutation' && !r.errors?.length && r.data?.[field.name] == null) problems.push(`${field.name} ${path.join('.')}: no payload and no error`);
        }
      }
    }
    for (const id of hostileValues(schema.getType('ID') as GraphQLInputType) as string[]) {
      for (const [query, variables] of [[`query($id: ID!) { node(id: $id) { id } }`, { id }], [`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [id, id] }]] as const) {
        const r = await t.gql(org.users.OWNER.token, query, variables);
        if (r.errors?.some((e) => /unexpected error/i.test(e.message))) problems.push(`${query} ${id.slice(0, 40)}: ${JSON.stringify(r.errors).slice(0, 200)}`);
      }
    }
    expect(sent).toBeGreaterThan(300);
    expect(problems).toEqual([]);
    // Still serving.
    expect((await t.gql(org.users.OWNER.token, `{ viewer { role } }`)).data?.viewer).toEqual({ role: 'OWNER' });
  }, 240_000);

  it('refuses a NUL character anywhere with BAD_USER_INPUT naming where it is, and writes nothing', async () => {
    const sources = async () => (await t.gql<{ sources: { edges: unknown[] } }>(org.users.OWNER.token, `{ sources(first: 100) { edges { node { id } } } }`)).data!.sources.edges.length;
    const before = await sources();
    const byVariable = await t.gql(org.users.OWNER.token, `mutation($input: CreateDirectorySourceInput!) { createDirectorySource(input: $input) { __typename } }`, {
      input: { name: 'ok', path: '/srv/x', includeGlobs: ['a', 'b\u0000c'] },
    });
    expect(byVariable.errors).toMatchObject([{ message: expect.stringMatching(/^\$input\.includeGlobs\.1 contains a NUL/), extensions: { code: 'BAD_USER_INPUT' } }]);
    const byLiteral = await t.gql(org.users.OWNER.token, `mutation { createDirectorySource(input: { name: "a\\u0000b", path: "/srv/x" }) { __typename } }`);
    expect(byLiteral.errors).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT' } }]);
    expect(await sources()).toBe(before);
  });
});
