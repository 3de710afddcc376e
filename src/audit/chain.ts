// Verification of an organization's audit hash chain. The recomputation happens in SQL
// (keepsake_audit_verify) with the same function the insert trigger uses, so the two can
// never disagree about canonical form.
//
// A chain proves that no event was changed or removed between others, but not that the newest
// events are still there: whoever can delete rows can delete the tail and leave a valid, shorter
// chain. The report's `head` (seq and hash of the newest event) is the anchor for that: kept
// outside the platform and passed back later, it must still be found with the same hash, and
// through the chain that vouches for every event before it.
import type { Tx } from '../db/context';

export interface ChainAnchor {
  seq: number;
  hash: string;
}

export interface ChainReport {
  valid: boolean;
  checkedEvents: number;
  firstBrokenSeq: number | null;
  firstBrokenEventId: string | null;
  reason: string | null;
  /** The newest event: the anchor to keep for a later verification (null without events). */
  head: (ChainAnchor & { createdAt: Date }) | null;
}

export async function verifyAuditChain(tx: Tx, orgId: string, anchor?: ChainAnchor | null): Promise<ChainReport> {
  const [head] = await tx.$queryRaw<Array<{ seq: number; hash: string; createdAt: Date }>>`
    SELECT seq, hash, "createdAt" FROM "AuditEvent" WHERE "orgId" = ${orgId}::uuid ORDER BY seq DESC LIMIT 1`;
  const broken = await tx.$queryRaw<Array<{ broken_seq: number; event_id: string; reason: string; checked: number }>>`
    SELECT broken_seq, event_id::text AS event_id, reason, checked FROM keepsake_audit_verify(${orgId}::uuid)`;
  const first = broken[0];
  if (first) {
    return { valid: false, checkedEvents: first.checked, firstBrokenSeq: first.broken_seq, firstBrokenEventId: first.event_id, reason: first.reason, head: head ?? null };
  }
  const [row] = await tx.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM "AuditEvent" WHERE "orgId" = ${orgId}::uuid`;
  const intact = { valid: true, checkedEvents: row?.n ?? 0, firstBrokenSeq: null, firstBrokenEventId: null, reason: null, head: head ?? null };
  if (!anchor) return intact;
  const [anchored] = await tx.$queryRaw<Array<{ id: string; hash: string }>>`
    SELECT id::text AS id, hash FROM "AuditEvent" WHERE "orgId" = ${orgId}::uuid AND seq = ${anchor.seq}`;
  if (!anchored) {
    return { ...intact, valid: false, firstBrokenSeq: anchor.seq, reason: `the anchored event (seq ${anchor.seq}) is gone: the chain ends at seq ${head?.seq ?? 0}, events were removed from its end` };
  }
  if (anchored.hash !== anchor.hash.toLowerCase()) {
    return { ...intact, valid: false, firstBrokenSeq: anchor.seq, firstBrokenEventId: anchored.id, reason: `the event at seq ${anchor.seq} does not have the anchored hash: the chain up to it was rewritten` };
  }
  return intact;
}
