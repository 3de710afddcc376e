// A restore into an existing database that is cancelled while pg_restore waits on a lock: the
// restore stops, is recorded CANCELLED, live updates arrive over recoveryJobUpdated, and the
// target keeps exactly the data it had (the restore runs in one transaction).
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startWorkers, type Workers } from '../../src/jobs/runtime';
import { CancelRecoveryJobDocument, RecoveryJobUpdatedDocument, RestoreRecoveryPointDocument } from '../generated/graphql';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { backupFlow, ok, poll } from '../support/backup-flow';
import { createEmptyDatabase, queryOnce, type TestDatabase } from '../support/db';

let t: TestApp;
let org: TestOrg;
let source: TestDatabase;
let target: TestDatabase;
let workers: Workers;

const query = (url: string, sql: string) => queryOnce(url, sql);

beforeAll(async () => {
  t = await startTestApp();
  org = await t.createOrg();
  source = await createEmptyDatabase();
  target = await createEmptyDatabase();
  const schema = `CREATE TABLE notes (id int PRIMARY KEY, body text);`;
  await query(source.url, `${schema} INSERT INTO notes SELECT g, 'from the backup ' || g FROM generate_series(1, 500) g;`);
  await query(target.url, `${schema} INSERT INTO notes VALUES (1, 'only in the target');`);
  workers = await startWorkers(t.services);
});

afterAll(async () => {
  await workers?.stop();
  await t?.stop();
  await source?.drop();
  await target?.drop();
});

it('cancels a running restore, streams its updates, and leaves the existing database as it was', async () => {
  const flow = backupFlow(t, org);
  const strategyId = await flow.strategy('notes', await flow.postgresSource('notes', source.url), [await flow.localDestination('notes')]);
  const pointId = (await flow.backup(strategyId)).recoveryPoint!.id;

  // pg_restore --clean must drop `notes` first, and waits for this lock.
  const holder = new pg.Client({ connectionString: target.url });
  await holder.connect();
  await holder.query('BEGIN; LOCK TABLE notes IN ACCESS SHARE MODE');
  const client = createClient({ url: t.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${org.users.VIEWER.token}` }, retryAttempts: 0 });
  try {
    const operator = org.users.OPERATOR.token;
    const started = await ok(t.request(operator, RestoreRecoveryPointDocument, {
      input: { recoveryPointId: pointId, targetKind: 'EXISTING_DATABASE', connectionUrl: target.url, confirmOverwrite: true },
    }), 'restoreRecoveryPoint');
    const jobId = started.data!.id;
    const seen: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      client.subscribe({ query: print(RecoveryJobUpdatedDocument), variables: { id: jobId } }, {
        next: (m) => {
          const e = (m.data as { recoveryJobUpdated?: { status: string } } | undefined)?.recoveryJobUpdated;
          if (!e) return reject(new Error(JSON.stringify(m.errors)));
          seen.push(e.status);
          if (e.status === 'CANCELLED' || e.status === 'SUCCEEDED' || e.status === 'FAILED') resolve();
        },
        error: reject,
        complete: () => undefined,
      });
    });
    // Wait until pg_restore is really blocked on our lock.
    const blocked = () => query(source.adminUrl, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '${target.name}' AND wait_event_type = 'Lock'`);
    await poll(blocked, (r) => r.rows[0].n > 0, () => 'pg_restore never waited for the lock', 30_000);

    await ok(t.request(operator, CancelRecoveryJobDocument, { id: jobId }), 'cancelRecoveryJob');
    const done = await flow.waitForRestore(jobId, 30_000);
    expect(done.status).toBe('CANCELLED');
    await Promise.race([ended, new Promise((_, rej) => setTimeout(() => rej(new Error(`no final event: ${seen.join(',')}`)), 5000))]);
    expect(seen).toContain('RUNNING');
    expect(seen.at(-1)).toBe('CANCELLED');
    await poll(blocked, (r) => r.rows[0].n === 0, () => 'pg_restore still waiting after the cancel', 15_000);
  } finally {
    await holder.query('ROLLBACK');
    await holder.end();
    await client.dispose();
  }
  const rows = (await query(target.url, 'SELECT id, body FROM notes ORDER BY id')).rows;
  expect(rows).toEqual([{ id: 1, body: 'only in the target' }]);
});
