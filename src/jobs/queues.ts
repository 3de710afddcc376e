// Every queue in one place: payload schema, retry, backoff, expiry and dead letter. Payloads
// are validated when a job runs, because queued data may have been written by older code.
import { z } from 'zod';
import type { Queue } from 'pg-boss';

export const BOSS_SCHEMA = 'pgboss';

const uuid = z.string().uuid();

export const queues = {
  backup: {
    name: 'backup',
    payload: z.object({ backupJobId: uuid, orgId: uuid, strategyId: uuid }),
    options: {
      // One active run per strategy (singletonKey = strategy id), any number waiting.
      policy: 'singleton',
      retryLimit: 2,
      retryDelay: 10,
      retryBackoff: true,
      retryDelayMax: 600,
      expireInSeconds: 6 * 3600,
      // A worker killed mid-run stops sending heartbeats: the job is retried or failed
      // within this many seconds instead of waiting out the expiry.
      heartbeatSeconds: Number(process.env.KEEPSAKE_HEARTBEAT_SECONDS ?? 30),
      deadLetter: 'backup-dead',
    } satisfies Omit<Queue, 'name'>,
  },
  backupDead: {
    name: 'backup-dead',
    payload: z.object({ backupJobId: uuid, orgId: uuid, strategyId: uuid }),
    options: { retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds: 300 } satisfies Omit<Queue, 'name'>,
  },
  schedulerTick: {
    name: 'scheduler-tick',
    payload: z.object({}).passthrough(),
    // Missing a tick is harmless (the next one catches up), so never retry a stale one.
    options: { policy: 'singleton', retryLimit: 0, expireInSeconds: 120 } satisfies Omit<Queue, 'name'>,
  },
  sweep: {
    name: 'sweep',
    payload: z.object({}).passthrough(),
    options: { policy: 'singleton', retryLimit: 0, expireInSeconds: 900 } satisfies Omit<Queue, 'name'>,
  },
} as const;

export type BackupPayload = z.infer<typeof queues.backup.payload>;
