// Calendar arithmetic for game dates, judged in the pipeline's time zone. Pure: Intl only, no
// libraries, no clock (callers pass `now`), so decisions are reproducible in tests.
import type { RunMode } from "./pipeline-types.ts";

const GAME_DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 60 * MS_PER_MINUTE;

// Intl.DateTimeFormat construction is costly; one formatter per zone is enough.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // Throws RangeError for an unknown zone: a misconfigured zone must fail loudly, not fall back to UTC.
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      calendar: "gregory",
      numberingSystem: "latn",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

function assertValidInstant(now: Date, what: string): void {
  if (Number.isNaN(now.getTime())) throw new RangeError(`${what} is an invalid Date`);
}

/** The calendar date (YYYY-MM-DD) that `now` falls on in `timeZone`. */
export function todayIn(timeZone: string, now: Date): string {
  assertValidInstant(now, "now");
  const parts = formatterFor(timeZone).formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes): string => {
    const value = parts.find((p) => p.type === type)?.value;
    // A true invariant (a formatter built with year, month and day always yields them): a plain assertion.
    if (value === undefined) throw new Error(`Intl gave no ${type} for ${now.toISOString()} in ${timeZone}`);
    return value;
  };
  return `${part("year").padStart(4, "0")}-${part("month")}-${part("day")}`;
}

/** Parses YYYY-MM-DD and checks it is a real calendar date; throws RangeError otherwise. */
export function parseGameDate(gameDate: string): { year: number; month: number; day: number } {
  const match = GAME_DATE_PATTERN.exec(gameDate);
  if (!match) throw new RangeError(`game date must be YYYY-MM-DD, got ${JSON.stringify(gameDate)}`);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    throw new RangeError(`game date ${gameDate} is not a calendar date`);
  }
  return { year, month, day };
}

/** The calendar date `days` after (or before, if negative) `gameDate`. */
export function addDays(gameDate: string, days: number): string {
  const { year, month, day } = parseGameDate(gameDate);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/**
 * How `gameDate` relates to today in `timeZone`: a past date is processed `overnight`, today's is
 * `same_day`, a future date is prepared as `tomorrow`. Date strings in YYYY-MM-DD order lexically.
 */
export function runModeFor(gameDate: string, now: Date, timeZone: string): RunMode {
  parseGameDate(gameDate);
  const today = todayIn(timeZone, now);
  if (gameDate < today) return "overnight";
  if (gameDate === today) return "same_day";
  return "tomorrow";
}

/**
 * The first instant whose local date in `timeZone` is `date` (local midnight, or the first
 * existing local time where a zone skips midnight). Found by bisection over `todayIn`, which
 * never goes backwards, so no offset tables are needed and DST changes are handled by Intl.
 */
export function startOfLocalDay(date: string, timeZone: string): Date {
  const { year, month, day } = parseGameDate(date);
  const utcMidnight = Date.UTC(year, month - 1, day);
  // UTC offsets lie within -12 h .. +14 h: local midnight lies in (utcMidnight - 15 h, utcMidnight + 13 h].
  let before = utcMidnight - 15 * MS_PER_HOUR; // local date is still earlier than `date`
  let atOrAfter = utcMidnight + 13 * MS_PER_HOUR; // local date has reached `date`
  while (atOrAfter - before > 1) {
    const mid = Math.floor((before + atOrAfter) / 2);
    if (todayIn(timeZone, new Date(mid)) >= date) atOrAfter = mid;
    else before = mid;
  }
  return new Date(atOrAfter);
}

/** Parses an ISO 8601 instant to epoch milliseconds; throws RangeError when it is not one. */
export function instantMs(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 instant: ${JSON.stringify(iso)}`);
  return ms;
}

/** Minutes from `aIso` to `bIso` (fractional; negative when b is earlier). */
export function minutesBetween(aIso: string, bIso: string): number {
  return (instantMs(bIso) - instantMs(aIso)) / MS_PER_MINUTE;
}
