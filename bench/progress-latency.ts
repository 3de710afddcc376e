// Live progress latency across processes: a child process publishes K job events at a steady
// rate through EventBus.publish (pg_notify, as a worker does); this process runs the real API
// (createServices + buildApp) and receives each event twice: on the API's EventBus (LISTEN) and
// through a real graphql-ws client subscribed to `jobEvents` with a dev token. Latency is
// receipt time − the event's publish time (`at`, Date.now() in the publisher; same machine).
//
//   npx tsx bench/progress-latency.ts            BENCH_EVENTS=2000 BENCH_RATE=200 (events/s)
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { createServices } from '../src/runtime';
import { buildApp } from '../src/http/server';
import { schema } from '../src/graphql/schema';
import { signDevToken } from '../src/auth/jwt';
import { withSystem } from '../src/db/context';
import { EventBus } from '../src/events/bus';
import { ensureDatabase, openBenchPostgres, percentile, printTable, type SummaryRow } from './postgres-server';

const THIS_FILE = fileURLToPath(import.meta.url);
const TARGET_P99_MS = 100;
const DATABASE = 'keepsake_bench_progress';

/** Child mode: publish `count` events for `orgId` at `rate` per second, then report. */
async function publish(url: string, orgId: string, count: number, rate: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const run = (sql: string, params: unknown[]) => client.query(sql, params);
  const jobId = randomUUID();
  const interval = 1000 / rate;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    await EventBus.publish(run, {
      orgId, kind: 'BACKUP', id: jobId, status: 'RUNNING', phase: 'dumping',
      bytesDone: String(i), bytesTotal: String(count), percent: Math.round((i / count) * 1000) / 10, etaSeconds: null,
    });
  }
  const seconds = (performance.now() - start) / 1000;
  await client.end();
  process.stdout.write(JSON.stringify({ published: count, seconds }) + '\n');
}

function stats(latencies: number[]) {
  const s = [...latencies].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 0.5), p95: percentile(s, 0.95), p99: percentile(s, 0.99), max: s[s.length - 1] ?? Number.NaN };
}

export async function runProgressLatency(): Promise<SummaryRow[]> {
  const count = Number(process.env.BENCH_EVENTS ?? 2000);
  const rate = Number(process.env.BENCH_RATE ?? 200);
  const pgServer = await openBenchPostgres((l) => console.log(l));
  const dataDir = await mkdtemp(path.join(tmpdir(), 'keepsake-bench-'));
  // Undone in reverse order whatever happens, so a failure never leaves the server running.
  const cleanups: Array<() => Promise<unknown>> = [() => rm(dataDir, { recursive: true, force: true }), () => pgServer.stop()];
  try {
    await ensureDatabase(pgServer.adminUrl, DATABASE);
    const url = pgServer.urlFor(DATABASE);
    const config = loadConfig({
      NODE_ENV: 'test', DATABASE_URL: url, DATA_DIR: dataDir, LOG_LEVEL: 'silent',
      MASTER_KEY: randomBytes(32).toString('hex'), JWT_SECRET: randomBytes(32).toString('base64url'),
    });
    const services = await createServices(config, createLogger('silent'), url);
    cleanups.push(() => services.close());
    const app = buildApp(services, schema);
    const { url: httpUrl } = await app.start(0, '127.0.0.1');
    cleanups.push(() => app.stop());
    const slug = `bench-${randomBytes(4).toString('hex')}`;
    const { orgId, userId } = await withSystem(services.db, 'bench-setup', async (tx) => {
      const org = await tx.organization.create({ data: { slug, name: `Bench ${slug}` } });
      const user = await tx.user.create({ data: { email: `viewer@${slug}.bench` } });
      await tx.membership.create({ data: { orgId: org.id, userId: user.id, role: 'VIEWER' } });
      return { orgId: org.id, userId: user.id };
    });
    if (config.jwt.kind !== 'hs256') throw new Error('the bench signs HS256 tokens');
    const token = await signDevToken({ secret: config.jwt.secret, issuer: config.jwt.issuer, audience: config.jwt.audience, sub: userId, org: orgId, expiresIn: '1h' });

    const busLatency: number[] = [];
    const wsLatency: number[] = [];
    const wsSeen = new Set<number>();
    let warmedUp: (() => void) | undefined;
    const warm = new Promise<void>((r) => (warmedUp = r));
    const offBus = services.events.on((e) => {
      if (e.orgId === orgId && e.bytesTotal === String(count)) busLatency.push(Date.now() - e.at);
    });
    cleanups.push(async () => offBus());

    const client = createClient({ url: httpUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, lazy: false });
    cleanups.push(async () => client.dispose());
    type Data = { jobEvents: { phase: string | null; bytesDone: string | null; bytesTotal: string | null; publishedAt: string } };
    let subscriptionError: unknown;
    const unsubscribe = client.subscribe<Data>(
      { query: 'subscription { jobEvents { kind jobId status phase bytesDone bytesTotal percent publishedAt } }' },
      {
        next: (r) => {
          const received = Date.now();
          const e = r.data?.jobEvents;
          if (!e) return void (subscriptionError ??= r.errors);
          if (e.phase === 'warmup') return warmedUp?.();
          if (e.bytesTotal !== String(count)) return;
          const seq = Number(e.bytesDone);
          if (wsSeen.has(seq)) return;
          wsSeen.add(seq);
          wsLatency.push(received - Date.parse(e.publishedAt));
        },
        error: (err) => (subscriptionError = err),
        complete: () => undefined,
      },
    );
    cleanups.push(async () => unsubscribe());

    // graphql-ws has no "subscribed" acknowledgement: publish warm-up events until one arrives.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    cleanups.push(() => admin.end());
    for (let i = 0; ; i++) {
      if (subscriptionError) throw new Error(`subscription failed: ${JSON.stringify(subscriptionError)}`);
      if (i > 200) throw new Error('the subscription never delivered a warm-up event');
      await EventBus.publish((sql, params) => admin.query(sql, params), { orgId, kind: 'BACKUP', id: randomUUID(), phase: 'warmup' });
      const ok = await Promise.race([warm.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 50))]);
      if (ok) break;
    }

    console.log(`publishing ${count} events at ${rate}/s from a child process…`);
    const child = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, '--publish', url, orgId, String(count), String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    if (code !== 0) throw new Error(`publisher exited with ${code}`);
    const report = JSON.parse(out.trim().split('\n').pop()!) as { published: number; seconds: number };
    // Let the tail arrive (bounded: anything later than 5 s counts as lost).
    const deadline = Date.now() + 5000;
    while ((busLatency.length < count || wsSeen.size < count) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

    const bus = stats(busLatency);
    const ws = stats(wsLatency);
    console.log(`\npublished ${report.published} events in ${report.seconds.toFixed(2)} s (${(report.published / report.seconds).toFixed(0)}/s)`);
    const fmt = (n: number) => (Number.isFinite(n) ? `${n} ms` : '-');
    printTable([
      { path: 'EventBus LISTEN (API process)', received: `${bus.n}/${count}`, p50: fmt(bus.p50), p95: fmt(bus.p95), p99: fmt(bus.p99), max: fmt(bus.max) },
      { path: 'GraphQL jobEvents over graphql-ws', received: `${ws.n}/${count}`, p50: fmt(ws.p50), p95: fmt(ws.p95), p99: fmt(ws.p99), max: fmt(ws.max) },
    ]);
    const ok = ws.n === count && ws.p99 < TARGET_P99_MS;
    console.log(`target: p99 < ${TARGET_P99_MS} ms end to end, nothing lost → ${ok ? 'met' : 'NOT met'}`);
    return [
      { bench: 'progress', metric: 'publish → graphql-ws p99', value: fmt(ws.p99), target: `< ${TARGET_P99_MS} ms`, ok: ws.p99 < TARGET_P99_MS },
      { bench: 'progress', metric: 'publish → graphql-ws p50 / p95 / max', value: `${fmt(ws.p50)} / ${fmt(ws.p95)} / ${fmt(ws.max)}`, target: '', ok: null },
      { bench: 'progress', metric: 'publish → EventBus p99', value: fmt(bus.p99), target: '', ok: null },
      { bench: 'progress', metric: 'events received (graphql-ws)', value: `${ws.n}/${count}`, target: `${count}/${count}`, ok: ws.n === count },
    ];
  } finally {
    for (const undo of cleanups.reverse()) await undo().catch((err: unknown) => console.error('cleanup failed:', err));
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain && process.argv[2] === '--publish') {
  const [url, orgId, count, rate] = process.argv.slice(3);
  await publish(url!, orgId!, Number(count), Number(rate));
} else if (isMain) {
  await runProgressLatency();
}
