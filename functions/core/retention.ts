// How long the Firestore documents the functions write are kept. Every document that would otherwise
// stay forever carries a timestamp field (EXPIRE_AT_FIELD) written by the runtime; a Firestore TTL
// policy on that field (declared by infra for each collection group) deletes it once past. The
// retention is per stack: infra validates it and hands it to the functions in one variable. Pure.

import { ConfigurationError } from "./error-family.ts";

/** The TTL field: a Firestore timestamp, the instant after which the document may be deleted. */
export const EXPIRE_AT_FIELD = "expire_at";

/** The field as written (a Date) or as read back (a Firestore Timestamp). */
export type ExpiryTimestamp = Date | { toMillis(): number };

/** The variable infra sets on every function (JSON of RetentionDays); absent = the defaults. */
export const RETENTION_ENV_KEY = "FIRESTORE_RETENTION_DAYS";

export interface RetentionDays {
  /** Quarantined messages: long enough for an operator to read and replay them. */
  quarantine: number;
  /** Alert ledgers, claims, first sightings, consumed trigger ids. */
  bookkeeping: number;
  /** Phase-state documents, counted from their game date. */
  phaseState: number;
}

export const RETENTION_DEFAULTS: RetentionDays = { quarantine: 30, bookkeeping: 35, phaseState: 35 };

/**
 * The scheduled jobs look back up to 31 days (core/scheduled-config.ts) plus today and tomorrow: a
 * phase-state document or a stall ledger entry deleted inside that window would be re-created or
 * re-alerted, and a consumed trigger id forgotten inside it would let a late re-publish through.
 */
export const RETENTION_LIMITS: Record<keyof RetentionDays, { min: number; max: number }> = {
  quarantine: { min: 1, max: 3650 },
  bookkeeping: { min: 33, max: 3650 },
  phaseState: { min: 33, max: 3650 },
};

const KEYS = Object.keys(RETENTION_LIMITS) as (keyof RetentionDays)[];

/** Every problem of a retention setting, naming the key; empty when valid. */
export function retentionProblems(value: Partial<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const key of KEYS) {
    const v = value[key];
    const { min, max } = RETENTION_LIMITS[key];
    if (typeof v !== "number" || !Number.isInteger(v)) problems.push(`${key}: must be a whole number of days`);
    else if (v < min || v > max) problems.push(`${key}: must be between ${min} and ${max} days, got ${v}`);
  }
  for (const key of Object.keys(value)) {
    if (!KEYS.includes(key as keyof RetentionDays)) problems.push(`${key}: unknown (known: ${KEYS.join(", ")})`);
  }
  return problems;
}

/** Defaults with `overrides` on top; throws naming every problem. */
export function resolveRetention(overrides: unknown): RetentionDays {
  if (overrides === undefined) return { ...RETENTION_DEFAULTS };
  if (typeof overrides !== "object" || overrides === null || Array.isArray(overrides)) {
    throw new ConfigurationError("retention: must be an object of day counts");
  }
  const merged = { ...RETENTION_DEFAULTS, ...(overrides as Record<string, unknown>) };
  const problems = retentionProblems(merged);
  if (problems.length > 0) throw new ConfigurationError(`invalid retention: ${problems.join("; ")}`);
  return merged as RetentionDays;
}

/** The functions' side: the variable infra set (absent or empty = defaults); throws when invalid. */
export function retentionFromEnv(env: Record<string, string | undefined>): RetentionDays {
  const raw = env[RETENTION_ENV_KEY];
  if (raw === undefined || raw === "") return { ...RETENTION_DEFAULTS };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new ConfigurationError(`${RETENTION_ENV_KEY}: not JSON: ${(error as Error).message}`, { cause: error });
  }
  try {
    return resolveRetention(parsed);
  } catch (error) {
    throw new ConfigurationError(`${RETENTION_ENV_KEY}: ${(error as Error).message}`, { cause: error });
  }
}

export function serializeRetention(retention: RetentionDays): string {
  return JSON.stringify({ quarantine: retention.quarantine, bookkeeping: retention.bookkeeping, phaseState: retention.phaseState });
}

const DAY_MS = 86_400_000;

/** `days` after `from`. */
export function expireAt(from: Date, days: number): Date {
  return new Date(from.getTime() + days * DAY_MS);
}

/** A phase-state document's expiry: `days` after its game date (UTC midnight), however often it is updated. */
export function phaseStateExpireAt(gameDate: string, days: number): Date {
  return expireAt(new Date(`${gameDate}T00:00:00Z`), days);
}
