// What the completion tracker says in the log: the outcome of the dual write (the structured events
// the log-based metrics and alerts count, docs/RUNTIME.md), a published trigger, a completion
// timestamp not believed, a completion row left to a later delivery.
import type { Transition } from "../core/pipeline-types.ts";
import type { ResolvedCompletion, TriggerState } from "../core/phase-state.ts";
import { COMPLETION_FUTURE_SKEW_MS, COMPLETION_MAX_AGE_MS } from "../core/phase-state.ts";
import { LOG_EVENT_KEY, LOG_EVENTS, LOG_FIELDS } from "../core/log-events.ts";
import type { Logger } from "./logger.ts";
import { describeError, errorType } from "./errors.ts";
import type { StoreOutcome } from "./tracker-types.ts";

/** Which build is writing, for the incident (also a label when the runtime's logger carries it). */
export interface TrackerIdentity {
  functionName: string;
  codeHash: string;
}

/**
 * The outcome of both writes of one completion: CRITICAL when both stores failed (Firestore failed and
 * BigQuery did not answer either), a warning when one did. When Firestore failed nothing was written to
 * BigQuery (completion-tracker.ts), and `bq` says whether it answered.
 */
export function reportOutcome(transition: Transition, identity: TrackerIdentity, c: ResolvedCompletion, fs: StoreOutcome, bq: StoreOutcome, log: Logger): void {
  const fields = {
    [LOG_FIELDS.transition]: transition.id,
    processor: c.processor,
    message_id: c.messageId,
    game_date: c.gameDate,
    correlation_id: c.correlationId,
  };
  if (!fs.ok && !bq.ok) {
    log.critical(`CRITICAL: Firestore write failed and BigQuery is unreachable too for ${c.processor} ${c.gameDate}; not recorded, Pub/Sub redelivers`, {
      ...fields,
      [LOG_EVENT_KEY]: LOG_EVENTS.bothStoresFailed,
      firestore_error: describeError(fs.error),
      bigquery_error: describeError(bq.error),
      error_type: errorType(fs.error),
      [LOG_FIELDS.codeHash]: identity.codeHash,
      [LOG_FIELDS.functionName]: identity.functionName,
    });
  } else if (!fs.ok) {
    log.warning(`Firestore write failed for ${c.processor} ${c.gameDate}; not recorded, Pub/Sub redelivers (the delivery that records it writes its BigQuery row)`, {
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

/** The completion is safe in Firestore; its BigQuery row waits for the delivery that is acknowledged. */
export function reportRowDeferred(transition: Transition, c: ResolvedCompletion, log: Logger): void {
  log.info(`completion of ${c.processor} ${c.gameDate} recorded in Firestore; its BigQuery row is left to the delivery that is acknowledged`, {
    [LOG_FIELDS.transition]: transition.id,
    processor: c.processor,
    message_id: c.messageId,
  });
}

/** A completion timestamp too far from its recording to be believed: latch and clock use the recording time. */
export function warnUntrustedTimestamp(c: ResolvedCompletion, now: Date, log: Logger): void {
  log.warning(`completion timestamp ${c.completedAt} of ${c.processor} is more than ${COMPLETION_FUTURE_SKEW_MS / 60_000} min ahead of or ${COMPLETION_MAX_AGE_MS / 86_400_000} days behind its recording: latch and clock judged at the recording time`, {
    processor: c.processor,
    message_id: c.messageId,
    completed_at: c.completedAt,
    recorded_at: now.toISOString(),
  });
}

/** A trigger published by this call (the trigger_published event). */
export function reportTriggerPublished(transition: Transition, gameDate: string, trigger: TriggerState, messageId: string, publishedBy: string | undefined, log: Logger): void {
  log.info(`trigger ${trigger.triggerId} published to ${transition.outputTopicName}`, {
    [LOG_EVENT_KEY]: LOG_EVENTS.triggerPublished,
    [LOG_FIELDS.transition]: transition.id,
    [LOG_FIELDS.phase]: `phase${transition.toPhase}`,
    game_date: gameDate,
    correlation_id: String(trigger.payload.correlation_id ?? ""),
    trigger_id: trigger.triggerId,
    trigger_reason: trigger.reason,
    degraded: trigger.degraded,
    missing_processors: trigger.missing,
    pubsub_message_id: messageId,
    published_by: publishedBy ?? null,
  });
}

/** A publish given up while in flight that Pub/Sub accepted after all (the trigger_published event, late). */
export function reportLatePublish(transition: Transition, gameDate: string, triggerId: string, messageId: string, publishedBy: string | undefined, log: Logger): void {
  log.info(`trigger ${triggerId} published to ${transition.outputTopicName} (a publish given up earlier was accepted)`, {
    [LOG_EVENT_KEY]: LOG_EVENTS.triggerPublished,
    [LOG_FIELDS.transition]: transition.id,
    [LOG_FIELDS.phase]: `phase${transition.toPhase}`,
    game_date: gameDate,
    trigger_id: triggerId,
    pubsub_message_id: messageId,
    published_by: publishedBy ?? null,
    late: true,
  });
}

/** A publish (or its mark) that failed: the trigger stays pending for a redelivery or the sweeper. */
export function reportLeftPending(transition: Transition, gameDate: string, triggerId: string, step: "publish" | "mark", unknown: boolean, error: unknown, log: Logger): void {
  log.error(`trigger ${triggerId} left pending: ${step === "publish" ? (unknown ? "publish not confirmed in time" : "publish") : "mark published"} failed`, {
    error,
    trigger_id: triggerId,
    failed_step: step,
    outcome_unknown: unknown,
    game_date: gameDate,
    [LOG_FIELDS.transition]: transition.id,
  });
}
