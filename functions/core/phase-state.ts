// The Firestore document of one phase, game date and latch, and the pure rules that change it.
// The completion tracker is the only writer of these documents (failure mode 2), and it changes
// them only through applyCompletion / markPublished inside a transaction.
import type { CompletionStatus, RunMode, Transition } from "./pipeline-types.ts";
import type { Decision, PhaseEntry } from "./decision-types.ts";
import type { PhaseExecutionLogRow } from "./tables.ts";
import { decide, mergeEntry } from "./decision.ts";
import { runModeFor } from "./run-mode.ts";
import { buildTriggerMessage, triggerIdFor } from "./trigger-message.ts";

export type LatchMode = RunMode | "daily";

export interface StoredEntry extends PhaseEntry {
  executionId: string;
  correlationId: string;
  reportedName: string;
  messageId: string;
}

export interface TriggerState {
  triggerId: string;
  /** Outbox: pending until the publish is confirmed, then published. */
  state: "pending" | "published";
  reason: string;
  degraded: boolean;
  missing: string[];
  decidedAt: string;
  publishedAt: string | null;
  publishedMessageId: string | null;
  payload: Record<string, unknown>;
}

export interface PhaseStateDoc {
  transitionId: string;
  gameDate: string;
  latchMode: LatchMode;
  entries: Record<string, StoredEntry>;
  firstCompletionAt: string | null;
  trigger: TriggerState | null;
  updatedAt: string;
}

/** A completion already validated and resolved to its expected processor name. */
export interface ResolvedCompletion {
  processor: string;
  reportedName: string;
  status: CompletionStatus;
  gameDate: string;
  executionId: string;
  correlationId: string;
  completedAt: string;
  messageId: string;
  completionPct?: number;
  batchId?: string;
  completedPredictions?: number;
}

export function latchModeFor(transition: Transition, gameDate: string, now: Date, timeZone: string): LatchMode {
  return transition.rule.kind === "mode_aware" ? runModeFor(gameDate, now, timeZone) : "daily";
}

export function phaseStateDocId(transitionId: string, gameDate: string, latchMode: LatchMode): string {
  return `${transitionId}__${gameDate}__${latchMode}`;
}

export function emptyPhaseState(transitionId: string, gameDate: string, latchMode: LatchMode, now: Date): PhaseStateDoc {
  return { transitionId, gameDate, latchMode, entries: {}, firstCompletionAt: null, trigger: null, updatedAt: now.toISOString() };
}

/**
 * Record one completion. Idempotent: the same execution and status again changes nothing. Which
 * entry stands is mergeEntry's rule on the message content (a counting entry is never replaced by a
 * non-counting one, then the later completion wins; see replaces), so the result does not depend on
 * arrival order or on redeliveries.
 */
export function applyCompletion(
  doc: PhaseStateDoc,
  c: ResolvedCompletion,
  now: Date,
): { doc: PhaseStateDoc; changed: boolean } {
  const existing = doc.entries[c.processor];
  if (existing && existing.executionId === c.executionId && existing.status === c.status) return { doc, changed: false };
  const recordedAt = now.toISOString();
  const entry: StoredEntry = {
    processor: c.processor,
    status: c.status,
    completedAt: c.completedAt,
    recordedAt,
    executionId: c.executionId,
    correlationId: c.correlationId,
    reportedName: c.reportedName,
    messageId: c.messageId,
    ...(c.completionPct === undefined ? {} : { completionPct: c.completionPct }),
  };
  if (existing && !replaces(entry, existing)) return { doc, changed: false };
  const first = doc.firstCompletionAt === null || recordedAt < doc.firstCompletionAt ? recordedAt : doc.firstCompletionAt;
  return {
    doc: { ...doc, entries: { ...doc.entries, [c.processor]: entry }, firstCompletionAt: first, updatedAt: recordedAt },
    changed: true,
  };
}

/**
 * mergeEntry's rule judged on the message's content only: the incoming entry is ranked as if recorded
 * at the existing entry's time (otherwise a redelivery of an older message would win merely by being
 * recorded later), and a full tie is broken by execution and message id (otherwise whichever arrived
 * first would stay). A total order on content makes recording idempotent and order independent.
 */
function replaces(incoming: StoredEntry, existing: StoredEntry): boolean {
  const probe: StoredEntry = { ...incoming, recordedAt: existing.recordedAt };
  if (mergeEntry(existing, probe) === probe) return true;
  const tie = mergeEntry(probe, existing) === probe;
  if (!tie) return false;
  return incoming.executionId > existing.executionId || (incoming.executionId === existing.executionId && incoming.messageId > existing.messageId);
}

export function decideFor(doc: PhaseStateDoc, transition: Transition, now: Date, timeZone: string): Decision {
  return decide({
    transition,
    gameDate: doc.gameDate,
    now,
    timeZone,
    entries: doc.entries,
    ...(doc.firstCompletionAt ? { firstCompletionAt: doc.firstCompletionAt } : {}),
  });
}

/** What one single-writer step did to a phase-state document. */
export interface RecordStep {
  doc: PhaseStateDoc;
  /** The step changed the document: the transaction must write `doc`. */
  write: boolean;
  /** The completion changed an entry (false: a duplicate, or superseded). */
  changed: boolean;
  /** This step latched the trigger (exactly one step ever does, per latch). */
  latchedNow: boolean;
  decision: Decision;
}

/**
 * The single writer's step, run inside a transaction by whoever records a completion (the
 * orchestrator, or the reconciler replaying one from BigQuery): record the entry as of `recordedAt`,
 * decide as of `now`, latch a pending trigger when it fires.
 */
export function recordAndDecide(
  current: PhaseStateDoc | null,
  transition: Transition,
  latchMode: LatchMode,
  c: ResolvedCompletion,
  recordedAt: Date,
  now: Date,
  timeZone: string,
): RecordStep {
  const base = current ?? emptyPhaseState(transition.id, c.gameDate, latchMode, recordedAt);
  const applied = applyCompletion(base, c, recordedAt);
  const decision = decideFor(applied.doc, transition, now, timeZone);
  const latched = latchTrigger(applied.doc, transition, decision, c, now);
  const latchedNow = latched !== applied.doc;
  return { doc: latched, write: applied.changed || latchedNow, changed: applied.changed, latchedNow, decision };
}

/**
 * Latch a trigger if the decision fires and none is latched yet: the outbox entry is written in the
 * same transaction as the completion, and published after commit.
 */
export function latchTrigger(
  doc: PhaseStateDoc,
  transition: Transition,
  decision: Decision,
  cause: { correlationId: string; batchId?: string; completedPredictions?: number; completionPct?: number },
  now: Date,
): PhaseStateDoc {
  // A decision judged under another latch's mode (a same-day document re-evaluated after midnight)
  // must not fire this latch.
  if (!decision.trigger || doc.trigger || decision.latchMode !== doc.latchMode) return doc;
  const triggerId = triggerIdFor(transition.id, doc.gameDate, doc.latchMode);
  const upstream = {
    ...(cause.batchId === undefined ? {} : { batchId: cause.batchId }),
    ...(cause.completedPredictions === undefined ? {} : { completedPredictions: cause.completedPredictions }),
    ...(cause.completionPct === undefined ? {} : { completionPct: cause.completionPct }),
  };
  const payload = buildTriggerMessage(transition, decision, {
    gameDate: doc.gameDate,
    correlationId: cause.correlationId,
    triggerId,
    now,
    upstream,
  }) as unknown as Record<string, unknown>;
  return {
    ...doc,
    trigger: {
      triggerId,
      state: "pending",
      reason: decision.reason,
      degraded: decision.degraded,
      missing: decision.missing,
      decidedAt: now.toISOString(),
      publishedAt: null,
      publishedMessageId: null,
      payload,
    },
    updatedAt: now.toISOString(),
  };
}

export function markPublished(doc: PhaseStateDoc, messageId: string, now: Date): PhaseStateDoc {
  if (!doc.trigger || doc.trigger.state === "published") return doc;
  return {
    ...doc,
    trigger: { ...doc.trigger, state: "published", publishedAt: now.toISOString(), publishedMessageId: messageId },
    updatedAt: now.toISOString(),
  };
}

/**
 * The phase_execution_log row of a published trigger, whoever published it (the orchestrator that
 * latched it, or a scheduled job). Expected and missing come from the latched trigger, so the row says
 * what the trigger said, not what arrived after it.
 */
export function executionLogRowOf(
  doc: PhaseStateDoc,
  transition: Transition,
  publisher: { functionName: string; codeHash: string },
): PhaseExecutionLogRow {
  const t = doc.trigger;
  if (t === null) throw new Error(`phase state ${doc.transitionId} ${doc.gameDate} has no trigger to log`);
  const expected = Array.isArray(t.payload.expected_processors) ? (t.payload.expected_processors as string[]) : [];
  const missing = new Set(t.missing);
  return {
    trigger_id: t.triggerId,
    transition_id: transition.id,
    from_phase: transition.fromPhase,
    to_phase: transition.toPhase,
    game_date: doc.gameDate,
    mode: doc.latchMode,
    trigger_reason: t.reason,
    degraded: t.degraded,
    correlation_id: String(t.payload.correlation_id ?? ""),
    expected_processors: expected,
    complete_processors: expected.filter((name) => !missing.has(name)),
    missing_processors: t.missing,
    function_name: publisher.functionName,
    code_hash: publisher.codeHash,
    triggered_at: t.decidedAt,
  };
}
