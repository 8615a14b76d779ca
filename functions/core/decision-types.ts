// What the decision logic takes and returns. Pure types; see decision.ts.
import type { CompletionStatus, RunMode, Transition } from "./pipeline-types.ts";

/** One recorded completion of an expected processor (the latest one per processor wins). */
export interface PhaseEntry {
  /** Expected processor name (already resolved from the class name). */
  processor: string;
  status: CompletionStatus;
  /** When the processor said it completed (ISO 8601). */
  completedAt: string;
  /** When the orchestrator recorded it (ISO 8601). */
  recordedAt: string;
  /** Phase 5 coordinator only: metadata.completion_pct (0-100). */
  completionPct?: number;
}

export interface DecisionInput {
  transition: Transition;
  /** YYYY-MM-DD */
  gameDate: string;
  now: Date;
  /** Entries keyed by expected processor name. */
  entries: Record<string, PhaseEntry>;
  /** ISO time of the first completion of this phase/date/mode (any status); drives deadlines and tiers. */
  firstCompletionAt?: string;
  /** IANA zone the game date is judged in (the pipeline's timeZone); default America/New_York. */
  timeZone?: string;
  /**
   * The run mode to judge a mode-aware rule in. Absent: judged from `now`. The tracker passes the mode
   * of the completion's own time, so a redelivery after local midnight is judged as when it happened.
   */
  mode?: RunMode;
}

export interface Decision {
  trigger: boolean;
  /** e.g. "all_complete", "critical_plus_majority_60pct", "tier_1_60min_4of5", "deadline_critical_complete", "completion_pct_92", "waiting" (decision.ts) */
  reason: string;
  mode: RunMode;
  /** The latch mode: the run mode for mode-aware rules, "daily" otherwise (one latch per date). */
  latchMode: RunMode | "daily";
  expected: string[];
  complete: string[];
  missing: string[];
  /** Tier index (1-based) for tiered rules when a tier fired. */
  tier?: number;
  /** True when the trigger fired on less than everything (deadline, tier, majority): an alert is owed. */
  degraded: boolean;
  /** Entry names this transition/mode does not expect: never counted, reported so they can be alerted. */
  ignored?: string[];
}
