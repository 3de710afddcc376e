// The GraphQL context, shared by HTTP, SSE and WebSocket operations.
import type { Logger } from 'pino';
import type { AppServices } from '../services';
import type { TenantClient, TenantRead } from '../db/context';
import type { OrgScope } from '../auth/scope';
import type { Viewer } from '../auth/viewer';

export interface GraphQLContext {
  app: AppServices;
  log: Logger;
  requestId: string;
  viewer: Viewer | null;
  /**
   * Tenant-scoped client, present only when a viewer is authenticated. In a query or mutation it
   * is the operation's one tenant session (src/db/tenant-session.ts); in a subscription each
   * statement runs in its own short tenant transaction.
   */
  db: TenantClient | null;
  /** Domain reads in the same tenant transaction as `db` (dashboards); present with a viewer. */
  read: TenantRead | null;
  /** The viewer as a domain scope for services (actor + request metadata). */
  scope: OrgScope | null;
}

/** The context of fields gated by a member scope: viewer, db and scope are known to exist. */
export type MemberContext = GraphQLContext & { viewer: Viewer; db: TenantClient; read: TenantRead; scope: OrgScope };
