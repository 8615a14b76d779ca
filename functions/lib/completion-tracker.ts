// Completion tracking and triggering for one transition: writes its phase-state documents per message
// (the scheduled jobs apply the same rules, phase-state-transactions.ts), an outbox for the trigger (only
// the latching call publishes; anyone else only after a grace period and under the publish claim), and a
// dual write to BigQuery whose outcome is returned and checked (docs/RUNTIME.md, "Dual write and store
// outages"). This module decides the order and the outcome; its parts do one job each: the Firestore
// transactions (tracker-transaction.ts), the publish step (trigger-publish-step.ts), the BigQuery rows
// (completion-rows.ts) and the log (tracker-log.ts).
import type { Firestore } from "@google-cloud/firestore";
import type { Transition } from "../core/pipeline-types.ts";
import type { Decision } from "../core/decision-types.ts";
import type { PhaseStateDoc, ResolvedCompletion } from "../core/phase-state.ts";
import { completionRowNotOwed, completionTimestampUntrusted, latchModeOfCompletion, markLatchIncomplete, republishDue } from "../core/phase-state.ts";
import { scheduledCollectionNames } from "../core/scheduled-config.ts";
import { LOG_FIELDS } from "../core/log-events.ts";
import { ConfigurationError } from "../core/error-family.ts";
import { PUBLISH_CALL_TIMEOUT_MS } from "./trigger-publisher.ts";
import { eventBudgetMs as eventBudgetOf, PLATFORM_DEFAULT_TIMEOUT_MS, RETRY_PRESETS, TRANSACTION_ATTEMPT_TIMEOUT_MS, worstCaseBudgetMs } from "./retry.ts";
import type { Breaker } from "./circuit-breaker.ts";
import type { Logger } from "./logger.ts";
import { createTrackerTransactions } from "./tracker-transaction.ts";
import { createTriggerPublishStep } from "./trigger-publish-step.ts";
import type { ExecutionLogReader } from "./bigquery-store.ts";
import { latchRowsOwed, writeCompletionRows, type LatchRows } from "./completion-rows.ts";
import { reportOutcome, reportRowDeferred, warnUntrustedTimestamp } from "./tracker-log.ts";
import { failed, type CompletionSink, type PhaseStateRef, type RawFacts, type TrackResult, type TriggerOutcome, type TriggerPublisher } from "./tracker-types.ts";

export type { CompletionSink, RawFacts, StoreOutcome, TrackResult, TriggerOutcome, TriggerPublisher } from "./tracker-types.ts";

export interface TrackerDeps {
  db: Firestore;
  /** Collection of the phase-state documents (with the environment's prefix). */
  stateCollection: string;
  sink: CompletionSink;
  publisher: TriggerPublisher;
  firestoreBreaker: Breaker;
  logger: Logger;
  transition: Transition;
  timeZone: string;
  functionName: string;
  codeHash: string;
  clock?: () => Date;
  /**
   * Bound of one Firestore transaction attempt (default 20 s). The client never fails on its own while
   * the network is down, so this bound is what ends an attempt; under contention one runTransaction
   * (with the client's own ABORTED retries) is slow: 20 transactions on one document in the emulator
   * took up to 9 s each on a loaded 2-core machine. The event budget cuts the third attempt short.
   */
  transactionTimeoutMs?: number;
  /**
   * What one record() may spend on Firestore and Pub/Sub retries, from its start (default: the
   * function timeout minus the handler margin, retry.ts). No retry starts that cannot end in time.
   */
  eventBudgetMs?: number;
  /**
   * The publish claims, shared with the scheduled jobs (default: theirs, next to stateCollection:
   * `<prefix>sweeper_publish_claims`), so an orchestrator and a sweeper never both republish a trigger.
   */
  claimsCollection?: string;
  /** How long a pending trigger belongs to the call that latched it (default publishGraceMsFor). */
  publishGraceMs?: number;
  /**
   * Asked before this tracker republishes a trigger it did not latch: does the trigger already have its
   * execution-log row (published, mark failed)? Absent: not asked (the scheduled jobs' republisher asks itself).
   */
  executionLog?: ExecutionLogReader;
  /** Days a phase-state document is kept after its game date (the stack's retention; default retention.ts). */
  phaseStateRetentionDays?: number;
}

/** Clocks of two instances may disagree a little; the grace period allows for it. */
const CLOCK_MARGIN_MS = 5_000;

/**
 * How long a pending trigger is left to the call that latched it: longer than its publish and its
 * mark-published can take with every retry (the publish preset, then one transaction per attempt of
 * `transactionTimeoutMs`), plus a clock margin. After that the latching call has finished or died.
 * A publish call the preset gave up on lives in the client up to PUBLISH_CALL_TIMEOUT_MS longer
 * (the last attempt's call, started within the preset's budget): counted too, so no copy of the
 * latching call's publish can still land once someone else may republish.
 */
export function publishGraceMsFor(transactionTimeoutMs: number): number {
  return (
    worstCaseBudgetMs(RETRY_PRESETS.pubsubPublish) +
    PUBLISH_CALL_TIMEOUT_MS +
    worstCaseBudgetMs({ ...RETRY_PRESETS.firestoreWrite, attemptTimeoutMs: transactionTimeoutMs }) +
    CLOCK_MARGIN_MS
  );
}

/** The scheduled jobs' claims collection for a phase-state collection named `<prefix>phase_state`. */
export function claimsCollectionFor(stateCollection: string): string {
  const suffix = "phase_state";
  if (!stateCollection.endsWith(suffix)) throw new ConfigurationError(`phase-state collection "${stateCollection}" does not end in ${suffix}: pass claimsCollection`);
  return scheduledCollectionNames(stateCollection.slice(0, -suffix.length)).publishClaims;
}

export const DEFAULT_TRANSACTION_TIMEOUT_MS = TRANSACTION_ATTEMPT_TIMEOUT_MS;

export function createCompletionTracker(deps: TrackerDeps) {
  const { db, transition, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const txTimeoutMs = deps.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS;
  const eventBudgetMs = deps.eventBudgetMs ?? eventBudgetOf(PLATFORM_DEFAULT_TIMEOUT_MS);
  const graceMs = deps.publishGraceMs ?? publishGraceMsFor(txTimeoutMs);
  const claimsCollection = deps.claimsCollection ?? claimsCollectionFor(deps.stateCollection);
  const { recordInFirestore, transact } = createTrackerTransactions({
    db,
    stateCollection: deps.stateCollection,
    firestoreBreaker: deps.firestoreBreaker,
    logger,
    transition,
    timeZone: deps.timeZone,
    phaseStateRetentionDays: deps.phaseStateRetentionDays,
    txTimeoutMs,
    eventBudgetMs,
  });
  const { publishPending, republishClaimed } = createTriggerPublishStep({
    db,
    publisher: deps.publisher,
    firestoreBreaker: deps.firestoreBreaker,
    logger,
    transition,
    claimsCollection,
    clock,
    txTimeoutMs,
    eventBudgetMs,
    transact,
    publishGraceMs: graceMs,
    ...(deps.executionLog === undefined ? {} : { executionLog: deps.executionLog }),
  });

  /**
   * Record one completion in both stores and publish any trigger it completes. Never throws for a
   * store failure: the outcome of each store is returned and the caller decides the response.
   * `opts.logger`: the request's logger (its trace); every line also carries the game date and
   * correlation id.
   */
  async function record(c: ResolvedCompletion, raw: RawFacts = {}, opts: { logger?: Logger } = {}): Promise<TrackResult> {
    const now = clock();
    const deadlineAt = Date.now() + eventBudgetMs;
    const log = (opts.logger ?? logger).child({ game_date: c.gameDate, correlation_id: c.correlationId });
    const latchMode = latchModeOfCompletion(transition, c, now, deps.timeZone);
    if (completionTimestampUntrusted(c.completedAt, now)) {
      warnUntrustedTimestamp(c, now, log);
    }
    const self = `message:${c.messageId}`;
    let firestore: TrackResult["firestore"];
    let decision: Decision | null = null;
    let trigger: TriggerOutcome | null = null;
    let doc: PhaseStateDoc | null = null;
    let ref: PhaseStateRef | null = null;
    let latchedHere = false;

    try {
      const r = await recordInFirestore(c, now, deadlineAt, log);
      firestore = { ok: true, duplicate: !r.changed };
      decision = r.decision;
      doc = r.doc;
      ref = r.ref;
      const t = r.doc.trigger;
      // This call latched it (or an earlier attempt of this very call did, and its commit answer was lost).
      latchedHere = t !== null && (r.latchedNow || (t.latchedBy === c.messageId && t.decidedAt === now.toISOString()));
      if (t === null) trigger = null;
      else if (t.state === "published") trigger = { triggerId: t.triggerId, state: "published", publishedNow: false };
      else if (latchedHere) trigger = await publishPending(r.doc, r.ref, deadlineAt, { publishedBy: self, logger: log, owedBy: c.messageId });
      else if (republishDue(t, now, graceMs)) trigger = await republishClaimed(r.ref, t.triggerId, self, now, deadlineAt, log, c.messageId);
      else if (t.latchedBy === c.messageId) {
        // The latching message again (its call failed or died) before the grace period is over: its
        // call may still be publishing. Not acknowledged, so it comes back when it may publish.
        log.info(`trigger ${t.triggerId} latched by this message is pending within its grace period; leaving it to the latching call for now`, {
          trigger_id: t.triggerId,
          message_id: c.messageId,
        });
        trigger = { triggerId: t.triggerId, state: "pending", publishedNow: false };
      } else {
        // Another call latched it and publishes it; this message's own work is done.
        trigger = { triggerId: t.triggerId, state: "pending", publishedNow: false, owner: false };
      }
    } catch (error) {
      firestore = failed(error);
    }

    if (!firestore.ok) {
      // Not recorded, so no BigQuery row either: only the delivery that records the entry may write the
      // row, and whether this message is that one (and not a copy of a completion another message
      // recorded) is known only once Firestore answers. A row written now would be written again by that
      // delivery minutes later, past BigQuery's insert-id de-duplication (about a minute). Pub/Sub keeps
      // the message. BigQuery is only asked whether it is reachable: both stores out is the CRITICAL case.
      const bigquery = await probeBigQuery();
      reportOutcome(transition, deps, c, firestore, bigquery, log);
      return { firestore, bigquery, decision, trigger, done: false };
    }

    // Answered non-2xx only because the trigger is not published yet (this message comes back): the
    // completion is safe in Firestore, and its BigQuery row is left to the delivery that is acknowledged.
    // BigQuery de-duplicates an insert id for about a minute only; redeliveries minutes apart would each
    // add the row again. (A message that is never acknowledged: the reconciler copies the entry over.)
    const deferRow = trigger !== null && trigger.state === "pending" && trigger.owner !== false;
    // A copy of a completion another message recorded, or an entry copied from its row: no row owed (phase-state.ts).
    const rowNotOwed = doc !== null && completionRowNotOwed(doc, c);
    const rows = latchRowsOwed(transition, deps, c, doc, decision, trigger, latchedHere);
    const written = await writeCompletionRows(deps.sink, transition, c, latchMode, raw, now, rows, !deferRow && !rowNotOwed);
    const { latchRowsWritten, ...outcome } = written;
    const bigquery: TrackResult["bigquery"] = outcome.ok && deferRow ? { ok: true, deferred: true } : outcome;
    if (doc !== null && ref !== null) await recordIncomplete(c, doc, ref, trigger, latchedHere, rows, latchRowsWritten, deadlineAt, log);
    if (bigquery.ok && bigquery.deferred) {
      reportRowDeferred(transition, c, log);
    } else {
      reportOutcome(transition, deps, c, firestore, bigquery, log);
    }
    const done = firestore.ok && bigquery.ok && (trigger === null || trigger.state === "published" || trigger.owner === false);
    return { firestore, bigquery, decision, trigger, done };
  }

  /** Whether BigQuery answers at all (the dataset's metadata, no query cost): its own retries, never a throw. */
  async function probeBigQuery(): Promise<TrackResult["bigquery"]> {
    try {
      await deps.sink.checkDataset();
      return { ok: true, deferred: true };
    } catch (error) {
      return failed(error);
    }
  }

  /**
   * The latching call that could not finish says so in the document: a failed publish lets others
   * republish at once; rows it could not write are owed by its message, whose redelivery writes them.
   */
  async function recordIncomplete(
    c: ResolvedCompletion,
    doc: PhaseStateDoc,
    ref: PhaseStateRef,
    trigger: TriggerOutcome | null,
    latchedHere: boolean,
    rows: LatchRows,
    latchRowsWritten: boolean,
    deadlineAt: number,
    log: Logger,
  ): Promise<void> {
    // Only a refused publish is recorded as failed: one given up in flight may still land (settleLate).
    const publishFailed = latchedHere && trigger?.failedStep === "publish" && trigger.outcomeUnknown !== true;
    const owesRows = !latchRowsWritten && (rows.status !== null || rows.executionLog !== null);
    if (!publishFailed && !owesRows) return;
    try {
      await transact("firestore.markLatchIncomplete", ref, deadlineAt, log, (current) =>
        markLatchIncomplete(current, { publishFailed, rowsOwedBy: owesRows ? c.messageId : null }, clock()),
      );
    } catch (error) {
      // The message is answered non-2xx anyway; without this mark others wait out the grace period
      // (publish) and the reconciler has to find the missing rows.
      log.error(`could not record the unfinished latch of ${doc.trigger?.triggerId ?? ref.id}`, {
        error,
        publish_failed: publishFailed,
        rows_owed: owesRows,
        [LOG_FIELDS.transition]: transition.id,
      });
    }
  }

  return { record, publishPending, recordInFirestore };
}

export type CompletionTracker = ReturnType<typeof createCompletionTracker>;
