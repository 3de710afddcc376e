// "Every mutation writes its AuditEvent in the same transaction as the change" (DESIGN.md), checked
// for EVERY mutation in the schema: each is called by an OWNER with sample arguments aimed at the
// organization's own objects, and each one that changed any row of the organization must have
// added audit events of it (an idempotent no-op, like pausing a paused strategy, changes nothing
// and records nothing). New mutations are covered without editing this file.
import type pg from 'pg';
import type { GraphQLField } from 'graphql';
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

const auditCount = async () => (await superuser.query(`SELECT count(*)::int AS n FROM "AuditEvent" WHERE "orgId" = $1`, [org.id])).rows[0].n as number;

describe('every mutation', () => {
  it('that changes anything of its organization leaves an audit event of it', async () => {
    const mutations = Object.values(schema.getMutationType()!.getFields()) as Array<GraphQLField<unknown, unknown>>;
    const succeeded: string[] = [];
    const problems: string[] = [];
    for (const field of mutations) {
      let variables: Record<string, unknown>;
      try {
        variables = builder.buildInput(argsOf(field), field.name, true);
      } catch (err) {
        if (err instanceof Unbuildable) problems.push(err.message);
        else throw err;
        continue;
      }
      const before = await auditCount();
      const rowsBefore = await fingerprintOf(superuser, org.id, { exclude: ['AuditEvent'] });
      const r = await t.gql(org.users.OWNER.token, `mutation${argDecls(field)} { ${field.name}${argUses(field)} ${selectionFor(field)} }`, variables);
      const payload = r.data?.[field.name] as { __typename?: string } | null | undefined;
      if (!payload?.__typename?.endsWith('Success')) continue;
      succeeded.push(field.name);
      const changed = (await fingerprintOf(superuser, org.id, { exclude: ['AuditEvent'] })) !== rowsBefore;
      if (changed && (await auditCount()) <= before) problems.push(`${field.name} changed rows without an audit event`);
    }
    expect(problems).toEqual([]);
    // Enough of them really ran for the check to mean something.
    expect(succeeded.length, succeeded.join(', ')).toBeGreaterThanOrEqual(25);
  });
});
