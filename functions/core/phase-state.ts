// The Firestore document of one phase, game date and latch, and the pure rules that change it.
// These rules are the only way these documents change (docs/ARCHITECTURE.md FM2): the completion
// tracker applies them per message, the scheduled jobs through phase-state-transactions.ts, always
// inside a Firestore transaction.
import type { CompletionStatus, RunMode, Transition } from "./pipeline-types.ts";
import type { PhaseCompletionStatusRow } from "./tables.ts";
import type { Decision, PhaseEntry } from "./decision-types.ts";
import type { PhaseExecutionLogRow } from "./tables.ts";
import { decide, mergeEntry } from "./decision.ts";
import { instantMs, runModeFor } from "./run-mode.ts";
import { buildTriggerMessage, triggerIdFor } from "./trigger-message.ts";
import { EXPIRE_AT_FIELD, phaseStateExpireAt, RETENTION_DEFAULTS, type ExpiryTimestamp } from "./retention.ts";
import { ContractViolationError } from "./error-family.ts";

export type LatchMode = RunMode | "daily";

export interface StoredEntry extends PhaseEntry {
  executionId: string;
  correlationId: string;
  reportedName: string;
  messageId: string;
  /** Copied from its phase_completions row (the reconciler): the row exists (completionRowNotOwed). */
  rowInBigQuery?: true;
}

export interface TriggerState {
  triggerId: string;
  /** Outbox: pending until the publish is confirmed, then published. */
  state: "pending" | "published";
  reason: string;
  degraded: boolean;
  missing: string[];
  decidedAt: string;
  /** Pub/Sub message id of the completion whose call latched it: that call publishes (absent on older documents). */
  latchedBy?: string;
  /**
   * Set by the latching call when its publish failed (retries exhausted): nobody is publishing, so
   * any other call may republish at once instead of waiting out the grace period.
   */
  publishFailedAt?: string | null;
  /** Who published it: `message:<id>` (an orchestrator call) or a scheduled job's run id. */
  publishedBy?: string | null;
  /**
   * The message whose call owed the BigQuery rows of this latch (aggregate, execution log) and could
   * not write them: its redelivery writes them. Null once nobody owes them (or never set).
   */
  rowsOwedBy?: string | null;
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
  /** When Firestore's TTL policy may delete the document: a fixed time after its game date (retention.ts). */
  [EXPIRE_AT_FIELD]?: ExpiryTimestamp;
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
  /** Read from its phase_completions row (the reconciler's repair), so the row exists. */
  rowInBigQuery?: true;
}

export function latchModeFor(transition: Transition, gameDate: string, now: Date, timeZone: string): LatchMode {
  return transition.rule.kind === "mode_aware" ? runModeFor(gameDate, now, timeZone) : "daily";
}

/**
 * How far a completion's own timestamp may lie ahead of the recording time and still be believed (the
 * publisher's clock runs a little fast). Beyond it the timestamp is clock skew and is not used.
 */
export const COMPLETION_FUTURE_SKEW_MS = 5 * 60_000;
/**
 * How old a completion's timestamp may be and still be believed: a message can come back that late
 * from a dead-letter replay (dead letters are kept up to 31 days). Older is a broken clock.
 */
export const COMPLETION_MAX_AGE_MS = 32 * 24 * 60 * 60_000;

/**
 * The instant a completion happened, for choosing its latch: its own timestamp, which a redelivery does
 * not change, when it lies within [recordedAt - COMPLETION_MAX_AGE_MS, recordedAt +
 * COMPLETION_FUTURE_SKEW_MS]; otherwise the timestamp cannot be trusted and the recording time stands in.
 */
export function completionInstant(completedAt: string, recordedAt: Date): Date {
  const ts = Date.parse(completedAt);
  const rec = recordedAt.getTime();
  if (Number.isNaN(ts) || ts > rec + COMPLETION_FUTURE_SKEW_MS || ts < rec - COMPLETION_MAX_AGE_MS) return recordedAt;
  return new Date(ts);
}

/** True when completionInstant had to fall back to the recording time (worth a warning). */
export function completionTimestampUntrusted(completedAt: string, recordedAt: Date): boolean {
  const ts = Date.parse(completedAt);
  return completionInstant(completedAt, recordedAt).getTime() !== ts;
}

/**
 * The latch a completion belongs to: judged at the completion's own time (completionInstant), so a
 * same-day completion redelivered after local midnight still lands in the same-day latch.
 */
export function latchModeOfCompletion(
  transition: Transition,
  c: Pick<ResolvedCompletion, "gameDate" | "completedAt">,
  recordedAt: Date,
  timeZone: string,
): LatchMode {
  return latchModeFor(transition, c.gameDate, completionInstant(c.completedAt, recordedAt), timeZone);
}

/**
 * Where a completion starts the first-completion clock (deadlines, tiers): its own time, never later
 * than when it was recorded (a timestamp in the future must not fire a tier early). A completion
 * delivered late therefore counts from when it happened, not from when it arrived.
 */
export function clockOriginOf(completedAt: string, recordedAt: Date): string {
  const at = Math.min(completionInstant(completedAt, recordedAt).getTime(), recordedAt.getTime());
  return new Date(at).toISOString();
}

const earlier = (a: string | null, b: string): string => (a === null || instantMs(b) < instantMs(a) ? b : a);

export function phaseStateDocId(transitionId: string, gameDate: string, latchMode: LatchMode): string {
  return `${transitionId}__${gameDate}__${latchMode}`;
}

export function emptyPhaseState(
  transitionId: string,
  gameDate: string,
  latchMode: LatchMode,
  now: Date,
  retentionDays: number = RETENTION_DEFAULTS.phaseState,
): PhaseStateDoc {
  return {
    transitionId,
    gameDate,
    latchMode,
    entries: {},
    firstCompletionAt: null,
    trigger: null,
    updatedAt: now.toISOString(),
    [EXPIRE_AT_FIELD]: phaseStateExpireAt(gameDate, retentionDays),
  };
}

/**
 * Record one completion. Idempotent: the same execution, status and progress (completion_pct) again
 * changes nothing; a re-report of the same execution with other progress is a new fact (the phase 5
 * coordinator reports one batch several times). Which entry stands is mergeEntry's rule on the message
 * content (a counting entry is never replaced by a non-counting one, then the later completion wins,
 * then the higher percentage; see replaces), so the result does not depend on arrival order or on
 * redeliveries. The first-completion clock moves to the earliest clockOriginOf of any completion seen,
 * even one whose entry does not stand.
 */
export function applyCompletion(
  doc: PhaseStateDoc,
  c: ResolvedCompletion,
  now: Date,
): { doc: PhaseStateDoc; changed: boolean } {
  const origin = clockOriginOf(c.completedAt, now);
  const first = earlier(doc.firstCompletionAt, origin);
  const clockMoved = first !== doc.firstCompletionAt;
  const unchanged = (): { doc: PhaseStateDoc; changed: boolean } => ({
    doc: clockMoved ? { ...doc, firstCompletionAt: first, updatedAt: now.toISOString() } : doc,
    changed: false,
  });
  const existing = doc.entries[c.processor];
  if (existing && sameCompletion(existing, c)) return unchanged();
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
    ...(c.rowInBigQuery === true ? { rowInBigQuery: true as const } : {}),
  };
  if (existing && !replaces(entry, existing)) return unchanged();
  return {
    doc: { ...doc, entries: { ...doc.entries, [c.processor]: entry }, firstCompletionAt: first, updatedAt: recordedAt },
    changed: true,
  };
}

const samePct = (a: number | undefined, b: number | undefined): boolean => a === b;

/** One completion, whichever message carries it: same execution, status and percentage. */
function sameCompletion(entry: StoredEntry, c: Pick<ResolvedCompletion, "executionId" | "status" | "completionPct">): boolean {
  return entry.executionId === c.executionId && entry.status === c.status && samePct(entry.completionPct, c.completionPct);
}

/**
 * This message owes no phase_completions row for its completion, because the entry that stands for it
 * says the row is someone else's or already there:
 * - a copy of a completion that another message recorded (a processor that published it twice): that
 *   message owns the row. It wrote it, or it was answered non-2xx and its redelivery writes it, or the
 *   reconciler copies the entry over;
 * - an entry the reconciler copied from the row itself (`rowInBigQuery`): a later delivery of the
 *   message that wrote the row finds the entry under its own message id. (Such rows have no Firestore
 *   entry: an expired or restored document, or an earlier tracker that wrote the row when Firestore failed.)
 * Writing the row again would add a second one once BigQuery's insert-id de-duplication (about a
 * minute) is over.
 */
export function completionRowNotOwed(doc: PhaseStateDoc, c: ResolvedCompletion): boolean {
  const entry = doc.entries[c.processor];
  return entry !== undefined && sameCompletion(entry, c) && (entry.messageId !== c.messageId || entry.rowInBigQuery === true);
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

/**
 * decide() on a document as of `now`. `mode` pins the run mode (the tracker passes the document's own
 * latch mode: a completion belongs to the latch of its own time); without it the mode is judged at `now`.
 */
export function decideFor(doc: PhaseStateDoc, transition: Transition, now: Date, timeZone: string, mode?: RunMode): Decision {
  return decide({
    transition,
    gameDate: doc.gameDate,
    now,
    timeZone,
    entries: doc.entries,
    ...(doc.firstCompletionAt ? { firstCompletionAt: doc.firstCompletionAt } : {}),
    ...(mode === undefined ? {} : { mode }),
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
  /** Days a document this step creates is kept after its game date (the stack's phase-state retention). */
  retentionDays: number = RETENTION_DEFAULTS.phaseState,
): RecordStep {
  const base = current ?? emptyPhaseState(transition.id, c.gameDate, latchMode, recordedAt, retentionDays);
  const applied = applyCompletion(base, c, recordedAt);
  // Judged in the document's own mode: the completion was routed to this latch by its own time.
  const decision = decideFor(applied.doc, transition, now, timeZone, latchMode === "daily" ? undefined : latchMode);
  const latched = latchTrigger(applied.doc, transition, decision, c, now);
  const latchedNow = latched !== applied.doc;
  return { doc: latched, write: current === null || applied.doc !== base || latchedNow, changed: applied.changed, latchedNow, decision };
}

/**
 * Latch a trigger if the decision fires and none is latched yet: the outbox entry is written in the
 * same transaction as the completion, and published after commit.
 */
export function latchTrigger(
  doc: PhaseStateDoc,
  transition: Transition,
  decision: Decision,
  cause: { correlationId: string; batchId?: string; completedPredictions?: number; completionPct?: number; messageId?: string },
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
      ...(cause.messageId === undefined ? {} : { latchedBy: cause.messageId }),
      publishFailedAt: null,
      publishedBy: null,
      rowsOwedBy: null,
      publishedAt: null,
      publishedMessageId: null,
      payload,
    },
    updatedAt: now.toISOString(),
  };
}

export function markPublished(doc: PhaseStateDoc, messageId: string, now: Date, publishedBy?: string): PhaseStateDoc {
  if (!doc.trigger || doc.trigger.state === "published") return doc;
  return {
    ...doc,
    trigger: {
      ...doc.trigger,
      state: "published",
      publishedAt: now.toISOString(),
      publishedMessageId: messageId,
      ...(publishedBy === undefined ? {} : { publishedBy }),
    },
    updatedAt: now.toISOString(),
  };
}

/**
 * What the latching call records when it could not finish: its publish failed (so others need not wait
 * out the grace period), and/or it owes the latch's BigQuery rows (its redelivery writes them). Never
 * touches a trigger that is already published, except to record the rows owed.
 */
export function markLatchIncomplete(
  doc: PhaseStateDoc,
  what: { publishFailed: boolean; rowsOwedBy: string | null },
  now: Date,
): PhaseStateDoc {
  const t = doc.trigger;
  if (t === null) return doc;
  const publishFailedAt = what.publishFailed && t.state === "pending" ? now.toISOString() : (t.publishFailedAt ?? null);
  const rowsOwedBy = what.rowsOwedBy ?? t.rowsOwedBy ?? null;
  if (publishFailedAt === (t.publishFailedAt ?? null) && rowsOwedBy === (t.rowsOwedBy ?? null)) return doc;
  return { ...doc, trigger: { ...t, publishFailedAt, rowsOwedBy }, updatedAt: now.toISOString() };
}

/**
 * May a call other than the latching one publish this pending trigger now? Only once the latching
 * call has recorded that its publish failed, or after `graceMs` from the latch, longer than the
 * latching call's publish and mark can take with all their retries (so it has finished or died). The
 * republisher must still hold the publish claim (outbox-republisher.ts), so two of them never race.
 */
export function republishDue(trigger: TriggerState, now: Date, graceMs: number): boolean {
  if (trigger.state !== "pending") return false;
  if (trigger.publishFailedAt) return true;
  return now.getTime() - instantMs(trigger.decidedAt) >= graceMs;
}

/**
 * The phase_completion_status row of a latch, as of the latching decision. Written only when a latch
 * changes (the trigger latched), never per completion: see docs/RUNTIME.md.
 */
export function statusRowOf(doc: PhaseStateDoc, transition: Transition, decision: Decision): PhaseCompletionStatusRow {
  return {
    phase: transition.phaseWireName,
    transition_id: transition.id,
    game_date: doc.gameDate,
    mode: doc.latchMode,
    expected_count: decision.expected.length,
    complete_count: decision.complete.length,
    complete_processors: decision.complete,
    triggered: doc.trigger !== null,
    trigger_id: doc.trigger?.triggerId ?? null,
    trigger_reason: doc.trigger?.reason ?? decision.reason,
    updated_at: doc.updatedAt,
  } as PhaseCompletionStatusRow;
}

/**
 * The aggregate row of a latch as of its trigger, rebuilt from the latched trigger alone (expected
 * processors from its payload, complete = expected minus its missing), so later completions do not
 * change what the row says. Through statusRowOf, the builder every writer of the row uses.
 */
export function latchedStatusRowOf(doc: PhaseStateDoc, transition: Transition): PhaseCompletionStatusRow {
  const t = doc.trigger;
  if (t === null) throw new ContractViolationError(`phase state ${doc.transitionId} ${doc.gameDate} has no trigger`);
  const expected = Array.isArray(t.payload.expected_processors) ? (t.payload.expected_processors as string[]) : [];
  const missing = new Set(t.missing);
  const latched: Pick<Decision, "trigger" | "reason" | "latchMode" | "expected" | "complete" | "missing" | "degraded"> = {
    trigger: true,
    reason: t.reason,
    latchMode: doc.latchMode,
    expected,
    complete: expected.filter((name) => !missing.has(name)),
    missing: t.missing,
    degraded: t.degraded,
  };
  // statusRowOf reads only the counts, names and reason; the run mode of a decision is not part of the row.
  return statusRowOf(doc, transition, latched as Decision);
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
  // A caller logs only a latched trigger; a document without one reaching here is a bug or bad data.
  if (t === null) throw new ContractViolationError(`phase state ${doc.transitionId} ${doc.gameDate} has no trigger to log`);
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
