// The HTTP surface: health and readiness, masking of unexpected errors with a request id, and
// subscriptions over SSE and graphql-ws, fed by events published through Postgres NOTIFY.
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDb } from '../../src/db/client';
import { MIGRATIONS_DIR } from '../../src/db/migrate';
import { EventBus, type JobEvent } from '../../src/events/bus';
import { schema } from '../../src/graphql/schema';
import { buildApp } from '../../src/http/server';
import type { AppServices } from '../../src/services';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { createEmptyDatabase } from '../support/db';
import { seedOrgObjects } from '../support/seed-objects';
import { rawId, superuser } from '../support/foundation';
import { sseSubscribe, wsSubscribe, type Stream, type StreamResult } from '../support/streams';

let t: TestApp;
let orgA: TestOrg;
let orgB: TestOrg;
let jobOfA: string;
let jobOfB: string;
let publisher: pg.Client;

beforeAll(async () => {
  t = await startTestApp();
  orgA = await t.createOrg();
  orgB = await t.createOrg();
  jobOfA = (await seedOrgObjects(t, orgA)).get('BackupJob')![0]!;
  jobOfB = (await seedOrgObjects(t, orgB)).get('BackupJob')![0]!;
  publisher = await superuser(t);
});

afterAll(async () => {
  await publisher?.end();
  await t?.stop();
});

const origin = () => new URL(t.url).origin;

/** Another app on the same code, with some services replaced, on its own port. */
async function appWith(services: Partial<AppServices>) {
  const app = buildApp({ ...t.services, ...services }, schema);
  const { url } = await app.start(0, '127.0.0.1');
  return { origin: new URL(url).origin, stop: () => app.stop() };
}

describe('health', () => {
  it('/healthz answers 200', async () => {
    const res = await fetch(`${origin()}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 when the database answers and every migration is applied', async () => {
    const res = await fetch(`${origin()}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, database: 'ok', pendingMigrations: [] });
  });

  it('/readyz answers 503 when the database is unreachable', async () => {
    const db = createDb('postgresql://nobody:nothing@127.0.0.1:1/none', { max: 1 });
    const other = await appWith({ db });
    try {
      const res = await fetch(`${other.origin}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ ready: false, database: 'unreachable' });
    } finally {
      await other.stop();
      await db.$disconnect().catch(() => undefined);
    }
  });

  it('/readyz answers 503 and names the pending migrations on a database not migrated yet', async () => {
    const empty = await createEmptyDatabase();
    const db = createDb(empty.url, { max: 1 });
    const other = await appWith({ db, databaseUrl: empty.url });
    try {
      const res = await fetch(`${other.origin}/readyz`);
      expect(res.status).toBe(503);
      const all = readdirSync(MIGRATIONS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
      expect(await res.json()).toEqual({ ready: false, database: 'ok', pendingMigrations: all });
    } finally {
      await other.stop();
      await db.$disconnect();
      await empty.drop();
    }
  });
});

describe('unexpected errors', () => {
  const SOURCES = `{ sources(first: 5) { edges { node { id name } } } }`;

  async function withBrokenSources<T>(fn: () => Promise<T>): Promise<T> {
    // A fault the API cannot expect: the tenant role loses its read right on one table.
    const su = await superuser(t);
    await su.query(`REVOKE SELECT ON "Source" FROM keepsake_app`);
    try {
      return await fn();
    } finally {
      await su.query(`GRANT SELECT ON "Source" TO keepsake_app`);
      await su.end();
    }
  }

  it('are masked, carry the request id in the extensions and the header, and are logged with it', async () => {
    const logged = vi.spyOn(t.services.log, 'error');
    try {
      await withBrokenSources(async () => {
        const r = await t.gql(orgA.users.VIEWER.token, SOURCES, {}, { 'x-request-id': 'req-mask-7' });
        expect(r.errors).toHaveLength(1);
        expect(r.errors![0]!.message).toBe('Unexpected error.');
        expect(r.errors![0]!.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: 'req-mask-7' });
        expect(JSON.stringify(r.errors)).not.toMatch(/permission|denied|keepsake_app|prisma|"Source"/i);
        expect(r.headers.get('x-request-id')).toBe('req-mask-7');
        expect(logged.mock.calls.some(([obj]) => (obj as { requestId?: string }).requestId === 'req-mask-7')).toBe(true);

        // Without a usable request id of its own, the caller gets a fresh one, the same in both places.
        const unusable: Array<Record<string, string>> = [{}, { 'x-request-id': 'spaces are not allowed' }, { 'x-request-id': 'x'.repeat(200) }];
        for (const headers of unusable) {
          const again = await t.gql(orgA.users.VIEWER.token, SOURCES, {}, headers);
          const id = again.headers.get('x-request-id');
          expect(id).toMatch(/^[0-9a-f-]{36}$/);
          expect(again.errors![0]!.extensions!.requestId).toBe(id);
        }
      });
    } finally {
      logged.mockRestore();
    }
    // The fault is gone: the same query works again.
    expect((await t.gql(orgA.users.VIEWER.token, SOURCES)).errors).toBeUndefined();
  });

  it('while authenticating (database down) are a masked server error, not a 401', async () => {
    const db = createDb('postgresql://nobody:nothing@127.0.0.1:1/none', { max: 1 });
    const other = await appWith({ db });
    try {
      for (const token of [orgA.users.OWNER.token, `ks_${'A'.repeat(12)}_${'B'.repeat(43)}`]) {
        const res = await fetch(`${other.origin}/graphql`, {
          method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': 'req-db-down' },
          body: JSON.stringify({ query: '{ viewer { label } }' }),
        });
        expect(res.status).toBe(500);
        const body = await res.text();
        expect(JSON.parse(body)).toEqual({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-db-down' } }] });
      }
    } finally {
      await other.stop();
      await db.$disconnect().catch(() => undefined);
    }
  });

  it('do not hide expected failures: a typed error keeps its message', async () => {
    const r = await t.gql(orgA.users.VIEWER.token, `mutation { createDirectorySource(input: { name: "x", path: "/srv/x" }) { __typename ... on Error { message code } } }`);
    expect(r.data?.createDirectorySource).toEqual({ __typename: 'ForbiddenError', message: 'Your role does not allow this', code: 'FORBIDDEN' });
    expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

const JOB_EVENTS = `subscription { jobEvents { kind jobId status percent } }`;
type Subscribe = (url: string, token: string | null, query: string, variables?: Record<string, unknown>) => Stream | Promise<Stream>;

function publish(event: Omit<JobEvent, 'at'>) {
  return EventBus.publish((sql, params) => publisher.query(sql, params), event);
}

/**
 * Publishes until the subscriber receives something (a subscription may need a moment to be
 * live). Another org's event always goes out first, so had it leaked it would arrive first.
 */
async function receiveOwnEvent(stream: Stream, own: Omit<JobEvent, 'at'>, foreign: Omit<JobEvent, 'at'>): Promise<StreamResult> {
  for (let attempt = 0; ; attempt++) {
    await publish(foreign);
    await publish(own);
    try {
      return await stream.results.next(1_000);
    } catch (err) {
      if (attempt >= 15) throw err;
    }
  }
}

for (const [transport, subscribe] of [['SSE', sseSubscribe], ['graphql-ws', wsSubscribe]] as Array<[string, Subscribe]>) {
  describe(`subscriptions over ${transport}`, () => {
    it("delivers the org's job events and never another org's", async () => {
      const stream = await subscribe(t.url, orgA.users.VIEWER.token, JOB_EVENTS);
      try {
        const first = await receiveOwnEvent(stream, { orgId: orgA.id, kind: 'BACKUP', id: rawId(jobOfA), status: 'RUNNING', percent: 10 },
          { orgId: orgB.id, kind: 'BACKUP', id: rawId(jobOfB), status: 'RUNNING', percent: 66 });
        expect(first).toEqual({ data: { jobEvents: { kind: 'BACKUP', jobId: jobOfA, status: 'RUNNING', percent: 10 } } });
        // Once live: B's event, then A's; only A's arrives.
        await publish({ orgId: orgB.id, kind: 'BACKUP', id: rawId(jobOfB), status: 'FAILED' });
        await publish({ orgId: orgA.id, kind: 'BACKUP', id: rawId(jobOfA), status: 'SUCCEEDED', percent: 100 });
        const last = await stream.results.next(10_000, (r) => (r.data?.jobEvents as { status?: string } | undefined)?.status === 'SUCCEEDED');
        expect(last.data?.jobEvents).toMatchObject({ jobId: jobOfA, percent: 100 });
        const all = stream.results.drain();
        expect(JSON.stringify(all)).not.toContain(jobOfB);
        expect(all.every((r) => (r.data?.jobEvents as { jobId: string }).jobId === jobOfA)).toBe(true);
      } finally {
        await stream.close();
      }
    });

    it("follows one of the org's own jobs, re-read from the database", async () => {
      const stream = await subscribe(t.url, orgA.users.VIEWER.token, `subscription($id: ID!) { backupJobUpdated(id: $id) { id status } }`, { id: jobOfA });
      try {
        const r = await receiveOwnEvent(stream, { orgId: orgA.id, kind: 'BACKUP', id: rawId(jobOfA), status: 'RUNNING' },
          { orgId: orgB.id, kind: 'BACKUP', id: rawId(jobOfB), status: 'RUNNING' });
        // The row's status, not the event's: the resolver reads the job through the tenant client.
        expect(r).toEqual({ data: { backupJobUpdated: { id: jobOfA, status: 'RUNNING' } } });
      } finally {
        await stream.close();
      }
    });

    it("answers not found for another org's job, and refuses anonymous or badly authenticated subscribers", async () => {
      for (const [token, query, variables, code] of [
        [orgA.users.OWNER.token, `subscription($id: ID!) { backupJobUpdated(id: $id) { id status } }`, { id: jobOfB }, 'NOT_FOUND'],
        [null, JOB_EVENTS, {}, 'UNAUTHENTICATED'],
        ['not.a.jwt', JOB_EVENTS, {}, 'UNAUTHENTICATED'],
        [`ks_${'A'.repeat(12)}_${'B'.repeat(43)}`, JOB_EVENTS, {}, 'UNAUTHENTICATED'],
      ] as const) {
        const stream = await subscribe(t.url, token, query, variables);
        try {
          const r = await stream.results.next(10_000);
          expect(r.errors?.[0]?.extensions?.code, JSON.stringify(r)).toBe(code);
          if (token) expect(JSON.stringify(r)).not.toContain(token);
          expect(r.data ?? null).toBeNull();
          await publish({ orgId: orgB.id, kind: 'BACKUP', id: rawId(jobOfB), status: 'RUNNING' });
          await expect(stream.results.next(500)).rejects.toThrow();
        } finally {
          await stream.close();
        }
      }
    });
  });
}
