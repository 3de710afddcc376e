// Retention policies through the real API: create, update, audit, and refused rules that write nothing.
import { describe, expect, it } from 'vitest';
import { setupConfigApi, mutate, admin, operator, auditActions, rawId, rejects, POLICY } from '../support/config-api';

setupConfigApi();

describe('retention policies', () => {
  const create = (input: Record<string, unknown>, token = admin()) => mutate(token, 'createRetentionPolicy', 'CreateRetentionPolicyInput', input, POLICY);
  const update = (input: Record<string, unknown>) => mutate(admin(), 'updateRetentionPolicy', 'UpdateRetentionPolicyInput', input, POLICY);

  it('creates, updates and audits a policy', async () => {
    const { payload } = await create({ name: 'gfs', keepDaily: 7, keepWeekly: 4, keepMonthly: 12, peakSeasonStart: '11-15', peakSeasonEnd: '01-15', peakKeepDaily: 30 });
    expect(payload?.data).toMatchObject({ name: 'gfs', keepDaily: 7, minCopies: 1, peakSeasonStart: '11-15', keepLast: null });
    const id = payload!.data!.id as string;
    const u = await update({ id, keepLast: 3, keepWeekly: null });
    expect(u.payload?.data).toMatchObject({ keepLast: 3, keepWeekly: null, keepDaily: 7 });
    expect((await auditActions(rawId(id))).map((a) => a.action)).toEqual(['retentionPolicy.create', 'retentionPolicy.update']);
  });

  it('refuses zero, empty and malformed rules with field paths, writing nothing', async () => {
    await rejects('RetentionPolicy', () => create({ name: 'zero', keepLast: 0 }), 'ValidationError', ['input', 'keepLast']);
    await rejects('RetentionPolicy', () => create({ name: 'nothing', maxAgeDays: 30 }), 'ValidationError', ['input']);
    await rejects('RetentionPolicy', () => create({ name: 'bad day', keepDaily: 7, peakSeasonStart: '13-40', peakSeasonEnd: '01-01', peakKeepDaily: 3 }), 'ValidationError', ['input', 'peakSeasonStart']);
    await rejects('RetentionPolicy', () => create({ name: 'half peak', keepDaily: 7, peakSeasonStart: '11-01' }), 'ValidationError', ['input', 'peakSeasonEnd']);
    await rejects('RetentionPolicy', () => create({ name: 'by operator', keepDaily: 1 }, operator()), 'ForbiddenError');
    const { payload } = await create({ name: 'only last', keepLast: 5 });
    const u = await update({ id: payload!.data!.id, keepLast: null });
    expect(u.payload).toMatchObject({ __typename: 'ValidationError' });
  });
});
