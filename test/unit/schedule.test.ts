import { describe, expect, it } from 'vitest';
import {
  classifySlot,
  effectiveCron,
  isInSeason,
  nextRun,
  nextRunWithPeak,
  slotsBetween,
  validateCron,
  validateMonthDay,
  validateSchedule,
  validateTimeZone,
  type ScheduleSpec,
} from '../../src/domain/rules/schedule';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | null) => d?.toISOString() ?? null;

describe('validateCron', () => {
  it.each(['0 2 * * *', '*/15 * * * *', '0 3 * * 1-5', '0 3 * * THU', '30 1 1,15 * *', '0 0 29 2 *', '@daily', '@Weekly', '  0 2 * * *  '])('accepts %s', (expr) => {
    expect(validateCron(expr)).toEqual({ ok: true });
  });

  it.each([
    ['', /empty/],
    ['0 0 * * * *', /5 fields.*got 6.*seconds/],
    ['* * * *', /5 fields.*got 4/],
    ['61 * * * *', /not a valid cron expression/],
    ['0 25 * * *', /not a valid cron expression/],
    ['0 0 30 2 *', /not a valid cron expression/],
    ['H 2 * * *', /hashed/],
    ['0 2 * * 1,H', /hashed/],
    ['@reboot', /unknown macro/],
    ['@secondly', /unknown macro/],
    ['a b c d e', /not a valid cron expression/],
    [`0 2 * * ${'1,'.repeat(80)}1`, /at most 120/],
  ])('rejects %j', (expr, message) => {
    const result = validateCron(expr);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });
});

describe('validateTimeZone', () => {
  it.each(['Europe/London', 'America/New_York', 'UTC', 'Etc/GMT+5', 'America/Argentina/Buenos_Aires', 'Asia/Kolkata'])('accepts %s', (tz) => {
    expect(validateTimeZone(tz)).toEqual({ ok: true });
  });

  it.each(['', 'Europe/Londn', 'Mars/Olympus_Mons', '+01:00', '-0500', 'Europe/../etc', 'x'.repeat(65)])('rejects %j', (tz) => {
    const result = validateTimeZone(tz);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message.length).toBeGreaterThan(0);
  });
});

describe('nextRun across DST', () => {
  describe('Europe/London', () => {
    it('spring forward: 01:30 does not exist on 29 March 2026, the slot fires once at 02:30 BST', () => {
      const first = nextRun('30 1 * * *', 'Europe/London', at('2026-03-28T12:00:00Z'));
      expect(iso(first)).toBe('2026-03-29T01:30:00.000Z');
      expect(iso(nextRun('30 1 * * *', 'Europe/London', first!))).toBe('2026-03-30T00:30:00.000Z'); // 01:30 BST
    });

    it('fall back: 01:30 happens twice on 25 October 2026, the daily slot fires once (first occurrence)', () => {
      const { slots } = slotsBetween('30 1 * * *', 'Europe/London', at('2026-10-24T12:00:00Z'), at('2026-10-26T12:00:00Z'));
      expect(slots.map(iso)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    });

    it('keeps the wall-clock time: 09:00 is 09:00Z in winter and 08:00Z in summer', () => {
      const { slots } = slotsBetween('0 9 * * *', 'Europe/London', at('2026-03-28T00:00:00Z'), at('2026-03-30T23:00:00Z'));
      expect(slots.map(iso)).toEqual(['2026-03-28T09:00:00.000Z', '2026-03-29T08:00:00.000Z', '2026-03-30T08:00:00.000Z']);
    });

    it('interval crons fire every real half hour through both transitions', () => {
      const autumn = slotsBetween('*/30 * * * *', 'Europe/London', at('2026-10-25T00:00:00Z'), at('2026-10-25T02:00:00Z'));
      expect(autumn.slots.map(iso)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-25T02:00:00.000Z']);
      const spring = slotsBetween('*/30 * * * *', 'Europe/London', at('2026-03-29T00:00:00Z'), at('2026-03-29T02:00:00Z'));
      expect(spring.slots.map(iso)).toEqual(['2026-03-29T00:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-29T02:00:00.000Z']);
    });
  });

  describe('America/New_York', () => {
    it('spring forward: 02:30 does not exist on 8 March 2026, the slot fires once at 03:30 EDT', () => {
      const first = nextRun('30 2 * * *', 'America/New_York', at('2026-03-07T12:00:00Z'));
      expect(iso(first)).toBe('2026-03-08T07:30:00.000Z');
      expect(iso(nextRun('30 2 * * *', 'America/New_York', first!))).toBe('2026-03-09T06:30:00.000Z'); // 02:30 EDT
    });

    it('fall back: 01:30 happens twice on 1 November 2026, the daily slot fires once', () => {
      const { slots } = slotsBetween('30 1 * * *', 'America/New_York', at('2026-10-31T12:00:00Z'), at('2026-11-02T12:00:00Z'));
      // 01:30 EDT on the 1st; the repeated 01:30 EST (06:30Z on the 1st) does not fire.
      expect(slots.map(iso)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
    });

    it('noon stays noon: 17:00Z in EST, 16:00Z in EDT', () => {
      expect(iso(nextRun('0 12 * * *', 'America/New_York', at('2026-03-07T00:00:00Z')))).toBe('2026-03-07T17:00:00.000Z');
      expect(iso(nextRun('0 12 * * *', 'America/New_York', at('2026-03-09T00:00:00Z')))).toBe('2026-03-09T16:00:00.000Z');
    });
  });

  it('is strictly after `after`, also with milliseconds', () => {
    expect(iso(nextRun('0 0 * * *', 'UTC', at('2026-01-02T00:00:00.000Z')))).toBe('2026-01-03T00:00:00.000Z');
    expect(iso(nextRun('0 0 * * *', 'UTC', at('2026-01-01T23:59:59.999Z')))).toBe('2026-01-02T00:00:00.000Z');
  });

  it('uses OR semantics when day-of-month and day-of-week are both restricted', () => {
    // 1 January 2026 is a Thursday: the 1st of February (a Sunday) and every Monday match.
    const { slots } = slotsBetween('0 0 1 * 1', 'UTC', at('2026-01-25T00:00:00Z'), at('2026-02-09T00:00:00Z'));
    expect(slots.map(iso)).toEqual(['2026-01-26T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-02-02T00:00:00.000Z', '2026-02-09T00:00:00.000Z']);
  });
});

describe('slotsBetween', () => {
  it('returns (from, to] oldest first', () => {
    const { slots, truncated } = slotsBetween('0 * * * *', 'UTC', at('2026-05-01T00:00:00Z'), at('2026-05-01T03:00:00Z'));
    expect(slots.map(iso)).toEqual(['2026-05-01T01:00:00.000Z', '2026-05-01T02:00:00.000Z', '2026-05-01T03:00:00.000Z']);
    expect(truncated).toBe(false);
  });

  it('stops at the limit and says so', () => {
    const capped = slotsBetween('* * * * *', 'UTC', at('2026-05-01T00:00:00Z'), at('2026-05-01T01:00:00Z'), 10);
    expect(capped.slots).toHaveLength(10);
    expect(capped.truncated).toBe(true);
    const exact = slotsBetween('* * * * *', 'UTC', at('2026-05-01T00:00:00Z'), at('2026-05-01T01:00:00Z'), 60);
    expect(exact.slots).toHaveLength(60);
    expect(exact.truncated).toBe(false);
  });

  it('is empty for an empty or reversed range', () => {
    expect(slotsBetween('* * * * *', 'UTC', at('2026-05-01T01:00:00Z'), at('2026-05-01T00:00:00Z')).slots).toEqual([]);
    expect(slotsBetween('* * * * *', 'UTC', at('2026-05-01T01:00:00Z'), at('2026-05-01T01:00:00Z')).slots).toEqual([]);
  });
});

describe('peak season', () => {
  it('isInSeason handles plain and year-wrapping ranges inclusively', () => {
    for (const d of ['11-15', '12-25', '01-01', '01-15']) expect(isInSeason(d, '11-15', '01-15'), d).toBe(true);
    for (const d of ['11-14', '01-16', '06-01']) expect(isInSeason(d, '11-15', '01-15'), d).toBe(false);
    for (const d of ['06-01', '07-15', '08-31']) expect(isInSeason(d, '06-01', '08-31'), d).toBe(true);
    for (const d of ['05-31', '09-01', '12-31']) expect(isInSeason(d, '06-01', '08-31'), d).toBe(false);
  });

  const wedding: ScheduleSpec = { cron: '0 2 * * *', timeZone: 'Europe/London', peakCron: '0 */6 * * *', peakStart: '11-15', peakEnd: '01-15' };

  it('effectiveCron follows the local date in the strategy time zone, across the year end', () => {
    expect(effectiveCron(wedding, at('2026-11-14T23:59:59Z'))).toBe('0 2 * * *');
    expect(effectiveCron(wedding, at('2026-11-15T00:00:00Z'))).toBe('0 */6 * * *');
    expect(effectiveCron(wedding, at('2026-12-31T23:30:00Z'))).toBe('0 */6 * * *');
    expect(effectiveCron(wedding, at('2027-01-15T23:59:59Z'))).toBe('0 */6 * * *');
    expect(effectiveCron(wedding, at('2027-01-16T00:00:00Z'))).toBe('0 2 * * *');
    // 03:00Z on 15 November is still 14 November (22:00) in New York.
    const ny = { ...wedding, timeZone: 'America/New_York' };
    expect(effectiveCron(ny, at('2026-11-15T03:00:00Z'))).toBe('0 2 * * *');
    expect(effectiveCron(ny, at('2026-11-15T05:00:00Z'))).toBe('0 */6 * * *');
  });

  it('enters the season at local midnight: the peak slot at 00:00 on the first day wins over the normal 02:00', () => {
    const first = nextRunWithPeak(wedding, at('2026-11-14T12:00:00Z'));
    expect(iso(first)).toBe('2026-11-15T00:00:00.000Z');
    expect(iso(nextRunWithPeak(wedding, first!))).toBe('2026-11-15T06:00:00.000Z');
  });

  it('wraps the year end inside the season', () => {
    expect(iso(nextRunWithPeak(wedding, at('2026-12-31T22:00:00Z')))).toBe('2027-01-01T00:00:00.000Z');
  });

  it('leaves the season: the peak slot at 00:00 on 16 January falls outside, so the normal 02:00 runs', () => {
    expect(iso(nextRunWithPeak(wedding, at('2027-01-15T18:00:00Z')))).toBe('2027-01-16T02:00:00.000Z');
  });

  it('skips a normal slot that falls inside the season even when the peak cron fires later that day', () => {
    const sparsePeak: ScheduleSpec = { cron: '0 2 * * *', timeZone: 'UTC', peakCron: '0 20 * * *', peakStart: '06-01', peakEnd: '06-30' };
    // Normal 02:00 on 1 June is in season and must not run; the first peak slot is 20:00.
    expect(iso(nextRunWithPeak(sparsePeak, at('2026-05-31T03:00:00Z')))).toBe('2026-06-01T20:00:00.000Z');
    // Out of season again on 1 July: the 20:00 peak slot no longer counts, normal 02:00 does.
    expect(iso(nextRunWithPeak(sparsePeak, at('2026-06-30T21:00:00Z')))).toBe('2026-07-01T02:00:00.000Z');
  });

  it('finds the season start where local midnight does not exist (Santiago, DST at 00:00)', () => {
    // On 6 September 2026 Chilean clocks jump from 00:00 to 01:00 (-04 → -03).
    const chile: ScheduleSpec = { cron: '0 2 * * *', timeZone: 'America/Santiago', peakCron: '0 * * * *', peakStart: '09-06', peakEnd: '09-30' };
    expect(iso(nextRunWithPeak(chile, at('2026-09-05T12:00:00Z')))).toBe('2026-09-06T04:00:00.000Z'); // 01:00 -03
  });

  it('spans whole seasons with nothing to run in them', () => {
    // Peak cron fires only on 1 March, outside its own season: the normal cron runs after the season.
    const never: ScheduleSpec = { cron: '0 2 * * *', timeZone: 'UTC', peakCron: '0 0 1 3 *', peakStart: '06-01', peakEnd: '06-30' };
    expect(iso(nextRunWithPeak(never, at('2026-05-31T03:00:00Z')))).toBe('2026-07-01T02:00:00.000Z');
  });

  it('uses the normal cron when peak fields are incomplete, and the peak cron all year for a full-year season', () => {
    expect(iso(nextRunWithPeak({ ...wedding, peakCron: null }, at('2026-12-01T03:00:00Z')))).toBe('2026-12-02T02:00:00.000Z');
    const allYear = { ...wedding, peakStart: '01-01', peakEnd: '12-31' };
    expect(iso(nextRunWithPeak(allYear, at('2026-07-01T01:00:00Z')))).toBe('2026-07-01T05:00:00.000Z'); // 06:00 BST
  });
});

describe('classifySlot', () => {
  const slot = at('2026-05-01T10:00:00Z');
  it.each([
    ['2026-05-01T09:59:59.999Z', 30, 'future'],
    ['2026-05-01T10:00:00.000Z', 30, 'due'],
    ['2026-05-01T10:30:00.000Z', 30, 'due'],
    ['2026-05-01T10:30:00.001Z', 30, 'missed'],
    ['2026-05-02T10:00:00.000Z', 60, 'missed'],
    ['2026-05-01T10:00:00.000Z', 0, 'due'],
    ['2026-05-01T10:00:01.000Z', 0, 'missed'],
  ] as const)('now %s, window %d min → %s', (now, window, expected) => {
    expect(classifySlot(slot, at(now), window)).toBe(expected);
  });
});

describe('validateMonthDay / validateSchedule', () => {
  it('accepts real days including 02-29 and rejects the rest', () => {
    for (const d of ['01-01', '02-29', '04-30', '12-31']) expect(validateMonthDay(d), d).toEqual({ ok: true });
    for (const d of ['02-30', '04-31', '00-10', '13-01', '1-05', '01-5', '0101', '']) expect(validateMonthDay(d).ok, d).toBe(false);
  });

  it('accepts a complete schedule', () => {
    expect(validateSchedule({ ...{ cron: '0 2 * * *', timeZone: 'Europe/London' }, peakCron: '0 */6 * * *', peakStart: '11-15', peakEnd: '01-15', startWindowMinutes: 60 })).toEqual([]);
    expect(validateSchedule({ cron: '0 2 * * *', timeZone: 'UTC' })).toEqual([]);
  });

  it('reports each bad field by path', () => {
    const issues = validateSchedule({ cron: '0 0 * * * *', timeZone: 'Nowhere/Land', peakCron: 'H * * * *', peakStart: '02-30', peakEnd: '01-15', startWindowMinutes: 0 });
    expect(issues.map((i) => i.path.join('.')).sort()).toEqual(['cron', 'peakCron', 'peakStart', 'startWindowMinutes', 'timeZone']);
  });

  it('requires the peak fields together', () => {
    const issues = validateSchedule({ cron: '0 2 * * *', timeZone: 'UTC', peakCron: '0 */6 * * *' });
    expect(issues).toEqual([
      { path: ['peakStart'], message: 'is required when any peak-season field is set' },
      { path: ['peakEnd'], message: 'is required when any peak-season field is set' },
    ]);
  });
});
