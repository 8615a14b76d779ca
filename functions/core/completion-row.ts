// The one builder of a phase_completions row. The orchestrator writes one per completion message and
// the reconciler writes one per Firestore entry BigQuery lacks; both build it here, so the columns and
// the deterministic insert id can never disagree between the two writers. Pure.
import type { CompletionStatus, Transition } from "./pipeline-types.ts";
import { completionInsertId, type PhaseCompletionRow } from "./tables.ts";

/** A completion row before its insert id; metadata may still be the message's object. */
export type CompletionRecord = Omit<PhaseCompletionRow, "insert_id" | "metadata"> & {
  /** The message's metadata object (serialised to JSON text by buildCompletionRow), or JSON text already. */
  metadata?: Record<string, unknown> | string | null;
};

/** What both writers know of one completion (a resolved message, or a phase-state entry). */
export interface CompletionRowSource {
  processor: string;
  reportedName: string;
  status: CompletionStatus;
  executionId: string;
  correlationId: string;
  completedAt: string;
  messageId: string;
  completionPct?: number | undefined;
}

/** Facts of the message that only BigQuery keeps (absent when the row is rebuilt from Firestore). */
export interface CompletionFacts {
  recordCount?: number | undefined;
  recordsFailed?: number | undefined;
  durationSeconds?: number | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** The record of one completion of `transition` for a game date and latch mode, recorded at `recordedAt`. */
export function completionRecordOf(
  transition: Pick<Transition, "id" | "phaseWireName">,
  gameDate: string,
  mode: string,
  c: CompletionRowSource,
  recordedAt: string,
  facts: CompletionFacts = {},
): CompletionRecord {
  return {
    phase: transition.phaseWireName,
    transition_id: transition.id,
    game_date: gameDate,
    mode,
    processor_name: c.processor,
    reported_name: c.reportedName,
    status: c.status,
    execution_id: c.executionId,
    correlation_id: c.correlationId,
    completed_at: c.completedAt,
    recorded_at: recordedAt,
    record_count: facts.recordCount ?? null,
    records_failed: facts.recordsFailed ?? null,
    duration_seconds: facts.durationSeconds ?? null,
    completion_pct: c.completionPct ?? null,
    message_id: c.messageId,
    metadata: facts.metadata ?? null,
  };
}

type InsertIdFields = Pick<PhaseCompletionRow, "transition_id" | "game_date" | "mode" | "processor_name" | "execution_id" | "status" | "completion_pct">;

/**
 * The row's deterministic insert id. The status is part of the run's identity: a run that reports
 * failed and then success under one execution id is two rows, not a duplicate. A re-report of one
 * batch with new progress (completion_pct) is another fact, not a redelivery.
 */
export function completionRowInsertId(row: InsertIdFields): string {
  const pct = row.completion_pct === null || row.completion_pct === undefined ? "" : `/${row.completion_pct}`;
  return completionInsertId(row.transition_id, row.game_date, row.mode, row.processor_name, `${row.execution_id}/${row.status}${pct}`);
}

/** The completion row as inserted: the one place that turns a record into a table row. */
export function buildCompletionRow(record: CompletionRecord): PhaseCompletionRow {
  const { metadata, ...rest } = record;
  return {
    ...rest,
    insert_id: completionRowInsertId(record),
    metadata: metadata === undefined || metadata === null ? null : typeof metadata === "string" ? metadata : JSON.stringify(metadata),
  };
}
