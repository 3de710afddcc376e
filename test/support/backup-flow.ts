// The API calls a backup test makes again and again (configure, trigger, wait), through the real
// HTTP API with codegen'd typed operations.
import { expect } from 'vitest';
import {
  BackupJobDocument, CreateDirectorySourceDocument, CreateLocalDestinationDocument, CreatePostgresSourceDocument, CreateS3DestinationDocument,
  CreateStrategyDocument, RecoveryJobDocument, TriggerBackupDocument,
  type CreateStrategyInput, type JobStateFragment, type RecoveryJobStateFragment,
} from '../generated/graphql';
import type { TestApp, TestOrg } from './app';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, type TestS3 } from './s3';

export const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/** Asserts a mutation payload is its Success variant and returns it. */
export async function ok<T extends { __typename?: string }>(p: Promise<{ data?: Record<string, T>; errors?: unknown }>, field: string): Promise<T & { data?: { id: string } }> {
  const r = await p;
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  const payload = r.data![field]!;
  expect(payload.__typename, JSON.stringify(payload)).toMatch(/Success$/);
  return payload as T & { data?: { id: string } };
}

export async function poll<T>(read: () => Promise<T>, done: (v: T) => boolean, describe: (v: T) => string, timeoutMs = 45_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > until) throw new Error(`timed out: ${describe(v)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export function backupFlow(t: TestApp, org: TestOrg, s3?: TestS3) {
  const admin = () => org.users.ADMIN.token;
  const operator = () => org.users.OPERATOR.token;
  const flow = {
    async localDestination(name: string): Promise<string> {
      return (await ok(t.request(admin(), CreateLocalDestinationDocument, { input: { name, path: `dest/${name}` } }), 'createLocalDestination')).data!.id;
    },
    async s3Destination(name: string, bucket: string): Promise<string> {
      const input = { name, endpoint: s3!.endpoint, bucket, prefix: 'tenants/a', accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: S3_SECRET_ACCESS_KEY };
      return (await ok(t.request(admin(), CreateS3DestinationDocument, { input }), 'createS3Destination')).data!.id;
    },
    async postgresSource(name: string, connectionUrl: string, extra: Record<string, unknown> = {}): Promise<string> {
      return (await ok(t.request(admin(), CreatePostgresSourceDocument, { input: { name, connectionUrl, ...extra } }), 'createPostgresSource')).data!.id;
    },
    async directorySource(name: string, path: string, extra: Record<string, unknown> = {}): Promise<string> {
      return (await ok(t.request(admin(), CreateDirectorySourceDocument, { input: { name, path, ...extra } }), 'createDirectorySource')).data!.id;
    },
    async strategy(name: string, sourceId: string, destinationIds: string[], extra: Partial<CreateStrategyInput> = {}): Promise<string> {
      return (await ok(t.request(admin(), CreateStrategyDocument, { input: { name, sourceId, destinationIds, cron: '0 3 * * *', ...extra } }), 'createStrategy')).data!.id;
    },
    async trigger(strategyId: string): Promise<string> {
      return (await ok(t.request(operator(), TriggerBackupDocument, { strategyId }), 'triggerBackup')).data!.id;
    },
    async job(id: string): Promise<JobStateFragment> {
      const r = await t.request(operator(), BackupJobDocument, { id });
      expect(r.errors).toBeUndefined();
      return r.data!.node as JobStateFragment;
    },
    waitFor(id: string, done: (j: JobStateFragment) => boolean, timeoutMs?: number): Promise<JobStateFragment> {
      return poll(() => flow.job(id), done, (j) => `job ${id} stayed ${j.status}/${j.phase}: ${j.error ?? ''}`, timeoutMs);
    },
    /** Runs a backup of the strategy to the end and returns the finished job. */
    async backup(strategyId: string): Promise<JobStateFragment> {
      const done = await flow.waitFor(await flow.trigger(strategyId), (j) => FINAL.includes(j.status));
      expect(done.status, done.error ?? '').toBe('SUCCEEDED');
      return done;
    },
    async recoveryJob(id: string): Promise<RecoveryJobStateFragment> {
      const r = await t.request(operator(), RecoveryJobDocument, { id });
      expect(r.errors).toBeUndefined();
      return r.data!.node as RecoveryJobStateFragment;
    },
    waitForRestore(id: string, timeoutMs?: number): Promise<RecoveryJobStateFragment> {
      return poll(() => flow.recoveryJob(id), (j) => FINAL.includes(j.status), (j) => `restore ${id} stayed ${j.status}/${j.phase}: ${j.error ?? ''}`, timeoutMs);
    },
  };
  return flow;
}
