// Before anyone republishes a pending trigger, the execution log is asked whether it already went out.
// A publish that succeeded while its mark-published transaction failed leaves the trigger pending in
// Firestore; the call that published it still writes the trigger's phase_execution_log row, so that
// row is the durable record of the publish. Pure rules here; the I/O is in outbox-republisher.ts.
import { markPublished, type PhaseStateDoc, type TriggerState } from "./phase-state.ts";
import { instantMs } from "./run-mode.ts";

/** What the execution log said about one trigger id. */
export type ExecutionLogAnswer = "logged" | "absent" | "unanswered";

/**
 * What a republisher does:
 * - `mark_published`: the log has the row, so the trigger went out: mark it, never publish again;
 * - `publish`: the log has no row: nobody published it;
 * - `wait`: BigQuery could not answer and the trigger is young: leave it pending (a later run asks again);
 * - `publish_unchecked`: BigQuery could not answer for long: publish anyway (a duplicate is possible,
 *   never a trigger lost) and alert.
 */
export type RepublishStep = "mark_published" | "publish" | "wait" | "publish_unchecked";

/** How many publish grace periods after the latch a BigQuery outage may delay a trigger. */
export const UNCHECKED_PUBLISH_AFTER_GRACES = 3;

/**
 * The step for a pending trigger, given the log's answer. An outage of the log may only delay a
 * trigger that was never published, by at most `UNCHECKED_PUBLISH_AFTER_GRACES` grace periods from
 * its latch: the outbox must still deliver it.
 */
export function republishStep(answer: ExecutionLogAnswer, trigger: Pick<TriggerState, "decidedAt">, now: Date, publishGraceMs: number): RepublishStep {
  if (answer === "logged") return "mark_published";
  if (answer === "absent") return "publish";
  return now.getTime() - instantMs(trigger.decidedAt) >= UNCHECKED_PUBLISH_AFTER_GRACES * publishGraceMs ? "publish_unchecked" : "wait";
}

/**
 * The document once the execution log showed its trigger was published. The log row does not carry
 * the Pub/Sub message id, so none is recorded (null); `publishedBy` names who found it.
 */
export function markPublishedPerExecutionLog(doc: PhaseStateDoc, now: Date, publishedBy: string): PhaseStateDoc {
  const marked = markPublished(doc, "", now, publishedBy);
  if (marked === doc || marked.trigger === null) return marked;
  return { ...marked, trigger: { ...marked.trigger, publishedMessageId: null } };
}
