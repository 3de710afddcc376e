// One port for everything: GraphQL over HTTP and SSE (yoga.ts), graphql-ws WebSockets through
// the same envelop (websocket.ts), and the plain routes (routes.ts: health, metrics).
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { AppServices } from '../services';
import type { GraphQLContext } from '../graphql/context';
import { createGraphQLHandler } from './yoga';
import { matchRoute, plainRoutes } from './routes';
import { attachWebSocketServer } from './websocket';

export interface App {
  yoga: YogaServerInstance<Record<string, unknown>, GraphQLContext>;
  server: Server;
  start(port: number, host: string): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

export function buildApp(app: AppServices, schema: GraphQLSchema): App {
  const yoga = createGraphQLHandler(app, schema);
  const routes = plainRoutes(app);
  const server = createServer((req, res) => {
    const found = matchRoute(routes, req);
    if (!found) {
      void yoga(req, res, { req });
      return;
    }
    Promise.resolve(found.route.handle(req, res, found.match)).catch((err: unknown) => {
      app.log.error({ err, path: req.url?.split('?', 1)[0] }, 'route failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal error' }));
      else res.destroy();
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const ws = attachWebSocketServer(server, yoga);

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
      await ws.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
