// Walks EVERY query and mutation in the schema as a member of org B, aimed at org A's objects.
// Each must answer "not found" (or show nothing of A) and change nothing of A. A field whose
// arguments this walker cannot build fails the test, so new fields are covered or noticed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { schema } from '../../src/graphql/schema';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { argDecls, argUses, argsOf, argumentBuilder, selectionFor, Unbuildable } from '../support/schema-walk';
import { fingerprintOf } from '../support/fingerprint';
import { seedOrgObjects } from '../support/seed-objects';

let t: TestApp;
let orgA: TestOrg;
let orgB: TestOrg;
let idsOfA: Map<string, string[]>;
let superuser: pg.Client;
let buildInput: ReturnType<typeof argumentBuilder>['buildInput'];

beforeAll(async () => {
  t = await startTestApp();
  orgA = await t.createOrg();
  orgB = await t.createOrg();
  idsOfA = await seedOrgObjects(t, orgA);
  ({ buildInput } = argumentBuilder(idsOfA));
  await seedOrgObjects(t, orgB);
  superuser = new pg.Client({ connectionString: t.db.url });
  await superuser.connect();
});

afterAll(async () => {
  await superuser?.end();
  await t?.stop();
});

function referencesOrgA(value: unknown): boolean {
  const all = new Set([...idsOfA.values()].flat());
  const walk = (v: unknown): boolean =>
    typeof v === 'string' ? all.has(v) : Array.isArray(v) ? v.some(walk) : v && typeof v === 'object' ? Object.values(v).some(walk) : false;
  return walk(value);
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
      const variables = buildInput(argsOf(field), field.name, true);
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
    const before = await fingerprintOf(superuser, orgA.id);
    const problems: string[] = [];
    for (const field of mutationFields) {
      let variables: Record<string, unknown>;
      try {
        variables = buildInput(argsOf(field), field.name, true);
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
    expect(await fingerprintOf(superuser, orgA.id)).toBe(before);
  });
});
