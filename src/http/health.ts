// Readiness: the database answers and no migration is pending.
import { pendingMigrations } from '../db/migrate';
import type { AppServices } from '../services';

export interface Readiness {
  ready: boolean;
  database: 'ok' | 'unreachable';
  pendingMigrations: string[];
}

export async function readiness(app: AppServices): Promise<Readiness> {
  try {
    await app.db.$queryRaw`SELECT 1`;
  } catch {
    return { ready: false, database: 'unreachable', pendingMigrations: [] };
  }
  const pending = await pendingMigrations(app.databaseUrl).catch(() => ['(unknown)']);
  return { ready: pending.length === 0, database: 'ok', pendingMigrations: pending };
}
