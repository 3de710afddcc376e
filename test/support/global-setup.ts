// One PostgreSQL server for the whole run (embedded unless DATABASE_URL is given) and one
// template database with every migration applied. Each test file clones the template
// (CREATE DATABASE … TEMPLATE), which is fast and keeps files independent and parallel-safe.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { freePort, startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded';
import { deployMigrations } from '../../src/db/migrate';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
  }
}

let server: EmbeddedServer | undefined;
let dataDir: string | undefined;
let adminUrl = '';
let templateDb = '';

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) {
    adminUrl = withDatabase(process.env.DATABASE_URL, 'postgres');
  } else {
    dataDir = path.resolve('.data', `test-pg-${process.pid}-${randomBytes(3).toString('hex')}`);
    server = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    adminUrl = server.adminUrl;
  }
  templateDb = `keepsake_tpl_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${templateDb}"`);
  } finally {
    await admin.end();
  }
  await deployMigrations(withDatabase(adminUrl, templateDb));
  project.provide('adminUrl', adminUrl);
  project.provide('templateDb', templateDb);
}

export async function teardown() {
  if (!server) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${templateDb}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    return;
  }
  await server.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
