// Gives every query and mutation one tenant session (src/db/tenant-session.ts) for all its
// fields, closes it when the operation ends, and cancels its database work when the client goes
// away. Subscriptions keep the per-statement client: a session held open for a subscription's
// lifetime would pin a connection per subscriber.
import type { Plugin } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import type { AppServices } from '../services';
import { DatabaseBusyError, isPoolTimeout, openTenantSession, OrgConcurrency } from '../db/tenant-session';
import type { GraphQLContext } from './context';

export function useOperationSessions(app: AppServices): Plugin<GraphQLContext> {
  const limits = app.config.database;
  const gate = new OrgConcurrency(limits.orgMaxConcurrentOperations);
  return {
    onExecute({ args }) {
      const ctx = args.contextValue as GraphQLContext & { request?: Request };
      if (!ctx.viewer) return;
      const signal = ctx.request?.signal;
      const session = openTenantSession(
        app.db,
        ctx.viewer.orgId,
        { maxWaitMs: limits.poolWaitMs, statementTimeoutMs: limits.statementTimeoutMs, transactionTimeoutMs: Math.max(limits.statementTimeoutMs * 3, 30_000) },
        gate,
        signal,
      );
      ctx.db = session.client;
      ctx.read = session.read;
      const onAbort = () => {
        ctx.log.info('client went away: cancelling the operation’s database work');
        void session.cancel();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      return {
        // Awaited: the connection is back in the pool before the response goes out.
        async onExecuteDone() {
          signal?.removeEventListener('abort', onAbort);
          await session.close();
        },
      };
    },
  };
}

/** SERVER_BUSY (retryable) for a saturated pool or organization cap; null for any other error. */
export function busyError(original: unknown, error: unknown): GraphQLError | null {
  if (!(original instanceof DatabaseBusyError) && !isPoolTimeout(original)) return null;
  const message = original instanceof DatabaseBusyError ? original.message : new DatabaseBusyError('pool').message;
  return new GraphQLError(message, {
    nodes: error instanceof GraphQLError ? error.nodes : undefined,
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'SERVER_BUSY', retryable: true, retryAfterSeconds: 1 },
  });
}

/** A statement that ran past DB_STATEMENT_TIMEOUT_MS: the caller asked for too much at once. */
export function statementTimeoutError(original: unknown, error: unknown): GraphQLError | null {
  const text = String((original as { message?: string } | null)?.message ?? '') + JSON.stringify((original as { cause?: unknown } | null)?.cause ?? '');
  if (!/statement timeout|57014/.test(text)) return null;
  return new GraphQLError('The query took too long and was stopped; ask for less at once (fewer items, smaller pages)', {
    nodes: error instanceof GraphQLError ? error.nodes : undefined,
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'QUERY_TIMEOUT' },
  });
}
