// The payload's JSON Schema is committed (docs/alert-payload.schema.json) and printed from the zod
// definition the senders use; routing rules and renderings are pure functions of their input.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { payloadJsonSchema, AlertPayloadSchema, type AlertPayload } from '../../src/domain/alerts/payload';
import { DEFAULT_RULE, ruleMatches } from '../../src/domain/alerts/routing';
import { htmlOf, slackBodyOf, subjectOf, textOf } from '../../src/domain/alerts/render';

const sample: AlertPayload = {
  id: '0b7c1f7e-8a57-4c1e-9d3f-1d2a3b4c5d6e', type: 'alert.opened', timestamp: '2026-12-03T10:00:00.000Z',
  organization: { id: 'o', slug: 'demo', name: 'Demo <Weddings>' }, link: 'https://k.example/graphql',
  alert: {
    id: 'QWxlcnQ6MQ==', kind: 'BACKUP_FAILED', severity: 'CRITICAL', state: 'OPEN', title: 'Backup failed', message: 'dump failed: <boom>',
    resourceType: 'Strategy', resourceId: null, strategy: { id: 's', name: 'crm nightly' }, count: 3,
    firstSeenAt: '2026-12-03T09:00:00.000Z', lastSeenAt: '2026-12-03T10:00:00.000Z', acknowledgedAt: null, resolvedAt: null,
    figures: { errorCode: 'PG_DUMP_FAILED', attempts: 3 },
  },
};

describe('the payload', () => {
  it('has its JSON Schema committed in docs/, printed from the definition the senders use', () => {
    const committed = JSON.parse(readFileSync(new URL('../../docs/alert-payload.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(payloadJsonSchema());
    expect(AlertPayloadSchema.safeParse(sample).success).toBe(true);
    expect(AlertPayloadSchema.safeParse({ ...sample, type: 'alert.exploded' }).success).toBe(false);
  });

  it('renders subject, text, HTML (escaped) and Slack blocks with the figures', () => {
    expect(subjectOf(sample)).toBe('[Keepsake] CRITICAL: Backup failed — crm nightly');
    expect(textOf(sample)).toContain('errorCode: PG_DUMP_FAILED');
    expect(textOf(sample)).toContain('Occurrences: 3');
    expect(htmlOf(sample)).toContain('dump failed: &lt;boom&gt;');
    expect(htmlOf(sample)).not.toContain('<boom>');
    const slack = slackBodyOf(sample) as { text: string; blocks: Array<{ type: string; fields?: Array<{ text: string }> }> };
    expect(slack.text).toBe(subjectOf(sample));
    expect(slack.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(slack.blocks[2]!.fields!.map((f) => f.text)).toContain('*errorCode*\nPG_DUMP_FAILED');
  });
});

describe('rules', () => {
  const failed = { type: 'alert.opened' as const, kind: 'BACKUP_FAILED' as const, severity: 'WARNING' as const, strategyId: 's1', strategyCritical: false };
  it('filter by kind, minimum severity and strategy scope', () => {
    expect(ruleMatches(DEFAULT_RULE, failed)).toBe(true);
    expect(ruleMatches(DEFAULT_RULE, { ...failed, severity: 'INFO' })).toBe(false);
    expect(ruleMatches({ ...DEFAULT_RULE, kinds: ['RPO_BREACHED'] }, failed)).toBe(false);
    expect(ruleMatches({ ...DEFAULT_RULE, minSeverity: 'CRITICAL' }, failed)).toBe(false);
    expect(ruleMatches({ ...DEFAULT_RULE, strategyScope: 'LIST', strategyIds: ['s2'] }, failed)).toBe(false);
    expect(ruleMatches({ ...DEFAULT_RULE, strategyScope: 'LIST', strategyIds: ['s1'] }, failed)).toBe(true);
    expect(ruleMatches({ ...DEFAULT_RULE, strategyScope: 'CRITICAL' }, failed)).toBe(false);
    expect(ruleMatches({ ...DEFAULT_RULE, strategyScope: 'CRITICAL' }, { ...failed, strategyCritical: true })).toBe(true);
  });
  it('send successes and resolutions only to rules that ask for them', () => {
    expect(ruleMatches(DEFAULT_RULE, { type: 'backup.succeeded', strategyId: 's1' })).toBe(false);
    expect(ruleMatches({ ...DEFAULT_RULE, notifyOnSuccess: true }, { type: 'backup.succeeded', strategyId: 's1' })).toBe(true);
    expect(ruleMatches({ ...DEFAULT_RULE, notifyOnResolve: false }, { ...failed, type: 'alert.resolved' })).toBe(false);
  });
});
