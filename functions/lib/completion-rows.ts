// The tracker's BigQuery writes for one completion: its phase_completions row (built by
// core/completion-row.ts), and the latch's rows (status aggregate, execution log) when this call owes
// them. One call writes each latch row, so there is no DML per completion.
import type { Transition } from "../core/pipeline-types.ts";
import type { Decision } from "../core/decision-types.ts";
import { executionLogRowOf, latchedStatusRowOf, statusRowOf, type PhaseStateDoc, type ResolvedCompletion } from "../core/phase-state.ts";
import { completionRecordOf } from "../core/completion-row.ts";
import type { PhaseCompletionStatusRow, PhaseExecutionLogRow } from "../core/tables.ts";
import { failed, type CompletionSink, type RawFacts, type StoreOutcome, type TriggerOutcome } from "./tracker-types.ts";

/** The latch's BigQuery rows this call writes (null: not this call's to write). */
export interface LatchRows {
  status: PhaseCompletionStatusRow | null;
  executionLog: PhaseExecutionLogRow | null;
}

/**
 * The BigQuery rows a latch owes, written by one call only (no DML per completion): the aggregate by
 * the call that latched, the execution log by the call that published, and both by the redelivery of
 * a message whose call recorded that it could not write them.
 */
export function latchRowsOwed(
  transition: Transition,
  publisher: { functionName: string; codeHash: string },
  c: ResolvedCompletion,
  doc: PhaseStateDoc | null,
  decision: Decision | null,
  trigger: TriggerOutcome | null,
  latchedHere: boolean,
): LatchRows {
  if (doc === null || doc.trigger === null || decision === null) return { status: null, executionLog: null };
  const owedToMe = doc.trigger.rowsOwedBy === c.messageId;
  const published = trigger?.state === "published";
  // This call's publish went out, even if marking it published then failed: the row is the record of
  // that publish which every republisher checks before sending the trigger again.
  const wentOutHere = trigger?.publishedNow === true || trigger?.failedStep === "mark";
  // A claimed republish by another call (the latching call failed or died): the latch's aggregate row
  // may never have been written, so the call whose publish went out writes it too (one idempotent MERGE).
  const status = latchedHere || owedToMe ? statusRowOf(doc, transition, decision) : wentOutHere ? latchedStatusRowOf(doc, transition) : null;
  return {
    status,
    executionLog: wentOutHere || (published && owedToMe) ? executionLogRowOf(doc, transition, publisher) : null,
  };
}

/**
 * Writes the latch rows owed, then the completion row (unless `completion` is false); the outcome,
 * never a throw. The latch rows go first so a failure among them leaves the completion row to the
 * redelivery (one insert), and `latchRowsWritten` says whether the redelivery still owes them: a row
 * written again more than a minute later is past BigQuery's insert-id de-duplication.
 */
export async function writeCompletionRows(
  sink: CompletionSink,
  transition: Transition,
  c: ResolvedCompletion,
  latchMode: string,
  raw: RawFacts,
  now: Date,
  rows: LatchRows,
  completion: boolean,
): Promise<StoreOutcome & { latchRowsWritten: boolean }> {
  let latchRowsWritten = false;
  try {
    if (rows.status !== null) await sink.upsertStatus(rows.status);
    if (rows.executionLog !== null) await sink.insertExecutionLog(rows.executionLog);
    latchRowsWritten = true;
    if (completion) await sink.insertCompletion(completionRecordOf(transition, c.gameDate, latchMode, c, now.toISOString(), raw));
    return { ok: true, latchRowsWritten };
  } catch (error) {
    return { ...failed(error), latchRowsWritten };
  }
}
