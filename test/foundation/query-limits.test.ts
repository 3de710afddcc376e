// What one document may ask for (GRAPHQL_MAX_* settings, README "Query limits"): the README's own
// examples and the dashboard fit in the defaults; a self-nesting query, 5,000 aliases of a
// database field and a 2 MB document are refused before anything reaches the database.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
// Subscriptions stream: their limits are checked the same way, but over POST they never end.
const examples = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((e) => !e.trim().startsWith('subscription'));

/** The dashboard overview the dashboard-queries test guards, with everything it shows. */
const DASHBOARD = /* GraphQL */ `{
  backupHealth { lastSuccessfulBackupAt runningJobs missedLast24h failingStrategyIds nextRunAt }
  backupStats { count totalStoredBytes averageStoredBytes oldestAt newestAt }
  strategies(first: 50) { edges { node { id name status nextRunAt lastRunAt
    source { name kind } destinations { name } retentionPolicy { name }
    latestJobs(first: 3) { id status phase percent etaSeconds startedAt finishedAt durationMs }
    missedRuns { slotAt reason }
    recoveryPoints(first: 3) { totalCount pageInfo { hasNextPage endCursor }
      edges { node { id takenAt storedBytes verifiedAt artifacts { sizeBytes status destination { name } } } } } } } }
}`;

let t: TestApp;
let org: TestOrg;
let statements = 0;

beforeAll(async () => {
  t = await startTestApp({}, { logQueries: true });
  t.services.db.$on('query', () => statements++);
  org = await t.createOrg();
});

afterAll(async () => {
  await t?.stop();
});


/** Sends a document and returns its errors' codes and messages, and the statements it cost after authentication. */
async function send(query: string) {
  const before = statements;
  const r = await t.gql(org.users.OWNER.token, query);
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { r, messages: (r.errors ?? []).map((e) => `${String(e.extensions?.code)}: ${e.message}`), statements: statements - before };
}

function selfNesting(levels: number, first: number): string {
  let inner = 'id';
  for (let i = 0; i < levels; i++) inner = `recoveryPoints(first: ${first}) { edges { node { strategy { ${inner} } } } }`;
  return `{ ${inner} }`;
}

describe('query limits', () => {
  it.each(examples.map((e, i) => [i + 1, e] as const))('README example %i fits in the default limits', async (_n, source) => {
    const { messages } = await send(source);
    expect(messages.filter((m) => /QUERY_TOO_COMPLEX|limit|exceed/i.test(m))).toEqual([]);
  });

  it('the full dashboard of 50 strategies fits in the default limits', async () => {
    const { r } = await send(DASHBOARD);
    expect(r.errors).toBeUndefined();
    const tight = await send(DASHBOARD.replace('strategies(first: 50)', 'strategies(first: 100)'));
    // …with little room to spare: twice as many strategies per page are refused.
    expect(tight.r.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses a self-nesting query by cost before it reaches the database', async () => {
    const { r, statements: ran } = await send(selfNesting(3, 100));
    expect(r.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(r.data ?? null).toBeNull();
    // Authentication only (one system transaction: set_config, lookup, COMMIT).
    expect(ran).toBeLessThanOrEqual(3);
  });

  it('refuses a query nested deeper than GRAPHQL_MAX_DEPTH even with tiny pages', async () => {
    const { r } = await send(selfNesting(8, 1));
    expect(r.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(r.errors?.[0]?.extensions?.limit).toBe('depth');
  });

  it('refuses 5,000 aliases of a database field', async () => {
    const aliases = Array.from({ length: 5000 }, (_, i) => `a${i}: sources(first: 1) { edges { node { id } } }`).join(' ');
    const { r, statements: ran } = await send(`{ ${aliases} }`);
    expect(r.errors?.length).toBeGreaterThan(0);
    expect(r.data ?? null).toBeNull();
    expect(ran).toBeLessThanOrEqual(3);
  });

  it('refuses a 2 MB document before parsing it', async () => {
    const fields = Array.from({ length: 110_000 }, () => '__typename').join(' ');
    const { r } = await send(`{ ${fields} }`);
    expect(r.errors?.[0]?.message).toMatch(/token/i);
    expect(r.data ?? null).toBeNull();
  });

  it('the limits are configuration', async () => {
    const strict = await startTestApp({ GRAPHQL_MAX_COST: '10' });
    try {
      const o = await strict.createOrg();
      const r = await strict.gql(o.users.VIEWER.token, '{ strategies(first: 20) { edges { node { name } } } }');
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'complexity' });
    } finally {
      await strict.stop();
    }
  });
});

