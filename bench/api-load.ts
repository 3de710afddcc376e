// The API under load, against a running server (`src/main.ts --api-only` in a child process) with a
// real load tool (autocannon), each figure against a baseline measured in the same run:
//
// 1. capacity: the dashboard query of a 50-strategy organization at BENCH_CONNECTIONS (50) vs the
//    trivial `{ __typename }` with the same token: throughput ratio (target ≥ 25 %), dashboard p99
//    (target < 250 ms) and errors (target 0: HTTP errors, timeouts and GraphQL errors alike).
// 2. isolation: organization A's dashboard p99 at 10 connections alone, then while organization B
//    sends the most expensive queries the limits allow at 10 connections (target ≤ 2×).
//
//   npm run bench -- api          BENCH_SECONDS=10 BENCH_CONNECTIONS=50
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { createServices } from '../src/runtime';
import { signDevToken } from '../src/auth/jwt';
import { withSystem } from '../src/db/context';
import { freePort } from '../src/db/embedded';
import { dropDatabase, ensureDatabase, openBenchPostgres, printTable, type SummaryRow } from './postgres-server';

const DATABASE = 'keepsake_bench_api';

export const DASHBOARD = `{
  backupHealth { lastSuccessfulBackupAt scheduledToday ranToday missedLast24h failingStrategyIds runningJobs nextRunAt }
  backupStats { count totalStoredBytes averageStoredBytes oldestAt newestAt }
  strategies(first: 50) { edges { node { name nextRunAt lastRunAt
    latestJobs(first: 3) { status percent error finishedAt }
    recoveryPoints(first: 3) { edges { node { takenAt storedBytes sha256 artifacts { destination { name } sizeBytes } } } } } } }
}`;

/** The most expensive shape the default limits let through: 100 points, each with 19 more (cost 9,901 of 10,000). */
export const WORST_ALLOWED = `{ recoveryPoints(first: 100) { edges { node { strategy { recoveryPoints(first: 19) { edges { node { id takenAt sha256 } } } } } } } }`;

interface Load {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, token: string, query: string, connections: number, seconds: number): Promise<Load> {
  let graphqlErrors = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 10,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
    requests: [
      {
        onResponse: (status: number, body: string) => {
          if (status === 200 && body.includes('"errors"')) graphqlErrors++;
        },
      },
    ],
  });
  return {
    requests: result.requests.total,
    seconds,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx + graphqlErrors,
  };
}

/** An organization with `count` strategies, each with 5 jobs and 4 recovery points at 2 destinations. */
async function seedOrg(services: Awaited<ReturnType<typeof createServices>>, slug: string, count: number) {
  return withSystem(services.db, 'bench-seed', async (tx) => {
    const org = await tx.organization.create({ data: { slug, name: `Bench ${slug}` } });
    const user = await tx.user.create({ data: { email: `viewer@${slug}.bench` } });
    await tx.membership.create({ data: { orgId: org.id, userId: user.id, role: 'VIEWER' } });
    const orgId = org.id;
    for (let i = 0; i < count; i++) {
      const source = await tx.source.create({ data: { orgId, name: `src-${i}`, kind: 'DIRECTORY', path: '/tmp' } });
      const destinations = [
        await tx.destination.create({ data: { orgId, name: `local-${i}`, kind: 'LOCAL', path: `d-${i}` } }),
        await tx.destination.create({ data: { orgId, name: `vault-${i}`, kind: 'LOCAL', path: `v-${i}` } }),
      ];
      const strategy = await tx.strategy.create({ data: { orgId, name: `str-${i}`, sourceId: source.id, cron: '0 3 * * *', nextRunAt: new Date(Date.now() + 3_600_000) } });
      for (const d of destinations) await tx.strategyDestination.create({ data: { orgId, strategyId: strategy.id, destinationId: d.id } });
      for (let j = 0; j < 5; j++) {
        const finished = j < 4;
        const queuedAt = new Date(Date.now() - (5 - j) * 3_600_000);
        const job = await tx.backupJob.create({
          data: {
            orgId, strategyId: strategy.id, trigger: 'SCHEDULED', queuedAt, startedAt: queuedAt, status: finished ? 'SUCCEEDED' : 'RUNNING',
            percent: finished ? 100 : 42, finishedAt: finished ? new Date(queuedAt.getTime() + 60_000) : null,
          },
        });
        if (!finished) continue;
        const point = await tx.recoveryPoint.create({
          data: {
            orgId, strategyId: strategy.id, sourceId: source.id, backupJobId: job.id, sourceKind: 'DIRECTORY', format: 'tar', compression: 'ZSTD',
            encrypted: true, rawBytes: 3000n, storedBytes: 1000n, sha256: 'a'.repeat(64), manifest: {}, takenAt: new Date(queuedAt.getTime() + 60_000),
          },
        });
        for (const d of destinations) {
          await tx.artifact.create({ data: { orgId, recoveryPointId: point.id, destinationId: d.id, key: `k-${point.id}-${d.id}`, manifestKey: `m-${point.id}-${d.id}`, sizeBytes: 1000n, sha256: 'a'.repeat(64) } });
        }
      }
    }
    return { orgId, userId: user.id };
  });
}

async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--api-only'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Keepsake is running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  return {
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function runApiLoad(): Promise<SummaryRow[]> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const pgServer = await openBenchPostgres((l) => console.log(l));
  const dataDir = await mkdtemp(path.join(tmpdir(), 'keepsake-bench-'));
  const cleanups: Array<() => Promise<unknown>> = [() => rm(dataDir, { recursive: true, force: true }), () => pgServer.stop()];
  try {
    await dropDatabase(pgServer.adminUrl, DATABASE);
    await ensureDatabase(pgServer.adminUrl, DATABASE);
    const url = pgServer.urlFor(DATABASE);
    cleanups.push(() => dropDatabase(pgServer.adminUrl, DATABASE));
    const env = {
      NODE_ENV: 'production', DATABASE_URL: url, DATA_DIR: dataDir, LOG_LEVEL: 'error', SEED_DEMO: 'false', HOST: '127.0.0.1',
      MASTER_KEY: randomBytes(32).toString('hex'), JWT_SECRET: randomBytes(32).toString('base64url'), METRICS_TOKEN: randomBytes(16).toString('hex'),
    };
    const config = loadConfig(env);
    const services = await createServices(config, createLogger('silent'), url);
    console.log('seeding two organizations of 50 strategies (250 jobs, 200 points, 400 copies each)…');
    const a = await seedOrg(services, `bench-a-${randomBytes(3).toString('hex')}`, 50);
    const b = await seedOrg(services, `bench-b-${randomBytes(3).toString('hex')}`, 50);
    await services.close();
    if (config.jwt.kind !== 'hs256') throw new Error('the bench signs HS256 tokens');
    const jwt = config.jwt;
    const sign = (who: { orgId: string; userId: string }) => signDevToken({ secret: jwt.secret, issuer: jwt.issuer, audience: jwt.audience, sub: who.userId, org: who.orgId, expiresIn: '1h' });
    const [tokenA, tokenB] = [await sign(a), await sign(b)];

    const port = await freePort();
    const server = await startServer({ ...env, PORT: String(port) });
    cleanups.push(() => server.stop());
    const endpoint = `http://127.0.0.1:${port}/graphql`;

    await load(endpoint, tokenA, DASHBOARD, 4, 2); // warm-up (JIT, prepared plans)
    console.log(`capacity: ${connections} connections, ${seconds} s each…`);
    const trivial = await load(endpoint, tokenA, '{ __typename }', connections, seconds);
    const dashboard = await load(endpoint, tokenA, DASHBOARD, connections, seconds);
    console.log('isolation: A\'s dashboard at 10 connections, alone and while B sends the worst allowed query at 10 connections…');
    const alone = await load(endpoint, tokenA, DASHBOARD, 10, seconds);
    const [shared, attacker] = await Promise.all([load(endpoint, tokenA, DASHBOARD, 10, seconds), load(endpoint, tokenB, WORST_ALLOWED, 10, seconds)]);

    const fmt = (l: Load) => ({ rps: l.rps.toFixed(1), p50: `${l.p50} ms`, p99: `${l.p99} ms`, requests: String(l.requests), errors: String(l.errors) });
    printTable([
      { run: `{ __typename } × ${connections}`, ...fmt(trivial) },
      { run: `dashboard (50 strategies) × ${connections}`, ...fmt(dashboard) },
      { run: 'A dashboard × 10, alone', ...fmt(alone) },
      { run: 'A dashboard × 10, B attacking', ...fmt(shared) },
      { run: 'B worst allowed query × 10', ...fmt(attacker) },
    ]);
    const ratio = dashboard.rps / trivial.rps;
    const slowdown = shared.p99 / Math.max(1, alone.p99);
    return [
      { bench: 'api', metric: 'dashboard / __typename throughput', value: `${(ratio * 100).toFixed(1)} %`, target: '≥ 25 %', ok: ratio >= 0.25 },
      { bench: 'api', metric: `dashboard p99 at ${connections} connections`, value: `${dashboard.p99} ms`, target: '< 250 ms', ok: dashboard.p99 < 250 },
      { bench: 'api', metric: 'dashboard errors', value: String(dashboard.errors), target: '0', ok: dashboard.errors === 0 },
      { bench: 'api', metric: "A's p99 with B attacking / alone", value: `${slowdown.toFixed(2)}× (${shared.p99} / ${alone.p99} ms)`, target: '≤ 2×', ok: slowdown <= 2 },
      { bench: 'api', metric: "A's errors with B attacking", value: String(shared.errors), target: '0', ok: shared.errors === 0 },
    ];
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error('cleanup failed:', err));
  }
}
