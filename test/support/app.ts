// A real API for a test file: its own database, the real HTTP server on a free port, and
// organizations with one member per role, each with a signed token.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, type AppConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createServices } from '../../src/runtime';
import { buildApp, type App } from '../../src/http/server';
import { schema } from '../../src/graphql/schema';
import { signDevToken } from '../../src/auth/jwt';
import { withSystem } from '../../src/db/context';
import type { AppServices } from '../../src/services';
import type { Role } from '../../src/db/generated/prisma/enums';
import { createTestDatabase, type TestDatabase } from './db';

export const ROLES: Role[] = ['OWNER', 'ADMIN', 'OPERATOR', 'AUDITOR', 'VIEWER'];

export interface TestOrg {
  id: string;
  slug: string;
  users: Record<Role, { id: string; email: string; token: string }>;
}

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; extensions?: Record<string, unknown>; path?: unknown[] }>;
  headers: Headers;
}

export interface TestApp {
  db: TestDatabase;
  services: AppServices;
  config: AppConfig;
  app: App;
  url: string;
  storageRoot: string;
  createOrg(slug?: string): Promise<TestOrg>;
  gql<T = Record<string, unknown>>(token: string | null, query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResult<T>>;
  stop(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'keepsake-test-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    STORAGE_ROOT: path.join(dataDir, 'storage'),
    MASTER_KEY: randomBytes(32).toString('hex'),
    JWT_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const log = createLogger(config.logLevel);
  const services = await createServices(config, log, db.url);
  const app = buildApp(services, schema);
  const { url } = await app.start(0, '127.0.0.1');

  const sign = (userId: string, orgId: string) => {
    if (config.jwt.kind !== 'hs256') throw new Error('tests sign HS256 tokens');
    return signDevToken({ secret: config.jwt.secret, issuer: config.jwt.issuer, audience: config.jwt.audience, sub: userId, org: orgId, expiresIn: '1h' });
  };

  return {
    db,
    services,
    config,
    app,
    url,
    storageRoot: config.storageRoot,
    async createOrg(slug = `org-${randomBytes(4).toString('hex')}`) {
      const created = await withSystem(services.db, 'test-setup', async (tx) => {
        const org = await tx.organization.create({ data: { slug, name: `Org ${slug}` } });
        const users = {} as Record<Role, { id: string; email: string }>;
        for (const role of ROLES) {
          const email = `${role.toLowerCase()}@${slug}.test`;
          const user = await tx.user.create({ data: { email } });
          await tx.membership.create({ data: { orgId: org.id, userId: user.id, role } });
          users[role] = { id: user.id, email };
        }
        return { org, users };
      });
      const users = {} as TestOrg['users'];
      for (const role of ROLES) users[role] = { ...created.users[role], token: await sign(created.users[role].id, created.org.id) };
      return { id: created.org.id, slug, users };
    },
    async gql(token, query, variables, headers = {}) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: never; errors?: GqlResult['errors'] };
      return { status: res.status, data: body.data, errors: body.errors, headers: res.headers };
    },
    async stop() {
      await app.stop();
      await services.close();
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
