// The GraphQL context, shared by HTTP, SSE and WebSocket operations.
import type { Logger } from 'pino';
import type { AppServices } from '../services';
import type { TenantClient } from '../db/context';
import type { OrgScope } from '../auth/scope';
import type { Viewer } from '../auth/viewer';

export interface GraphQLContext {
  app: AppServices;
  log: Logger;
  requestId: string;
  viewer: Viewer | null;
  /** Tenant-scoped client (RLS per query); present only when a viewer is authenticated. */
  db: TenantClient | null;
  /** The viewer as a domain scope for services (actor + request metadata). */
  scope: OrgScope | null;
}

/** The context of fields gated by a member scope: viewer, db and scope are known to exist. */
export type MemberContext = GraphQLContext & { viewer: Viewer; db: TenantClient; scope: OrgScope };
