// Edge limits come from zod schemas on the GraphQL inputs (validation plugin). They run before
// the resolver, so they are typed errors only when the errors plugin also handles input errors
// (`errors: { unsafelyHandleInputErrors: true }` in builder.ts); otherwise they surface as masked
// "Unexpected error." GraphQL errors.
import { beforeAll, describe, it } from 'vitest';
import { setupConfigApi, mutate, admin, rejects, createLocal, createS3, s3Input } from '../support/config-api';

setupConfigApi();

describe('input limits at the GraphQL edge', () => {
  let localId: string;
  let sourceId: string;
  const strategy = (input: Record<string, unknown>) =>
    mutate(admin(), 'createStrategy', 'CreateStrategyInput', { name: 'edge', sourceId, destinationIds: [localId], cron: '0 3 * * *', ...input }, 'id');
  const policy = (input: Record<string, unknown>) => mutate(admin(), 'createRetentionPolicy', 'CreateRetentionPolicyInput', { name: 'edge', keepDaily: 1, ...input }, 'id');

  beforeAll(async () => {
    localId = (await createLocal({ name: 'edge local', path: 'edge' })).payload!.data!.id as string;
    sourceId = (await mutate(admin(), 'createDirectorySource', 'CreateDirectorySourceInput', { name: 'edge files', path: '/srv/edge' }, 'id')).payload!.data!.id as string;
  });

  it('refuses over-long strings, out-of-range numbers and list sizes as ValidationErrors, writing nothing', async () => {
    await rejects('Destination', () => createLocal({ name: 'long', path: 'x'.repeat(1025) }), 'ValidationError', ['input', 'path']);
    await rejects('Destination', () => createS3(s3Input({ name: 'n'.repeat(201) })), 'ValidationError', ['input', 'name']);
    await rejects('Destination', () => createS3(s3Input({ secretAccessKey: 's'.repeat(2000) })), 'ValidationError', ['input', 'secretAccessKey']);
    await rejects('RetentionPolicy', () => policy({ keepDaily: -1 }), 'ValidationError', ['input', 'keepDaily']);
    await rejects('RetentionPolicy', () => policy({ keepLast: 1_000_000 }), 'ValidationError', ['input', 'keepLast']);
    await rejects('RetentionPolicy', () => policy({ peakSeasonStart: '11-01-2026' }), 'ValidationError', ['input', 'peakSeasonStart']);
    await rejects('RetentionPolicy', () => policy({ name: 'x'.repeat(300) }), 'ValidationError', ['input', 'name']);
    await rejects('Strategy', () => strategy({ compressionLevel: 20 }), 'ValidationError', ['input', 'compressionLevel']);
    await rejects('Strategy', () => strategy({ priority: 11 }), 'ValidationError', ['input', 'priority']);
    await rejects('Strategy', () => strategy({ startWindowMinutes: 0 }), 'ValidationError', ['input', 'startWindowMinutes']);
    await rejects('Strategy', () => strategy({ startWindowMinutes: 1441 }), 'ValidationError', ['input', 'startWindowMinutes']);
    await rejects('Strategy', () => strategy({ name: 'n'.repeat(201) }), 'ValidationError', ['input', 'name']);
    await rejects('Strategy', () => strategy({ cron: '0 '.repeat(100) }), 'ValidationError', ['input', 'cron']);
    await rejects('Strategy', () => strategy({ destinationIds: [] }), 'ValidationError', ['input', 'destinationIds']);
    await rejects('Strategy', () => strategy({ destinationIds: Array.from({ length: 11 }, () => localId) }), 'ValidationError', ['input', 'destinationIds']);
  });
});
