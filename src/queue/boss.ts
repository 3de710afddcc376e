// pg-boss in its own schema of the application database.
import { PgBoss } from 'pg-boss';
import { BOSS_SCHEMA, HEARTBEAT_SECONDS, QUEUE_CREATION_ORDER } from './queues';

export interface BossOptions {
  schedule?: boolean;
  supervise?: boolean;
  superviseSeconds?: number;
  /** Heartbeat interval of the long-running queues (HEARTBEAT_SECONDS by default). */
  heartbeatSeconds?: number;
}

export async function startBoss(url: string, opts: BossOptions = {}): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: url,
    schema: BOSS_SCHEMA,
    schedule: opts.schedule ?? true,
    supervise: opts.supervise ?? true,
    // Lost workers are noticed on the supervise pass: how soon a killed backup is retried.
    superviseIntervalSeconds: opts.superviseSeconds ?? 60,
    monitorIntervalSeconds: opts.superviseSeconds ?? 60,
    // Each process caches the queues' rows, including which singleton keys (strategies) are
    // running, and skips those keys when fetching. With pg-boss's 60 s default, a retry of a job
    // whose worker died, or the next run of a strategy, waited up to a minute in processes that
    // saw the old run active; the monitor pass above refreshes the rows, this re-reads them.
    queueCacheIntervalSeconds: Math.min(opts.superviseSeconds ?? 60, 10),
    max: 5,
  });
  await boss.start();
  const heartbeatSeconds = opts.heartbeatSeconds ?? HEARTBEAT_SECONDS;
  for (const q of QUEUE_CREATION_ORDER) {
    const beats = 'heartbeatSeconds' in q.options;
    const existing = await boss.getQueue(q.name);
    if (!existing) await boss.createQueue(q.name, beats ? { ...q.options, heartbeatSeconds } : q.options);
    // Queue options live in the database: a changed setting must reach queues created earlier.
    else if (beats && existing.heartbeatSeconds !== heartbeatSeconds) await boss.updateQueue(q.name, { heartbeatSeconds });
  }
  return boss;
}
