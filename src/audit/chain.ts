// Verification of an organization's audit hash chain. The recomputation happens in SQL
// (keepsake_audit_verify) with the same function the insert trigger uses, so the two can
// never disagree about canonical form.
import type { Tx } from '../db/context';

export interface ChainReport {
  valid: boolean;
  checkedEvents: number;
  firstBrokenSeq: number | null;
  firstBrokenEventId: string | null;
  reason: string | null;
}

export async function verifyAuditChain(tx: Tx, orgId: string): Promise<ChainReport> {
  const broken = await tx.$queryRaw<Array<{ broken_seq: number; event_id: string; reason: string; checked: number }>>`
    SELECT broken_seq, event_id::text AS event_id, reason, checked FROM keepsake_audit_verify(${orgId}::uuid)`;
  const first = broken[0];
  if (first) {
    return { valid: false, checkedEvents: first.checked, firstBrokenSeq: first.broken_seq, firstBrokenEventId: first.event_id, reason: first.reason };
  }
  const [row] = await tx.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM "AuditEvent" WHERE "orgId" = ${orgId}::uuid`;
  return { valid: true, checkedEvents: row?.n ?? 0, firstBrokenSeq: null, firstBrokenEventId: null, reason: null };
}
