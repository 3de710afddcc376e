// The README's role table ("## Roles"), checked as written: for each row one representative
// operation is attempted by a member of each role (and by an API key of each role a key may
// hold), and must be allowed exactly where the table has a ✓ and a ForbiddenError elsewhere.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { withTenant } from '../../src/db/context';
import { raiseAlert } from '../../src/domain/alerts/raise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/db/generated/prisma/enums';
import { ROLES, startTestApp, type TestApp, type TestOrg } from '../support/app';
import { seedOrgObjects } from '../support/seed-objects';
import { mutate, mutateOk, unique } from '../support/foundation';

interface Row { capability: string; allowed: Record<Role, boolean> }

/** The "## Roles" table of the README: capability, then one ✓-or-empty cell per role. */
function readmeRoleTable(): Row[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## Roles\s*$/m)[1]?.split(/^## /m)[0] ?? '';
  const lines = section.split('\n').filter((l) => l.trim().startsWith('|'));
  const header = lines[0]!.split('|').slice(1, -1).map((c) => c.trim());
  expect(header).toEqual(['capability', ...ROLES]);
  return lines.slice(2).map((line) => {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    return { capability: cells[0]!, allowed: Object.fromEntries(ROLES.map((role, i) => [role, cells[i + 1] === '✓'])) as Record<Role, boolean> };
  });
}

type Outcome = 'allowed' | 'forbidden';
type Attempt = (token: string) => Promise<Outcome>;

let t: TestApp;
let org: TestOrg;
let strategyId: string;
let recoveryPointId: string;
const keys = {} as Record<Exclude<Role, 'OWNER'>, string>;

async function mutationOutcome(token: string, name: string, inputType: string, input: Record<string, unknown>): Promise<Outcome> {
  const r = await mutate(t, token, name, inputType, input, '__typename');
  if (r.payload?.__typename.endsWith('Success')) return 'allowed';
  if (r.payload?.__typename === 'ForbiddenError') return 'forbidden';
  throw new Error(`${name}: neither allowed nor forbidden: ${r.json}`);
}

async function queryOutcome(token: string, query: string): Promise<Outcome> {
  const r = await t.gql(token, query);
  if (!r.errors) return 'allowed';
  if (r.errors.every((e) => e.extensions?.code === 'FORBIDDEN')) return 'forbidden';
  throw new Error(`neither allowed nor forbidden: ${JSON.stringify(r.errors)}`);
}

/** One representative operation per row of the table, found by the row's first words. */
const ATTEMPTS: Array<[RegExp, Attempt]> = [
  [/^read configuration/, (token) => queryOutcome(token, `{ sources(first: 5) { edges { node { id } } } strategies(first: 5) { edges { node { id } } }
    backupJobs(first: 5) { edges { node { id } } } recoveryPoints(first: 5) { edges { node { id } } } backupHealth { runningJobs } }`)],
  [/^trigger \/ cancel backups/, (token) => mutationOutcome(token, 'resumeStrategy', 'ResumeStrategyInput', { id: strategyId })],
  [/^download recovery points/, (token) => mutationOutcome(token, 'createDownloadLink', 'CreateDownloadLinkInput', { recoveryPointId })],
  [/^create \/ update \/ delete sources/, (token) =>
    mutationOutcome(token, 'createDirectorySource', 'CreateDirectorySourceInput', { name: unique('roles'), path: '/srv/roles' })],
  [/^delete recovery points, set \/ release legal hold/, (token) =>
    mutationOutcome(token, 'setLegalHold', 'SetLegalHoldInput', { recoveryPointId, reason: unique('case') })],
  [/^invite \/ remove members/, (token) => mutationOutcome(token, 'inviteMember', 'InviteMemberInput', { email: `${unique('r')}@example.com`, role: 'VIEWER' })],
  [/^create \/ revoke API keys/, (token) => mutationOutcome(token, 'createApiKey', 'CreateApiKeyInput', { name: unique('k'), role: 'VIEWER' })],
  [/^acknowledge \/ resolve alerts/, async (token) => {
    const alert = await withTenant(t.services.db, org.id, (tx) =>
      raiseAlert(tx, t.services.boss, { orgId: org.id, kind: 'DESTINATION_UNREACHABLE', resourceType: 'Destination', resourceId: randomUUID(), message: 'roles' }));
    return mutationOutcome(token, 'acknowledgeAlert', 'AcknowledgeAlertInput', { id: Buffer.from(`Alert:${alert.id}`).toString('base64') });
  }],
  [/^create \/ update \/ delete \/ test notification channels/, (token) =>
    mutationOutcome(token, 'createEmailChannel', 'CreateEmailChannelInput', { name: unique('c'), emailTo: ['roles@example.com'] })],
  [/^read the audit trail/, (token) => queryOutcome(token, `{ verifyAuditChain { valid } auditEvents(first: 1) { edges { node { id } } } }`)],
  [/^change organization settings/, (token) => mutationOutcome(token, 'updateOrganization', 'UpdateOrganizationInput', { name: unique('Org') })],
];

function attemptFor(capability: string): Attempt {
  const found = ATTEMPTS.find(([re]) => re.test(capability));
  if (!found) throw new Error(`no representative operation for the README row "${capability}"; add one to ATTEMPTS`);
  return found[1];
}

const table = readmeRoleTable();

beforeAll(async () => {
  t = await startTestApp();
  org = await t.createOrg();
  const seeded = await seedOrgObjects(t, org);
  strategyId = seeded.get('Strategy')![0]!;
  recoveryPointId = seeded.get('RecoveryPoint')![0]!;
  for (const role of ['ADMIN', 'OPERATOR', 'AUDITOR', 'VIEWER'] as const) {
    keys[role] = (await mutateOk(t, org.users.OWNER.token, 'createApiKey', 'CreateApiKeyInput', { name: `key ${role}`, role }, 'token')).token as string;
  }
});

afterAll(async () => {
  await t?.stop();
});

describe('the README role table', () => {
  it('has the rows this test knows how to check', () => {
    expect(table.length).toBeGreaterThanOrEqual(7);
    for (const row of table) expect(() => attemptFor(row.capability)).not.toThrow();
  });

  it.each(table.map((row) => [row.capability, row] as const))('%s: allowed exactly for the ticked roles', async (_name, row) => {
    const attempt = attemptFor(row.capability);
    const expected: string[] = [];
    const actual: string[] = [];
    for (const role of ROLES) {
      expected.push(`${role}: ${row.allowed[role] ? 'allowed' : 'forbidden'}`);
      actual.push(`${role}: ${await attempt(org.users[role].token)}`);
    }
    // API keys follow the same table for the role they hold (never OWNER).
    for (const role of ['ADMIN', 'OPERATOR', 'AUDITOR', 'VIEWER'] as const) {
      expected.push(`key ${role}: ${row.allowed[role] ? 'allowed' : 'forbidden'}`);
      actual.push(`key ${role}: ${await attempt(keys[role])}`);
    }
    expect(actual).toEqual(expected);
  });
});
