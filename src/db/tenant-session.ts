// One tenant transaction for a whole GraphQL operation. Opening a transaction per statement (what
// tenantClient does) made a dashboard of 50 strategies take dozens of pool connections one after
// another, and under load each nested field waited for the pool on its own until Prisma gave up
// (P2028). A session takes one connection, lazily at its first statement, sets the tenant role,
// app.org_id and statement_timeout once, and runs every field's statements on it until the
// operation ends. Concurrent statements queue on that one connection (node-postgres does), so an
// operation never holds more than one connection, however wide the query.
import type { Db } from './client';
import { assertOrgId, type TenantClient, type TenantRead, type Tx } from './context';

export interface SessionLimits {
  /** How long an operation may wait for its organization's turn and then for a pool connection. */
  maxWaitMs: number;
  /** statement_timeout of the session's transaction. */
  statementTimeoutMs: number;
  /** The whole transaction's lifetime (Prisma rolls back past it). */
  transactionTimeoutMs: number;
}

/** Raised when the pool or the organization's concurrency cap has no room in time: try again. */
export class DatabaseBusyError extends Error {
  override name = 'DatabaseBusyError';
  constructor(readonly reason: 'pool' | 'organization') {
    super(reason === 'pool' ? 'The database is busy; retry shortly' : 'Too many operations of this organization at once; retry shortly');
  }
}

/**
 * At most `limit` sessions of one organization at a time in this process, so one tenant cannot
 * take the whole pool; the others wait (up to maxWaitMs) in arrival order.
 */
export class OrgConcurrency {
  private readonly active = new Map<string, { count: number; waiting: Array<() => void> }>();
  constructor(readonly limit: number) {}

  async acquire(orgId: string, maxWaitMs: number, signal?: AbortSignal): Promise<() => void> {
    let slot = this.active.get(orgId);
    if (!slot) this.active.set(orgId, (slot = { count: 0, waiting: [] }));
    const entry = slot;
    if (entry.count >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const drop = (err: Error) => {
          const i = entry.waiting.indexOf(wake);
          if (i >= 0) entry.waiting.splice(i, 1);
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        };
        const onAbort = () => {
          clearTimeout(timer);
          drop(new Error('operation aborted'));
        };
        const timer = setTimeout(() => drop(new DatabaseBusyError('organization')), maxWaitMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        entry.waiting.push(wake);
      });
    } else {
      entry.count++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Hand the slot straight to the next waiter (count unchanged), or give it back.
      const next = entry.waiting.shift();
      if (next) next();
      else if (--entry.count === 0) this.active.delete(orgId);
    };
  }
}

export interface TenantSession {
  /** Model queries of the operation (Pothos' prisma plugin and resolvers): all in the session's transaction. */
  client: TenantClient;
  /** Domain reads of the operation, in the same transaction. */
  read: TenantRead;
  /** Ends the transaction (commit) and frees the connection; idempotent. */
  close(): Promise<void>;
  /** The client went away: stop the statement running now (pg_cancel_backend) and refuse further ones. */
  cancel(): Promise<void>;
  /** Whether a connection was taken (tests). */
  readonly opened: boolean;
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

export function openTenantSession(db: Db, orgId: string, limits: SessionLimits, gate?: OrgConcurrency, signal?: AbortSignal): TenantSession {
  assertOrgId(orgId);
  let ready: Promise<Tx> | undefined;
  let finish: (() => void) | undefined;
  let ended: Promise<unknown> = Promise.resolve();
  let pid: number | undefined;
  let closed = false;
  let release: (() => void) | undefined;

  const start = (): Promise<Tx> => {
    if (closed) return Promise.reject(new Error('the operation has ended'));
    ready ??= (async () => {
      release = gate ? await gate.acquire(orgId, limits.maxWaitMs, signal) : undefined;
      if (closed) throw new Error('the operation has ended');
      return new Promise<Tx>((resolve, reject) => {
        const done = new Promise<void>((r) => (finish = r));
        ended = db
          .$transaction(
            async (tx) => {
              const [row] = await tx.$queryRaw<Array<{ pid: number }>>`
                SELECT set_config('role', 'keepsake_app', true), set_config('app.org_id', ${orgId}, true),
                       set_config('statement_timeout', ${String(limits.statementTimeoutMs)}, true), pg_backend_pid() AS pid`;
              pid = row?.pid;
              resolve(tx);
              await done;
            },
            { maxWait: limits.maxWaitMs, timeout: limits.transactionTimeoutMs },
          )
          .catch((err: unknown) => reject(isPoolTimeout(err) ? new DatabaseBusyError('pool') : err))
          .finally(() => release?.());
      });
    })();
    return ready;
  };

  const client = db.$extends({
    name: 'tenant-session',
    query: {
      $allModels: {
        async $allOperations({ model, operation, args }) {
          const tx = await start();
          const delegate = (tx as unknown as Record<string, Record<string, (a: unknown) => Promise<unknown>>>)[lowerFirst(model)]!;
          return delegate[operation]!(args);
        },
      },
    },
  }) as unknown as TenantClient;

  const close = async () => {
    if (closed) return;
    closed = true;
    finish?.();
    if (!ready) return;
    await ready.catch(() => undefined);
    await ended.catch(() => undefined);
  };

  return {
    client,
    read: async (fn) => fn(await start()),
    close,
    get opened() {
      return ready !== undefined;
    },
    cancel: async () => {
      const running = pid;
      const wasOpen = ready !== undefined && !closed;
      closed = true;
      if (wasOpen && running !== undefined) {
        // The login that opened the session may cancel its own backends.
        await db.$executeRaw`SELECT pg_cancel_backend(${running}::int)`.catch(() => undefined);
      }
      finish?.();
      await ended.catch(() => undefined);
    },
  };
}

/** Prisma's "Unable to start a transaction in the given time" (P2028) or a pool acquire timeout. */
export function isPoolTimeout(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  if (e.code === 'P2028' || e.code === 'P2024') return true;
  return typeof e.message === 'string' && /Unable to start a transaction in the given time|timeout exceeded when trying to connect/i.test(e.message);
}
