// Strategies through the real API: create, update, pause/resume and delete, their audit events,
// and bad input as typed errors that write nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../support/seed-objects';
import { setupConfigApi, t, org, other, superuser, mutate, admin, operator, viewer, rows, auditActions, rawId, rejects, createLocal, createS3, s3Input, STRATEGY } from '../support/config-api';

setupConfigApi();

describe('strategies', () => {
  let sourceId: string;
  let localId: string;
  let s3Id: string;
  let policyId: string;
  let strategyId: string;

  const create = (input: Record<string, unknown>, token = admin()) => mutate(token, 'createStrategy', 'CreateStrategyInput', input, STRATEGY);
  const update = (input: Record<string, unknown>) => mutate(admin(), 'updateStrategy', 'UpdateStrategyInput', input, STRATEGY);
  const base = () => ({ name: `s-${Math.random().toString(36).slice(2, 8)}`, sourceId, destinationIds: [localId], cron: '0 3 * * *', timeZone: 'Europe/London' });

  beforeAll(async () => {
    const src = await mutate(admin(), 'createDirectorySource', 'CreateDirectorySourceInput', { name: 'files', path: '/srv/files' }, 'id');
    sourceId = src.payload!.data!.id as string;
    localId = (await createLocal({ name: 'strategy local', path: 'strategies' })).payload!.data!.id as string;
    s3Id = (await createS3(s3Input({ name: 'strategy s3' }))).payload!.data!.id as string;
    policyId = (await mutate(admin(), 'createRetentionPolicy', 'CreateRetentionPolicyInput', { name: 'strategy policy', keepLast: 7 }, 'id')).payload!.data!.id as string;
  });

  it('creates a strategy with defaults, destinations through the join and a next run', async () => {
    const before = Date.now();
    const { payload } = await create({ ...base(), name: 'nightly', destinationIds: [localId, s3Id], retentionPolicyId: policyId, maxSizeBytes: '10000000000' });
    expect(payload?.__typename).toBe('MutationCreateStrategySuccess');
    const s = payload!.data!;
    expect(s).toMatchObject({
      name: 'nightly', status: 'ACTIVE', compression: 'ZSTD', compressionLevel: null, encrypted: true, priority: 0, startWindowMinutes: 60,
      timeZone: 'Europe/London', maxSizeBytes: '10000000000', source: { id: sourceId }, retentionPolicy: { id: policyId },
    });
    expect((s.destinations as Array<{ id: string }>).map((d) => d.id).sort()).toEqual([localId, s3Id].sort());
    expect(new Date(s.nextRunAt as string).getTime()).toBeGreaterThan(before);
    strategyId = s.id as string;
    const join = await superuser.query(`SELECT "orgId" FROM "StrategyDestination" WHERE "strategyId" = $1`, [rawId(strategyId)]);
    expect(join.rows.map((r) => r.orgId)).toEqual([org.id, org.id]);

    const list = await t.gql(viewer(), `{ strategies(first: 10) { edges { node { id destinations { name } } } } }`);
    expect(list.errors).toBeUndefined();
    const audit = await auditActions(rawId(strategyId));
    expect(audit.map((a) => a.action)).toEqual(['strategy.create']);
    expect((audit[0]!.after as { destinationIds: string[] }).destinationIds.sort()).toEqual([rawId(localId), rawId(s3Id)].sort());
  });

  it('defaults the time zone to the organization one', async () => {
    const { timeZone: _tz, ...input } = base();
    const { payload } = await create(input);
    expect(payload?.data).toMatchObject({ timeZone: 'UTC' });
  });

  it('refuses bad schedules, compression, ranges and ids with typed errors, writing nothing', async () => {
    await rejects('Strategy', () => create({ ...base(), cron: '61 * * * *' }), 'ValidationError', ['input', 'cron']);
    await rejects('Strategy', () => create({ ...base(), cron: '* * * * * *' }), 'ValidationError', ['input', 'cron']);
    await rejects('Strategy', () => create({ ...base(), timeZone: 'Mars/Olympus_Mons' }), 'ValidationError', ['input', 'timeZone']);
    await rejects('Strategy', () => create({ ...base(), timeZone: '+01:00' }), 'ValidationError', ['input', 'timeZone']);
    await rejects('Strategy', () => create({ ...base(), peakCron: '0 * * * *' }), 'ValidationError', ['input', 'peakStart']);
    await rejects('Strategy', () => create({ ...base(), compression: 'GZIP', compressionLevel: 12 }), 'ValidationError', ['input', 'compressionLevel']);
    await rejects('Strategy', () => create({ ...base(), compression: 'NONE', compressionLevel: 3 }), 'ValidationError', ['input', 'compressionLevel']);
    await rejects('Strategy', () => create({ ...base(), maxSizeBytes: '-5' }), 'ValidationError', ['input', 'maxSizeBytes']);
    await rejects('Strategy', () => create({ ...base(), verifyCron: 'every day' }), 'ValidationError', ['input', 'verifyCron']);
    await rejects('Strategy', () => create({ ...base(), destinationIds: [localId, localId] }), 'ValidationError', ['input', 'destinationIds']);
    await rejects('Strategy', () => create({ ...base(), sourceId: 'not-a-global-id' }), 'ValidationError', ['input', 'sourceId']);
    await rejects('Strategy', () => create({ ...base(), destinationIds: [localId, 'garbage'] }), 'ValidationError', ['input', 'destinationIds', '1']);
    // An id of another type, an unknown id and another org's id all read as not found.
    await rejects('Strategy', () => create({ ...base(), sourceId: localId }), 'NotFoundError');
    await rejects('Strategy', () => create({ ...base(), destinationIds: [globalId('Destination', '00000000-0000-7000-8000-000000000000')] }), 'NotFoundError');
    const foreign = (await mutate(other.users.ADMIN.token, 'createLocalDestination', 'CreateLocalDestinationInput', { name: 'theirs', path: 'theirs' }, 'id')).payload!.data!.id as string;
    const nf = await rejects('Strategy', () => create({ ...base(), destinationIds: [localId, foreign] }), 'NotFoundError');
    expect(nf.message).toContain('input.destinationIds.1');
    await rejects('Strategy', () => create(base(), operator()), 'ForbiddenError');
  });

  it('rejects an unknown enum value before anything runs', async () => {
    const before = await rows('Strategy');
    const r = await create({ ...base(), compression: 'BROTLI' });
    expect(r.errors?.length).toBeGreaterThan(0);
    expect(r.payload).toBeNull();
    expect(await rows('Strategy')).toBe(before);
  });

  it('updates settings, recomputing the next run when the schedule changes', async () => {
    const u = await update({ id: strategyId, cron: '30 1 * * *', compression: 'GZIP', compressionLevel: 6, destinationIds: [s3Id], retentionPolicyId: null, peakCron: '0 * * * *', peakStart: '11-15', peakEnd: '01-15' });
    expect(u.payload?.__typename).toBe('MutationUpdateStrategySuccess');
    const s = u.payload!.data!;
    expect(s).toMatchObject({ cron: '30 1 * * *', compression: 'GZIP', compressionLevel: 6, retentionPolicy: null, destinations: [{ id: s3Id }], peakStart: '11-15' });
    expect(s.nextRunAt).toBeTruthy();
    const bad = await update({ id: strategyId, timeZone: 'Nowhere/Land' });
    expect(bad.payload).toMatchObject({ __typename: 'ValidationError', issues: [{ path: ['input', 'timeZone'] }] });
    // Switching algorithm without a level drops the old level rather than failing.
    const z = await update({ id: strategyId, compression: 'ZSTD' });
    expect(z.payload?.data).toMatchObject({ compression: 'ZSTD', compressionLevel: null });
  });

  it('pauses (no next run) and resumes (next run recomputed) as an operator', async () => {
    const paused = await mutate(operator(), 'pauseStrategy', 'PauseStrategyInput', { id: strategyId }, STRATEGY);
    expect(paused.payload?.data).toMatchObject({ status: 'PAUSED', nextRunAt: null });
    const resumed = await mutate(operator(), 'resumeStrategy', 'ResumeStrategyInput', { id: strategyId }, STRATEGY);
    expect(resumed.payload?.data).toMatchObject({ status: 'ACTIVE' });
    expect(new Date(resumed.payload!.data!.nextRunAt as string).getTime()).toBeGreaterThan(Date.now());
    const byViewer = await mutate(viewer(), 'pauseStrategy', 'PauseStrategyInput', { id: strategyId }, STRATEGY);
    expect(byViewer.payload?.__typename).toBe('ForbiddenError');
    const foreign = await mutate(other.users.OWNER.token, 'pauseStrategy', 'PauseStrategyInput', { id: strategyId }, STRATEGY);
    expect(foreign.payload?.__typename).toBe('NotFoundError');
    const actions = (await auditActions(rawId(strategyId))).map((a) => a.action);
    expect(actions).toEqual(['strategy.create', 'strategy.update', 'strategy.update', 'strategy.pause', 'strategy.resume']);
  });

  it('keeps destinations and policies that are in use, then deletes them once free', async () => {
    const p = await mutate(admin(), 'updateStrategy', 'UpdateStrategyInput', { id: strategyId, retentionPolicyId: policyId }, 'id');
    expect(p.payload?.__typename).toBe('MutationUpdateStrategySuccess');
    const delDest = (id: string) => mutate(admin(), 'deleteDestination', 'DeleteDestinationInput', { id }, 'deletedId');
    const delPolicy = (id: string) => mutate(admin(), 'deleteRetentionPolicy', 'DeleteRetentionPolicyInput', { id }, 'deletedId');
    await rejects('Destination', () => delDest(s3Id), 'ConflictError');
    await rejects('RetentionPolicy', () => delPolicy(policyId), 'ConflictError');

    // Remove every strategy of the org, then the configuration they used is free.
    const all = await t.gql<{ strategies: { edges: Array<{ node: { id: string } }> } }>(admin(), `{ strategies(first: 50) { edges { node { id } } } }`);
    for (const { node } of all.data!.strategies.edges) {
      const d = await mutate(admin(), 'deleteStrategy', 'DeleteStrategyInput', { id: node.id }, 'deletedId');
      expect(d.payload).toMatchObject({ data: { deletedId: node.id } });
    }
    expect(await rows('Strategy')).toBe(0);
    expect(await rows('StrategyDestination')).toBe(0);
    expect((await delDest(s3Id)).payload?.data).toEqual({ deletedId: s3Id });
    expect((await delPolicy(policyId)).payload?.data).toEqual({ deletedId: policyId });
    expect((await auditActions(rawId(strategyId))).at(-1)!.action).toBe('strategy.delete');
    expect((await auditActions(rawId(s3Id))).at(-1)!.action).toBe('destination.delete');
    const again = await delDest(s3Id);
    expect(again.payload?.__typename).toBe('NotFoundError');
  });
});
