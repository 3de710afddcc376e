// The dashboard's built files (web/dist, made by `npm run web:build` at install and start) served
// at /app: static files only, no credentials involved; the page calls the public API itself.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';

const DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };

export async function serveWebApp(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const pathname = decodeURIComponent((req.url ?? '/').split('?', 1)[0] ?? '/');
  if (pathname === '/app') {
    res.writeHead(301, { location: '/app/' }).end();
    return;
  }
  const rel = pathname.slice('/app/'.length) || 'index.html';
  const file = path.resolve(DIST, rel);
  // A path that climbs out of the build folder is not a file of the app.
  const inside = file.startsWith(DIST) ? file : null;
  const body = inside ? await readFile(inside).catch(() => null) : null;
  if (!body) {
    const fallback = await readFile(path.join(DIST, 'index.html')).catch(() => null);
    if (!fallback) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('The dashboard is not built: run `npm run web:build`');
      return;
    }
    res.writeHead(rel.includes('.') ? 404 : 200, { 'content-type': TYPES['.html']! }).end(rel.includes('.') ? 'not found' : fallback);
    return;
  }
  const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  const cache = rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
  res.writeHead(200, { 'content-type': type, 'cache-control': cache }).end(body);
}
