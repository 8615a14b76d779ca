// The BigQuery tables of the orchestration dataset: ONE schema definition. Infra declares the
// tables from it (toBigQuerySchemaJson, timePartitioning, clustering); the runtime types and
// builds its rows from it (RowOf). Pure: no cloud client, no Pulumi, no I/O.
import { createHash } from "node:crypto";

/** Default dataset name; the stack config may override it. */
export const DEFAULT_DATASET_ID = "nba_orchestration";

// The API's canonical type names: tables.get returns these, so declaring them avoids a
// perpetual INT64 -> INTEGER diff in `pulumi preview`.
export const FIELD_TYPES = ["STRING", "INTEGER", "FLOAT", "BOOLEAN", "DATE", "TIMESTAMP"] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
export type FieldMode = "NULLABLE" | "REQUIRED" | "REPEATED";

export interface TableField {
  readonly name: string;
  readonly type: FieldType;
  readonly mode: FieldMode;
  readonly description: string;
}

export interface TimePartitioning {
  readonly type: "DAY";
  readonly field: string;
  readonly expirationMs?: number;
}

export interface TableDefinition<F extends readonly TableField[] = readonly TableField[]> {
  readonly name: string;
  readonly description: string;
  readonly fields: F;
  readonly timePartitioning: TimePartitioning;
  readonly clustering: readonly string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Execution-log partitions expire after 90 days: the log is for recent operations, the aggregate keeps the history. */
export const EXECUTION_LOG_PARTITION_EXPIRY_MS = 90 * DAY_MS;

const f = <const N extends string, const T extends FieldType, const M extends FieldMode>(
  name: N,
  type: T,
  mode: M,
  description: string,
) => ({ name, type, mode, description }) as const;

const PHASE_COMPLETIONS_FIELDS = [
  f("phase", "STRING", "REQUIRED", "Phase wire name from the completion message, e.g. phase_3_analytics."),
  f("transition_id", "STRING", "REQUIRED", "Transition this completion feeds, e.g. phase3-to-phase4."),
  f("game_date", "DATE", "REQUIRED", "Game date the processor ran for (partition column)."),
  f("mode", "STRING", "REQUIRED", "Latch mode: overnight, same_day, tomorrow or daily."),
  f("processor_name", "STRING", "REQUIRED", "Expected processor name the reported name resolved to."),
  f("reported_name", "STRING", "REQUIRED", "processor_name exactly as the publisher sent it (class name)."),
  f("status", "STRING", "REQUIRED", "success, partial, no_data, failed or skipped."),
  f("execution_id", "STRING", "REQUIRED", "The processor's run id."),
  f("correlation_id", "STRING", "REQUIRED", "Correlation id carried through the pipeline."),
  f("completed_at", "TIMESTAMP", "REQUIRED", "When the processor said it completed (message timestamp)."),
  f("recorded_at", "TIMESTAMP", "REQUIRED", "When the orchestrator recorded the completion."),
  f("record_count", "INTEGER", "NULLABLE", "Rows the processor wrote, if reported."),
  f("records_failed", "INTEGER", "NULLABLE", "Rows the processor failed on, if reported."),
  f("duration_seconds", "FLOAT", "NULLABLE", "Processor run time, if reported."),
  f("completion_pct", "FLOAT", "NULLABLE", "Phase 5 coordinator: metadata.completion_pct (0-100)."),
  f("message_id", "STRING", "NULLABLE", "Pub/Sub message id of the delivery that recorded this row."),
  f("insert_id", "STRING", "REQUIRED", "Deterministic insertAll id (completionInsertId) used for de-duplication."),
  f("metadata", "STRING", "NULLABLE", "The message's metadata object, as JSON text."),
] as const;

const PHASE_COMPLETION_STATUS_FIELDS = [
  f("phase", "STRING", "REQUIRED", "Phase wire name, e.g. phase_3_analytics."),
  f("transition_id", "STRING", "REQUIRED", "Transition the aggregate belongs to."),
  f("game_date", "DATE", "REQUIRED", "Game date (partition column)."),
  f("mode", "STRING", "REQUIRED", "Latch mode: overnight, same_day, tomorrow or daily."),
  f("expected_count", "INTEGER", "REQUIRED", "Number of expected processors for this phase, date and mode."),
  f("complete_count", "INTEGER", "REQUIRED", "Number of expected processors complete (success or partial)."),
  f("complete_processors", "STRING", "REPEATED", "Expected names of the complete processors."),
  f("triggered", "BOOLEAN", "REQUIRED", "Whether the next phase has been triggered."),
  f("trigger_id", "STRING", "NULLABLE", "Deterministic trigger id once triggered."),
  f("trigger_reason", "STRING", "NULLABLE", "Why the trigger fired (or the current waiting reason)."),
  f("updated_at", "TIMESTAMP", "REQUIRED", "Time of the state this row reflects; older states never overwrite newer."),
] as const;

const PHASE_EXECUTION_LOG_FIELDS = [
  f("trigger_id", "STRING", "REQUIRED", "Deterministic trigger id (the next phase de-duplicates on it)."),
  f("transition_id", "STRING", "REQUIRED", "Transition that triggered, e.g. phase4-to-phase5."),
  f("from_phase", "INTEGER", "REQUIRED", "Phase number that completed."),
  f("to_phase", "INTEGER", "REQUIRED", "Phase number that was triggered."),
  f("game_date", "DATE", "REQUIRED", "Game date (partition column)."),
  f("mode", "STRING", "REQUIRED", "Latch mode: overnight, same_day, tomorrow or daily."),
  f("trigger_reason", "STRING", "REQUIRED", "e.g. all_complete, tier_1_60min_4of5, critical_plus_majority_60pct."),
  f("degraded", "BOOLEAN", "REQUIRED", "True when the trigger fired on less than everything."),
  f("correlation_id", "STRING", "REQUIRED", "Correlation id carried into the trigger."),
  f("expected_processors", "STRING", "REPEATED", "Expected processor names."),
  f("complete_processors", "STRING", "REPEATED", "Processors complete when the trigger fired."),
  f("missing_processors", "STRING", "REPEATED", "Expected processors not complete when the trigger fired."),
  f("function_name", "STRING", "REQUIRED", "Orchestrator function that published the trigger."),
  f("code_hash", "STRING", "REQUIRED", "sha256 of the deployed bundle of that function."),
  f("triggered_at", "TIMESTAMP", "REQUIRED", "When the trigger was decided."),
] as const;

export const PHASE_COMPLETIONS = {
  name: "phase_completions",
  description: "One row per processor completion recorded by an orchestrator.",
  fields: PHASE_COMPLETIONS_FIELDS,
  timePartitioning: { type: "DAY", field: "game_date" },
  clustering: ["phase", "processor_name"],
} as const satisfies TableDefinition;

export const PHASE_COMPLETION_STATUS = {
  name: "phase_completion_status",
  description: "Aggregate completion state, one row per phase, game date and mode (upserted by MERGE).",
  fields: PHASE_COMPLETION_STATUS_FIELDS,
  timePartitioning: { type: "DAY", field: "game_date" },
  clustering: ["phase", "mode"],
} as const satisfies TableDefinition;

export const PHASE_EXECUTION_LOG = {
  name: "phase_execution_log",
  description: "One row per trigger published to the next phase.",
  fields: PHASE_EXECUTION_LOG_FIELDS,
  timePartitioning: { type: "DAY", field: "game_date", expirationMs: EXECUTION_LOG_PARTITION_EXPIRY_MS },
  clustering: ["transition_id"],
} as const satisfies TableDefinition;

/** Every table of the orchestration dataset, in declaration order. */
export const ORCHESTRATION_TABLES: readonly TableDefinition[] = [
  PHASE_COMPLETIONS,
  PHASE_COMPLETION_STATUS,
  PHASE_EXECUTION_LOG,
];

// ---- Row types derived from the field lists (so a column added above is a type error below) ----

interface FieldValueTypes {
  STRING: string;
  INTEGER: number;
  FLOAT: number;
  BOOLEAN: boolean;
  /** YYYY-MM-DD */
  DATE: string;
  /** ISO 8601 / RFC 3339 */
  TIMESTAMP: string;
}

type ValueOf<F extends TableField> = F["mode"] extends "REPEATED"
  ? FieldValueTypes[F["type"]][]
  : FieldValueTypes[F["type"]];

type Simplify<T> = { [K in keyof T]: T[K] };

/** The JSON row insertAll takes for a table: REQUIRED fields required, NULLABLE optional or null. */
export type RowOf<Fs extends readonly TableField[]> = Simplify<
  { [F in Fs[number] as F["mode"] extends "NULLABLE" ? never : F["name"]]: ValueOf<F> } & {
    [F in Fs[number] as F["mode"] extends "NULLABLE" ? F["name"] : never]?: ValueOf<F> | null;
  }
>;

export type PhaseCompletionRow = RowOf<typeof PHASE_COMPLETIONS_FIELDS>;
export type PhaseCompletionStatusRow = RowOf<typeof PHASE_COMPLETION_STATUS_FIELDS>;
export type PhaseExecutionLogRow = RowOf<typeof PHASE_EXECUTION_LOG_FIELDS>;

// ---- Infra view ----

/** The JSON string the gcp provider's `bigquery.Table` `schema` input takes. */
export function toBigQuerySchemaJson(table: TableDefinition): string {
  return JSON.stringify(
    table.fields.map(({ name, type, mode, description }) => ({ name, type, mode, description })),
  );
}

/** Column names of a table, in schema order. */
export function fieldNames(table: TableDefinition): string[] {
  return table.fields.map((field) => field.name);
}

// ---- De-duplication ids ----

/** insertAll ids are limited to 128 characters. */
export const MAX_INSERT_ID_LENGTH = 128;

function sha256Id(kind: string, parts: readonly string[]): string {
  // Length-prefixed parts so ("a|b","c") and ("a","b|c") never collide.
  const canonical = parts.map((part) => `${part.length}:${part}`).join("|");
  return `${kind}-${createHash("sha256").update(canonical).digest("hex")}`;
}

/**
 * Deterministic insertId of one completion: a redelivery of the same message (same processor
 * run for the same transition, date and mode) gets the same id, so BigQuery's best-effort
 * de-duplication drops it.
 */
export function completionInsertId(
  transitionId: string,
  gameDate: string,
  mode: string,
  processor: string,
  executionId: string,
): string {
  return sha256Id("c", [transitionId, gameDate, mode, processor, executionId]);
}

/** Deterministic insertId of one execution-log row: one row per trigger id. */
export function executionLogInsertId(triggerId: string): string {
  return sha256Id("t", [triggerId]);
}
