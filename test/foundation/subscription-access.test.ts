// Access that ends must end everywhere: an open jobEvents subscription of a member who is removed,
// or of an API key that is revoked, ends and receives none of the organization's later events.
// Over SSE and graphql-ws, with events published through Postgres NOTIFY as a worker does.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../../src/db/context';
import { EventBus, type JobEvent } from '../../src/events/bus';
import { startTestApp, type TestApp, type TestOrg } from '../support/app';
import { mutateOk, superuser } from '../support/foundation';
import { globalId } from '../support/seed-objects';
import { sseSubscribe, wsSubscribe, type Stream } from '../support/streams';

const JOB_EVENTS = 'subscription { jobEvents { kind status percent } }';

let t: TestApp;
let publisher: pg.Client;

beforeAll(async () => {
  t = await startTestApp();
  publisher = await superuser(t);
});

afterAll(async () => {
  await publisher?.end();
  await t?.stop();
});

function publish(org: TestOrg, status: string) {
  const event: Omit<JobEvent, 'at'> = { orgId: org.id, kind: 'BACKUP', id: '00000000-0000-4000-8000-000000000001', status };
  return EventBus.publish((sql, params) => publisher.query(sql, params), event);
}

/** Publishes until the subscription is live (no "subscribed" acknowledgement exists). */
async function live(stream: Stream, org: TestOrg): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await publish(org, 'RUNNING');
    try {
      await stream.results.next(1_000);
      return;
    } catch (err) {
      if (attempt >= 15) throw err;
    }
  }
}

/** After the access ended, one more event: the stream ends without delivering it. */
async function expectEnded(stream: Stream, org: TestOrg): Promise<void> {
  stream.results.drain();
  await publish(org, 'SUCCEEDED');
  await expect(stream.results.next(10_000, (r) => JSON.stringify(r).includes('SUCCEEDED'))).rejects.toThrow(/stream closed/);
  expect(JSON.stringify(stream.results.drain())).not.toContain('SUCCEEDED');
}

for (const [transport, subscribe] of [['SSE', sseSubscribe], ['graphql-ws', wsSubscribe]] as const) {
  describe(`over ${transport}`, () => {
    it('a removed member’s subscription ends', async () => {
      const org = await t.createOrg();
      const stream = await subscribe(t.url, org.users.VIEWER.token, JOB_EVENTS);
      try {
        await live(stream, org);
        const membership = await withSystem(t.services.db, 'test', (tx) => tx.membership.findFirstOrThrow({ where: { orgId: org.id, userId: org.users.VIEWER.id } }));
        await mutateOk(t, org.users.OWNER.token, 'removeMember', 'RemoveMemberInput', { membershipId: globalId('Membership', membership.id) }, 'removedMembershipId');
        await expectEnded(stream, org);
      } finally {
        await stream.close();
      }
    });

    it('a revoked API key’s subscription ends', async () => {
      const org = await t.createOrg();
      const created = await mutateOk(t, org.users.ADMIN.token, 'createApiKey', 'CreateApiKeyInput', { name: 'dashboard', role: 'VIEWER' }, 'token apiKey { id }');
      const { token, apiKey } = created as unknown as { token: string; apiKey: { id: string } };
      const stream = await subscribe(t.url, token, JOB_EVENTS);
      try {
        await live(stream, org);
        await mutateOk(t, org.users.ADMIN.token, 'revokeApiKey', 'RevokeApiKeyInput', { id: apiKey.id }, 'id');
        await expectEnded(stream, org);
      } finally {
        await stream.close();
      }
    });
  });
}
