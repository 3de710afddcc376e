// The immutability rules on their own (no database): expiry dates, what counts as shortening
// retention, and who may delete what under each lock.
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/auth/scope';
import { ConflictError, ForbiddenError } from '../../src/domain/errors';
import { assertMayDeletePoint, expiryFor, lockStateOf, retentionBlock, retentionShortenings } from '../../src/domain/immutability/locks';

const now = new Date('2026-11-22T12:00:00Z');
const DAY = 86_400_000;
const owner: Actor = { type: 'USER', id: 'u1', label: 'owner', role: 'OWNER' };
const admin: Actor = { ...owner, role: 'ADMIN' };
const lock = (lockMode: 'NONE' | 'GOVERNANCE' | 'COMPLIANCE', lockGraceUntil: Date | null = null) => lockStateOf({ lockMode, lockGraceUntil }, now);
const future = { expiresAt: new Date(now.getTime() + DAY), legalHold: false };
const past = { expiresAt: new Date(now.getTime() - DAY), legalHold: false };
const undated = { expiresAt: null, legalHold: false };

describe('expiryFor', () => {
  it('is takenAt + maxAgeDays × 24 h, or none without an age limit', () => {
    expect(expiryFor({ maxAgeDays: 30 }, now)).toEqual(new Date(now.getTime() + 30 * DAY));
    expect(expiryFor({ maxAgeDays: null }, now)).toBeNull();
    expect(expiryFor(null, now)).toBeNull();
  });
});

describe('retentionShortenings', () => {
  it('names every rule that keeps less, and nothing for a policy that keeps at least as much', () => {
    const base = { keepLast: 5, keepDaily: 7, maxAgeDays: 30, minCopies: 2 };
    expect(retentionShortenings(base, { ...base, keepLast: 6, keepWeekly: 4, maxAgeDays: 60 })).toEqual([]);
    expect(retentionShortenings(base, { ...base, keepLast: 2, keepDaily: null, maxAgeDays: 10, minCopies: 1 })).toEqual([
      'keepLast 5 → 2', 'keepDaily 7 → off', 'minCopies 2 → 1', 'maxAgeDays 30 → 10',
    ]);
    expect(retentionShortenings({ keepLast: 5 }, { keepLast: 5, maxAgeDays: 365 })).toEqual(['maxAgeDays unlimited → 365']);
    expect(retentionShortenings(base, { ...base, maxAgeDays: null })).toEqual([]);
  });

  it('treats removing a policy, attaching one where none kept everything, and moving the peak season as shortening', () => {
    expect(retentionShortenings({ keepLast: 5 }, null)).toEqual(['removes the retention policy']);
    expect(retentionShortenings(null, { keepLast: 500 })).toHaveLength(1);
    expect(retentionShortenings(null, null)).toEqual([]);
    const peak = { keepDaily: 7, peakKeepDaily: 30, peakSeasonStart: '05-01', peakSeasonEnd: '09-30' };
    expect(retentionShortenings(peak, { ...peak, peakSeasonEnd: '10-31' })).toEqual(['moves the peak season']);
  });
});

describe('who may delete a point', () => {
  it('nobody while it is on legal hold, not even an owner overriding', () => {
    expect(() => assertMayDeletePoint({ ...past, legalHold: true, legalHoldReason: 'case 7' }, lock('NONE'), owner, true, now)).toThrow(ConflictError);
    expect(retentionBlock({ ...past, legalHold: true }, lock('NONE'), now)).toBe('legal-hold');
  });

  it('anyone allowed to delete, without a lock or once the point expired', () => {
    expect(assertMayDeletePoint(future, lock('NONE'), admin, false, now)).toEqual({ override: false });
    expect(assertMayDeletePoint(past, lock('COMPLIANCE'), admin, false, now)).toEqual({ override: false });
    expect(retentionBlock(past, lock('COMPLIANCE'), now)).toBeNull();
  });

  it('under GOVERNANCE, only an owner who asks to override; retention never', () => {
    expect(() => assertMayDeletePoint(future, lock('GOVERNANCE'), admin, true, now)).toThrow(/Only an owner/);
    expect(() => assertMayDeletePoint(future, lock('GOVERNANCE'), owner, false, now)).toThrow(ForbiddenError);
    expect(assertMayDeletePoint(future, lock('GOVERNANCE'), owner, true, now)).toEqual({ override: true });
    expect(retentionBlock(future, lock('GOVERNANCE'), now)).toMatch(/^governance-lock until 2026-11-23/);
    // No expiry date: kept under a lock until a maxAgeDays gives it one.
    expect(retentionBlock(undated, lock('GOVERNANCE'), now)).toBe('governance-lock (no expiry date)');
  });

  it('under COMPLIANCE, nobody after the grace period; during it, like GOVERNANCE', () => {
    expect(() => assertMayDeletePoint(future, lock('COMPLIANCE', now), owner, true, now)).toThrow(/nobody can override/);
    const inGrace = lock('COMPLIANCE', new Date(now.getTime() + DAY));
    expect(inGrace).toMatchObject({ inGrace: true, protection: 'GOVERNANCE' });
    expect(assertMayDeletePoint(future, inGrace, owner, true, now)).toEqual({ override: true });
  });
});
