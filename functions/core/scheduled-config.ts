// Settings of the scheduled jobs (sweeper, reconciler) beyond the common runtime environment, their
// Firestore collections, and the log events they write. Pure. Every setting has a default, so infra
// only sets a variable to change it; a variable that is set but invalid is a start-up failure
// (500/503 + CRITICAL), never a silent default.
import { z } from "zod";
import { formatIssues } from "./zod-issues.ts";
import { ConfigurationError } from "./error-family.ts";

export const SCHEDULED_ENV_KEYS = {
  /** Days before today (in the pipeline's zone) the jobs look at; today and tomorrow are always included. */
  lookbackDays: "SCHEDULED_LOOKBACK_DAYS",
  /**
   * Minutes a latched trigger may stay pending before the sweeper re-publishes it. Never taken below
   * the latching call's own publish grace (the sweeper waits the longer of the two, sweep-rules.ts).
   */
  pendingGraceMinutes: "SWEEP_PENDING_GRACE_MINUTES",
} as const;

export interface ScheduledSettings {
  lookbackDays: number;
  pendingGraceMinutes: number;
}

export const SCHEDULED_DEFAULTS: ScheduledSettings = { lookbackDays: 3, pendingGraceMinutes: 2 };

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const schema = z.object({
  [SCHEDULED_ENV_KEYS.lookbackDays]: intIn(0, 31).optional(),
  [SCHEDULED_ENV_KEYS.pendingGraceMinutes]: intIn(1, 24 * 60).optional(),
});

export function parseScheduledSettings(env: Record<string, string | undefined>): ScheduledSettings {
  const present = Object.fromEntries(
    Object.values(SCHEDULED_ENV_KEYS).flatMap((key) => (env[key] === undefined || env[key] === "" ? [] : [[key, env[key]]])),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigurationError(`invalid scheduled-job settings: ${formatIssues(parsed.error).join("; ")}`);
  }
  return {
    lookbackDays: parsed.data[SCHEDULED_ENV_KEYS.lookbackDays] ?? SCHEDULED_DEFAULTS.lookbackDays,
    pendingGraceMinutes: parsed.data[SCHEDULED_ENV_KEYS.pendingGraceMinutes] ?? SCHEDULED_DEFAULTS.pendingGraceMinutes,
  };
}

/** The scheduled jobs' own collections (with the environment's prefix); phase_state is the tracker's. */
export function scheduledCollectionNames(prefix: string) {
  return {
    /** Who may publish a pending trigger right now (one sweeper run at a time). */
    publishClaims: `${prefix}sweeper_publish_claims`,
    /** One document per stalled latch that was alerted, so it alerts once. */
    stallAlerts: `${prefix}sweeper_stall_alerts`,
  };
}

/** Log events of the scheduled jobs (jsonPayload.event), for log-based metrics and alerts. */
export const SCHEDULED_LOG_EVENTS = {
  /** One per sweep, INFO, or ERROR when something could not be done. Fields: counts. */
  sweepCompleted: "sweep_completed",
  /** A latch past its stall window, WARNING. Fields: transition, game_date, missing_processors. */
  phaseStalled: "phase_stalled",
  /** One per reconciliation, INFO, or ERROR when something could not be repaired. Fields: counts. */
  reconcileCompleted: "reconcile_completed",
  /** One per repaired record, NOTICE. Fields: direction, transition, processor. */
  reconcileRepaired: "reconcile_repaired",
} as const;
