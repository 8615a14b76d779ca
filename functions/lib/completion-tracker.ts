// Completion tracking and triggering for one transition: the only writer of its phase-state
// documents (failure mode 2), an outbox for the trigger (failure mode 3), and a dual write to
// BigQuery whose outcome is returned and checked (the seed's scenarios A-D).
import type { DocumentReference, Firestore } from "@google-cloud/firestore";
import type { Transition } from "../core/pipeline-types.ts";
import type { Decision } from "../core/decision-types.ts";
import type { PhaseStateDoc, ResolvedCompletion } from "../core/phase-state.ts";
import {
  executionLogRowOf,
  latchModeFor,
  markPublished,
  phaseStateDocId,
  recordAndDecide,
} from "../core/phase-state.ts";
import type { PhaseCompletionStatusRow } from "../core/tables.ts";
import type { BigQueryStore, CompletionRecord } from "./bigquery-store.ts";
import { LOG_EVENT_KEY, LOG_EVENTS, LOG_FIELDS } from "../core/log-events.ts";
import { FUNCTION_TIMEOUT_MS, HANDLER_MARGIN_MS, RETRY_PRESETS, withRetry } from "./retry.ts";
import type { Breaker } from "./circuit-breaker.ts";
import type { Logger } from "./logger.ts";
import { describeError, errorType } from "./errors.ts";
import { createKeyedSerializer } from "./keyed-serializer.ts";

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
}

export interface TrackResult {
  firestore: StoreOutcome & { duplicate?: boolean };
  bigquery: StoreOutcome;
  decision: Decision | null;
  trigger: TriggerOutcome | null;
  /** Every store written and any latched trigger published: the message may be acknowledged. */
  done: boolean;
}

const failed = (error: unknown): StoreOutcome => ({ ok: false, error });

export const DEFAULT_TRANSACTION_TIMEOUT_MS = 20_000;

export function createCompletionTracker(deps: TrackerDeps) {
  const { db, transition, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const txTimeoutMs = deps.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS;
  const eventBudgetMs = deps.eventBudgetMs ?? FUNCTION_TIMEOUT_MS - HANDLER_MARGIN_MS;
  const collection = db.collection(deps.stateCollection);
  const oneAtATimePerDocument = createKeyedSerializer();

  /** One transaction: record the entry, decide, latch a pending trigger. Retried whole on transient errors. */
  async function recordInFirestore(c: ResolvedCompletion, now: Date, deadlineAt = Date.now() + eventBudgetMs) {
    const latchMode = latchModeFor(transition, c.gameDate, now, deps.timeZone);
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
            );
            if (step.write) tx.set(ref, step.doc);
            return { doc: step.doc, changed: step.changed, latchedNow: step.latchedNow, decision: step.decision, ref };
          }),
        RETRY_PRESETS.firestoreWrite,
        { logger, attemptTimeoutMs: txTimeoutMs, deadlineAt },
      ),
    ));
  }

  /** Publish a latched trigger, then mark it published. Safe to repeat: consumers de-duplicate by trigger_id. */
  async function publishPending(doc: PhaseStateDoc, ref: FirebaseRef, deadlineAt = Date.now() + eventBudgetMs): Promise<TriggerOutcome | null> {
    const trigger = doc.trigger;
    if (!trigger) return null;
    if (trigger.state === "published") return { triggerId: trigger.triggerId, state: "published", publishedNow: false };
    try {
      const messageId = await withRetry(
        "pubsub.publishTrigger",
        () =>
          deps.publisher.publish(transition.outputTopicName, trigger.payload, {
            trigger_id: trigger.triggerId,
            transition: transition.id,
            game_date: doc.gameDate,
          }),
        RETRY_PRESETS.pubsubPublish,
        { logger, deadlineAt },
      );
      await deps.firestoreBreaker.fire(() =>
        withRetry(
          "firestore.markPublished",
          (_attempt, signal) =>
            db.runTransaction(async (tx) => {
              signal.throwIfAborted();
              const snap = await tx.get(ref);
              if (!snap.exists) throw new Error(`phase state ${ref.id} vanished before markPublished`);
              tx.set(ref, markPublished(snap.data() as PhaseStateDoc, messageId, clock()));
            }),
          RETRY_PRESETS.firestoreWrite,
          { logger, attemptTimeoutMs: txTimeoutMs, deadlineAt },
        ),
      );
      logger.info(`trigger ${trigger.triggerId} published to ${transition.outputTopicName}`, {
        [LOG_EVENT_KEY]: LOG_EVENTS.triggerPublished,
        [LOG_FIELDS.transition]: transition.id,
        [LOG_FIELDS.phase]: `phase${transition.toPhase}`,
        trigger_id: trigger.triggerId,
        trigger_reason: trigger.reason,
        degraded: trigger.degraded,
        missing_processors: trigger.missing,
        pubsub_message_id: messageId,
      });
      return { triggerId: trigger.triggerId, state: "published", publishedNow: true };
    } catch (error) {
      // The trigger stays pending in Firestore: a redelivery (non-2xx below) or the sweeper publishes it.
      logger.error(`trigger ${trigger.triggerId} left pending: publish or mark failed`, {
        error,
        trigger_id: trigger.triggerId,
        [LOG_FIELDS.transition]: transition.id,
      });
      return { triggerId: trigger.triggerId, state: "pending", publishedNow: false, error };
    }
  }

  function completionRow(c: ResolvedCompletion, latchMode: string, raw: RawFacts, now: Date): CompletionRecord {
    return {
      phase: transition.phaseWireName,
      transition_id: transition.id,
      game_date: c.gameDate,
      mode: latchMode,
      processor_name: c.processor,
      reported_name: c.reportedName,
      status: c.status,
      execution_id: c.executionId,
      correlation_id: c.correlationId,
      completed_at: c.completedAt,
      recorded_at: now.toISOString(),
      record_count: raw.recordCount ?? null,
      records_failed: raw.recordsFailed ?? null,
      duration_seconds: raw.durationSeconds ?? null,
      completion_pct: c.completionPct ?? null,
      message_id: c.messageId,
      metadata: raw.metadata ?? null,
    };
  }

  function statusRow(doc: PhaseStateDoc, decision: Decision): PhaseCompletionStatusRow {
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
   * Record one completion in both stores and publish any trigger it completes. Never throws for a
   * store failure: the outcome of each store is returned and the caller decides the response.
   */
  async function record(c: ResolvedCompletion, raw: RawFacts = {}): Promise<TrackResult> {
    const now = clock();
    const deadlineAt = Date.now() + eventBudgetMs;
    const latchMode = latchModeFor(transition, c.gameDate, now, deps.timeZone);
    let firestore: TrackResult["firestore"];
    let decision: Decision | null = null;
    let trigger: TriggerOutcome | null = null;
    let doc: PhaseStateDoc | null = null;

    try {
      const r = await recordInFirestore(c, now, deadlineAt);
      firestore = { ok: true, duplicate: !r.changed };
      decision = r.decision;
      doc = r.doc;
      // Who publishes a pending trigger: the call that latched it, or a redelivery (a duplicate entry:
      // possibly the latching message again, after a failed publish or a crash). A new completion that
      // finds another call's latch pending leaves it to that call, whose message is not acknowledged
      // until the trigger is published (and to the sweeper): no burst of duplicate publishes.
      if (r.latchedNow || !r.changed || r.doc.trigger?.state !== "pending") {
        trigger = await publishPending(r.doc, r.ref, deadlineAt);
      } else {
        trigger = { triggerId: r.doc.trigger.triggerId, state: "pending", publishedNow: false, owner: false };
      }
    } catch (error) {
      firestore = failed(error);
    }

    const bigquery = await writeBigQuery(c, latchMode, raw, now, doc, decision, trigger);
    reportOutcome(c, firestore, bigquery);
    const done = firestore.ok && bigquery.ok && (trigger === null || trigger.state === "published" || trigger.owner === false);
    return { firestore, bigquery, decision, trigger, done };
  }

  async function writeBigQuery(
    c: ResolvedCompletion,
    latchMode: string,
    raw: RawFacts,
    now: Date,
    doc: PhaseStateDoc | null,
    decision: Decision | null,
    trigger: TriggerOutcome | null,
  ): Promise<StoreOutcome> {
    try {
      await deps.sink.insertCompletion(completionRow(c, latchMode, raw, now));
      // The aggregate and the execution log reflect Firestore's state; without it there is nothing to upsert.
      if (doc && decision) {
        await deps.sink.upsertStatus(statusRow(doc, decision));
        if (doc.trigger && trigger?.state === "published") {
          await deps.sink.insertExecutionLog(executionLogRowOf(doc, transition, deps));
        }
      }
      return { ok: true };
    } catch (error) {
      return failed(error);
    }
  }

  function reportOutcome(c: ResolvedCompletion, fs: StoreOutcome, bq: StoreOutcome): void {
    const fields = { [LOG_FIELDS.transition]: transition.id, processor: c.processor, message_id: c.messageId };
    if (!fs.ok && !bq.ok) {
      logger.critical(`CRITICAL: both Firestore and BigQuery writes failed for ${c.processor} ${c.gameDate}`, {
        ...fields,
        [LOG_EVENT_KEY]: LOG_EVENTS.bothStoresFailed,
        firestore_error: describeError(fs.error),
        bigquery_error: describeError(bq.error),
        error_type: errorType(fs.error),
      });
    } else if (!fs.ok) {
      logger.warning(`Firestore write failed for ${c.processor} ${c.gameDate}; completion kept in BigQuery, decision deferred to redelivery`, {
        ...fields,
        [LOG_EVENT_KEY]: LOG_EVENTS.dualWriteFailed,
        [LOG_FIELDS.store]: "firestore",
        error: fs.error,
      });
    } else if (!bq.ok) {
      logger.warning(`BigQuery write failed for ${c.processor} ${c.gameDate}; Firestore recorded it, BigQuery retried on redelivery`, {
        ...fields,
        [LOG_EVENT_KEY]: LOG_EVENTS.dualWriteFailed,
        [LOG_FIELDS.store]: "bigquery",
        error: bq.error,
      });
    } else {
      logger.info(`completion of ${c.processor} ${c.gameDate} recorded in both stores`, {
        ...fields,
        [LOG_EVENT_KEY]: LOG_EVENTS.dualWriteSucceeded,
      });
    }
  }

  return { record, publishPending, recordInFirestore };
}

export type CompletionTracker = ReturnType<typeof createCompletionTracker>;

/** Facts of the message that only BigQuery keeps. */
export interface RawFacts {
  recordCount?: number | undefined;
  recordsFailed?: number | undefined;
  durationSeconds?: number | undefined;
  metadata?: Record<string, unknown> | undefined;
}

type FirebaseRef = DocumentReference;

