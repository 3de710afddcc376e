// Environment → typed configuration, validated once at start with a clear message.
// With no DATABASE_URL the platform runs on an embedded PostgreSQL under .data/.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_OUTBOUND_DENY, parseCidr, type OutboundConfig } from './backup/outbound';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Comma-separated CIDRs or addresses ("10.0.0.0/8,fd00::/8"). */
const cidrList = z
  .string()
  .transform((v, ctx) => {
    const items = v.split(',').map((x) => x.trim()).filter(Boolean);
    for (const item of items) {
      try {
        parseCidr(item);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }
    return items;
  });

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  DATABASE_URL: z.string().url().optional(),
  VERIFY_DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('.data'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  MASTER_KEY: z.string().optional(),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  JWT_JWKS_URL: z.string().url().optional(),
  JWT_JWKS_FILE: z.string().optional(),
  JWT_ISSUER: z.string().default('keepsake'),
  JWT_AUDIENCE: z.string().default('keepsake-api'),
  STORAGE_ROOT: z.string().optional(),
  PG_BIN_DIR: z.string().optional(),
  DIRECTORY_SOURCE_ROOTS: z
    .string()
    .optional()
    .refine((v) => v === undefined || v.split(':').filter(Boolean).every((p) => p.startsWith('/')), 'must be a colon-separated list of absolute paths'),
  OUTBOUND_DENY: cidrList.optional(),
  OUTBOUND_ALLOW: cidrList.optional(),
  OUTBOUND_UNIX_SOCKETS: bool.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GRAPHIQL: bool.optional(),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  QUEUE_SUPERVISE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  // pg-boss refuses heartbeats under 10 s.
  JOB_HEARTBEAT_SECONDS: z.coerce.number().int().min(10).max(3600).default(30),
  SEED_DEMO: bool.optional(),
  DB_POOL_MAX: z.coerce.number().int().min(2).max(500).default(10),
  WORKER_DB_POOL_MAX: z.coerce.number().int().min(2).max(500).default(5),
  DB_POOL_WAIT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  ORG_MAX_CONCURRENT_OPERATIONS: z.coerce.number().int().min(1).max(500).default(4),
  INTROSPECTION: z.enum(['open', 'authenticated', 'off']).optional(),
  CORS_ORIGINS: z
    .string()
    .optional()
    .refine((v) => v === undefined || v.split(',').map((o) => o.trim()).filter(Boolean).every((o) => /^https?:\/\/[^/]+$/.test(o)), 'must be a comma-separated list of origins like https://app.example.com'),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(10).default(10_000),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(3).max(100).default(12),
  GRAPHQL_MAX_BREADTH: z.coerce.number().int().min(10).default(300),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(1).default(30),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).default(3000),
  // Alerts: the operator's SMTP server for EMAIL channels and emergency contacts.
  SMTP_URL: z.string().url().refine((v) => /^smtps?:\/\//.test(v), 'must start with smtp:// or smtps://').optional(),
  SMTP_FROM: z.string().min(3).default('Keepsake <keepsake@localhost>'),
  PUBLIC_URL: z.string().url().optional(),
  NOTIFY_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(60).default(5),
});

export type Env = z.infer<typeof EnvSchema>;

export interface AppConfig {
  env: Env['NODE_ENV'];
  host: string;
  port: number;
  /** Set when the operator gave a server; otherwise an embedded one is started. */
  databaseUrl?: string;
  /** Server for restore-test scratch databases (any database name in it; the login needs CREATEDB). */
  verifyDatabaseUrl?: string;
  dataDir: string;
  embeddedPgPort: number;
  masterKey: string;
  jwt:
    | { kind: 'hs256'; secret: string; issuer: string; audience: string }
    | { kind: 'jwks-url'; url: string; issuer: string; audience: string; devSecret?: string }
    | { kind: 'jwks-file'; path: string; issuer: string; audience: string; devSecret?: string };
  storageRoot: string;
  pgBinDir?: string;
  /**
   * Directories DIRECTORY sources must live in. Undefined: anywhere (development only). Empty: none
   * (production without DIRECTORY_SOURCE_ROOTS), so a tenant cannot archive the worker host's files.
   */
  directorySourceRoots?: string[];
  /** Where workers may connect for tenants (sources, restore targets, S3 endpoints). */
  outbound: OutboundConfig;
  logLevel: Env['LOG_LEVEL'];
  graphiql: boolean;
  workerConcurrency: number;
  /** How often the queue looks for jobs whose worker stopped sending heartbeats (or expired). */
  queueSuperviseSeconds: number;
  /** A running backup, restore or verification whose worker sent no heartbeat for this long is retried or failed. */
  jobHeartbeatSeconds: number;
  /** Bearer token /metrics requires; unset: /metrics is open (bind HOST to a private interface). */
  metricsToken?: string;
  /** On SIGINT/SIGTERM, how long running jobs may finish before they are handed back to the queue. */
  shutdownGraceSeconds: number;
  seedDemo: boolean;
  /** Database pools and limits of GraphQL operations (one tenant transaction per operation). */
  database: {
    /** Connections of the API's pool (authentication, operations, mutations). */
    apiPoolMax: number;
    /** Connections of the workers' own pool (a busy API never starves a backup of its writes, nor the reverse). */
    workerPoolMax: number;
    /** How long an operation waits for its organization's turn and for a connection before a retryable SERVER_BUSY. */
    poolWaitMs: number;
    /** statement_timeout of every API statement. */
    statementTimeoutMs: number;
    /** Operations of one organization holding a connection at once, per API process. */
    orgMaxConcurrentOperations: number;
  };
  /** Who may introspect the schema: anyone (development default), authenticated callers (production default), nobody. */
  introspection: 'open' | 'authenticated' | 'off';
  /** Origins allowed cross-origin requests (with credentials); empty: none. */
  corsOrigins: string[];
  /** What one GraphQL document may ask for before anything runs (src/graphql/builder.ts, src/http/yoga.ts). */
  limits: {
    /** Cost: each field 1, times the rows of every list or connection above it. */
    maxCost: number;
    maxDepth: number;
    /** Fields selected in the whole document. */
    maxBreadth: number;
    maxAliases: number;
    /** Lexer tokens of the document (a 2 MB document is refused before it is parsed). */
    maxTokens: number;
  };
  alerts: AlertsConfig;
}

export interface AlertsConfig {
  /** The operator's SMTP server (smtp://user:pass@host:587, smtps://… for TLS); unset: e-mail cannot be sent. */
  smtpUrl?: string;
  smtpFrom: string;
  /** Base of the links in messages (the API's address as users reach it). */
  publicUrl: string;
  /** How long one delivery attempt may take. */
  timeoutMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A development secret kept in the data directory so restarts keep tokens and sealed data valid. */
function persistedDevSecret(dataDir: string, file: string, make: () => string): string {
  const p = path.join(dataDir, file);
  if (existsSync(p)) return readFileSync(p, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const value = make();
  writeFileSync(p, value + '\n', { mode: 0o600 });
  return value;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nSee the configuration table in README.md.`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const production = e.NODE_ENV === 'production';
  if (production && !e.MASTER_KEY) throw new ConfigError('Invalid configuration:\n  MASTER_KEY: required in production (64 hex characters)');
  if (production && !e.JWT_SECRET && !e.JWT_JWKS_URL && !e.JWT_JWKS_FILE) {
    throw new ConfigError('Invalid configuration:\n  JWT_JWKS_URL, JWT_JWKS_FILE or JWT_SECRET: one is required in production');
  }
  const masterKey = e.MASTER_KEY ?? persistedDevSecret(dataDir, 'master.key', () => randomBytes(32).toString('hex'));
  if (!/^[0-9a-fA-F]{64}$/.test(masterKey) && Buffer.from(masterKey, 'base64').length !== 32) {
    throw new ConfigError('Invalid configuration:\n  MASTER_KEY: must be 64 hex characters or base64 of 32 bytes');
  }
  const common = { issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE };
  const devSecret = e.JWT_SECRET ?? (production ? undefined : persistedDevSecret(dataDir, 'jwt.secret', () => randomBytes(32).toString('base64url')));
  const jwt: AppConfig['jwt'] = e.JWT_JWKS_URL
    ? { kind: 'jwks-url', url: e.JWT_JWKS_URL, devSecret: e.JWT_SECRET, ...common }
    : e.JWT_JWKS_FILE
      ? { kind: 'jwks-file', path: e.JWT_JWKS_FILE, devSecret: e.JWT_SECRET, ...common }
      : { kind: 'hs256', secret: devSecret!, ...common };
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    verifyDatabaseUrl: e.VERIFY_DATABASE_URL,
    dataDir,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    masterKey,
    jwt,
    storageRoot: path.resolve(e.STORAGE_ROOT ?? path.join(dataDir, 'storage')),
    pgBinDir: e.PG_BIN_DIR,
    directorySourceRoots: e.DIRECTORY_SOURCE_ROOTS !== undefined ? e.DIRECTORY_SOURCE_ROOTS.split(':').filter(Boolean) : production ? [] : undefined,
    outbound: { deny: e.OUTBOUND_DENY ?? DEFAULT_OUTBOUND_DENY, allow: e.OUTBOUND_ALLOW ?? null, unixSockets: e.OUTBOUND_UNIX_SOCKETS },
    logLevel: e.LOG_LEVEL,
    graphiql: e.GRAPHIQL ?? !production,
    workerConcurrency: e.WORKER_CONCURRENCY,
    queueSuperviseSeconds: e.QUEUE_SUPERVISE_SECONDS,
    jobHeartbeatSeconds: e.JOB_HEARTBEAT_SECONDS,
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    metricsToken: e.METRICS_TOKEN,
    seedDemo: e.SEED_DEMO ?? !production,
    database: {
      apiPoolMax: e.DB_POOL_MAX,
      workerPoolMax: e.WORKER_DB_POOL_MAX,
      poolWaitMs: e.DB_POOL_WAIT_MS,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
      orgMaxConcurrentOperations: e.ORG_MAX_CONCURRENT_OPERATIONS,
    },
    introspection: e.INTROSPECTION ?? (production ? 'authenticated' : 'open'),
    corsOrigins: (e.CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    limits: { maxCost: e.GRAPHQL_MAX_COST, maxDepth: e.GRAPHQL_MAX_DEPTH, maxBreadth: e.GRAPHQL_MAX_BREADTH, maxAliases: e.GRAPHQL_MAX_ALIASES, maxTokens: e.GRAPHQL_MAX_TOKENS },
    alerts: {
      smtpUrl: e.SMTP_URL,
      smtpFrom: e.SMTP_FROM,
      publicUrl: (e.PUBLIC_URL ?? `http://${e.HOST}:${e.PORT}`).replace(/\/+$/, ''),
      timeoutMs: e.NOTIFY_TIMEOUT_SECONDS * 1000,
    },
  };
}
