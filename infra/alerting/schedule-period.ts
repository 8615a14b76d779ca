// The longest gap between two firings of a Cloud Scheduler cron expression, so an absence alert on a
// scheduled job's completion events is sized from the job's own schedule (function-registry.ts) and
// follows it when the schedule changes. Pure.
//
// Five fields (minute hour day-of-month month day-of-week). Day-of-month and month must be "*": the
// scheduled jobs here run every few minutes or hours, and a calendar-dependent gap (a monthly job)
// has no single period to size an alert by.

const FIELD_RANGES = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day-of-week", min: 0, max: 7 },
] as const;

const MINUTES_PER_WEEK = 7 * 24 * 60;

export class CronPeriodError extends Error {
  constructor(expression: string, reason: string) {
    super(`cannot size an alert from the schedule ${JSON.stringify(expression)}: ${reason}`);
    this.name = "CronPeriodError";
  }
}

function parseField(expression: string, text: string, range: (typeof FIELD_RANGES)[number]): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (m === null) throw new CronPeriodError(expression, `${range.name} field "${text}" is not a number, range, list or step`);
    const from = m[1] === "*" ? range.min : Number(m[2]);
    const to = m[1] === "*" ? range.max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? range.max : from;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (from < range.min || to > range.max || from > to || step < 1) {
      throw new CronPeriodError(expression, `${range.name} field "${text}" is outside ${range.min}-${range.max}`);
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/** The longest interval, in seconds, between consecutive firings of a weekly-periodic cron expression. */
export function maxCronIntervalSeconds(expression: string): number {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw new CronPeriodError(expression, "expected 5 fields (minute hour day-of-month month day-of-week)");
  if (fields[2] !== "*" || fields[3] !== "*") throw new CronPeriodError(expression, "day-of-month and month must be *");
  const [minutes, hours, , , days] = fields.map((f, i) => parseField(expression, f, FIELD_RANGES[i]!));
  if (days!.has(7)) days!.add(0); // 7 and 0 are both Sunday
  const firings: number[] = [];
  for (let day = 0; day < 7; day++) {
    if (!days!.has(day)) continue;
    for (const h of [...hours!].sort((a, b) => a - b)) {
      for (const m of [...minutes!].sort((a, b) => a - b)) firings.push(day * 1440 + h * 60 + m);
    }
  }
  let longest = 0;
  for (let i = 0; i < firings.length; i++) {
    const next = i + 1 < firings.length ? firings[i + 1]! : firings[0]! + MINUTES_PER_WEEK;
    longest = Math.max(longest, next - firings[i]!);
  }
  return longest * 60;
}
