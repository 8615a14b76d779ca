// Completion tracking and triggering for one transition: writes its phase-state documents per message
// (the scheduled jobs apply the same rules, phase-state-transactions.ts), an outbox for the trigger (only the latching call publishes; anyone else only after a
// grace period and under the publish claim), and a dual write to BigQuery whose outcome is returned
// and checked (docs/RUNTIME.md, "Dual write and store outages").
import type { DocumentReference, Firestore } from "@google-cloud/firestore";
import type { Transition } from "../core/pipeline-types.ts";
import type { Decision } from "../core/decision-types.ts";
import type { PhaseStateDoc, ResolvedCompletion } from "../core/phase-state.ts";
import {
  COMPLETION_FUTURE_SKEW_MS,
  COMPLETION_MAX_AGE_MS,
  completionTimestampUntrusted,
  executionLogRowOf,
  latchModeOfCompletion,
  markLatchIncomplete,
  markPublished,
  phaseStateDocId,
  recordAndDecide,
  republishDue,
  statusRowOf,
} from "../core/phase-state.ts";
import type { PhaseCompletionStatusRow, PhaseExecutionLogRow } from "../core/tables.ts";
import { scheduledCollectionNames } from "../core/scheduled-config.ts";
import type { BigQueryStore } from "./bigquery-store.ts";
import { completionRecordOf, type CompletionFacts } from "../core/completion-row.ts";
import { LOG_EVENT_KEY, LOG_EVENTS, LOG_FIELDS } from "../core/log-events.ts";
import { eventBudgetMs as eventBudgetOf, PLATFORM_DEFAULT_TIMEOUT_MS, RETRY_PRESETS, TRANSACTION_ATTEMPT_TIMEOUT_MS, withRetry, worstCaseBudgetMs } from "./retry.ts";
import { claimTriggerPublish, DEFAULT_CLAIM_LEASE_MS } from "./outbox-republisher.ts";
import type { Breaker } from "./circuit-breaker.ts";
import type { Logger } from "./logger.ts";
import { describeError, errorType } from "./errors.ts";
import { createKeyedSerializer } from "./keyed-serializer.ts";
import { ConfigurationError, ContractViolationError } from "../core/error-family.ts";

/** What the tracker needs of BigQuery. */
export type CompletionSink = Pick<BigQueryStore, "insertCompletion" | "upsertStatus" | "insertExecutionLog">;

/** Publishes a trigger; resolves to the Pub/Sub message id. */
export interface TriggerPublisher {
  publish(topicName: string, payload: Record<string, unknown>, attributes: Record<string, string>): Promise<string>;
}

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
  /** Days a phase-state document is kept after its game date (the stack's retention; default retention.ts). */
  phaseStateRetentionDays?: number;
}

/** Clocks of two instances may disagree a little; the grace period allows for it. */
const CLOCK_MARGIN_MS = 5_000;

/**
 * How long a pending trigger is left to the call that latched it: longer than its publish and its
 * mark-published can take with every retry (the publish preset, then one transaction per attempt of
 * `transactionTimeoutMs`), plus a clock margin. After that the latching call has finished or died.
 */
export function publishGraceMsFor(transactionTimeoutMs: number): number {
  return (
    worstCaseBudgetMs(RETRY_PRESETS.pubsubPublish) +
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

export type StoreOutcome = { ok: true } | { ok: false; error: unknown };

export interface TriggerOutcome {
  triggerId: string;
  state: "pending" | "published";
  /** This call published it (false when it was already published, or the publish failed). */
  publishedNow: boolean;
  /**
   * false: another call latched this trigger and owns its publish; this message's own work is done.
   * Absent: this call was responsible for publishing it.
   */
  owner?: false;
  error?: unknown;
  /** What failed: the publish itself, or marking it published after the publish went out. */
  failedStep?: "publish" | "mark" | "claim";
  /**
   * The publish was given up while the call was still in flight: it may yet be accepted. Not a recorded
   * failure (others wait out the grace period); if it lands, it is marked published in the background.
   */
  outcomeUnknown?: boolean;
}

export interface TrackResult {
  firestore: StoreOutcome & { duplicate?: boolean };
  /**
   * deferred: the completion row was not written because this delivery is answered non-2xx only for its
   * pending trigger; the delivery that is acknowledged writes it (BigQuery de-duplicates an insert id for
   * about a minute only, so a row inserted by each of several redeliveries would be counted twice).
   */
  bigquery: StoreOutcome & { deferred?: boolean };
  decision: Decision | null;
  trigger: TriggerOutcome | null;
  /** Every store written and any latched trigger published: the message may be acknowledged. */
  done: boolean;
}

const failed = (error: unknown): StoreOutcome => ({ ok: false, error });

export const DEFAULT_TRANSACTION_TIMEOUT_MS = TRANSACTION_ATTEMPT_TIMEOUT_MS;

export function createCompletionTracker(deps: TrackerDeps) {
  const { db, transition, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const txTimeoutMs = deps.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS;
  const eventBudgetMs = deps.eventBudgetMs ?? eventBudgetOf(PLATFORM_DEFAULT_TIMEOUT_MS);
  const graceMs = deps.publishGraceMs ?? publishGraceMsFor(txTimeoutMs);
  const claimsCollection = deps.claimsCollection ?? claimsCollectionFor(deps.stateCollection);
  const collection = db.collection(deps.stateCollection);
  const oneAtATimePerDocument = createKeyedSerializer();

  /** One transaction: record the entry, decide, latch a pending trigger. Retried whole on transient errors. */
  async function recordInFirestore(c: ResolvedCompletion, now: Date, deadlineAt = Date.now() + eventBudgetMs, log: Logger = logger) {
    const latchMode = latchModeOfCompletion(transition, c, now, deps.timeZone);
    const ref = collection.doc(phaseStateDocId(transition.id, c.gameDate, latchMode));
    return oneAtATimePerDocument(ref.path, () => deps.firestoreBreaker.fire(() =>
      withRetry(
        "firestore.recordCompletion",
        (_attempt, signal) =>
          db.runTransaction(async (tx) => {
            // An attempt given up on (timed out) must not keep contending: the client would otherwise
            // keep retrying it in the background next to our next attempt. Throwing rolls it back.
            signal.throwIfAborted();
            const snap = await tx.get(ref);
            signal.throwIfAborted();
            const step = recordAndDecide(
              snap.exists ? (snap.data() as PhaseStateDoc) : null,
              transition,
              latchMode,
              c,
              now,
              now,
              deps.timeZone,
              deps.phaseStateRetentionDays,
            );
            if (step.write) tx.set(ref, step.doc);
            return { doc: step.doc, changed: step.changed, latchedNow: step.latchedNow, decision: step.decision, ref };
          }),
        RETRY_PRESETS.firestoreWrite,
        { logger: log, attemptTimeoutMs: txTimeoutMs, deadlineAt },
      ),
    ));
  }

  /** One transaction on the phase-state document, through the breaker, bounded like the record. */
  function transact(op: string, ref: PhaseStateRef, deadlineAt: number, log: Logger, change: (doc: PhaseStateDoc) => PhaseStateDoc) {
    return deps.firestoreBreaker.fire(() =>
      withRetry(
        op,
        (_attempt, signal) =>
          db.runTransaction(async (tx) => {
            signal.throwIfAborted();
            const snap = await tx.get(ref);
            // Only TTL deletes these documents, days after their game date: one gone mid-event is data that cannot be.
            if (!snap.exists) throw new ContractViolationError(`phase state ${ref.id} vanished before ${op}`);
            const current = snap.data() as PhaseStateDoc;
            const next = change(current);
            if (next !== current) tx.set(ref, next);
          }),
        RETRY_PRESETS.firestoreWrite,
        { logger: log, attemptTimeoutMs: txTimeoutMs, deadlineAt },
      ),
    );
  }

  /**
   * Publish a latched trigger, then mark it published. Callers decide who may: the call that latched
   * it, or (after the grace period, holding the publish claim) someone else.
   */
  async function publishPending(
    doc: PhaseStateDoc,
    ref: PhaseStateRef,
    deadlineAt = Date.now() + eventBudgetMs,
    opts: { publishedBy?: string; logger?: Logger; owedBy?: string } = {},
  ): Promise<TriggerOutcome | null> {
    const log = opts.logger ?? logger;
    const trigger = doc.trigger;
    if (!trigger) return null;
    if (trigger.state === "published") return { triggerId: trigger.triggerId, state: "published", publishedNow: false };
    let step: "publish" | "mark" = "publish";
    // A publish whose attempt timed out may still be accepted by Pub/Sub (a slow first call, a loaded
    // host): a retry must not send a second copy while it is in flight, only wait for it longer. A new
    // publish goes out only after the previous one was refused.
    let inFlight: Promise<string> | null = null;
    const publishOnce = (): Promise<string> => {
      if (inFlight === null) {
        const call = deps.publisher.publish(transition.outputTopicName, trigger.payload, {
          trigger_id: trigger.triggerId,
          transition: transition.id,
          game_date: doc.gameDate,
        });
        inFlight = call;
        // Registered before withRetry awaits the call, so a refused call is cleared before the retry.
        call.catch(() => {
          if (inFlight === call) inFlight = null;
        });
      }
      return inFlight;
    };
    try {
      const messageId = await withRetry("pubsub.publishTrigger", publishOnce, RETRY_PRESETS.pubsubPublish, { logger: log, deadlineAt });
      step = "mark";
      await transact("firestore.markPublished", ref, deadlineAt, log, (current) => markPublished(current, messageId, clock(), opts.publishedBy));
      log.info(`trigger ${trigger.triggerId} published to ${transition.outputTopicName}`, {
        [LOG_EVENT_KEY]: LOG_EVENTS.triggerPublished,
        [LOG_FIELDS.transition]: transition.id,
        [LOG_FIELDS.phase]: `phase${transition.toPhase}`,
        game_date: doc.gameDate,
        correlation_id: String(trigger.payload.correlation_id ?? ""),
        trigger_id: trigger.triggerId,
        trigger_reason: trigger.reason,
        degraded: trigger.degraded,
        missing_processors: trigger.missing,
        pubsub_message_id: messageId,
        published_by: opts.publishedBy ?? null,
      });
      return { triggerId: trigger.triggerId, state: "published", publishedNow: true };
    } catch (error) {
      // The trigger stays pending in Firestore: a redelivery (non-2xx below) or the sweeper publishes it.
      const unknown = step === "publish" && inFlight !== null;
      log.error(`trigger ${trigger.triggerId} left pending: ${step === "publish" ? (unknown ? "publish not confirmed in time" : "publish") : "mark published"} failed`, {
        error,
        trigger_id: trigger.triggerId,
        failed_step: step,
        outcome_unknown: unknown,
        game_date: doc.gameDate,
        [LOG_FIELDS.transition]: transition.id,
      });
      if (unknown && inFlight !== null) settleLate(inFlight, ref, doc, opts.publishedBy, opts.owedBy, log);
      return { triggerId: trigger.triggerId, state: "pending", publishedNow: false, error, failedStep: step, ...(unknown ? { outcomeUnknown: true } : {}) };
    }
  }

  /**
   * A publish given up while still in flight may land later (the client keeps retrying it): when it
   * does, mark the trigger published (the execution-log row is then owed by `owedBy`'s redelivery), so
   * a republisher after the grace period finds it published instead of sending a second copy. When it
   * is refused in the end, record the failed publish so others need not wait. Best effort, logged.
   */
  function settleLate(call: Promise<string>, ref: PhaseStateRef, doc: PhaseStateDoc, publishedBy: string | undefined, owedBy: string | undefined, log: Logger): void {
    const triggerId = doc.trigger?.triggerId ?? ref.id;
    const deadline = Date.now() + eventBudgetMs;
    call
      .then(
        async (messageId) => {
          await transact("firestore.markPublishedLate", ref, deadline, log, (current) => {
            const published = markPublished(current, messageId, clock(), publishedBy);
            return owedBy === undefined || published === current ? published : markLatchIncomplete(published, { publishFailed: false, rowsOwedBy: owedBy }, clock());
          });
          log.info(`trigger ${triggerId} published to ${transition.outputTopicName} (a publish given up earlier was accepted)`, {
            [LOG_EVENT_KEY]: LOG_EVENTS.triggerPublished,
            [LOG_FIELDS.transition]: transition.id,
            [LOG_FIELDS.phase]: `phase${transition.toPhase}`,
            game_date: doc.gameDate,
            trigger_id: triggerId,
            pubsub_message_id: messageId,
            published_by: publishedBy ?? null,
            late: true,
          });
        },
        async () => {
          await transact("firestore.markPublishFailed", ref, deadline, log, (current) =>
            markLatchIncomplete(current, { publishFailed: true, rowsOwedBy: null }, clock()),
          );
        },
      )
      .catch((error: unknown) => {
        // The trigger stays pending: a republisher after the grace period publishes it (maybe twice).
        log.error(`could not record the late outcome of the publish of ${triggerId}`, { error, trigger_id: triggerId, [LOG_FIELDS.transition]: transition.id });
      });
  }

  /** Someone other than the latching call publishes a pending trigger: only under the publish claim. */
  async function republishClaimed(
    ref: PhaseStateRef,
    triggerId: string,
    runId: string,
    now: Date,
    deadlineAt: number,
    log: Logger,
    mine: boolean,
    owedBy?: string,
  ): Promise<TriggerOutcome | null> {
    let claimed;
    try {
      claimed = await claimTriggerPublish(
        { db, claimsCollection, breaker: deps.firestoreBreaker, logger: log },
        ref,
        runId,
        now,
        DEFAULT_CLAIM_LEASE_MS,
        { attemptTimeoutMs: txTimeoutMs, deadlineAt },
      );
    } catch (error) {
      log.error(`could not claim the publish of pending trigger ${triggerId}; left pending`, { error, trigger_id: triggerId, [LOG_FIELDS.transition]: transition.id });
      return { triggerId, state: "pending", publishedNow: false, error, failedStep: "claim" };
    }
    if (claimed.kind === "already_published") return claimed.triggerId === null ? null : { triggerId: claimed.triggerId, state: "published", publishedNow: false };
    if (claimed.kind === "claimed_elsewhere") {
      log.info(`trigger ${claimed.triggerId} is being republished by another holder of its claim`, { trigger_id: claimed.triggerId });
      return { triggerId: claimed.triggerId, state: "pending", publishedNow: false, ...(mine ? {} : { owner: false as const }) };
    }
    return publishPending(claimed.doc, ref, deadlineAt, { publishedBy: runId, logger: log, ...(owedBy === undefined ? {} : { owedBy }) });
  }

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
      log.warning(`completion timestamp ${c.completedAt} of ${c.processor} is more than ${COMPLETION_FUTURE_SKEW_MS / 60_000} min ahead of or ${COMPLETION_MAX_AGE_MS / 86_400_000} days behind its recording: latch and clock judged at the recording time`, {
        processor: c.processor,
        message_id: c.messageId,
        completed_at: c.completedAt,
        recorded_at: now.toISOString(),
      });
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
      else if (republishDue(t, now, graceMs)) trigger = await republishClaimed(r.ref, t.triggerId, self, now, deadlineAt, log, t.latchedBy === c.messageId, c.messageId);
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

    // Answered non-2xx only because the trigger is not published yet (this message comes back): the
    // completion is safe in Firestore, and its BigQuery row is left to the delivery that is acknowledged.
    // BigQuery de-duplicates an insert id for about a minute only; redeliveries minutes apart would each
    // add the row again. (A message that is never acknowledged: the reconciler copies the entry over.)
    const deferRow = firestore.ok && trigger !== null && trigger.state === "pending" && trigger.owner !== false;
    const rows = latchRowsOwed(c, doc, decision, trigger, latchedHere);
    const written = await writeBigQuery(c, latchMode, raw, now, rows, !deferRow);
    const bigquery: TrackResult["bigquery"] = written.ok && deferRow ? { ok: true, deferred: true } : written;
    if (doc !== null && ref !== null) await recordIncomplete(c, doc, ref, trigger, latchedHere, rows, bigquery, deadlineAt, log);
    if (bigquery.ok && bigquery.deferred) {
      log.info(`completion of ${c.processor} ${c.gameDate} recorded in Firestore; its BigQuery row is left to the delivery that is acknowledged`, {
        [LOG_FIELDS.transition]: transition.id,
        processor: c.processor,
        message_id: c.messageId,
      });
    } else {
      reportOutcome(c, firestore, bigquery, log);
    }
    const done = firestore.ok && bigquery.ok && (trigger === null || trigger.state === "published" || trigger.owner === false);
    return { firestore, bigquery, decision, trigger, done };
  }

  /**
   * The BigQuery rows a latch owes, written by one call only (no DML per completion): the aggregate by
   * the call that latched, the execution log by the call that published, and both by the redelivery of
   * a message whose call recorded that it could not write them.
   */
  function latchRowsOwed(
    c: ResolvedCompletion,
    doc: PhaseStateDoc | null,
    decision: Decision | null,
    trigger: TriggerOutcome | null,
    latchedHere: boolean,
  ): LatchRows {
    if (doc === null || doc.trigger === null || decision === null) return { status: null, executionLog: null };
    const owedToMe = doc.trigger.rowsOwedBy === c.messageId;
    const published = trigger?.state === "published";
    return {
      status: latchedHere || owedToMe ? statusRowOf(doc, transition, decision) : null,
      executionLog: published && (trigger?.publishedNow === true || owedToMe) ? executionLogRowOf(doc, transition, deps) : null,
    };
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
    bigquery: StoreOutcome,
    deadlineAt: number,
    log: Logger,
  ): Promise<void> {
    // Only a refused publish is recorded as failed: one given up in flight may still land (settleLate).
    const publishFailed = latchedHere && trigger?.failedStep === "publish" && trigger.outcomeUnknown !== true;
    const owesRows = !bigquery.ok && (rows.status !== null || rows.executionLog !== null);
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

  async function writeBigQuery(c: ResolvedCompletion, latchMode: string, raw: RawFacts, now: Date, rows: LatchRows, completion: boolean): Promise<StoreOutcome> {
    try {
      if (completion) await deps.sink.insertCompletion(completionRecordOf(transition, c.gameDate, latchMode, c, now.toISOString(), raw));
      if (rows.status !== null) await deps.sink.upsertStatus(rows.status);
      if (rows.executionLog !== null) await deps.sink.insertExecutionLog(rows.executionLog);
      return { ok: true };
    } catch (error) {
      return failed(error);
    }
  }

  function reportOutcome(c: ResolvedCompletion, fs: StoreOutcome, bq: StoreOutcome, log: Logger): void {
    const fields = {
      [LOG_FIELDS.transition]: transition.id,
      processor: c.processor,
      message_id: c.messageId,
      game_date: c.gameDate,
      correlation_id: c.correlationId,
    };
    if (!fs.ok && !bq.ok) {
      log.critical(`CRITICAL: both Firestore and BigQuery writes failed for ${c.processor} ${c.gameDate}`, {
        ...fields,
        [LOG_EVENT_KEY]: LOG_EVENTS.bothStoresFailed,
        firestore_error: describeError(fs.error),
        bigquery_error: describeError(bq.error),
        error_type: errorType(fs.error),
        // Which build failed, for the incident (also a label when the runtime's logger carries it).
        [LOG_FIELDS.codeHash]: deps.codeHash,
        [LOG_FIELDS.functionName]: deps.functionName,
      });
    } else if (!fs.ok) {
      log.warning(`Firestore write failed for ${c.processor} ${c.gameDate}; completion kept in BigQuery, decision deferred to redelivery`, {
        ...fields,
        [LOG_EVENT_KEY]: LOG_EVENTS.dualWriteFailed,
        [LOG_FIELDS.store]: "firestore",
        error: fs.error,
      });
    } else if (!bq.ok) {
      log.warning(`BigQuery write failed for ${c.processor} ${c.gameDate}; Firestore recorded it, BigQuery retried on redelivery`, {
        ...fields,
        [LOG_EVENT_KEY]: LOG_EVENTS.dualWriteFailed,
        [LOG_FIELDS.store]: "bigquery",
        error: bq.error,
      });
    } else {
      log.info(`completion of ${c.processor} ${c.gameDate} recorded in both stores`, {
        ...fields,
        [LOG_EVENT_KEY]: LOG_EVENTS.dualWriteSucceeded,
      });
    }
  }

  return { record, publishPending, recordInFirestore };
}

export type CompletionTracker = ReturnType<typeof createCompletionTracker>;

/** Facts of the message that only BigQuery keeps. */
export type RawFacts = CompletionFacts;

/** A phase-state document in Firestore (not Firebase: the server client, no Firebase SDK). */
type PhaseStateRef = DocumentReference;

/** The latch's BigQuery rows this call writes (null: not this call's to write). */
interface LatchRows {
  status: PhaseCompletionStatusRow | null;
  executionLog: PhaseExecutionLogRow | null;
}

