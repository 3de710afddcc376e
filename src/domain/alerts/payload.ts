// The message every channel is sent, as JSON (webhooks get exactly this body; Slack and e-mail are
// rendered from it). The zod schema is the single definition: docs/alert-payload.schema.json is
// printed from it (test/alerts/payload.test.ts fails when the committed file differs).
import { z } from 'zod';

export const EVENT_TYPES = ['alert.opened', 'alert.escalated', 'alert.acknowledged', 'alert.resolved', 'backup.succeeded', 'digest.daily', 'test'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const iso = z.string().datetime({ offset: true });
const figure = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const ref = z.object({ id: z.string(), name: z.string() });

export const AlertPayloadSchema = z.object({
  id: z.string().uuid().describe('Event id; also the webhook-id header. The same for every retry of this message'),
  type: z.enum(EVENT_TYPES),
  timestamp: iso.describe('When the event happened'),
  organization: z.object({ id: z.string(), slug: z.string(), name: z.string() }),
  link: z.string().describe('Where to look at it in Keepsake'),
  alert: z
    .object({
      id: z.string().describe('Global id of the Alert'),
      kind: z.string().describe('BACKUP_FAILED, MISSED_RUN, RPO_BREACHED, ... (see README)'),
      severity: z.enum(['INFO', 'WARNING', 'CRITICAL']),
      state: z.enum(['OPEN', 'ACKNOWLEDGED', 'RESOLVED']),
      title: z.string(),
      message: z.string(),
      resourceType: z.string(),
      resourceId: z.string().nullable(),
      strategy: ref.nullable(),
      count: z.number().int().describe('How many times it happened while unresolved'),
      firstSeenAt: iso,
      lastSeenAt: iso,
      acknowledgedAt: iso.nullable(),
      resolvedAt: iso.nullable(),
      figures: z.record(z.string(), figure).describe('The numbers behind it: job, attempts, error code, sizes, ...'),
    })
    .nullable(),
  escalation: z.object({ step: z.number().int(), contact: z.string() }).optional(),
  backup: z
    .object({
      jobId: z.string(),
      strategy: ref,
      recoveryPointId: z.string(),
      rawBytes: z.number(),
      storedBytes: z.number(),
      durationMs: z.number().int(),
      finishedAt: iso,
    })
    .optional(),
  digest: z
    .object({
      date: z.string().describe('The day summarised (YYYY-MM-DD, organization time zone)'),
      succeeded: z.number().int(),
      failed: z.number().int(),
      failures: z.array(z.object({ strategy: z.string(), error: z.string().nullable(), finishedAt: iso.nullable() })),
      openAlerts: z.array(z.object({ id: z.string(), kind: z.string(), severity: z.string(), title: z.string(), count: z.number().int(), lastSeenAt: iso })),
    })
    .optional(),
});

export type AlertPayload = z.infer<typeof AlertPayloadSchema>;

/** The JSON Schema committed as docs/alert-payload.schema.json. */
export function payloadJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(AlertPayloadSchema, { target: 'draft-2020-12' }),
    $id: 'https://keepsake.dev/schemas/alert-payload.json',
    title: 'Keepsake alert notification',
  };
}
