// Loads Prisma's WASM schema engine on Node and gives it a Postgres driver adapter that works.
// `prisma migrate` would download a native schema-engine binary from a host this machine
// cannot reach, so src/db/migrate.ts drives the WASM engine itself (see
// /work/shared/notes/prisma-offline.md). Everything engine-specific lives here:
//  - instantiating the wasm-bindgen module by hand (its entry file imports a `.wasm` file as
//    an ES module, which neither tsx nor vitest load);
//  - workaround 1: adapter-pg cannot decode Postgres `"char"` (OID 18) columns;
//  - workaround 2: adapter-pg splits scripts on `;` (breaks `$$` bodies, not atomic);
//  - workaround 3: adapter-pg's shadow database leaks and can land in the main database;
//  - the engine's 10 s timer that keeps the process alive.
// (Workaround 4, devDiagnostic before createMigration, is a call-order rule in migrate.ts.)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';

export type { SchemaEngine };

// ---------------------------------------------------------------------------------------
// Connection settings

/**
 * pg connection settings as discrete fields. In `pg`, `connectionString` wins over
 * `database`, so a config that spreads `{ connectionString, database: 'shadow' }` silently
 * connects to the main database; we never pass a connection string to pg here.
 */
export interface PgFields {
  host: string;
  port: number;
  user?: string;
  password?: string;
  database: string;
  ssl?: pg.ClientConfig['ssl'];
  /** Postgres schema from a Prisma-style `?schema=` parameter, if any. */
  schema?: string;
}

export function pgFieldsFromUrl(url: string): PgFields {
  const u = new URL(url);
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') {
    throw new Error(`Not a PostgreSQL URL (protocol ${u.protocol})`);
  }
  const q = u.searchParams;
  const sslmode = q.get('sslmode');
  const fields: PgFields = {
    // `?host=/path` selects a unix socket directory, as in libpq.
    host: q.get('host') ?? (decodeURIComponent(u.hostname) || 'localhost'),
    port: Number(q.get('port') ?? u.port ?? 5432) || 5432,
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres',
  };
  if (u.username) fields.user = decodeURIComponent(u.username);
  if (u.password) fields.password = decodeURIComponent(u.password);
  if (sslmode && sslmode !== 'disable' && sslmode !== 'prefer' && sslmode !== 'allow') {
    fields.ssl = sslmode === 'verify-full' || sslmode === 'verify-ca' ? true : { rejectUnauthorized: false };
  }
  const schema = q.get('schema');
  if (schema) fields.schema = schema;
  return fields;
}

export function pgConfig(fields: PgFields, database = fields.database): pg.ClientConfig {
  const { schema: _schema, ...rest } = fields;
  return { ...rest, database, application_name: 'keepsake-migrate' };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Runs `fn` on a single short-lived connection. */
export async function withClient<T>(config: pg.ClientConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates an empty database next to `fields.database` and returns its name. */
export async function createScratchDatabase(fields: PgFields, prefix = 'prisma_migrate_shadow_db_'): Promise<string> {
  const name = `${prefix}${randomUUID()}`;
  await withClient(pgConfig(fields), (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  return name;
}

export async function dropScratchDatabase(fields: PgFields, name: string): Promise<void> {
  // WITH (FORCE) (PostgreSQL 13+): a connection the engine forgot must not make the drop fail.
  await withClient(pgConfig(fields), (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

// ---------------------------------------------------------------------------------------
// Workaround 1: `"char"` columns.
// The engine's catalog queries return `pg_constraint.contype` etc. as Postgres `"char"`
// (OID 18). adapter-pg 7.10.1 has no column type for it and fails with "Column type 'char'
// could not be deserialized". The value is a one-character string either way, so a pg.Client
// subclass reports such fields as `text` (OID 25) before the adapter looks at them.

const CHAR_OID = 18;
const TEXT_OID = 25;

function charAsText<R>(res: R): R {
  for (const r of Array.isArray(res) ? res : [res]) {
    const fields = (r as { fields?: { dataTypeID: number }[] } | undefined)?.fields;
    if (fields) for (const f of fields) if (f.dataTypeID === CHAR_OID) f.dataTypeID = TEXT_OID;
  }
  return res;
}

type UntypedQuery = (this: pg.Client, ...args: unknown[]) => unknown;
const baseQuery = pg.Client.prototype.query as unknown as UntypedQuery;

class CharAsTextClient extends pg.Client {}
// Assigned on the prototype rather than declared as an override: pg.Client#query has a
// dozen overloads and both a callback form (used by pg.Pool#query) and a promise form.
(CharAsTextClient.prototype as unknown as { query: UntypedQuery }).query = function (this: pg.Client, ...args: unknown[]) {
  const last = args.length - 1;
  const cb = args[last];
  if (typeof cb === 'function') {
    args[last] = (err: Error | null, res: unknown) => (cb as (e: Error | null, r: unknown) => void)(err, err ? res : charAsText(res));
    return baseQuery.apply(this, args);
  }
  const ret = baseQuery.apply(this, args);
  return ret instanceof Promise ? ret.then(charAsText) : ret;
};

// ---------------------------------------------------------------------------------------
// Workarounds 2 and 3: the driver adapter factory handed to the engine.

function toAdapterError(err: unknown): Error {
  const e = err as Partial<pg.DatabaseError> | undefined;
  if (e && typeof e.code === 'string' && typeof e.severity === 'string') {
    return new DriverAdapterError({
      kind: 'postgres',
      code: e.code,
      severity: e.severity,
      message: e.message ?? String(err),
      detail: e.detail,
      column: e.column,
      hint: e.hint,
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A PrismaPg adapter on a one-connection pool whose `executeScript` sends the whole script as
 * one simple-protocol query (workaround 2). adapter-pg 7.10.1 splits scripts on `;`, which cuts
 * `$$`-quoted function bodies apart and runs the pieces one by one, so a failing migration is
 * left half-applied. Postgres runs a multi-statement simple query as one implicit transaction,
 * which is also what the native engine does: a migration either applies fully or not at all.
 *
 * One connection (max 1) keeps the engine's session-level advisory lock (72707369) and the
 * statements it guards on the same session, as with the native engine.
 */
async function openAdapter(config: pg.ClientConfig, schema: string | undefined, onDispose?: () => Promise<void>): Promise<SqlDriverAdapter> {
  const pool = new pg.Pool({ ...config, Client: CharAsTextClient, max: 1, idleTimeoutMillis: 0 });
  // Dropping a shadow database (WITH FORCE) or stopping a throwaway server terminates the idle
  // connection (57P01); unhandled, that error event would crash the process after the work is done.
  pool.on('error', () => undefined);
  const adapter = await new PrismaPg(pool, schema ? { schema } : undefined).connect();
  adapter.executeScript = async (script: string) => {
    try {
      await pool.query(script);
    } catch (err) {
      throw toAdapterError(err);
    }
  };
  const dispose = adapter.dispose.bind(adapter);
  let disposed = false;
  adapter.dispose = async () => {
    if (disposed) return;
    disposed = true;
    await dispose();
    await pool.end();
    await onDispose?.();
  };
  return adapter;
}

/**
 * The factory given to the engine. Workaround 3: adapter-pg's own `connectToShadowDb()` drops
 * the shadow database while its pool is still connected (the drop fails, the database leaks)
 * and, when configured with a connection string, connects its "shadow" pool to the MAIN
 * database. Here the shadow database `prisma_migrate_shadow_db_<uuid>` is created, connected
 * to by discrete fields, and dropped after its pool has closed. `close()` drops any shadow
 * database the engine did not dispose of, and closes every pool.
 */
export class KeepsakePgFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres' as const;
  readonly adapterName = '@prisma/adapter-pg';
  private readonly open = new Set<SqlDriverAdapter>();

  constructor(readonly fields: PgFields) {}

  async connect(): Promise<SqlDriverAdapter> {
    const adapter = await openAdapter(pgConfig(this.fields), this.fields.schema, async () => {
      this.open.delete(adapter);
    });
    this.open.add(adapter);
    return adapter;
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const name = await createScratchDatabase(this.fields);
    try {
      const adapter = await openAdapter(pgConfig(this.fields, name), undefined, async () => {
        this.open.delete(adapter);
        await dropScratchDatabase(this.fields, name);
      });
      this.open.add(adapter);
      return adapter;
    } catch (err) {
      await dropScratchDatabase(this.fields, name).catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    for (const adapter of [...this.open]) await adapter.dispose().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------
// Loading the WASM module

let lastPanic: string | undefined;
let loaded = false;

/**
 * Instantiates schema_engine_bg.wasm once per process. The package's entry file does
 * `import * as wasm from "./schema_engine_bg.wasm"`, which needs the WebAssembly ES-module
 * integration; we instantiate it ourselves with the JS glue module as its import object.
 */
function loadWasm(): void {
  if (loaded) return;
  // The glue reports Rust panics to this global before throwing; keep the message for errors.
  (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown }).PRISMA_WASM_PANIC_REGISTRY = {
    set_message: (message: string) => {
      lastPanic = message;
    },
  };
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
  const module = new WebAssembly.Module(readFileSync(path.join(dir, 'schema_engine_bg.wasm')));
  const imports: Record<string, unknown> = { ...bg };
  // The engine races its advisory-lock wait against a 10 s timer that it never clears, so
  // after applyMigrations the process stays alive for ~10 s. An unref'd timer still fires
  // while the process has other work, but does not keep it alive on its own.
  for (const key of Object.keys(imports)) {
    if (key.startsWith('__wbg_setTimeout_')) {
      const original = imports[key] as (fn: () => void, ms: number) => ReturnType<typeof setTimeout>;
      imports[key] = (fn: () => void, ms: number) => {
        const t = original(fn, ms);
        t.unref?.();
        return t;
      };
    }
  }
  const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': imports as WebAssembly.ModuleImports });
  bg.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  loaded = true;
}

export interface EngineHandle {
  engine: SchemaEngine;
  factory: KeepsakePgFactory;
  /** Frees the engine and closes every connection and shadow database it left open. */
  close(): Promise<void>;
}

export interface SchemaFile {
  path: string;
  content: string;
}

/** A schema engine connected to `databaseUrl`, with `schema` as its datamodel. */
export async function openSchemaEngine(
  databaseUrl: string,
  schema: SchemaFile | undefined,
  log?: (msg: string) => void,
): Promise<EngineHandle> {
  loadWasm();
  const factory = new KeepsakePgFactory(pgFieldsFromUrl(databaseUrl));
  // The engine logs JSON lines ({level, fields: {message, ...}}); hand on level and message.
  const onLog = (line: string) => {
    if (!log) return;
    try {
      const { level, fields } = JSON.parse(line) as { level?: string; fields?: { message?: string } };
      log(`schema-engine ${level ?? ''} ${fields?.message ?? line}`.replace(/\s+/g, ' ').trim());
    } catch {
      log(line.trim());
    }
  };
  let engine: SchemaEngine;
  try {
    engine = await bg.SchemaEngine.new(
      { datamodels: schema ? [[schema.path, schema.content]] : undefined },
      onLog,
      bindMigrationAwareSqlAdapterFactory(factory),
    );
  } catch (err) {
    await factory.close();
    throw engineError(err);
  }
  return {
    engine,
    factory,
    close: async () => {
      engine.free();
      await factory.close();
    },
  };
}

/** Engine errors arrive as plain objects or strings; make them Errors with a readable message. */
export function engineError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (typeof err === 'string') return new Error(err);
  const o = err as { message?: unknown; error_code?: unknown; meta?: unknown } | undefined;
  if (o && typeof o.message === 'string') {
    const e = new Error(typeof o.error_code === 'string' ? `${o.error_code}: ${o.message}` : o.message);
    return Object.assign(e, { code: o.error_code, meta: o.meta });
  }
  const panic = lastPanic;
  lastPanic = undefined;
  return new Error(panic ? `schema engine panicked: ${panic}` : `schema engine error: ${JSON.stringify(err)}`);
}
