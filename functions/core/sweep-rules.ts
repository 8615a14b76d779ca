// What the stall sweeper does with one phase-state document at a given instant. Pure: the sweeper
// reads the documents, asks planSweep, and carries the plan out through the single writer's
// transaction rules (phase-state.ts), so time-based triggers fire by the same decide() as on arrival.
import type { Decision } from "./decision-types.ts";
import { isCounting, nextDeadline } from "./decision.ts";
import type { Transition } from "./pipeline-types.ts";
import { decideFor, phaseStateDocId, republishDue, type LatchMode, type PhaseStateDoc } from "./phase-state.ts";
import { addDays, instantMs, todayIn } from "./run-mode.ts";
import { ContractViolationError } from "./error-family.ts";

const MS_PER_MINUTE = 60_000;

export interface SweepPolicy {
  /**
   * A trigger still pending this long after it was latched is taken as abandoned by its orchestrator
   * (publish failed, instance died) and re-published. Shorter would race the orchestrator's own publish.
   */
  pendingGraceMinutes: number;
  /**
   * How long a pending trigger belongs to the call that latched it (the tracker's publishGraceMsFor).
   * The sweeper never republishes sooner, whatever pendingGraceMinutes says: sooner could race that
   * call's own publish and send the trigger twice.
   */
  publishGraceMs: number;
}

/** The sweeper's grace: the configured minutes, but never less than the latching call's publish grace. */
export function sweepPendingGraceMs(policy: SweepPolicy): number {
  return Math.max(policy.pendingGraceMinutes * MS_PER_MINUTE, policy.publishGraceMs);
}

export interface StallFinding {
  /** Expected processors (in the document's own latch mode) that have not completed. */
  missing: string[];
  minutesSinceFirstCompletion: number;
  stallAfterMinutes: number;
}

export interface SweepPlan {
  docId: string;
  transitionId: string;
  gameDate: string;
  latchMode: LatchMode;
  /** The decision at `now`; null when a trigger is already latched (nothing left to decide). */
  decision: Decision | null;
  /** The latched trigger is pending past the grace period: publish it again. */
  republish: boolean;
  /** No trigger yet and decide() fires now in this document's latch (a tier or deadline was reached). */
  latch: boolean;
  /** No trigger within transition.stallAfterMinutes of the first completion. */
  stall: StallFinding | null;
  /** When time alone next makes this latch fire (ISO), for the report; null if never or already firing. */
  nextDeadline: string | null;
}

const minutesBetweenMs = (fromMs: number, toMs: number): number => Math.floor((toMs - fromMs) / MS_PER_MINUTE);

export function planSweep(doc: PhaseStateDoc, transition: Transition, now: Date, timeZone: string, policy: SweepPolicy): SweepPlan {
  const base = {
    docId: phaseStateDocId(doc.transitionId, doc.gameDate, doc.latchMode),
    transitionId: doc.transitionId,
    gameDate: doc.gameDate,
    latchMode: doc.latchMode,
  };
  if (doc.trigger !== null) {
    // The tracker's rule: after the grace, or at once when the latching call recorded a refused publish.
    const republish = republishDue(doc.trigger, now, sweepPendingGraceMs(policy));
    return { ...base, decision: null, republish, latch: false, stall: null, nextDeadline: null };
  }
  const decision = decideFor(doc, transition, now, timeZone);
  // latchTrigger refuses a decision judged under another mode; so must the plan.
  const sameLatch = decision.latchMode === doc.latchMode;
  const latch = decision.trigger && sameLatch;
  const due = sameLatch && !latch ? nextDeadline(decisionInput(doc, transition, now, timeZone)) : null;
  return {
    ...base,
    decision,
    republish: false,
    latch,
    stall: latch ? null : stallOf(doc, transition, decision, now),
    nextDeadline: due === null ? null : due.toISOString(),
  };
}

function decisionInput(doc: PhaseStateDoc, transition: Transition, now: Date, timeZone: string) {
  return {
    transition,
    gameDate: doc.gameDate,
    now,
    timeZone,
    entries: doc.entries,
    ...(doc.firstCompletionAt ? { firstCompletionAt: doc.firstCompletionAt } : {}),
  };
}

function stallOf(doc: PhaseStateDoc, transition: Transition, decision: Decision, now: Date): StallFinding | null {
  if (doc.firstCompletionAt === null) return null;
  const since = minutesBetweenMs(instantMs(doc.firstCompletionAt), now.getTime());
  if (since < transition.stallAfterMinutes) return null;
  return {
    missing: missingInLatch(doc, transition, decision),
    minutesSinceFirstCompletion: since,
    stallAfterMinutes: transition.stallAfterMinutes,
  };
}

/**
 * The processors this document's latch still waits for. After local midnight a same-day document is
 * judged by decide() in overnight mode, whose expected set differs: name what THIS latch expected.
 */
export function missingInLatch(doc: PhaseStateDoc, transition: Transition, decision: Decision): string[] {
  if (decision.latchMode === doc.latchMode || transition.rule.kind !== "mode_aware" || doc.latchMode === "daily") {
    return decision.missing;
  }
  const expected = [...new Set(transition.rule.modes[doc.latchMode].expected)].sort();
  return expected.filter((name) => {
    const entry = doc.entries[name];
    return entry === undefined || !isCounting(entry.status);
  });
}

/** One stall alert per latch: the id of the sweeper's own record that it alerted. */
export function stallAlertId(plan: Pick<SweepPlan, "docId">): string {
  return `stall__${plan.docId}`;
}

/**
 * The correlation id (and phase 5 facts) a trigger latched by the sweeper carries: those of the
 * latest counting completion, as the orchestrator carries those of the completion that fired it.
 */
export function latchCauseOf(doc: PhaseStateDoc): { correlationId: string; completionPct?: number } {
  const counting = Object.values(doc.entries)
    .filter((e) => isCounting(e.status))
    .sort((a, b) => instantMs(a.completedAt) - instantMs(b.completedAt) || (a.processor < b.processor ? -1 : 1));
  const latest = counting.at(-1) ?? Object.values(doc.entries).at(-1);
  if (latest === undefined) throw new ContractViolationError(`phase state ${doc.transitionId} ${doc.gameDate} has no entries to carry a correlation id from`);
  return {
    correlationId: latest.correlationId,
    ...(latest.completionPct === undefined ? {} : { completionPct: latest.completionPct }),
  };
}

/**
 * The game dates a scheduled job looks at: the last `lookbackDays` days before today in the pipeline's
 * zone, today, and tomorrow (phase 3 prepares tomorrow's games, in "tomorrow" mode).
 */
export function lookbackRange(now: Date, timeZone: string, lookbackDays: number): { fromDate: string; toDate: string } {
  if (!Number.isInteger(lookbackDays) || lookbackDays < 0) throw new RangeError(`lookbackDays must be a non-negative integer, got ${lookbackDays}`);
  const today = todayIn(timeZone, now);
  return { fromDate: addDays(today, -lookbackDays), toDate: addDays(today, 1) };
}


/**
 * What one sweep looks at: the documents of its look-back, then every document with a pending trigger
 * outside it (each once). `beyondLookback` counts the latter.
 */
export function sweepDocuments<D extends { transitionId: string; gameDate: string; latchMode: string }>(
  inLookback: readonly D[],
  pending: readonly D[],
): { docs: D[]; beyondLookback: number } {
  const key = (d: D) => `${d.transitionId}__${d.gameDate}__${d.latchMode}`;
  const seen = new Set(inLookback.map(key));
  const beyond = pending.filter((d) => !seen.has(key(d)) && (seen.add(key(d)), true));
  return { docs: [...inLookback, ...beyond], beyondLookback: beyond.length };
}
