// What a running process holds: built once in main.ts (or by tests) and handed down.
import type { Logger } from 'pino';
import type { AppConfig } from './config';
import type { Db } from './db/client';

export interface AppServices {
  config: AppConfig;
  db: Db;
  /** The database actually in use (DATABASE_URL or the embedded server's). */
  databaseUrl: string;
  log: Logger;
  masterKey: Buffer;
  verifyJwt: (token: string) => Promise<{ sub: string; orgId?: string }>;
}
