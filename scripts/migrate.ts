// Migrations without the native Prisma schema engine (see src/db/migrate.ts):
//   tsx scripts/migrate.ts create <name> [--create-only] [--timestamp=YYYYMMDDHHMMSS]
//   tsx scripts/migrate.ts deploy
//   tsx scripts/migrate.ts check        exit 1 and print the SQL when schema.prisma and the migrations differ
// Uses DATABASE_URL when set; otherwise a throwaway embedded PostgreSQL (deleted afterwards),
// which is all `create` and `check` need: their diffs run in a shadow database.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { freePort, startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded';
import { checkSchemaMatchesMigrations, createMigration, deployMigrations, PROJECT_ROOT } from '../src/db/migrate';

const USAGE = `usage: tsx scripts/migrate.ts create <name> [--create-only] [--timestamp=YYYYMMDDHHMMSS]
       tsx scripts/migrate.ts deploy
       tsx scripts/migrate.ts check`;

interface Target {
  url: string;
  cleanup(): Promise<void>;
}

async function openTarget(): Promise<Target> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, cleanup: async () => undefined };
  const dataDir = path.join(PROJECT_ROOT, '.data', `migrate-pg-${process.pid}-${randomBytes(3).toString('hex')}`);
  let server: EmbeddedServer | undefined;
  const cleanup = async () => {
    await server?.stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    server = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    const admin = new pg.Client({ connectionString: server.adminUrl });
    await admin.connect();
    await admin.query('CREATE DATABASE keepsake').finally(() => admin.end());
  } catch (err) {
    await cleanup();
    throw err;
  }
  const url = new URL(server.adminUrl);
  url.pathname = '/keepsake';
  return { url: url.toString(), cleanup };
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flags = rest.filter((a) => a.startsWith('--'));
  const args = rest.filter((a) => !a.startsWith('--'));
  const createOnly = flags.includes('--create-only');
  const timestamp = flags.find((f) => f.startsWith('--timestamp='))?.slice('--timestamp='.length);
  const unknown = flags.filter((f) => f !== '--create-only' && !f.startsWith('--timestamp='));
  const valid =
    unknown.length === 0 &&
    ((command === 'create' && args.length === 1) || ((command === 'deploy' || command === 'check') && args.length === 0 && flags.length === 0));
  if (!valid) {
    console.error(USAGE);
    return 2;
  }

  const started = Date.now();
  const target = await openTarget();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(2)} s`;
  try {
    if (command === 'deploy') {
      const { applied } = await deployMigrations(target.url);
      console.log(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')} (${elapsed()})` : `no pending migrations (${elapsed()})`);
      return 0;
    }
    if (command === 'check') {
      const { inSync, diffSql } = await checkSchemaMatchesMigrations(target.url);
      if (inSync) {
        console.log(`schema.prisma and prisma/migrations are in sync (${elapsed()})`);
        return 0;
      }
      console.error('schema.prisma and prisma/migrations differ; a new migration needs this SQL (npm run migrate:create -- <name>):\n');
      console.log(diffSql.trimEnd());
      return 1;
    }
    const created = await createMigration(target.url, args[0]!, { createOnly, timestamp, log: (m) => (m.startsWith('schema-engine') ? undefined : console.log(m)) });
    if (!created.name) {
      console.log(`schema.prisma has no changes; no migration created (use --create-only for an empty one to write by hand) (${elapsed()})`);
    } else {
      console.log(`created ${path.relative(process.cwd(), created.file!)}${created.applied.length ? `; applied ${created.applied.join(', ')}` : ''} (${elapsed()})`);
    }
    return 0;
  } finally {
    await target.cleanup();
  }
}

// Exit explicitly: nothing else should be keeping the process alive, but a CLI must not hang.
run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
