// Builds the GraphQL context for HTTP, SSE and WebSocket operations alike.
import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { AuthError } from '../auth/jwt';
import { AuthenticationError, authenticate } from '../auth/viewer';
import { tenantClient, tenantRead } from '../db/context';
import type { AppServices } from '../services';
import type { GraphQLContext } from './context';
import { busyError } from './operation-session';
import type { Viewer } from '../auth/viewer';
import type { OrgScope, RequestMeta } from '../auth/scope';

export interface ContextInput {
  authorization?: string | null;
  requestId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | null | undefined): string {
  return header && SAFE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** The viewer as the domain sees it: who acts, in which organization, from which request. */
export function viewerScope(viewer: Viewer, meta: RequestMeta): OrgScope {
  return { orgId: viewer.orgId, meta, actor: { type: viewer.kind, id: viewer.userId ?? viewer.apiKeyId, label: viewer.label, role: viewer.role } };
}

export async function buildContext(app: AppServices, input: ContextInput): Promise<GraphQLContext> {
  const requestId = requestIdFrom(input.requestId);
  const log = app.log.child({ requestId });
  let viewer;
  try {
    viewer = await authenticate(app, input.authorization);
  } catch (err) {
    // Only a rejected credential is a 401. Anything else (the database down during the lookup)
    // is a server fault: a client must retry, not drop its credential, and the message (which
    // may name hosts) stays in the log.
    if (err instanceof AuthError || err instanceof AuthenticationError) {
      log.info({ reason: err.message }, 'authentication rejected');
      throw new GraphQLError(`Authentication failed: ${err.message}`, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 }, requestId } });
    }
    const busy = busyError(err, err);
    if (busy) {
      log.warn({ err }, 'authentication refused for capacity');
      throw new GraphQLError(busy.message, { extensions: { ...busy.extensions, http: { status: 503, headers: { 'retry-after': '1' } }, requestId } });
    }
    log.error({ err }, 'authentication could not be completed');
    throw new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR', http: { status: 500 }, requestId } });
  }
  const meta = { requestId, ip: input.ip ?? undefined, userAgent: input.userAgent ?? undefined };
  return {
    app,
    log,
    requestId,
    viewer,
    // Per-statement transactions until an operation starts: the operation-session plugin then
    // gives queries and mutations one session each (subscriptions keep these).
    db: viewer ? tenantClient(app.db, viewer.orgId) : null,
    read: viewer ? tenantRead(app.db, viewer.orgId) : null,
    scope: viewer ? viewerScope(viewer, meta) : null,
  };
}
