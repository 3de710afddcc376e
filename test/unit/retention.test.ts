import { describe, expect, it } from 'vitest';
import { retentionPlan, validateRetentionPolicy, type RetentionPoint, type RetentionRules } from '../../src/domain/rules/retention';

const point = (id: string, takenAt: string, extra: Partial<RetentionPoint> = {}): RetentionPoint => ({
  id,
  takenAt: new Date(takenAt),
  legalHold: false,
  verifiedAt: null,
  ...extra,
});

/** One point per day at `time` UTC from `first` to `last` inclusive, id = the date. */
function daily(first: string, last: string, time = '02:00:00Z'): RetentionPoint[] {
  const out: RetentionPoint[] = [];
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`); t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    out.push(point(day, `${day}T${time}`));
  }
  return out;
}

const plan = (points: RetentionPoint[], policy: RetentionRules, timeZone = 'UTC', now = '2026-12-31T00:00:00Z') =>
  retentionPlan(points, { minCopies: 0, ...policy }, { timeZone, now: new Date(now) });

/** id → reasons of the kept points only. */
const kept = (decisions: ReturnType<typeof retentionPlan>) => Object.fromEntries(decisions.filter((d) => d.keep).map((d) => [d.id, d.reasons]));

describe('retentionPlan: worked examples', () => {
  it('keepLast 2 + keepDaily 3 on points every 12 hours', () => {
    const points = [
      point('p8', '2026-11-17T06:00:00Z'),
      point('p1', '2026-11-20T18:00:00Z'),
      point('p5', '2026-11-18T18:00:00Z'),
      point('p2', '2026-11-20T06:00:00Z'),
      point('p7', '2026-11-17T18:00:00Z'),
      point('p3', '2026-11-19T18:00:00Z'),
      point('p6', '2026-11-18T06:00:00Z'),
      point('p4', '2026-11-19T06:00:00Z'),
    ];
    const result = plan(points, { keepLast: 2, keepDaily: 3 });
    expect(result).toEqual([
      { id: 'p1', keep: true, reasons: ['last', 'daily 2026-11-20'] },
      { id: 'p2', keep: true, reasons: ['last'] },
      { id: 'p3', keep: true, reasons: ['daily 2026-11-19'] },
      { id: 'p4', keep: false, reasons: ['no-rule'] },
      { id: 'p5', keep: true, reasons: ['daily 2026-11-18'] },
      { id: 'p6', keep: false, reasons: ['no-rule'] },
      { id: 'p7', keep: false, reasons: ['no-rule'] },
      { id: 'p8', keep: false, reasons: ['no-rule'] },
    ]);
  });

  it('GFS over one quarter of daily points: 7 daily, 4 ISO weekly, 3 monthly, 2 yearly', () => {
    // 1 January – 31 March 2026, 02:00 UTC. 30 March 2026 is the Monday starting ISO week 14.
    const result = plan(daily('2026-01-01', '2026-03-31'), { keepDaily: 7, keepWeekly: 4, keepMonthly: 3, keepYearly: 2 }, 'UTC', '2026-03-31T12:00:00Z');
    expect(kept(result)).toEqual({
      '2026-03-31': ['daily 2026-03-31', 'weekly 2026-W14', 'monthly 2026-03', 'yearly 2026'],
      '2026-03-30': ['daily 2026-03-30'],
      '2026-03-29': ['daily 2026-03-29', 'weekly 2026-W13'],
      '2026-03-28': ['daily 2026-03-28'],
      '2026-03-27': ['daily 2026-03-27'],
      '2026-03-26': ['daily 2026-03-26'],
      '2026-03-25': ['daily 2026-03-25'],
      '2026-03-22': ['weekly 2026-W12'],
      '2026-03-15': ['weekly 2026-W11'],
      '2026-02-28': ['monthly 2026-02'],
      '2026-01-31': ['monthly 2026-01'],
    });
    expect(result).toHaveLength(90);
    expect(result.filter((d) => !d.keep).every((d) => d.reasons.join() === 'no-rule')).toBe(true);
  });

  it('counts only buckets that have points (gaps do not use up the rule)', () => {
    const points = [point('a', '2026-06-30T10:00:00Z'), point('b', '2026-06-20T10:00:00Z'), point('c', '2026-06-10T10:00:00Z'), point('d', '2026-06-01T10:00:00Z')];
    expect(Object.keys(kept(plan(points, { keepDaily: 3 })))).toEqual(['a', 'b', 'c']);
  });

  it('sorts newest first and breaks takenAt ties by id, without touching the input', () => {
    const points = [point('b', '2026-06-01T10:00:00Z'), point('c', '2026-06-01T10:00:00Z'), point('a', '2026-06-02T10:00:00Z')];
    const copy = [...points];
    const result = plan(points, { keepDaily: 5 });
    expect(result.map((d) => d.id)).toEqual(['a', 'c', 'b']);
    expect(result.map((d) => d.keep)).toEqual([true, true, false]); // c is the newest of 2026-06-01
    expect(points).toEqual(copy);
  });

  it('returns an empty plan for no points', () => {
    expect(plan([], { keepLast: 3 })).toEqual([]);
  });
});

describe('retentionPlan: buckets in the organization time zone', () => {
  // 22:30Z and 23:30Z on 20 November: both 20 November in UTC and New York, but 23:30 and
  // 00:30 (next day) in Berlin.
  const points = [point('late', '2026-11-20T23:30:00Z'), point('earlier', '2026-11-20T22:30:00Z')];

  it('puts both points on one day in UTC', () => {
    expect(kept(plan(points, { keepDaily: 2 }, 'UTC'))).toEqual({ late: ['daily 2026-11-20'] });
    expect(kept(plan(points, { keepDaily: 2 }, 'America/New_York'))).toEqual({ late: ['daily 2026-11-20'] });
  });

  it('splits them across midnight in Europe/Berlin', () => {
    expect(kept(plan(points, { keepDaily: 2 }, 'Europe/Berlin'))).toEqual({ late: ['daily 2026-11-21'], earlier: ['daily 2026-11-20'] });
  });

  it('moves month and year boundaries with the zone', () => {
    const newYear = [point('x', '2026-12-31T23:30:00Z'), point('y', '2026-12-31T12:00:00Z')];
    expect(kept(plan(newYear, { keepMonthly: 5, keepYearly: 5 }, 'UTC'))).toEqual({ x: ['monthly 2026-12', 'yearly 2026'] });
    expect(kept(plan(newYear, { keepMonthly: 5, keepYearly: 5 }, 'Europe/Berlin'))).toEqual({
      x: ['monthly 2027-01', 'yearly 2027'],
      y: ['monthly 2026-12', 'yearly 2026'],
    });
  });

  it('labels ISO weeks by week-year around the year end', () => {
    const points = [
      point('mon-2027-01-04', '2027-01-04T12:00:00Z'),
      point('sun-2027-01-03', '2027-01-03T12:00:00Z'),
      point('mon-2026-12-28', '2026-12-28T12:00:00Z'),
      point('sun-2026-12-27', '2026-12-27T12:00:00Z'),
    ];
    expect(kept(plan(points, { keepWeekly: 3 }, 'UTC', '2027-01-05T00:00:00Z'))).toEqual({
      'mon-2027-01-04': ['weekly 2027-W01'],
      'sun-2027-01-03': ['weekly 2026-W53'],
      'sun-2026-12-27': ['weekly 2026-W52'],
    });
  });

  it('treats the repeated hour at the autumn DST change as two hourly buckets', () => {
    // 00:15Z is 01:15 BST, 01:15Z is 01:15 GMT on 25 October 2026.
    const points = [point('gmt', '2026-10-25T01:15:00Z'), point('bst', '2026-10-25T00:15:00Z'), point('bst-early', '2026-10-25T00:05:00Z')];
    expect(kept(plan(points, { keepHourly: 3 }, 'Europe/London', '2026-10-25T02:00:00Z'))).toEqual({
      gmt: ['hourly 2026-10-25T01:00+00:00'],
      bst: ['hourly 2026-10-25T01:00+01:00'],
    });
  });
});

describe('retentionPlan: protections and max age', () => {
  it('always keeps legal-hold points, even past max age and with no rule', () => {
    const points = [point('new', '2026-12-30T00:00:00Z'), point('held', '2020-01-01T00:00:00Z', { legalHold: true }), point('old', '2020-01-02T00:00:00Z')];
    const result = plan(points, { keepLast: 1, maxAgeDays: 30 });
    expect(result).toEqual([
      { id: 'new', keep: true, reasons: ['last'] },
      { id: 'old', keep: false, reasons: ['max-age'] },
      { id: 'held', keep: true, reasons: ['legal-hold'] },
    ]);
  });

  it('keeps the newest verified point (not the most recently verified one)', () => {
    const points = [
      point('p1', '2026-12-05T00:00:00Z'),
      point('p2', '2026-12-04T00:00:00Z'),
      point('p3', '2026-12-03T00:00:00Z', { verifiedAt: new Date('2026-12-03T06:00:00Z') }),
      point('p4', '2026-12-02T00:00:00Z', { verifiedAt: new Date('2026-12-20T00:00:00Z') }),
    ];
    expect(kept(plan(points, { keepLast: 1 }))).toEqual({ p1: ['last'], p3: ['newest-verified'] });
    // Also when everything is older than max age.
    expect(kept(plan(points, { keepLast: 1, maxAgeDays: 1 }))).toEqual({ p3: ['newest-verified'] });
  });

  it('keeps the minCopies newest points when max age would delete everything', () => {
    // The source stopped producing backups in August; max age is 30 days.
    const points = daily('2026-08-01', '2026-08-10');
    const result = plan(points, { keepDaily: 7, maxAgeDays: 30, minCopies: 2 }, 'UTC', '2026-12-01T00:00:00Z');
    expect(kept(result)).toEqual({ '2026-08-10': ['min-copies'], '2026-08-09': ['min-copies'] });
    expect(result.filter((d) => !d.keep).map((d) => d.reasons)).toEqual(Array(8).fill(['max-age']));
  });

  it('defaults minCopies to 1 like the column', () => {
    const points = daily('2026-08-01', '2026-08-03');
    const result = retentionPlan(points, { keepDaily: 7, maxAgeDays: 30 }, { timeZone: 'UTC', now: new Date('2026-12-01T00:00:00Z') });
    expect(kept(result)).toEqual({ '2026-08-03': ['min-copies'] });
  });

  it('adds min-copies next to rule reasons, and minCopies 0 lets max age delete everything', () => {
    const points = daily('2026-11-28', '2026-11-30');
    expect(kept(plan(points, { keepDaily: 1, minCopies: 2 }, 'UTC', '2026-11-30T12:00:00Z'))).toEqual({
      '2026-11-30': ['daily 2026-11-30', 'min-copies'],
      '2026-11-29': ['min-copies'],
    });
    expect(kept(plan(points, { keepDaily: 7, maxAgeDays: 1, minCopies: 0 }, 'UTC', '2026-12-31T00:00:00Z'))).toEqual({});
  });

  it('lets max age override bucket rules, keeping a point exactly maxAgeDays old', () => {
    // Monthly points on the 1st; now 15 December; max age 60 days.
    const points = Array.from({ length: 12 }, (_, i) => point(`m${i + 1}`, `2026-${String(i + 1).padStart(2, '0')}-01T00:00:00Z`));
    points.push(point('exactly-60-days', '2026-10-16T00:00:00Z'));
    const result = retentionPlan(points, { keepMonthly: 12, maxAgeDays: 60, minCopies: 1 }, { timeZone: 'UTC', now: new Date('2026-12-15T00:00:00Z') });
    expect(kept(result)).toEqual({
      m12: ['monthly 2026-12', 'min-copies'],
      m11: ['monthly 2026-11'],
      'exactly-60-days': ['monthly 2026-10'],
    });
    expect(result.filter((d) => !d.keep).map((d) => d.id)).toEqual(['m10', 'm9', 'm8', 'm7', 'm6', 'm5', 'm4', 'm3', 'm2', 'm1']);
    expect(result.filter((d) => !d.keep).every((d) => d.reasons.join() === 'max-age')).toBe(true);
  });

  it('lists every protection that applies to a point', () => {
    const points = [point('only', '2020-01-01T00:00:00Z', { legalHold: true, verifiedAt: new Date('2020-01-02T00:00:00Z') })];
    expect(plan(points, { keepLast: 1, maxAgeDays: 10, minCopies: 1 })).toEqual([{ id: 'only', keep: true, reasons: ['legal-hold', 'newest-verified', 'min-copies'] }]);
  });
});

describe('retentionPlan: peak season', () => {
  const season = { peakSeasonStart: '11-15', peakSeasonEnd: '01-15', peakKeepDaily: 5 };

  it('counts peak days against peakKeepDaily and other days against keepDaily', () => {
    const result = plan(daily('2026-11-10', '2026-11-25', '12:00:00Z'), { keepDaily: 2, ...season }, 'UTC', '2026-11-25T18:00:00Z');
    expect(kept(result)).toEqual({
      '2026-11-25': ['peak-daily 2026-11-25'],
      '2026-11-24': ['peak-daily 2026-11-24'],
      '2026-11-23': ['peak-daily 2026-11-23'],
      '2026-11-22': ['peak-daily 2026-11-22'],
      '2026-11-21': ['peak-daily 2026-11-21'],
      '2026-11-14': ['daily 2026-11-14'],
      '2026-11-13': ['daily 2026-11-13'],
    });
  });

  it('wraps the year end and judges the season by the local date', () => {
    const points = [
      point('jan-16', '2027-01-16T12:00:00Z'),
      point('jan-15', '2027-01-15T12:00:00Z'),
      point('dec-20', '2026-12-20T12:00:00Z'),
      point('nov-14-late-utc', '2026-11-14T23:30:00Z'), // 15 November in Berlin
      point('nov-13', '2026-11-13T12:00:00Z'),
    ];
    expect(kept(plan(points, { keepDaily: 1, ...season }, 'UTC', '2027-01-17T00:00:00Z'))).toEqual({
      'jan-16': ['daily 2027-01-16'],
      'jan-15': ['peak-daily 2027-01-15'],
      'dec-20': ['peak-daily 2026-12-20'],
    });
    expect(kept(plan(points, { keepDaily: 1, ...season }, 'Europe/Berlin', '2027-01-17T00:00:00Z'))).toEqual({
      'jan-16': ['daily 2027-01-16'],
      'jan-15': ['peak-daily 2027-01-15'],
      'dec-20': ['peak-daily 2026-12-20'],
      'nov-14-late-utc': ['peak-daily 2026-11-15'],
    });
  });

  it('applies keepDaily to every day when peakKeepDaily is not set', () => {
    const result = plan(daily('2026-11-20', '2026-11-25'), { keepDaily: 2, peakSeasonStart: '11-15', peakSeasonEnd: '01-15' }, 'UTC', '2026-11-26T00:00:00Z');
    expect(kept(result)).toEqual({ '2026-11-25': ['daily 2026-11-25'], '2026-11-24': ['daily 2026-11-24'] });
  });
});

describe('validateRetentionPolicy', () => {
  const paths = (policy: RetentionRules) => validateRetentionPolicy(policy).map((i) => i.path.join('.'));

  it('accepts sensible policies', () => {
    expect(validateRetentionPolicy({ keepLast: 3 })).toEqual([]);
    expect(validateRetentionPolicy({ keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 7, maxAgeDays: 3650, minCopies: 0 })).toEqual([]);
    expect(validateRetentionPolicy({ keepDaily: 7, peakSeasonStart: '11-15', peakSeasonEnd: '01-15', peakKeepDaily: 60 })).toEqual([]);
    expect(validateRetentionPolicy({ keepHourly: 10_000, keepDaily: null, maxAgeDays: null })).toEqual([]);
  });

  it('rejects negative, zero, fractional and absurd values by field', () => {
    expect(paths({ keepLast: -1, keepDaily: 0, keepWeekly: 1.5, keepMonthly: 10_001, keepYearly: 2 })).toEqual(['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly']);
    expect(paths({ keepLast: 1, maxAgeDays: 0 })).toEqual(['maxAgeDays']);
    expect(paths({ keepLast: 1, maxAgeDays: 20_000 })).toEqual(['maxAgeDays']);
    expect(paths({ keepLast: 1, minCopies: -1 })).toEqual(['minCopies']);
    expect(paths({ keepLast: 1, minCopies: 0 })).toEqual([]);
    expect(validateRetentionPolicy({ keepDaily: 0, keepLast: 1 })[0]!.message).toMatch(/at least 1.*leave it empty/);
  });

  it('rejects bad MM-DD and incomplete peak seasons', () => {
    expect(paths({ keepDaily: 7, peakSeasonStart: '02-30', peakSeasonEnd: '13-01', peakKeepDaily: 30 })).toEqual(['peakSeasonStart', 'peakSeasonEnd']);
    expect(paths({ keepDaily: 7, peakSeasonStart: '11-15' })).toEqual(['peakSeasonEnd', 'peakKeepDaily']);
    expect(paths({ keepDaily: 7, peakKeepDaily: 30 })).toEqual(['peakSeasonStart', 'peakSeasonEnd']);
  });

  it('rejects a policy that keeps nothing, even with minCopies or maxAgeDays', () => {
    for (const policy of [{}, { minCopies: 3 }, { maxAgeDays: 30 }, { keepLast: null, keepDaily: null }] as RetentionRules[]) {
      const issues = validateRetentionPolicy(policy);
      expect(issues).toEqual([{ path: [], message: expect.stringMatching(/keeps nothing/) }]);
    }
    expect(paths({ keepDaily: 0 })).toEqual(['keepDaily', '']);
  });
});
