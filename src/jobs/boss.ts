// pg-boss in its own schema of the application database.
import { PgBoss } from 'pg-boss';
import { BOSS_SCHEMA, QUEUE_CREATION_ORDER } from './queues';

export async function startBoss(url: string, opts: { schedule?: boolean; supervise?: boolean; superviseSeconds?: number } = {}): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: url,
    schema: BOSS_SCHEMA,
    schedule: opts.schedule ?? true,
    supervise: opts.supervise ?? true,
    // Lost workers are noticed on the supervise pass: how soon a killed backup is retried.
    superviseIntervalSeconds: opts.superviseSeconds ?? 60,
    monitorIntervalSeconds: opts.superviseSeconds ?? 60,
    max: 5,
  });
  await boss.start();
  for (const q of QUEUE_CREATION_ORDER) {
    const existing = await boss.getQueue(q.name);
    if (!existing) await boss.createQueue(q.name, q.options);
  }
  return boss;
}
