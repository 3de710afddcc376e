// The PostgreSQL the benchmarks run against: DATABASE_URL when given, otherwise an embedded
// server whose data directory (.data/bench-pg) is kept between runs, so a generated benchmark
// database survives and the next run skips generating it.
import path from 'node:path';
import pg from 'pg';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded';

export interface BenchPostgres {
  /** A superuser (or at least CREATEDB) connection to a maintenance database. */
  adminUrl: string;
  embedded: boolean;
  /** URL of `database` on the same server with the same login. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function openBenchPostgres(log: (line: string) => void = () => undefined): Promise<BenchPostgres> {
  const given = process.env.DATABASE_URL;
  if (given) return { adminUrl: given, embedded: false, urlFor: (db) => withDatabase(given, db), stop: async () => undefined };
  const dataDir = path.resolve(process.env.BENCH_PG_DIR ?? path.join('.data', 'bench-pg'));
  const started = Date.now();
  const server = await startEmbeddedPostgres({ dataDir, port: await freePort() });
  log(`embedded PostgreSQL up in ${Date.now() - started} ms (data: ${dataDir}, port ${server.port})`);
  return { adminUrl: server.adminUrl, embedded: true, urlFor: (db) => withDatabase(server.adminUrl, db), stop: () => server.stop() };
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates `database` unless it exists; true when it was created. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<boolean> {
  return withClient(adminUrl, async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount) return false;
    await c.query(`CREATE DATABASE "${database}"`);
    return true;
  });
}

export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
}

/** p in 0..1 of an ascending array (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** One line of the summary table `npm run bench` prints at the end. */
export interface SummaryRow {
  bench: string;
  metric: string;
  value: string;
  target: string;
  ok: boolean | null;
}

export function printTable(rows: Array<Record<string, string>>): void {
  if (rows.length === 0) return;
  const keys = Object.keys(rows[0]!);
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join('  ').trimEnd();
  console.log(line(keys));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(keys.map((k) => r[k] ?? '')));
}
