// `npm start`: API and workers in one process by default; --api-only / --worker-only to
// scale each side out against the same database.
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { openDatabase } from './db/database';
import { takeOverShutdownSignals } from './db/embedded';
import { ensureDemoOrganization, DEMO_ORG_SLUG } from './db/seed';
import { createServices } from './runtime';
import { buildApp } from './http/server';
import { schema } from './graphql/schema';
import { signDevToken } from './auth/jwt';
import { bannerLines } from './banner';
import { DEMO_SHOP_DATABASE, ensureDemoShopDatabase } from './db/demo-shop';
import { DEMO_STRATEGY_NAME, ensureDemoProtection } from './domain/organization/demo';

async function main() {
  const args = new Set(process.argv.slice(2));
  const runApi = !args.has('--worker-only');
  const runWorkers = !args.has('--api-only');
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const database = await openDatabase(config, log);
  const services = await createServices(config, log, database.url);
  const stops: Array<() => Promise<void>> = [];

  let demo;
  let demoStrategyId: string | null = null;
  if (config.seedDemo) {
    demo = await ensureDemoOrganization(services.db);
    if (demo.created) log.info({ org: DEMO_ORG_SLUG }, 'seeded the demo organization');
    // On the embedded server the demo also gets something to protect: a sample database.
    if (database.adminUrl) {
      const shopUrl = await ensureDemoShopDatabase(database.adminUrl);
      demoStrategyId = await ensureDemoProtection(services.db, services.masterKey, demo.orgId, shopUrl, { create: demo.created });
    }
  }

  let url: string | undefined;
  if (runApi) {
    const app = buildApp(services, schema);
    const started = await app.start(config.port, config.host);
    url = started.url;
    stops.push(() => app.stop());
  }
  if (runWorkers) {
    const { startWorkers } = await import('./jobs/runtime');
    const workers = await startWorkers(services);
    stops.push(() => workers.stop({ graceMs: config.shutdownGraceSeconds * 1000 }));
  }
  log.info({ api: runApi, workers: runWorkers, pid: process.pid }, 'started');

  if (url) {
    let token: string | undefined;
    if (demo && config.jwt.kind === 'hs256') {
      token = await signDevToken({ secret: config.jwt.secret, issuer: config.jwt.issuer, audience: config.jwt.audience, sub: demo.userId, org: demo.orgId, expiresIn: '12h' });
    }
    const lines = bannerLines({
      url,
      graphiql: config.graphiql,
      demo: token
        ? { orgSlug: DEMO_ORG_SLUG, token, strategyName: DEMO_STRATEGY_NAME, strategyId: demoStrategyId, shopDatabase: DEMO_SHOP_DATABASE, embeddedAdminUrl: database.adminUrl }
        : undefined,
    });
    process.stdout.write(lines.join('\n') + '\n');
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      // A second Ctrl-C: leave now (stopping an embedded server first, briefly). Running jobs are
      // retried once their heartbeats lapse.
      log.warn({ signal }, 'second signal: exiting without waiting for running jobs');
      await Promise.race([database.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
      process.exit(130);
    }
    stopping = true;
    log.info({ signal, graceSeconds: config.shutdownGraceSeconds }, 'shutting down: running jobs get the grace period, then go back to the queue');
    for (const stop of stops.reverse()) await stop().catch((err) => log.error({ err }, 'stop failed'));
    await services.close();
    await database.stop();
    process.exit(0);
  };
  takeOverShutdownSignals();
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
