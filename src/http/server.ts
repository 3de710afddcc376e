// One port for everything: GraphQL over HTTP and SSE (yoga), graphql-ws WebSockets through
// the same envelop (so plugins and context are shared), and health endpoints.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { AppServices } from '../services';
import { buildContext, requestIdFrom } from '../graphql/context-factory';
import type { GraphQLContext } from '../graphql/context';
import { readiness } from './health';
import { createMetrics } from './metrics';
import { useNulGuard } from './nul-guard';
import { DomainError } from '../domain/errors';

export interface App {
  yoga: YogaServerInstance<Record<string, unknown>, GraphQLContext>;
  server: Server;
  start(port: number, host: string): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

function clientIp(req: IncomingMessage | undefined): string | undefined {
  return req?.socket?.remoteAddress ?? undefined;
}

export function buildApp(app: AppServices, schema: GraphQLSchema): App {
  const requestIds = new WeakMap<Request, string>();
  const yoga = createYoga<{ req?: IncomingMessage; connectionParams?: Record<string, unknown> }, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: app.config.graphiql ? { subscriptionsProtocol: 'WS' } : false,
    landingPage: false,
    logging: false,
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
        if (error instanceof GraphQLError && (!original || original instanceof GraphQLError)) return error;
        // An expected domain failure in a field without typed error results (e.g. a list filtered
        // by an id that is not visible) is the caller's mistake, not a server fault: say so.
        if (original instanceof DomainError) {
          return new GraphQLError(original.message, { nodes: error instanceof GraphQLError ? error.nodes : undefined, path: error instanceof GraphQLError ? error.path : undefined, extensions: { code: original.code } });
        }
        const requestId = (error instanceof GraphQLError && (error.extensions?.requestId as string)) || undefined;
        app.log.error({ err: original, requestId }, 'unexpected error');
        return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR', ...(requestId ? { requestId } : {}) } });
      },
    },
    plugins: [
      useNulGuard(),
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
                ctx.log.error({ err: e.originalError, path: e.path }, 'resolver failed');
                (e.extensions as Record<string, unknown>).requestId = ctx.requestId;
              }
            },
          };
        },
      },
    ],
  });

  const metrics = createMetrics(app);
  const sockets = new Set<Socket>();
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    if (req.url === '/metrics') {
      await metrics(req, res);
      return;
    }
    if (req.url === '/readyz') {
      const r = await readiness(app);
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r));
      return;
    }
    yoga(req, res, { req });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  type Enveloped = ReturnType<typeof yoga.getEnveloped>;
  type WsArgs = { rootValue: { execute: Enveloped['execute']; subscribe: Enveloped['subscribe'] } };
  const wsCleanup = useServer(
    {
      execute: (args) => (args as unknown as WsArgs).rootValue.execute(args),
      subscribe: (args) => (args as unknown as WsArgs).rootValue.subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          connectionParams: ctx.connectionParams,
        });
        let document: ReturnType<typeof parse>;
        let contextValue: Awaited<ReturnType<typeof contextFactory>>;
        try {
          document = parse(params.query);
          contextValue = await contextFactory();
        } catch (err) {
          // A syntax error or a rejected credential is the caller's mistake: answer this operation
          // with the error, as over HTTP, instead of closing the socket as a server fault (4500).
          if (!(err instanceof GraphQLError)) throw err;
          const { http: _http, ...extensions } = err.extensions;
          return [new GraphQLError(err.message, { extensions })];
        }
        const args = {
          schema: s,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
  );

  return {
    yoga: yoga as unknown as App['yoga'],
    server,
    start: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const addr = server.address();
          const actual = typeof addr === 'object' && addr ? addr.port : port;
          resolve({ url: `http://${host}:${actual}/graphql`, port: actual });
        });
      }),
    stop: async () => {
      await wsCleanup.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
