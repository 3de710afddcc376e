// Where tenant isolation is enforced the second time (the first is `where: { orgId }` in the
// services). Every tenant statement runs in a transaction that switches to the keepsake_app
// role and sets app.org_id, so Postgres row-level security hides other orgs' rows even when
// a filter is forgotten. Cross-org work uses the explicit, named system context instead.
import type { Db } from './client';
import type { Prisma } from './generated/prisma/client';
import { isUuid } from './uuid';

export type Tx = Prisma.TransactionClient;

export function assertOrgId(orgId: string): void {
  // A malformed id would make the ::uuid cast in the policies fail; reject it up front.
  if (!isUuid(orgId)) throw new Error(`invalid organization id for tenant context`);
}

/** Runs fn in one transaction as the tenant role with app.org_id set. */
export async function withTenant<T>(db: Db, orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  assertOrgId(orgId);
  return db.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT set_config('role', 'keepsake_app', true), set_config('app.org_id', ${orgId}, true)`;
      return fn(tx);
    },
    { maxWait: 10_000, timeout: 60_000 },
  );
}

/** Runs a read in a tenant transaction: a fresh one (tenantRead) or an operation's session. */
export type TenantRead = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

/** A TenantRead that opens its own transaction for each call. */
export function tenantRead(db: Db, orgId: string): TenantRead {
  return (fn) => withTenant(db, orgId, fn);
}

/**
 * A client whose every single query runs in its own short transaction as the tenant.
 * Subscriptions use it (one short transaction per event's reads); queries and mutations use one
 * session for the whole operation instead (tenant-session.ts).
 */
export function tenantClient(db: Db, orgId: string) {
  assertOrgId(orgId);
  return db.$extends({
    name: 'tenant-rls',
    query: {
      $allModels: {
        async $allOperations({ args, query }) {
          const [, result] = await db.$transaction([
            db.$executeRaw`SELECT set_config('role', 'keepsake_app', true), set_config('app.org_id', ${orgId}, true)`,
            query(args),
          ]);
          return result;
        },
      },
    },
  });
}

export type TenantClient = ReturnType<typeof tenantClient>;

const anonymousClients = new WeakMap<Db, TenantClient>();

/**
 * For requests without a viewer: every query runs as the tenant role with no tenant set, so
 * RLS shows no row at all. The login's own client (a superuser or table owner bypasses RLS)
 * must never answer an unauthenticated request, even where a field forgot its auth scope.
 */
export function anonymousClient(db: Db): TenantClient {
  let client = anonymousClients.get(db);
  if (!client) {
    client = db.$extends({
      name: 'anonymous-rls',
      query: {
        $allModels: {
          async $allOperations({ args, query }) {
            const [, result] = await db.$transaction([
              db.$executeRaw`SELECT set_config('role', 'keepsake_app', true), set_config('app.org_id', '', true)`,
              query(args),
            ]);
            return result;
          },
        },
      },
    }) as unknown as TenantClient;
    anonymousClients.set(db, client);
  }
  return client;
}

/**
 * Cross-organization work (the scheduler finding due strategies, retention sweeps, looking up
 * who a token belongs to). The reason is required so every use is named at its call site.
 */
export async function withSystem<T>(db: Db, reason: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if (!reason) throw new Error('withSystem needs a reason');
  return db.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT set_config('role', 'keepsake_system', true), set_config('app.system_reason', ${reason}, true)`;
      return fn(tx);
    },
    { maxWait: 10_000, timeout: 60_000 },
  );
}

/**
 * Inside a tenant transaction, briefly act as the system for global rows that are not
 * tenant-owned (users are global identities: inviting an existing person must find them).
 */
export async function asSystemWithin<T>(tx: Tx, orgId: string, reason: string, fn: () => Promise<T>): Promise<T> {
  await tx.$executeRaw`SELECT set_config('role', 'keepsake_system', true), set_config('app.system_reason', ${reason}, true)`;
  try {
    return await fn();
  } finally {
    await tx.$executeRaw`SELECT set_config('role', 'keepsake_app', true), set_config('app.org_id', ${orgId}, true)`;
  }
}

/**
 * Inside a tenant transaction, run queue statements (pg-boss tables are not tenant data and
 * the tenant role has no rights on them) as the connection's own login, then return to the
 * tenant role. The statements still commit or roll back with the transaction.
 */
export async function asQueueOwnerWithin<T>(tx: Tx, orgId: string, fn: () => Promise<T>): Promise<T> {
  await tx.$executeRaw`SELECT set_config('role', 'none', true)`;
  try {
    return await fn();
  } finally {
    await tx.$executeRaw`SELECT set_config('role', 'keepsake_app', true), set_config('app.org_id', ${orgId}, true)`;
  }
}
