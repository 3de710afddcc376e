// This process's worker id and the advisory lock that says it is alive (see
// src/domain/backups/lost-workers.ts). The lock lives on a connection of its own, held until the
// workers stop: when the process dies, Postgres ends the session and frees the lock.
import os from 'node:os';
import pg from 'pg';
import type { Logger } from 'pino';
import { workerLockKey } from '../domain/backups/lost-workers';

export interface WorkerLock {
  workerId: string;
  host: string;
  /** False when another live session already holds this id's lock (a second startWorkers here). */
  held: boolean;
  release(): Promise<void>;
}

export function workerIdentity(): { host: string; workerId: string } {
  const host = os.hostname();
  return { host, workerId: `${host}:${process.pid}` };
}

export async function holdWorkerLock(databaseUrl: string, log: Logger): Promise<WorkerLock> {
  const { host, workerId } = workerIdentity();
  const client = new pg.Client({ connectionString: databaseUrl, application_name: `keepsake-worker ${workerId}` });
  // A lost connection (the server restarted) only loses the lock; the jobs carry on.
  client.on('error', (err) => log.warn({ err: err.message }, 'worker liveness connection lost'));
  await client.connect();
  const { rows } = await client.query<{ held: boolean }>(`SELECT pg_try_advisory_lock(${workerLockKey('$1')}) AS held`, [workerId]);
  const held = rows[0]!.held;
  return {
    workerId,
    host,
    held,
    release: async () => {
      await client.end().catch(() => undefined);
    },
  };
}
