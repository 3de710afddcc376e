// Every queue in one place: payload schema, retry, backoff, expiry and dead letter. Payloads
// are validated when a job runs, because queued data may have been written by older code.
import { z } from 'zod';
import type { Queue } from 'pg-boss';

export const BOSS_SCHEMA = 'pgboss';

const uuid = z.string().uuid();

/**
 * Queues whose jobs run long send heartbeats; this is their default interval. startBoss applies
 * the configured JOB_HEARTBEAT_SECONDS instead, to new and existing queues alike.
 */
export const HEARTBEAT_SECONDS = 30;

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
      // within the heartbeat interval instead of waiting out the expiry.
      heartbeatSeconds: HEARTBEAT_SECONDS,
      deadLetter: 'backup-dead',
    } satisfies Omit<Queue, 'name'>,
  },
  backupDead: {
    name: 'backup-dead',
    payload: z.object({ backupJobId: uuid, orgId: uuid, strategyId: uuid }),
    options: { retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds: 300 } satisfies Omit<Queue, 'name'>,
  },
  restore: {
    name: 'restore',
    payload: z.object({ recoveryJobId: uuid, orgId: uuid }),
    options: {
      // A restore writes into a target: a blind retry could fight a half-restored database, so
      // only a lost worker (no heartbeat) is retried; restore failures are reported, not repeated.
      retryLimit: 1,
      retryDelay: 10,
      expireInSeconds: 6 * 3600,
      heartbeatSeconds: HEARTBEAT_SECONDS,
      deadLetter: 'restore-dead',
    } satisfies Omit<Queue, 'name'>,
  },
  restoreDead: {
    name: 'restore-dead',
    payload: z.object({ recoveryJobId: uuid, orgId: uuid }),
    options: { retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds: 300 } satisfies Omit<Queue, 'name'>,
  },
  verify: {
    name: 'verify',
    payload: z.object({ verificationId: uuid, orgId: uuid }),
    options: { policy: 'singleton', retryLimit: 1, retryDelay: 30, expireInSeconds: 6 * 3600, heartbeatSeconds: HEARTBEAT_SECONDS } satisfies Omit<Queue, 'name'>,
  },
  retention: {
    name: 'retention',
    payload: z.object({}).passthrough(),
    // Deletions that failed stay marked and are retried by the next run, not by the queue.
    options: { policy: 'singleton', retryLimit: 0, expireInSeconds: 1800 } satisfies Omit<Queue, 'name'>,
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
  alertDelivery: {
    name: 'alert-delivery',
    payload: z.object({ deliveryId: uuid, orgId: uuid }),
    options: {
      // One attempt at a time per delivery (singletonKey = delivery id): a slow receiver that
      // finally answers 2xx is never sent the same message again by an overlapping retry.
      policy: 'singleton',
      // A receiver that is down is retried with exponential backoff for about an hour
      // (30 s doubling, at most 20 min apart: ~1 h over 7 retries), then the dead letter.
      retryLimit: 7,
      retryDelay: 30,
      retryBackoff: true,
      retryDelayMax: 1200,
      // An attempt is bounded by NOTIFY_TIMEOUT_SECONDS; this only catches a lost worker.
      expireInSeconds: 120,
      deadLetter: 'alert-delivery-dead',
    } satisfies Omit<Queue, 'name'>,
  },
  alertDeliveryDead: {
    name: 'alert-delivery-dead',
    payload: z.object({ deliveryId: uuid, orgId: uuid }),
    options: { retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds: 300 } satisfies Omit<Queue, 'name'>,
  },
  alertTick: {
    name: 'alert-tick',
    payload: z.object({}).passthrough(),
    // Every minute: escalations, RPO and stuck-deletion checks, daily digests. A missed tick is
    // caught up by the next one, so a stale one is never retried.
    options: { policy: 'singleton', retryLimit: 0, expireInSeconds: 120 } satisfies Omit<Queue, 'name'>,
  },
} as const;

export type BackupPayload = z.infer<typeof queues.backup.payload>;

/** Creation order: a queue can only name a dead-letter queue that already exists. */
export const QUEUE_CREATION_ORDER = [
  queues.backupDead, queues.backup, queues.restoreDead, queues.restore, queues.verify, queues.retention, queues.schedulerTick, queues.sweep,
  queues.alertDeliveryDead, queues.alertDelivery, queues.alertTick,
] as const;
