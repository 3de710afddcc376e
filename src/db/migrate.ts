// Our migration runner: `prisma migrate deploy` / `migrate dev --create-only` / `migrate diff`
// without the native schema engine, which `prisma migrate` would have to download from a host
// this machine cannot reach. It drives Prisma's WASM schema engine (loaded, with the adapter
// fixes it needs, in ./schema-engine.ts), so migrations are recorded in `_prisma_migrations`
// exactly as `prisma migrate deploy` records them (same advisory lock 72707369, checksum =
// sha256 of migration.sql): a database migrated here can be handed to the Prisma CLI and back.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationList, SchemaFilter } from '@prisma/schema-engine-wasm';
import {
  createScratchDatabase,
  dropScratchDatabase,
  engineError,
  openSchemaEngine,
  pgConfig,
  pgFieldsFromUrl,
  withClient,
  type SchemaFile,
} from './schema-engine';

/** The project root, from this file's location (src/db/), not from the process's cwd. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'prisma', 'migrations');
export const SCHEMA_PATH = path.join(PROJECT_ROOT, 'prisma', 'schema.prisma');

export interface MigrateOptions {
  log?: (msg: string) => void;
  /** Defaults to prisma/migrations of this project (tests pass a temporary directory). */
  migrationsDir?: string;
}

export interface SchemaOptions extends MigrateOptions {
  /** Defaults to prisma/schema.prisma of this project. */
  schemaPath?: string;
}

const NO_FILTERS: SchemaFilter = { externalTables: [], externalEnums: [] };
const LOCKFILE = 'migration_lock.toml';

/** A deploy that stopped at a failed migration, or refused to start because one is recorded. */
export class MigrationError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

/**
 * The migrations folder as the Prisma CLI hands it to the engine: every subdirectory is a
 * migration (sorted by name), its `migration.sql` read as text or as an error if missing.
 */
export async function readMigrationsList(dir: string): Promise<MigrationList> {
  const lockContent = await readFile(path.join(dir, LOCKFILE), 'utf8').catch(() => null);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const migrationDirectories: MigrationList['migrationDirectories'] = [];
  for (const entry of entries.filter((e) => e.isDirectory())) {
    const content = await readFile(path.join(dir, entry.name, 'migration.sql'), 'utf8').then(
      (value) => ({ tag: 'ok' as const, value }),
      (err: Error) => ({ tag: 'error' as const, value: err.message }),
    );
    migrationDirectories.push({ path: entry.name, migrationFile: { path: 'migration.sql', content } });
  }
  migrationDirectories.sort((a, b) => a.path.localeCompare(b.path));
  return { baseDir: dir, lockfile: { path: LOCKFILE, content: lockContent }, shadowDbInitScript: '', migrationDirectories };
}

async function readSchema(schemaPath = SCHEMA_PATH): Promise<SchemaFile> {
  return { path: schemaPath, content: await readFile(schemaPath, 'utf8') };
}

function deployError(err: unknown): MigrationError {
  const e = engineError(err);
  const code = (e as { code?: unknown }).code;
  return new MigrationError(`Migration deploy failed: ${e.message}`, typeof code === 'string' ? code : undefined);
}

/**
 * Applies the pending migrations, in name order, each in its own transaction, and records
 * them in `_prisma_migrations`. A migration that fails is rolled back, recorded as failed
 * and blocks every later deploy (as with `prisma migrate deploy`) until it is resolved.
 */
export async function deployMigrations(databaseUrl: string, opts: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const migrationsList = await readMigrationsList(opts.migrationsDir ?? MIGRATIONS_DIR);
  // No datamodel: deploy only needs the migration files, so a schema.prisma in the middle of
  // an edit cannot break it.
  const handle = await openSchemaEngine(databaseUrl, undefined, opts.log);
  try {
    const out = await handle.engine.applyMigrations({ migrationsList, filters: NO_FILTERS }).catch((err: unknown) => {
      throw deployError(err);
    });
    for (const name of out.appliedMigrationNames) opts.log?.(`applied migration ${name}`);
    return { applied: out.appliedMigrationNames };
  } finally {
    await handle.close();
  }
}

/**
 * Names of the migrations in the folder that are not applied to the database (never run,
 * failed, or rolled back). One plain query, no engine: cheap enough for a readiness probe.
 */
export async function pendingMigrations(databaseUrl: string, opts: Pick<MigrateOptions, 'migrationsDir'> = {}): Promise<string[]> {
  const { migrationDirectories } = await readMigrationsList(opts.migrationsDir ?? MIGRATIONS_DIR);
  const fields = pgFieldsFromUrl(databaseUrl);
  const table = fields.schema ? `"${fields.schema.replace(/"/g, '""')}"."_prisma_migrations"` : '"_prisma_migrations"';
  const applied = await withClient(pgConfig(fields), async (c) => {
    try {
      const { rows } = await c.query<{ migration_name: string }>(
        `SELECT migration_name FROM ${table} WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
      );
      return new Set(rows.map((r) => r.migration_name));
    } catch (err) {
      // 42P01 undefined_table: nothing was ever deployed here.
      if ((err as { code?: string }).code === '42P01') return new Set<string>();
      throw err;
    }
  });
  return migrationDirectories.map((m) => m.path).filter((name) => !applied.has(name));
}

export interface SchemaCheck {
  inSync: boolean;
  /** SQL that would bring a database migrated from the folder to schema.prisma; '' when in sync. */
  diffSql: string;
}

/**
 * Replays the migrations into a fresh shadow database (created and dropped next to
 * `databaseUrl`, whose data is not touched) and diffs the result against schema.prisma.
 * Policies, functions and triggers are outside Prisma's model, so hand-written RLS/audit
 * migrations do not count as differences.
 */
export async function checkSchemaMatchesMigrations(databaseUrl: string, opts: SchemaOptions = {}): Promise<SchemaCheck> {
  const migrationsList = await readMigrationsList(opts.migrationsDir ?? MIGRATIONS_DIR);
  const schema = await readSchema(opts.schemaPath);
  const handle = await openSchemaEngine(databaseUrl, schema, opts.log);
  try {
    const out = await handle.engine
      .diff({
        from: { tag: 'migrations', ...migrationsList },
        to: { tag: 'schemaDatamodel', files: [schema] },
        script: true,
        exitCode: true,
        filters: NO_FILTERS,
      })
      .catch((err: unknown) => {
        throw engineError(err);
      });
    // With exitCode set, the engine answers 2 for a non-empty diff and 0 for none.
    const inSync = out.exitCode === 0;
    return { inSync, diffSql: inSync ? '' : (out.stdout ?? '') };
  } finally {
    await handle.close();
  }
}

export interface CreateMigrationOptions extends SchemaOptions {
  /** Write the migration without applying it; also writes an empty one when nothing changed, to fill in by hand. */
  createOnly?: boolean;
  /** The migration's timestamp (UTC, `YYYYMMDDHHMMSS`); defaults to now. */
  timestamp?: string | Date;
}

export interface CreatedMigration {
  /** Directory name `<timestamp>_<name>`, or undefined when the schema has no changes. */
  name?: string;
  /** Absolute path of the new migration.sql. */
  file?: string;
  /** Migrations applied afterwards (none with createOnly). */
  applied: string[];
}

function formatTimestamp(t: string | Date): string {
  if (typeof t === 'string') {
    if (!/^\d{14}$/.test(t)) throw new Error(`Migration timestamp must be YYYYMMDDHHMMSS, got "${t}"`);
    return t;
  }
  return t.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * Like `prisma migrate dev [--create-only]`: writes `<timestamp>_<name>/migration.sql` (and
 * migration_lock.toml) with the SQL that takes a database migrated from the existing
 * migrations to schema.prisma, then (unless createOnly) deploys it to `databaseUrl`.
 *
 * The history replayed is the migrations that sort before the new one, so a migration given
 * an earlier timestamp is computed against what will really precede it.
 */
export async function createMigration(databaseUrl: string, name: string, opts: CreateMigrationOptions = {}): Promise<CreatedMigration> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`Migration name may only contain letters, digits, _ and -: "${name}"`);
  const dir = opts.migrationsDir ?? MIGRATIONS_DIR;
  const timestamp = formatTimestamp(opts.timestamp ?? new Date());
  const full = await readMigrationsList(dir);
  const migrationsList: MigrationList = {
    ...full,
    migrationDirectories: full.migrationDirectories.filter((m) => m.path < `${timestamp}_`),
  };
  for (const later of full.migrationDirectories.filter((m) => m.path >= `${timestamp}_`)) {
    opts.log?.(`${later.path} sorts after the new migration and is not part of its history`);
  }
  const schema = await readSchema(opts.schemaPath);
  const handle = await openSchemaEngine(databaseUrl, schema, opts.log);
  let out;
  try {
    // Workaround 4: without a devDiagnostic call first on the same engine, createMigration
    // fails with "shadow DB must be provided through an external factory"; the Prisma CLI
    // makes the same call first. Its answer also tells us about drift in the database.
    const diag = await handle.engine.devDiagnostic({ migrationsList, filters: NO_FILTERS }).catch((err: unknown) => {
      throw engineError(err);
    });
    if (diag.action.tag === 'reset') {
      throw new MigrationError(`The database's migration history does not match the migrations folder: ${diag.action.reason}`);
    }
    out = await handle.engine
      .createMigration({ draft: !!opts.createOnly, migrationName: name, migrationsList, schema: { files: [schema] }, filters: NO_FILTERS })
      .catch((err: unknown) => {
        throw engineError(err);
      });
  } finally {
    await handle.close();
  }
  if (out.migrationScript === null) return { applied: [] };

  // The engine names the folder with the current time; use the requested timestamp instead.
  const dirName = `${timestamp}_${out.generatedMigrationName.replace(/^\d{14}_/, '')}`;
  const migrationDir = path.join(dir, dirName);
  if (existsSync(migrationDir)) throw new Error(`The migration directory already exists at ${migrationDir}`);
  await mkdir(migrationDir, { recursive: true });
  const file = path.join(migrationDir, `migration.${out.extension}`);
  await writeFile(file, out.migrationScript, 'utf8');
  // Same text as the Prisma CLI writes.
  await writeFile(
    path.join(dir, LOCKFILE),
    `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${out.connectorType}"\n`,
    'utf8',
  );
  const applied = opts.createOnly ? [] : (await deployMigrations(databaseUrl, opts)).applied;
  return { name: dirName, file, applied };
}

/** A throwaway empty database next to `databaseUrl` (for callers that need scratch space). */
export async function withScratchDatabase<T>(databaseUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const fields = pgFieldsFromUrl(databaseUrl);
  const name = await createScratchDatabase(fields, 'keepsake_scratch_');
  try {
    const u = new URL(databaseUrl);
    u.pathname = `/${name}`;
    return await fn(u.toString());
  } finally {
    await dropScratchDatabase(fields, name);
  }
}
