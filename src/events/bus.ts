// Typed pub/sub over Postgres LISTEN/NOTIFY: a worker in one process publishes, subscribers
// connected to any API process receive. Events carry ids and small deltas only (NOTIFY
// payloads are limited to 8000 bytes); subscription resolvers re-read rows when they need more.
import pg from 'pg';
import type { Logger } from '../logger';

export const EVENTS_CHANNEL = 'keepsake_events';

export type JobKind = 'BACKUP' | 'RECOVERY' | 'VERIFICATION';

/** Alerts travel on the same channel (alertUpdated); jobEvents leaves them out. */
export type EventKind = JobKind | 'ALERT';

export interface JobEvent {
  orgId: string;
  kind: EventKind;
  /** Row id of the BackupJob / RecoveryJob / Verification (or Alert). */
  id: string;
  status?: string;
  phase?: string | null;
  bytesDone?: string;
  bytesTotal?: string | null;
  percent?: number | null;
  etaSeconds?: number | null;
  error?: string | null;
  /** Publish time (ms since epoch), for latency measurement. */
  at: number;
}

type Listener = (e: JobEvent) => void;

export class EventBus {
  private client: pg.Client | undefined;
  private readonly listeners = new Set<Listener>();
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly url: string, private readonly log: Logger) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (msg) => {
      if (msg.channel !== EVENTS_CHANNEL || !msg.payload) return;
      let event: JobEvent;
      try {
        event = JSON.parse(msg.payload) as JobEvent;
      } catch {
        return;
      }
      for (const l of this.listeners) l(event);
    });
    // A dropped listener connection must not silently stop live progress: reconnect.
    client.on('error', (err) => {
      this.log.warn({ err: err.message }, 'event listener connection lost; reconnecting');
      this.scheduleReconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    this.client = client;
  }

  private scheduleReconnect() {
    if (this.stopped || this.reconnectTimer) return;
    this.client?.end().catch(() => undefined);
    this.client = undefined;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch(() => this.scheduleReconnect());
    }, 1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
    this.listeners.clear();
  }

  /** Publishes through any query runner (a pool, or a transaction so it is sent at commit). */
  static async publish(run: (sql: string, params: unknown[]) => Promise<unknown>, event: Omit<JobEvent, 'at'>): Promise<void> {
    await run(`SELECT pg_notify($1, $2)`, [EVENTS_CHANNEL, JSON.stringify({ ...event, at: Date.now() })]);
  }

  /** Local listener, for workers that watch for cancellation of their own jobs. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An async iterator of matching events; ends when the consumer returns (client unsubscribes). */
  subscribe(filter: (e: JobEvent) => boolean): AsyncIterableIterator<JobEvent> {
    const queue: JobEvent[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const off = this.on((e) => {
      if (!filter(e)) return;
      // Progress events supersede each other: keep the queue short for a slow consumer.
      if (queue.length > 100) queue.splice(0, queue.length - 100);
      queue.push(e);
      wake?.();
    });
    const iterator: AsyncIterableIterator<JobEvent> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        while (!done && queue.length === 0) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        if (done) return { value: undefined, done: true };
        return { value: queue.shift()!, done: false };
      },
      return: async () => {
        done = true;
        off();
        wake?.();
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }
}
