// The GraphQL engine (yoga) for HTTP and SSE: the context of each operation, request ids on every
// response and log line, and error masking (typed domain failures pass, anything else is logged
// and answered with its request id). The WebSocket server runs operations through the same envelop.
import type { IncomingMessage } from 'node:http';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { AppServices } from '../services';
import { buildContext, requestIdFrom } from '../graphql/context-factory';
import type { GraphQLContext } from '../graphql/context';
import { useNulGuard } from './nul-guard';
import { useRequestPolicy } from './request-policy';
import { DomainError } from '../domain/errors';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { busyError, statementTimeoutError, useOperationSessions } from '../graphql/operation-session';

export type KeepsakeYoga = YogaServerInstance<{ req?: IncomingMessage; connectionParams?: Record<string, unknown> }, GraphQLContext>;

function clientIp(req: IncomingMessage | undefined): string | undefined {
  return req?.socket?.remoteAddress ?? undefined;
}

export function createGraphQLHandler(app: AppServices, schema: GraphQLSchema): KeepsakeYoga {
  const requestIds = new WeakMap<Request, string>();
  return createYoga<{ req?: IncomingMessage; connectionParams?: Record<string, unknown> }, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: app.config.graphiql ? { subscriptionsProtocol: 'WS', title: 'Keepsake GraphiQL' } : false,
    // GraphiQL from the installed package (scripts, styles and editor workers inline), not a CDN:
    // it works offline and behind a closed network.
    renderGraphiQL,
    landingPage: false,
    logging: false,
    // Cross-origin callers only from CORS_ORIGINS; by default none (no CORS headers at all).
    cors: app.config.corsOrigins.length ? { origin: app.config.corsOrigins, credentials: true, methods: ['GET', 'POST'] } : false,
    context: async (initial) => {
      const { request, req, connectionParams } = initial as typeof initial & { request?: Request };
      const header = (name: string) => request?.headers.get(name) ?? (connectionParams?.[name] as string | undefined) ?? null;
      const requestId = request ? (requestIds.get(request) ?? requestIdFrom(header('x-request-id'))) : requestIdFrom(header('x-request-id'));
      return buildContext(app, {
        authorization: header('authorization') ?? (connectionParams?.Authorization as string | undefined) ?? null,
        requestId,
        ip: clientIp(req),
        userAgent: header('user-agent'),
      });
    },
    maskedErrors: {
      maskError(error, message) {
        const original = error instanceof GraphQLError ? error.originalError : error;
        if (error instanceof GraphQLError && /^Invalid cursor/.test((original as Error | undefined)?.message ?? error.message)) {
          return new GraphQLError(error.message, { nodes: error.nodes, path: error.path, extensions: { code: 'BAD_USER_INPUT' } });
        }
        // A body that is not JSON: in production, never echo what was sent (it may hold a token).
        if (error instanceof GraphQLError && error.extensions?.code === 'BAD_REQUEST' && app.config.env === 'production' && error.extensions.originalError) {
          const { originalError: _echo, ...extensions } = error.extensions;
          return new GraphQLError(error.message, { extensions: { ...extensions, http: { status: 400 } } });
        }
        if (error instanceof GraphQLError && (!original || original instanceof GraphQLError)) return error;
        // An expected domain failure in a field without typed error results (e.g. a list filtered
        // by an id that is not visible) is the caller's mistake, not a server fault: say so.
        if (original instanceof DomainError) {
          return new GraphQLError(original.message, { nodes: error instanceof GraphQLError ? error.nodes : undefined, path: error instanceof GraphQLError ? error.path : undefined, extensions: { code: original.code } });
        }
        const capacity = busyError(original, error) ?? statementTimeoutError(original, error);
        if (capacity) return capacity;
        const requestId = (error instanceof GraphQLError && (error.extensions?.requestId as string)) || undefined;
        app.log.error({ err: original, requestId }, 'unexpected error');
        return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR', ...(requestId ? { requestId } : {}) } });
      },
    },
    plugins: [
      // Refused before parsing or running: too many tokens (a 2 MB document), aliases (5,000 copies
      // of a database field) or directives. Cost, depth and breadth: the complexity plugin (builder.ts).
      EnvelopArmorPlugin({
        maxTokens: { n: app.config.limits.maxTokens },
        maxAliases: { n: app.config.limits.maxAliases },
        maxDirectives: { n: 20 },
        maxDepth: { enabled: false },
        costLimit: { enabled: false },
        blockFieldSuggestion: { enabled: false },
      }),
      useRequestPolicy(app),
      useNulGuard(),
      useOperationSessions(app),
      <Plugin<GraphQLContext>>{
        onRequest({ request }) {
          requestIds.set(request, requestIdFrom(request.headers.get('x-request-id')));
        },
        onResponse({ request, response }) {
          const id = requestIds.get(request);
          if (id) response.headers.set('x-request-id', id);
        },
        // Unexpected errors carry the request id so an operator can find the log line.
        onExecute({ args }) {
          const ctx = args.contextValue as GraphQLContext;
          return {
            onExecuteDone({ result }) {
              if (!('errors' in result) || !result.errors) return;
              for (const e of result.errors) {
                if (!e.originalError || e.originalError instanceof GraphQLError) continue;
                if (e.originalError instanceof DomainError) {
                  ctx.log.info({ code: e.originalError.code, path: e.path }, e.originalError.message);
                  continue;
                }
                if (busyError(e.originalError, e) || statementTimeoutError(e.originalError, e)) {
                  ctx.log.warn({ err: e.originalError, path: e.path }, 'operation refused for capacity');
                  continue;
                }
                ctx.log.error({ err: e.originalError, path: e.path }, 'resolver failed');
                (e.extensions as Record<string, unknown>).requestId = ctx.requestId;
              }
            },
          };
        },
      },
    ],
  });
}
