// The one PrismaClient per process, on node-postgres through @prisma/adapter-pg.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';

export type Db = PrismaClient<'query'>;

export interface DbOptions {
  /** Emit query events (used by tests that count SQL statements). */
  logQueries?: boolean;
  max?: number;
}

export function createDb(url: string, opts: DbOptions = {}): Db {
  const adapter = new PrismaPg({ connectionString: url, max: opts.max ?? 10 });
  return new PrismaClient({
    adapter,
    log: opts.logQueries ? [{ emit: 'event', level: 'query' }] : [],
  }) as Db;
}
