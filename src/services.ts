// What a running process holds: built once in runtime.ts (for main, scripts and tests).
import type { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import type { AppConfig } from './config';
import type { Db } from './db/client';
import type { EventBus } from './events/bus';

export interface AppServices {
  config: AppConfig;
  db: Db;
  /** The database actually in use (DATABASE_URL or the embedded server's). */
  databaseUrl: string;
  log: Logger;
  masterKey: Buffer;
  verifyJwt: (token: string) => Promise<{ sub: string; orgId?: string }>;
  boss: PgBoss;
  events: EventBus;
  /** Stops what createServices started (queue, event listener, database pool). */
  close(): Promise<void>;
}
