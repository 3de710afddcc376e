// Which recovery points a retention policy keeps: a pure plan, no database, no clock.
//
// Semantics (restic's `forget`, plus the protections a backup platform needs):
// - Rules OR together: a point is kept if any rule keeps it, and the plan lists every reason.
// - keepLast N keeps the N newest points.
// - keepHourly/Daily/Weekly/Monthly/Yearly N keep the newest point in each of the N most
//   recent buckets that contain points (empty buckets do not use up N). Buckets are
//   calendar units in the organization's time zone; weeks are ISO weeks (Monday first,
//   labelled with the ISO week-year, so 2027-01-01 is in 2026-W53). An hourly bucket is a
//   real hour: at the autumn DST change the repeated wall-clock hour is two buckets,
//   labelled with their UTC offsets.
// - Peak season (peakSeasonStart..peakSeasonEnd as MM-DD, inclusive, may wrap the year end,
//   judged by the point's local date): when peakKeepDaily is set, days inside the season are
//   counted against peakKeepDaily and days outside against keepDaily, each rule keeping its
//   own N most recent days.
// - maxAgeDays: a point older than maxAgeDays × 24 h (strictly) is deleted even if a rule
//   above would keep it — an age limit is usually a legal promise to delete. Three
//   protections still override it, because losing them is worse than keeping data longer:
// - legalHold points are always kept ('legal-hold');
// - the newest point with verifiedAt set is always kept ('newest-verified'): the latest
//   copy proven restorable must not disappear before a newer one is proven;
// - the minCopies newest points are always kept ('min-copies'), so a source that stopped
//   producing backups does not age out its last copies. Default 1, like the column.
// Deleted points carry the reason 'max-age' (too old) or 'no-rule' (no rule keeps them).
import { isInSeason, validateMonthDay } from './schedule';
import type { FieldIssue } from '../errors';

export interface RetentionPoint {
  id: string;
  takenAt: Date;
  legalHold: boolean;
  verifiedAt: Date | null;
}

/** The rules of a policy (a Prisma RetentionPolicy row fits). Unset or null means "rule off". */
export interface RetentionRules {
  keepLast?: number | null;
  keepHourly?: number | null;
  keepDaily?: number | null;
  keepWeekly?: number | null;
  keepMonthly?: number | null;
  keepYearly?: number | null;
  maxAgeDays?: number | null;
  minCopies?: number | null;
  peakSeasonStart?: string | null;
  peakSeasonEnd?: string | null;
  peakKeepDaily?: number | null;
}

export interface RetentionDecision {
  id: string;
  keep: boolean;
  /** Why: 'last', 'daily 2026-11-20', 'peak-daily 2026-11-20', 'weekly 2026-W47', 'legal-hold', ... */
  reasons: string[];
}

const DAY_MS = 86_400_000;
const DEFAULT_MIN_COPIES = 1;

// ---- calendar buckets in a time zone --------------------------------------------------------

interface Buckets {
  hour: string; // 2026-10-25T01:00+01:00
  day: string; // 2026-10-25
  monthDay: string; // 10-25
  week: string; // 2026-W43
  month: string; // 2026-10
  year: string; // 2026
}

const formats = new Map<string, Intl.DateTimeFormat>();

function bucketsOf(at: Date, timeZone: string): Buckets {
  let fmt = formats.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    formats.set(timeZone, fmt);
  }
  const parts = fmt.formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  const [year, month, day, hour] = [get('year'), get('month'), get('day'), get('hour')];
  const offset = get('timeZoneName').replace(/^GMT/, '') || '+00:00'; // "GMT+01:00" | "GMT"
  return {
    hour: `${year}-${month}-${day}T${hour}:00${offset}`,
    day: `${year}-${month}-${day}`,
    monthDay: `${month}-${day}`,
    week: isoWeek(Number(year), Number(month), Number(day)),
    month: `${year}-${month}`,
    year,
  };
}

/** ISO 8601 week label of a calendar date: the week (Mon–Sun) belongs to the year of its Thursday. */
function isoWeek(year: number, month: number, day: number): string {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = date.getUTCDay() || 7; // Monday 1 … Sunday 7
  date.setUTCDate(date.getUTCDate() + 4 - weekday); // that week's Thursday
  const weekYear = date.getUTCFullYear();
  const week = Math.floor((date.getTime() - Date.UTC(weekYear, 0, 1)) / DAY_MS / 7) + 1;
  return `${weekYear}-W${String(week).padStart(2, '0')}`;
}

// ---- the plan ---------------------------------------------------------------------------------

/** One bucket rule: keeps the newest point of each new bucket until `left` runs out. */
class BucketRule {
  private last: string | undefined;
  constructor(
    private readonly label: string,
    private left: number,
  ) {}
  /** Returns a reason if this point opens a bucket the rule still has room for. */
  offer(bucket: string): string | null {
    if (this.left <= 0 || bucket === this.last) return null;
    this.last = bucket;
    this.left--;
    return `${this.label} ${bucket}`;
  }
}

/**
 * Decides keep/delete for every point. Output: one decision per point, newest first (ties
 * on takenAt broken by id, descending, so the plan is deterministic).
 */
export function retentionPlan(points: readonly RetentionPoint[], policy: RetentionRules, options: { timeZone: string; now: Date }): RetentionDecision[] {
  const sorted = [...points].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const peakActive = Boolean(policy.peakSeasonStart && policy.peakSeasonEnd && policy.peakKeepDaily);
  const rule = (label: string, n: number | null | undefined) => new BucketRule(label, n ?? 0);
  const hourly = rule('hourly', policy.keepHourly);
  const daily = rule('daily', policy.keepDaily);
  const peakDaily = rule('peak-daily', peakActive ? policy.peakKeepDaily : 0);
  const weekly = rule('weekly', policy.keepWeekly);
  const monthly = rule('monthly', policy.keepMonthly);
  const yearly = rule('yearly', policy.keepYearly);
  const keepLast = policy.keepLast ?? 0;
  const minCopies = policy.minCopies ?? DEFAULT_MIN_COPIES;
  const oldestAllowed = policy.maxAgeDays == null ? null : options.now.getTime() - policy.maxAgeDays * DAY_MS;
  const newestVerified = sorted.find((p) => p.verifiedAt !== null);

  return sorted.map((point, index) => {
    const b = bucketsOf(point.takenAt, options.timeZone);
    const inPeak = peakActive && isInSeason(b.monthDay, policy.peakSeasonStart!, policy.peakSeasonEnd!);
    // Every rule sees every point, expired or not: expired points are the oldest, so they
    // can only use up buckets after all younger points have had theirs.
    const byRule = [
      index < keepLast ? 'last' : null,
      hourly.offer(b.hour),
      inPeak ? peakDaily.offer(b.day) : daily.offer(b.day),
      weekly.offer(b.week),
      monthly.offer(b.month),
      yearly.offer(b.year),
    ].filter((r): r is string => r !== null);
    const protections = [
      point.legalHold ? 'legal-hold' : null,
      point === newestVerified ? 'newest-verified' : null,
      index < minCopies ? 'min-copies' : null,
    ].filter((r): r is string => r !== null);
    const expired = oldestAllowed !== null && point.takenAt.getTime() < oldestAllowed;
    const reasons = expired ? protections : [...byRule, ...protections];
    if (reasons.length > 0) return { id: point.id, keep: true, reasons };
    return { id: point.id, keep: false, reasons: [expired ? 'max-age' : 'no-rule'] };
  });
}

// ---- validation ---------------------------------------------------------------------------------

/** Above this a count or age is a typo, not a policy (10 000 days is over 27 years). */
const MAX_VALUE = 10_000;
const KEEP_RULES = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly', 'peakKeepDaily'] as const;

/**
 * Field-level issues (paths relative to the policy, e.g. ['keepDaily']; [] for the policy as
 * a whole). Keep counts and maxAgeDays must be whole numbers from 1 to 10 000: 0 would mean
 * "rule off", which is what leaving the field empty says. minCopies may be 0 (let maxAgeDays
 * delete even the last copy). Peak-season fields go together. A policy must set at least one
 * keep rule: minCopies is a safety floor, not a rule.
 */
export function validateRetentionPolicy(input: RetentionRules): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const count = (field: keyof RetentionRules, min: number) => {
    const v = input[field];
    if (v === null || v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v)) issues.push({ path: [field], message: 'must be a whole number' });
    else if (v < min) issues.push({ path: [field], message: min === 1 ? 'must be at least 1 (leave it empty to turn the rule off)' : `must be at least ${min}` });
    else if (v > MAX_VALUE) issues.push({ path: [field], message: `must be at most ${MAX_VALUE}` });
  };
  for (const field of KEEP_RULES) count(field, 1);
  count('maxAgeDays', 1);
  count('minCopies', 0);

  for (const field of ['peakSeasonStart', 'peakSeasonEnd'] as const) {
    const v = input[field];
    if (v === null || v === undefined) continue;
    const r = validateMonthDay(v);
    if (!r.ok) issues.push({ path: [field], message: r.message });
  }
  const peak = [['peakSeasonStart', input.peakSeasonStart], ['peakSeasonEnd', input.peakSeasonEnd], ['peakKeepDaily', input.peakKeepDaily]] as const;
  const given = peak.filter(([, v]) => v !== null && v !== undefined).length;
  if (given > 0 && given < peak.length) {
    for (const [field, v] of peak) {
      if (v === null || v === undefined) issues.push({ path: [field], message: 'is required when any peak-season field is set' });
    }
  }

  if (KEEP_RULES.every((field) => input[field] === null || input[field] === undefined || input[field] === 0)) {
    issues.push({ path: [], message: 'The policy keeps nothing: set at least one of keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly or peakKeepDaily' });
  }
  return issues;
}
