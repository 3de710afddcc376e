// Every mutation calls recordAudit with the transaction that makes its change, so the change
// and its audit event commit or roll back together. seq and the hash chain are assigned by
// the database trigger (see the rls_audit migration), not here.
import type { Tx } from '../db/context';
import type { Prisma } from '../db/generated/prisma/client';
import type { OrgScope } from '../auth/scope';

export interface AuditInput {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  before?: unknown;
  after?: unknown;
}

// Field names whose values never enter the audit trail, whatever the resource. A boolean under
// such a name (`connectionUrlChanged`, `hasCredentials`) carries no secret and says that a
// credential changed, which the trail must show, so booleans are kept.
const SECRET_KEYS = /sealed|secret|password|token|hash|connectionurl|accesskey|datakey/i;

/** A JSON-safe copy without secrets: Buffers and secret-named fields are dropped, BigInt and Date turned to strings. */
export function auditSnapshot(value: unknown): Prisma.InputJsonValue | undefined {
  if (value === undefined || value === null) return undefined;
  const walk = (v: unknown): unknown => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Date) return v.toISOString();
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) return undefined;
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
        if (SECRET_KEYS.test(k) && typeof val !== 'boolean') continue;
        const w = walk(val);
        if (w !== undefined) out[k] = w;
      }
      return out;
    }
    return v;
  };
  return walk(value) as Prisma.InputJsonValue;
}

export async function recordAudit(tx: Tx, scope: OrgScope, input: AuditInput): Promise<void> {
  await tx.auditEvent.create({
    data: {
      orgId: scope.orgId,
      actorType: scope.actor.type,
      actorId: scope.actor.id ?? null,
      actorLabel: scope.actor.label.slice(0, 300),
      action: input.action,
      resourceType: input.resourceType,
      resourceId: input.resourceId ?? null,
      before: auditSnapshot(input.before),
      after: auditSnapshot(input.after),
      requestId: scope.meta.requestId?.slice(0, 128) ?? null,
      ip: scope.meta.ip?.slice(0, 64) ?? null,
      userAgent: scope.meta.userAgent?.slice(0, 512) ?? null,
    },
  });
}
