// ALL SQL text the runtime sends to BigQuery, in one place. Values travel only as named query
// parameters (@name) with declared types, never interpolated; the only names spliced into the text
// are table references built from validated identifiers. Every statement here is checked by
// test/bigquery/sql.test.ts with node-sql-parser's BigQuery dialect (MERGE: clause by clause,
// since the parser has no MERGE grammar; see tools/bigquery-fake/merge.ts).
import { ConfigurationError, ContractViolationError } from "../core/error-family.ts";
import {
  fieldNames,
  PHASE_COMPLETION_STATUS,
  PHASE_COMPLETIONS,
  PHASE_EXECUTION_LOG,
  type TableDefinition,
} from "../core/tables.ts";

/** Parameter types in the form `@google-cloud/bigquery` takes as `types` (arrays as [elementType]). */
export type SqlParamType = "STRING" | "INT64" | "FLOAT64" | "BOOL" | "DATE" | "TIMESTAMP" | ["STRING"];

export interface SqlStatement {
  sql: string;
  /** Every @parameter the text uses, with its type. */
  types: Record<string, SqlParamType>;
}

export class InvalidIdentifierError extends ConfigurationError {
  override readonly name: string = "InvalidIdentifierError";
}

// Dataset and table names: letters, digits, underscores (BigQuery's own rule, minus unicode).
const DATASET_OR_TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,1023}$/;
// Project ids: lowercase letters, digits, hyphens; optionally domain-scoped ("example.com:proj").
const PROJECT_ID = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

function assertIdentifier(kind: string, value: string, pattern: RegExp): void {
  if (!pattern.test(value)) {
    throw new InvalidIdentifierError(`invalid BigQuery ${kind}: ${JSON.stringify(value)}`);
  }
}

export interface TableLocation {
  projectId: string;
  datasetId: string;
}

/** `project.dataset.table`, backquoted, from validated identifiers only. */
export function tableRef(location: TableLocation, table: TableDefinition | string): string {
  const tableName = typeof table === "string" ? table : table.name;
  assertIdentifier("project id", location.projectId, PROJECT_ID);
  assertIdentifier("dataset id", location.datasetId, DATASET_OR_TABLE);
  assertIdentifier("table name", tableName, DATASET_OR_TABLE);
  return `\`${location.projectId}.${location.datasetId}.${tableName}\``;
}

// ---- phase_completion_status: the aggregate upsert ----

/** The MERGE's parameters; names equal the status table's columns. */
export const STATUS_MERGE_PARAM_TYPES = {
  phase: "STRING",
  transition_id: "STRING",
  game_date: "DATE",
  mode: "STRING",
  expected_count: "INT64",
  complete_count: "INT64",
  complete_processors: ["STRING"],
  triggered: "BOOL",
  trigger_id: "STRING",
  trigger_reason: "STRING",
  updated_at: "TIMESTAMP",
} as const satisfies Record<string, SqlParamType>;

const STATUS_KEY_COLUMNS = ["game_date", "phase", "mode"] as const;

/**
 * Upserts one aggregate row (phase, game_date, mode) from parameters.
 * - The keys are compared with parameters (constants), so BigQuery prunes the target to one
 *   game_date partition instead of scanning the table.
 * - `target.updated_at <= source.updated_at`: a late, older state (a concurrent instance, a
 *   retry that lost a race) never overwrites a newer one; an equal state rewrites idempotently.
 */
export function statusMergeStatement(location: TableLocation): SqlStatement {
  const columns = fieldNames(PHASE_COMPLETION_STATUS);
  const declared = Object.keys(STATUS_MERGE_PARAM_TYPES);
  if (columns.join(",") !== declared.join(",")) {
    // Guards the one-schema rule: a column added to tables.ts must be added to the MERGE too.
    throw new ContractViolationError(`status MERGE parameters (${declared.join(", ")}) differ from the table (${columns.join(", ")})`);
  }
  const nonKey = columns.filter((c) => !(STATUS_KEY_COLUMNS as readonly string[]).includes(c));
  const sql = [
    `MERGE ${tableRef(location, PHASE_COMPLETION_STATUS)} AS target`,
    `USING (SELECT ${columns.map((c) => `@${c} AS ${c}`).join(", ")}) AS source`,
    `ON ${STATUS_KEY_COLUMNS.map((c) => `target.${c} = @${c}`).join(" AND ")}`,
    `WHEN MATCHED AND target.updated_at <= source.updated_at THEN`,
    `  UPDATE SET ${nonKey.map((c) => `${c} = source.${c}`).join(", ")}`,
    `WHEN NOT MATCHED THEN`,
    `  INSERT (${columns.join(", ")}) VALUES (${columns.map((c) => `source.${c}`).join(", ")})`,
  ].join("\n");
  return { sql, types: { ...STATUS_MERGE_PARAM_TYPES } };
}

// ---- reads ----

export interface DateRangeFilter {
  /** Restrict to one transition; omit for all. */
  withTransition: boolean;
}

/**
 * The reconciler's read: phase_completions rows of a game-date range (inclusive), optionally of
 * one transition. The game_date filter prunes partitions.
 */
export function completionsSelectStatement(location: TableLocation, filter: DateRangeFilter): SqlStatement {
  const where = ["game_date BETWEEN @from_date AND @to_date"];
  const types: Record<string, SqlParamType> = { from_date: "DATE", to_date: "DATE" };
  if (filter.withTransition) {
    where.push("transition_id = @transition_id");
    types["transition_id"] = "STRING";
  }
  const sql = [
    `SELECT ${fieldNames(PHASE_COMPLETIONS).join(", ")}`,
    `FROM ${tableRef(location, PHASE_COMPLETIONS)}`,
    `WHERE ${where.join(" AND ")}`,
    `ORDER BY game_date, transition_id, processor_name, recorded_at`,
  ].join("\n");
  return { sql, types };
}

/** Trigger ids of the execution-log rows of a game-date range (inclusive): the reconciler's check. */
export function executionLogTriggerIdsStatement(location: TableLocation): SqlStatement {
  const sql = [
    `SELECT trigger_id`,
    `FROM ${tableRef(location, PHASE_EXECUTION_LOG)}`,
    `WHERE game_date BETWEEN @from_date AND @to_date`,
  ].join("\n");
  return { sql, types: { from_date: "DATE", to_date: "DATE" } };
}

/** Trigger ids named by the aggregate rows of a game-date range (inclusive): the reconciler's check. */
export function statusTriggerIdsStatement(location: TableLocation): SqlStatement {
  const sql = [
    `SELECT trigger_id`,
    `FROM ${tableRef(location, PHASE_COMPLETION_STATUS)}`,
    `WHERE game_date BETWEEN @from_date AND @to_date`,
  ].join("\n");
  return { sql, types: { from_date: "DATE", to_date: "DATE" } };
}

/** Aggregate rows of a game-date range (inclusive), optionally of one phase. */
export function statusSelectStatement(location: TableLocation, filter: { withPhase: boolean }): SqlStatement {
  const where = ["game_date BETWEEN @from_date AND @to_date"];
  const types: Record<string, SqlParamType> = { from_date: "DATE", to_date: "DATE" };
  if (filter.withPhase) {
    where.push("phase = @phase");
    types["phase"] = "STRING";
  }
  const sql = [
    `SELECT ${fieldNames(PHASE_COMPLETION_STATUS).join(", ")}`,
    `FROM ${tableRef(location, PHASE_COMPLETION_STATUS)}`,
    `WHERE ${where.join(" AND ")}`,
    `ORDER BY game_date, phase, mode`,
  ].join("\n");
  return { sql, types };
}
