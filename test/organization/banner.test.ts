// The start-up banner's commands work as pasted: the whole token in the "Try" line, and the demo
// restore (find the newest point, restore it into a new database on the embedded server, whose
// password the URL carries). Run through bash against the real API.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bannerLines } from '../../src/banner';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { seedOrgObjects } from '../support/seed-objects';
import { rawId } from '../support/foundation';
import { withSystem } from '../../src/db/context';

let t: TestApp;
let org: TestOrg;
let strategyId: string;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.createOrg();
  const seeded = await seedOrgObjects(t, org);
  strategyId = rawId(seeded.get('Strategy')![0]!);
  // The demo's point is a database dump: make the seeded one look like it.
  await withSystem(t.services.db, 'test', (tx) => tx.recoveryPoint.updateMany({ where: { orgId: org.id }, data: { sourceKind: 'POSTGRES', format: 'custom' } }));
});

afterAll(async () => {
  await t?.stop();
});

// Asynchronous: the API answering the command runs in this process.
const bash = async (script: string, env: Record<string, string> = {}) => (await promisify(execFile)('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, ...env } })).stdout;

describe('start-up banner', () => {
  const lines = () =>
    bannerLines({
      url: t.url, graphiql: true,
      demo: { orgSlug: org.slug, token: org.users.OWNER.token, strategyName: 'demo', strategyId, shopDatabase: 'demo_shop', embeddedAdminUrl: t.db.adminUrl },
    });

  it('prints the whole token in the Try line, which works as pasted', async () => {
    const tryLine = lines().find((l) => l.startsWith('Try: '))!;
    expect(tryLine).toContain(org.users.OWNER.token);
    const out = JSON.parse(await bash(tryLine.slice('Try: '.length)));
    expect(out.data.viewer).toMatchObject({ role: 'OWNER' });
  });

  it('prints a restore command whose NEW_DATABASE URL the API accepts', async () => {
    const all = lines();
    const at = all.findIndex((l) => l.startsWith('Then restore'));
    expect(at).toBeGreaterThan(0);
    const script = all.slice(at + 1, at + 3).map((l) => l.trim()).join('\n');
    expect(script).toContain(new URL(t.db.adminUrl).password);
    const out = JSON.parse(await bash(script, { TOKEN: org.users.OWNER.token }));
    expect(out.data.restoreRecoveryPoint.__typename).toBe('MutationRestoreRecoveryPointSuccess');
  });

  it('says how WebSocket clients send the token', () => {
    expect(lines().join('\n')).toContain('connectionParams.authorization');
  });
});
