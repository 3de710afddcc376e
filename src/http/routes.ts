// The plain HTTP routes beside GraphQL: liveness, readiness, Prometheus metrics and downloads. Each route
// is one entry in the table, matched by method and path; anything else goes to GraphQL.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Route } from './route';
import type { AppServices } from '../services';
import { readiness } from './health';
import { createMetrics } from './metrics';
import { downloadRoutes } from './downloads';
import { serveWebApp } from './web-app';


function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function plainRoutes(app: AppServices): Route[] {
  const metrics = createMetrics(app);
  return [
    { path: '/healthz', handle: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      path: '/readyz',
      handle: async (_req, res) => {
        const r = await readiness(app);
        sendJson(res, r.ready ? 200 : 503, r);
      },
    },
    { path: '/metrics', handle: (req, res) => metrics(req, res) },
    ...downloadRoutes(app),
    { method: 'GET', path: /^\/app(\/.*)?$/, handle: (req, res) => serveWebApp(req, res) },
    { method: 'GET', path: '/', handle: (_req, res) => void res.writeHead(302, { location: '/app/' }).end() },
  ];
}

/** The route a request asks for, with the path's pattern match; null hands it to GraphQL. */
export function matchRoute(routes: Route[], req: IncomingMessage): { route: Route; match: RegExpMatchArray | null } | null {
  const pathname = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  for (const route of routes) {
    if (route.method && route.method !== method) continue;
    if (typeof route.path === 'string') {
      if (route.path === pathname) return { route, match: null };
      continue;
    }
    const match = pathname.match(route.path);
    if (match) return { route, match };
  }
  return null;
}
