// GET /recovery-points/<id>/download[?path=…] with the caller's credentials (Authorization: Bearer
// <JWT or API key>), and GET /downloads/<token> for a link from createDownloadLink. The domain
// verifies a copy before anything is sent, so refusals are JSON errors with a status and a code.
// Once the body has started, a failure (the copy changed under us, the reader went away) destroys
// the connection: the client sees a body shorter than Content-Length or a chunked body without its
// end, never a complete-looking file.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { authenticate, AuthenticationError } from '../auth/viewer';
import { AuthError } from '../auth/jwt';
import type { RequestMeta } from '../auth/scope';
import { isBackupError } from '../backup/errors';
import { DomainError } from '../domain/errors';
import { prepareDownload, type DownloadRequest } from '../domain/downloads/download';
import { openDownloadLink } from '../domain/downloads/links';
import { requestIdFrom, viewerScope } from '../graphql/context-factory';
import { decodeId } from '../graphql/ids';
import type { AppServices } from '../services';
import type { Route } from './route';

const STATUS: Record<string, number> = {
  UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, VALIDATION_FAILED: 400, CONFLICT: 409,
  INTEGRITY_ERROR: 502, KEY_MISMATCH: 502, DESTINATION_ERROR: 503,
};

class Unauthenticated extends DomainError {
  override readonly code = 'UNAUTHENTICATED';
}

function refusal(err: unknown): { status: number; code: string; message: string } | null {
  if (err instanceof AuthError || err instanceof AuthenticationError) return { status: 401, code: 'UNAUTHENTICATED', message: `Authentication failed: ${err.message}` };
  if (err instanceof DomainError || isBackupError(err)) return { status: STATUS[err.code] ?? 422, code: err.code, message: err.message };
  return null;
}

export function downloadRoutes(app: AppServices): Route[] {
  const deps = { db: app.db, masterKey: app.masterKey, storageRoot: app.config.storageRoot, pgBinDir: app.config.pgBinDir };
  const serve = async (req: IncomingMessage, res: ServerResponse, resolve: (meta: RequestMeta) => Promise<{ scope: Parameters<typeof prepareDownload>[1]; request: DownloadRequest }>) => {
    const requestId = requestIdFrom(req.headers['x-request-id'] as string | undefined);
    const meta: RequestMeta = { requestId, ip: req.socket.remoteAddress ?? undefined, userAgent: req.headers['user-agent'] };
    const log = app.log.child({ requestId });
    res.setHeader('x-request-id', requestId);
    // The client hanging up stops reading the copy (and the verification pass) at once.
    const abort = new AbortController();
    res.on('close', () => { if (!res.writableFinished) abort.abort(new Error('the client closed the connection')); });
    let prepared;
    try {
      const { scope, request } = await resolve(meta);
      prepared = await prepareDownload(deps, scope, request, abort.signal);
    } catch (err) {
      const r = refusal(err);
      if (!r) throw err;
      log.info({ code: r.code, reason: r.message }, 'download refused');
      if (!res.headersSent) res.writeHead(r.status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ error: { code: r.code, message: r.message }, requestId }));
      return;
    }
    res.writeHead(200, {
      'content-type': prepared.contentType,
      'content-disposition': `attachment; filename="${prepared.filename.replace(/[^\w.@+-]/g, '_')}"`,
      'cache-control': 'no-store',
      ...(prepared.contentLength !== undefined ? { 'content-length': String(prepared.contentLength) } : {}),
    });
    let sent = 0;
    const count = new Transform({ transform(chunk: Buffer, _e, cb) { sent += chunk.length; cb(null, chunk); } });
    try {
      await pipeline(prepared.stream, count, res, { signal: abort.signal });
      if (prepared.contentLength !== undefined && sent !== prepared.contentLength) throw new Error(`sent ${sent} bytes, the catalog says ${prepared.contentLength}`);
      log.info({ bytes: sent, destinationId: prepared.destinationId }, 'download sent');
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err), bytes: sent }, 'download aborted');
      res.destroy();
    }
  };
  return [
    {
      method: 'GET',
      path: /^\/recovery-points\/([^/]+)\/download$/,
      handle: (req, res, match) => serve(req, res, async (meta) => {
        const viewer = await authenticate(app, req.headers.authorization);
        if (!viewer) throw new Unauthenticated('Authentication required: Authorization: Bearer <token or API key>, or use a download link');
        const url = new URL(req.url ?? '/', 'http://localhost');
        const recoveryPointId = decodeId(decodeURIComponent(match![1]!), 'RecoveryPoint', ['id']);
        return { scope: viewerScope(viewer, meta), request: { recoveryPointId, path: url.searchParams.get('path'), via: 'credentials' } };
      }),
    },
    {
      method: 'GET',
      path: /^\/downloads\/([A-Za-z0-9._-]{1,4096})$/,
      handle: (req, res, match) => serve(req, res, async (meta) => {
        const link = await openDownloadLink(deps, match![1]!, meta);
        return { scope: link.scope, request: { recoveryPointId: link.recoveryPointId, path: link.path, via: 'link' } };
      }),
    },
  ];
}
