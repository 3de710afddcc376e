// The one PrismaClient per process, on node-postgres through @prisma/adapter-pg.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';

export type Db = PrismaClient<'query'>;

export interface DbOptions {
  /** Emit query events (used by tests that count SQL statements). */
  logQueries?: boolean;
  /** Pool size (DB_POOL_MAX for the API, WORKER_DB_POOL_MAX for workers). */
  max?: number;
  /** How long a statement waiting for a connection waits before failing (then: busy, retry). */
  connectionTimeoutMs?: number;
  /** statement_timeout of every connection of this pool (the API's: DB_STATEMENT_TIMEOUT_MS). */
  statementTimeoutMs?: number;
}

export function createDb(url: string, opts: DbOptions = {}): Db {
  const adapter = new PrismaPg({
    connectionString: url,
    max: opts.max ?? 10,
    ...(opts.connectionTimeoutMs ? { connectionTimeoutMillis: opts.connectionTimeoutMs } : {}),
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
  });
  return new PrismaClient({
    adapter,
    log: opts.logQueries ? [{ emit: 'event', level: 'query' }] : [],
  }) as Db;
}
