// Prometheus metrics at /metrics: process metrics of this process, and platform-wide gauges read
// from the database at scrape time (src/domain/platform-metrics.ts). METRICS_TOKEN, when set, must
// come as a bearer token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { readPlatformMetrics, type PlatformSnapshot } from '../domain/reporting/platform-metrics';
import type { AppServices } from '../services';

export function createMetrics(app: AppServices): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'keepsake_' });
  // One database read per scrape (started by the handler), shared by every gauge's collect().
  let snapshot: Promise<PlatformSnapshot> | undefined;
  const read = () => (snapshot ??= readPlatformMetrics(app.db));
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: PlatformSnapshot) => void) =>
    new Gauge({
      name, help, labelNames, registers: [registry],
      async collect() {
        this.reset();
        fill(this, await read());
      },
    });
  gauge('keepsake_jobs', 'Jobs that are queued or running, and those finished in the last 24 hours, by kind and status', ['kind', 'status'], (g, s) => {
    for (const j of s.jobs) g.set({ kind: j.kind, status: j.status }, j.count);
  });
  gauge('keepsake_oldest_running_job_seconds', 'Age of the oldest running job of each kind (0 when none runs)', ['kind'], (g, s) => {
    for (const kind of ['backup', 'restore', 'verification'] as const) g.set({ kind }, s.oldestRunningSeconds[kind] ?? 0);
  });
  gauge('keepsake_recovery_points', 'Recovery points in the catalog', [], (g, s) => g.set(s.recoveryPoints));
  gauge('keepsake_recovery_points_stored_bytes', 'Bytes stored per copy of every recovery point, summed', [], (g, s) => g.set(s.storedBytes));
  gauge('keepsake_strategies', 'Strategies by status', ['status'], (g, s) => {
    for (const x of s.strategies) g.set({ status: x.status }, x.count);
  });
  gauge('keepsake_strategies_rpo_breached', 'Active strategies with an RPO target and no successful backup within it', [], (g, s) => g.set(s.rpoBreached));
  gauge('keepsake_organizations', 'Organizations', [], (g, s) => g.set(s.organizations));
  gauge('keepsake_queue_jobs', 'Queue jobs waiting (created, retry) or active, by queue', ['queue', 'state'], (g, s) => {
    for (const q of s.queue) g.set({ queue: q.queue, state: q.state }, q.count);
  });

  const token = app.config.metricsToken;
  if (!token && app.config.env === 'production') {
    app.log.warn('/metrics is open: anyone who reaches this port reads platform-wide figures; set METRICS_TOKEN');
  }
  return async (req, res) => {
    if (token && !bearerMatches(req.headers.authorization, token)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('METRICS_TOKEN required\n');
      return;
    }
    try {
      snapshot = readPlatformMetrics(app.db);
      snapshot.catch(() => undefined); // the gauges' collect() see the failure; never unhandled
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(body);
    } catch (err) {
      app.log.error({ err }, 'metrics scrape failed');
      res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
    }
  };
}

/** Compares digests, so neither the token's content nor its length shows in the timing. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const digest = (v: string) => createHash('sha256').update(v, 'utf8').digest();
  return timingSafeEqual(digest(header?.startsWith('Bearer ') ? header.slice(7) : ''), digest(token));
}
