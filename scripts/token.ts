// npm run token -- --org <slug> --role <role> [--ttl 12h]
// Prints a development JWT for a member with that role (the member is created if needed).
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { openDatabase } from '../src/db/database';
import { createDb } from '../src/db/client';
import { deployMigrations } from '../src/db/migrate';
import { ensureDevMember } from '../src/db/seed';
import { signDevToken } from '../src/auth/jwt';

const ROLES = ['OWNER', 'ADMIN', 'OPERATOR', 'AUDITOR', 'VIEWER'] as const;
type DevRole = (typeof ROLES)[number];

const { values } = parseArgs({ options: { org: { type: 'string', default: 'demo' }, role: { type: 'string', default: 'OWNER' }, ttl: { type: 'string', default: '12h' } } });
const role = values.role!.toUpperCase() as DevRole;
if (!ROLES.includes(role)) {
  console.error(`--role must be one of ${ROLES.join(', ')}`);
  process.exit(2);
}
const config = loadConfig();
if (config.jwt.kind !== 'hs256') {
  console.error('Development tokens need the HS256 secret (JWT_SECRET); this configuration verifies tokens from a JWKS.');
  process.exit(2);
}
const log = createLogger('warn');
const database = await openDatabase(config, log, { reuseRunning: true });
await deployMigrations(database.url);
const db = createDb(database.url);
try {
  const member = await ensureDevMember(db, values.org!, role);
  if (!member) {
    console.error(`No organization with slug "${values.org}". (npm start seeds "demo".)`);
    process.exitCode = 1;
  } else {
    const token = await signDevToken({ secret: config.jwt.secret, issuer: config.jwt.issuer, audience: config.jwt.audience, sub: member.userId, org: member.orgId, expiresIn: values.ttl! });
    console.log(token);
  }
} finally {
  await db.$disconnect();
  await database.stop();
}
process.exit(process.exitCode ?? 0);
