// Asked by every republisher of a pending trigger before it publishes (the scheduled jobs'
// outbox-republisher.ts and an orchestrator's claimed republish): did the trigger already go out? A
// publish whose mark-published failed leaves the trigger pending, but its publisher still wrote the
// trigger's phase_execution_log row (one per trigger id), the durable record of the publish. Kept apart
// from outbox-republisher.ts so the orchestrators' bundles do not carry the scheduled jobs' code.
import type { DocumentReference, Firestore } from "@google-cloud/firestore";
import type { PhaseStateDoc } from "../core/phase-state.ts";
import { markPublishedPerExecutionLog, republishStep, UNCHECKED_PUBLISH_AFTER_GRACES, type ExecutionLogAnswer } from "../core/republish-check.ts";
import type { ExecutionLogReader } from "./bigquery-store.ts";
import type { Breaker } from "./circuit-breaker.ts";
import type { Logger } from "./logger.ts";
import type { Alerter } from "./slack.ts";
import { RETRY_PRESETS, withRetry } from "./retry.ts";

export interface ExecutionLogCheckDeps {
  db: Firestore;
  breaker: Breaker;
  logger: Logger;
  executionLog: ExecutionLogReader;
  /** The publish grace period: a BigQuery outage delays a republish by at most UNCHECKED_PUBLISH_AFTER_GRACES of them. */
  publishGraceMs: number;
  /** Absent: the fallback publish is logged at ERROR only (the caller alerts on what it returns). */
  alerter?: Alerter;
}

export type ExecutionLogCheck =
  /** Nobody published it (or BigQuery has not answered for too long, alerted): publish it. */
  | { kind: "publish" }
  /** The log has its row: the trigger went out; it is now marked published. Do not publish. */
  | { kind: "marked_published"; triggerId: string }
  /** BigQuery could not answer and the trigger is young: leave it pending, a later delivery or run asks again. */
  | { kind: "wait"; triggerId: string; error: unknown };

/**
 * Asked by every republisher (holding the publish claim) before it publishes a pending trigger: a
 * publish whose mark-published failed left the trigger pending, but its publisher wrote the trigger's
 * execution-log row (one per trigger id). If the row is there, mark the trigger published instead of
 * sending a second copy. A failed mark is thrown (the trigger stays pending, the caller answers non-2xx).
 */
export async function checkExecutionLog(
  deps: ExecutionLogCheckDeps,
  doc: PhaseStateDoc,
  ref: DocumentReference,
  runId: string,
  now: Date,
  retry: { attemptTimeoutMs?: number; deadlineAt?: number } = {},
): Promise<ExecutionLogCheck> {
  const trigger = doc.trigger;
  if (trigger === null) return { kind: "publish" };
  const fields = { trigger_id: trigger.triggerId, game_date: doc.gameDate, transition_id: doc.transitionId, run_id: runId };
  let answer: ExecutionLogAnswer;
  let lookupError: unknown = null;
  try {
    const logged = await deps.executionLog.listExecutionLogTriggerIds({ fromDate: doc.gameDate, toDate: doc.gameDate });
    answer = logged.has(trigger.triggerId) ? "logged" : "absent";
  } catch (error) {
    answer = "unanswered";
    lookupError = error;
  }
  const step = republishStep(answer, trigger, now, deps.publishGraceMs);
  switch (step) {
    case "publish":
      return { kind: "publish" };
    case "wait":
      deps.logger.warning(`execution log unreadable; pending trigger ${trigger.triggerId} is not republished yet (it may have gone out already)`, { ...fields, error: lookupError });
      return { kind: "wait", triggerId: trigger.triggerId, error: lookupError };
    case "publish_unchecked": {
      const limitMin = Math.round((UNCHECKED_PUBLISH_AFTER_GRACES * deps.publishGraceMs) / 60_000);
      deps.logger.error(`execution log unreadable for over ${limitMin} min since the latch of ${trigger.triggerId}: republishing without its answer (the next phase may get a duplicate)`, { ...fields, error: lookupError });
      await deps.alerter?.alert({
        severity: "error",
        subject: { kind: "republished_unchecked", transition: doc.transitionId, gameDate: doc.gameDate, mode: doc.latchMode, item: trigger.triggerId },
        title: `${doc.transitionId} trigger republished without the execution log's answer (BigQuery unreadable)`,
        gameDate: doc.gameDate,
        correlationId: String(trigger.payload.correlation_id ?? ""),
        errorType: "republished_unchecked",
        details: { trigger_id: trigger.triggerId, run_id: runId, error: String(lookupError) },
      });
      return { kind: "publish" };
    }
    case "mark_published":
      await deps.breaker.fire(() =>
        withRetry(
          "firestore.markPublishedPerExecutionLog",
          (_attempt, signal) =>
            deps.db.runTransaction(async (tx) => {
              signal.throwIfAborted();
              const snap = await tx.get(ref);
              if (!snap.exists) return;
              const current = snap.data() as PhaseStateDoc;
              const next = markPublishedPerExecutionLog(current, now, runId);
              if (next !== current) tx.set(ref, next);
            }),
          RETRY_PRESETS.firestoreWrite,
          { logger: deps.logger, ...retry },
        ),
      );
      deps.logger.notice(`trigger ${trigger.triggerId} already has its execution-log row: marked published, not republished`, fields);
      return { kind: "marked_published", triggerId: trigger.triggerId };
  }
}
