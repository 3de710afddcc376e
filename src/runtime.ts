// Composition root: configuration → database → migrations → services. Shared by main.ts,
// the CLI scripts and the tests, so all of them run the same wiring.
import type { AppConfig } from './config';
import { createDb, type DbOptions } from './db/client';
import { deployMigrations } from './db/migrate';
import { createJwtVerifier } from './auth/jwt';
import { parseMasterKey } from './crypto/sealed';
import { EventBus } from './events/bus';
import { startBoss } from './queue/boss';
import type { Logger } from './logger';
import type { AppServices } from './services';
import { configureOutbound, OutboundPolicy } from './backup/outbound';

export async function createServices(config: AppConfig, log: Logger, databaseUrl: string, dbOptions: DbOptions = {}): Promise<AppServices> {
  const { applied } = await deployMigrations(databaseUrl, { log: (m) => log.debug(m) });
  if (applied.length) log.info({ applied }, 'migrations applied');
  const { jwt } = config;
  const verify = createJwtVerifier(
    jwt.kind === 'hs256'
      ? { kind: 'hs256', secret: jwt.secret, issuer: jwt.issuer, audience: jwt.audience }
      : jwt.kind === 'jwks-url'
        ? { kind: 'jwks-url', url: jwt.url, issuer: jwt.issuer, audience: jwt.audience }
        : { kind: 'jwks-file', path: jwt.path, issuer: jwt.issuer, audience: jwt.audience },
  );
  // Every connection a worker makes for a tenant goes through this policy (src/backup/outbound.ts).
  configureOutbound(new OutboundPolicy(config.outbound));
  const db = createDb(databaseUrl, {
    max: config.database.apiPoolMax,
    connectionTimeoutMs: config.database.poolWaitMs,
    statementTimeoutMs: config.database.statementTimeoutMs,
    ...dbOptions,
  });
  const boss = await startBoss(databaseUrl, { superviseSeconds: config.queueSuperviseSeconds, heartbeatSeconds: config.jobHeartbeatSeconds });
  boss.on('error', (err) => log.error({ err }, 'queue error'));
  const events = new EventBus(databaseUrl, log);
  await events.start();
  return {
    config,
    db,
    databaseUrl,
    log,
    masterKey: parseMasterKey(config.masterKey),
    verifyJwt: async (token) => {
      const r = await verify(token);
      return { sub: r.sub, orgId: r.orgId };
    },
    boss,
    events,
    close: async () => {
      await events.stop();
      await boss.stop({ graceful: true, timeout: 5000 }).catch(() => undefined);
      await db.$disconnect();
    },
  };
}
