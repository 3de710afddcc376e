// Schedule rules as pure functions: when a strategy runs next, which cron applies in peak
// season, and whether a slot may still start. No database, no clock: callers pass `now`.
//
// Cron: the standard 5-field form (minute hour day-of-month month day-of-week), evaluated by
// cron-parser in the strategy's IANA time zone. Seconds are not offered: a backup platform
// has no use for sub-minute schedules and a 6th field is a classic source of "runs every
// second" accidents. The usual macros (@hourly, @daily, @weekly, @monthly, @yearly) are
// accepted; hashed values (`H`) are refused because they change between parses.
// When both day-of-month and day-of-week are restricted, either matching fires (Vixie cron).
//
// Daylight saving time (cron-parser's behaviour, pinned by tests):
// - spring forward: a wall-clock time that does not exist that day (01:30 in London on the
//   last Sunday of March) fires once, one hour later by the wall clock (02:30 BST);
// - fall back: a wall-clock time that occurs twice fires once, at its first occurrence;
//   interval expressions (*/30 * * * *) keep firing every real interval through the repeat.
import { CronExpressionParser } from 'cron-parser';
import type { FieldIssue } from '../errors';

export type Validation = { ok: true } | { ok: false; message: string };

const ok: Validation = { ok: true };
const fail = (message: string): Validation => ({ ok: false, message });

const CRON_MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly']);
/** Matches Strategy.cron's column width. */
const MAX_CRON_LENGTH = 120;

export function validateCron(expr: string): Validation {
  const s = expr.trim();
  if (!s) return fail('must not be empty');
  if (s.length > MAX_CRON_LENGTH) return fail(`must be at most ${MAX_CRON_LENGTH} characters`);
  if (s.startsWith('@')) {
    return CRON_MACROS.has(s.toLowerCase()) ? ok : fail(`unknown macro ${s}; use one of ${[...CRON_MACROS].join(', ')}`);
  }
  const fields = s.split(/\s+/);
  if (fields.length !== 5) {
    const hint = fields.length === 6 ? '; a seconds field is not supported' : '';
    return fail(`must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}${hint}`);
  }
  // No month or weekday name starts with H, so a part starting with H is a hashed value.
  if (fields.some((f) => f.split(',').some((part) => /^h/i.test(part)))) {
    return fail('hashed values (H) are not supported: they change from one evaluation to the next');
  }
  try {
    // Evaluating once also catches expressions that parse but never fire (e.g. 0 0 30 2 *).
    CronExpressionParser.parse(s, { tz: 'UTC', currentDate: new Date() }).next();
  } catch (err) {
    return fail(`is not a valid cron expression: ${(err as Error).message}`);
  }
  return ok;
}

/** Matches Strategy.timeZone's column width. */
const MAX_TIME_ZONE_LENGTH = 64;

/**
 * An IANA zone name known to this runtime's ICU ("Europe/London", "UTC", "Etc/GMT+5").
 * Offset strings ("+01:00") are refused even though Intl accepts them: they have no DST
 * rules, so a schedule written with one drifts by an hour twice a year.
 */
export function validateTimeZone(tz: string): Validation {
  if (!tz) return fail('must not be empty');
  if (tz.length > MAX_TIME_ZONE_LENGTH) return fail(`must be at most ${MAX_TIME_ZONE_LENGTH} characters`);
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(tz)) return fail('must be an IANA time zone name such as Europe/London');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    return fail(`unknown time zone ${tz}; use an IANA name such as Europe/London`);
  }
  return ok;
}

const DAYS_IN_MONTH_LEAP_YEAR = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * A calendar day 'MM-DD'. 02-29 is allowed: in other years a season starting on 02-29
 * starts on 03-01 and one ending on 02-29 ends on 02-28 (seasons compare 'MM-DD' strings).
 */
export function validateMonthDay(value: string): Validation {
  const m = /^(\d{2})-(\d{2})$/.exec(value);
  if (!m) return fail('must be a day of the year as MM-DD, e.g. 11-15');
  const month = Number(m[1]);
  const day = Number(m[2]);
  if (month < 1 || month > 12) return fail('month must be 01 to 12');
  if (day < 1 || day > DAYS_IN_MONTH_LEAP_YEAR[month - 1]!) return fail(`day must be 01 to ${DAYS_IN_MONTH_LEAP_YEAR[month - 1]} for month ${m[1]}`);
  return ok;
}

/** Is 'MM-DD' inside the inclusive season start..end? A season with start > end wraps the year end. */
export function isInSeason(monthDay: string, start: string, end: string): boolean {
  return start <= end ? monthDay >= start && monthDay <= end : monthDay >= start || monthDay <= end;
}

// ---- local calendar dates in a time zone -------------------------------------------------

interface LocalDate {
  year: number;
  month: number; // 1-12
  day: number;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

function localDate(at: Date, timeZone: string): LocalDate {
  let fmt = dateFormats.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' });
    dateFormats.set(timeZone, fmt);
  }
  const parts = fmt.formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return { year: get('year'), month: get('month'), day: get('day') };
}

const monthDay = (d: LocalDate) => `${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
const dayNumber = (d: LocalDate) => d.year * 10_000 + d.month * 100 + d.day;

function addDays(d: LocalDate, days: number): LocalDate {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + days));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/**
 * The first instant whose local date in `timeZone` is `d`. Found by bisection on the
 * monotonic instant → local date mapping, which stays correct where midnight does not
 * exist (zones whose DST change happens at 00:00) without any offset arithmetic.
 */
function startOfLocalDay(d: LocalDate, timeZone: string): Date {
  const target = dayNumber(d);
  const utcMidnight = Date.UTC(d.year, d.month - 1, d.day);
  let lo = utcMidnight - 15 * 3_600_000; // local date is still the day before (offsets ≤ +14h)
  let hi = utcMidnight + 13 * 3_600_000; // local date has reached the day (offsets ≥ -12h)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (dayNumber(localDate(new Date(mid), timeZone)) >= target) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

// ---- cron evaluation ---------------------------------------------------------------------

/** The first slot strictly after `after`, or null if the expression never fires again. */
export function nextRun(cron: string, timeZone: string, after: Date): Date | null {
  const expr = CronExpressionParser.parse(cron, { tz: timeZone, currentDate: after });
  try {
    return expr.next().toDate();
  } catch {
    return null; // cron-parser gives up when no matching date exists
  }
}

/**
 * The slots in (from, to], oldest first, at most `limit` of them; `truncated` says more
 * exist. Bounded so a fine-grained cron over a long outage cannot produce an unbounded list.
 */
export function slotsBetween(cron: string, timeZone: string, from: Date, to: Date, limit = 1000): { slots: Date[]; truncated: boolean } {
  const slots: Date[] = [];
  if (to <= from) return { slots, truncated: false };
  const expr = CronExpressionParser.parse(cron, { tz: timeZone, currentDate: from });
  for (;;) {
    let slot: Date;
    try {
      slot = expr.next().toDate();
    } catch {
      return { slots, truncated: false };
    }
    if (slot > to) return { slots, truncated: false };
    if (slots.length === limit) return { slots, truncated: true };
    slots.push(slot);
  }
}

// ---- peak season ---------------------------------------------------------------------------

/** The schedule fields of a strategy (a Prisma Strategy row fits). */
export interface ScheduleSpec {
  cron: string;
  timeZone: string;
  peakCron?: string | null;
  /** 'MM-DD', inclusive, in the strategy's time zone. */
  peakStart?: string | null;
  /** 'MM-DD', inclusive; before peakStart means the season wraps the year end. */
  peakEnd?: string | null;
}

interface PeakSeason {
  cron: string;
  start: string;
  end: string;
}

/** Peak rules apply only when all three fields are set (validation insists on all or none). */
function peakOf(s: ScheduleSpec): PeakSeason | null {
  return s.peakCron && s.peakStart && s.peakEnd ? { cron: s.peakCron, start: s.peakStart, end: s.peakEnd } : null;
}

/** Whether `at` falls in the strategy's peak season, judged by its local date in the strategy's zone. */
export function inPeakSeason(strategy: ScheduleSpec, at: Date): boolean {
  const peak = peakOf(strategy);
  return peak !== null && isInSeason(monthDay(localDate(at, strategy.timeZone)), peak.start, peak.end);
}

/** The cron that governs a slot at `at`: the peak cron inside the season, the normal one outside. */
export function effectiveCron(strategy: ScheduleSpec, at: Date): string {
  return inPeakSeason(strategy, at) ? strategy.peakCron! : strategy.cron;
}

/** Start of the first local day after `at`'s whose season differs, or null if it never changes. */
function nextSeasonChange(peak: PeakSeason, timeZone: string, at: Date): Date | null {
  const today = localDate(at, timeZone);
  const current = isInSeason(monthDay(today), peak.start, peak.end);
  for (let i = 1; i <= 366; i++) {
    const day = addDays(today, i);
    if (isInSeason(monthDay(day), peak.start, peak.end) !== current) return startOfLocalDay(day, timeZone);
  }
  return null; // the season covers every day, or none
}

/** Each pass crosses one season boundary; two a year, so this looks ~20 years ahead. */
const MAX_SEASON_SEGMENTS = 40;

/**
 * The earliest slot strictly after `after` where each slot is judged by the season of its
 * own local date: normal-cron slots count only outside the season, peak-cron slots only
 * inside. Walks season segments: within a segment one cron applies; if its next slot falls
 * beyond the segment, continue from the boundary with the other cron.
 */
export function nextRunWithPeak(strategy: ScheduleSpec, after: Date): Date | null {
  const peak = peakOf(strategy);
  if (!peak) return nextRun(strategy.cron, strategy.timeZone, after);
  let cursor = after; // search (cursor, ∞)
  for (let i = 0; i < MAX_SEASON_SEGMENTS; i++) {
    const probe = new Date(cursor.getTime() + 1); // first instant of the search range
    const cron = effectiveCron(strategy, probe);
    const change = nextSeasonChange(peak, strategy.timeZone, probe);
    const slot = nextRun(cron, strategy.timeZone, cursor);
    if (!change) return slot;
    if (slot && slot < change) return slot;
    cursor = new Date(change.getTime() - 1);
  }
  return null;
}

// ---- start window --------------------------------------------------------------------------

export type SlotState = 'due' | 'missed' | 'future';

/**
 * A slot may start from its time until `startWindowMinutes` later (inclusive); after that it
 * is missed and must be recorded, not run late. A slot after `now` is future.
 */
export function classifySlot(slotAt: Date, now: Date, startWindowMinutes: number): SlotState {
  if (slotAt.getTime() > now.getTime()) return 'future';
  return now.getTime() - slotAt.getTime() <= startWindowMinutes * 60_000 ? 'due' : 'missed';
}

// ---- whole-schedule validation -------------------------------------------------------------

const MAX_START_WINDOW_MINUTES = 7 * 24 * 60;

/**
 * Field-level issues for a strategy's schedule input (paths relative to it, e.g. ['cron']).
 * Peak fields go together: all three or none.
 */
export function validateSchedule(input: ScheduleSpec & { startWindowMinutes?: number | null }): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const check = (path: string, v: Validation) => {
    if (!v.ok) issues.push({ path: [path], message: v.message });
  };
  check('cron', validateCron(input.cron));
  check('timeZone', validateTimeZone(input.timeZone));
  const peakFields = [input.peakCron, input.peakStart, input.peakEnd];
  const given = peakFields.filter((v) => v !== null && v !== undefined).length;
  if (given > 0 && given < 3) {
    for (const [path, v] of [['peakCron', input.peakCron], ['peakStart', input.peakStart], ['peakEnd', input.peakEnd]] as const) {
      if (v === null || v === undefined) issues.push({ path: [path], message: 'is required when any peak-season field is set' });
    }
  }
  if (input.peakCron != null) check('peakCron', validateCron(input.peakCron));
  if (input.peakStart != null) check('peakStart', validateMonthDay(input.peakStart));
  if (input.peakEnd != null) check('peakEnd', validateMonthDay(input.peakEnd));
  const w = input.startWindowMinutes;
  if (w !== null && w !== undefined && (!Number.isInteger(w) || w < 1 || w > MAX_START_WINDOW_MINUTES)) {
    issues.push({ path: ['startWindowMinutes'], message: `must be a whole number of minutes from 1 to ${MAX_START_WINDOW_MINUTES}` });
  }
  return issues;
}
