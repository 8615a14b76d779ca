// The orchestration dataset in BigQuery, as the runtime uses it (real @google-cloud/bigquery client):
// completion rows by insertAll with deterministic insertIds, the aggregate by MERGE, the execution log,
// the reconciler's read and a dataset health check. Rows are built from functions/core/tables.ts (one
// schema definition); SQL text comes only from bigquery-sql.ts. Every failure is thrown to the caller
// after the retry policy (withRetry, which retries only isTransient errors) gave up.
import { BigQuery, type BigQueryOptions } from "@google-cloud/bigquery";
import { PassThroughClient } from "google-auth-library";
import { buildCompletionRow, type CompletionRecord } from "../core/completion-row.ts";
import {
  executionLogInsertId,
  PHASE_COMPLETION_STATUS,
  PHASE_COMPLETIONS,
  PHASE_EXECUTION_LOG,
  type PhaseCompletionRow,
  type PhaseCompletionStatusRow,
  type PhaseExecutionLogRow,
  type TableDefinition,
} from "../core/tables.ts";
import {
  completionsSelectStatement,
  executionLogTriggerIdsStatement,
  statusTriggerIdsStatement,
  type SqlParamType,
  type SqlStatement,
  STATUS_MERGE_PARAM_TYPES,
  statusMergeStatement,
  type TableLocation,
} from "./bigquery-sql.ts";
import type { Logger } from "./logger.ts";
import { ContractViolationError, OrchestrationError, type ErrorCategory } from "../core/error-family.ts";
import { isTransient } from "./errors.ts";
import { EVENT_RETRY_PLAN, type RetryPreset, withRetry, type WithRetryOptions } from "./retry.ts";

// ---- client ----

export interface BigQueryClientConfig {
  projectId: string;
  location?: string;
  /**
   * A local BigQuery endpoint (the wire-level fake), from configuration only. Requests to it are
   * sent without credentials (PassThroughClient): there is no token to fetch locally.
   */
  apiEndpoint?: string;
}

/**
 * The client as the store expects it: the client's own auto-retry is OFF, so withRetry is the one
 * retry policy (attempts, backoff and budget as in retry.ts, instead of up to 4 x 3 requests).
 */
export function createBigQueryClient(config: BigQueryClientConfig): BigQuery {
  const options: BigQueryOptions = {
    projectId: config.projectId,
    retryOptions: { autoRetry: false },
    ...(config.location ? { location: config.location } : {}),
    ...(config.apiEndpoint ? { apiEndpoint: config.apiEndpoint, authClient: new PassThroughClient() } : {}),
  };
  return new BigQuery(options);
}

// ---- rows ----

// One builder of the completion row for every writer (functions/core/completion-row.ts).
export { buildCompletionRow, type CompletionRecord } from "../core/completion-row.ts";

/** The aggregate of one phase, game date and mode: exactly the status table's columns. */
export type StatusAggregate = PhaseCompletionStatusRow;

export type ExecutionLogRecord = PhaseExecutionLogRow;

/** Query parameters of the status MERGE, typed for the client (DATE/TIMESTAMP wrapped). */
export function buildStatusParams(aggregate: StatusAggregate): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const name of Object.keys(STATUS_MERGE_PARAM_TYPES) as (keyof typeof STATUS_MERGE_PARAM_TYPES)[]) {
    params[name] = aggregate[name] ?? null;
  }
  return toClientParams(params, STATUS_MERGE_PARAM_TYPES);
}

function toClientParams(values: Record<string, unknown>, types: Record<string, SqlParamType>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    const type = types[name];
    if (type === undefined) throw new ContractViolationError(`query parameter @${name} has no declared type`);
    // The client sends DATE/TIMESTAMP values only when wrapped (a bare string would go as undefined).
    if (value !== null && type === "DATE") out[name] = BigQuery.date(String(value));
    else if (value !== null && type === "TIMESTAMP") out[name] = BigQuery.timestamp(String(value));
    else out[name] = value;
  }
  return out;
}

/** A query result row (client types: BigQueryDate, BigQueryTimestamp) back to plain row values. */
function plainValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainValue);
  if (value !== null && typeof value === "object" && "value" in value) return (value as { value: unknown }).value;
  return value;
}

// ---- errors ----

interface RowError {
  reason?: string;
  message?: string;
  location?: string;
}

/** insertAll answered 200 but rejected rows. Carries the per-row errors so isTransient can read their reasons. */
export class BigQueryInsertError extends OrchestrationError {
  override readonly name: string = "BigQueryInsertError";
  readonly table: string;
  /** [{ row, errors: [{ reason, message }] }] as the client reports them. */
  readonly errors: unknown[];
  constructor(table: string, errors: unknown[], rawInsertErrors: unknown, cause: unknown) {
    super(`insertAll into ${table} rejected rows: ${describeRowErrors(errors, rawInsertErrors)}`, { cause });
    this.table = table;
    this.errors = errors;
  }

  /** Transient when a rejected row's reason is (backendError, rateLimitExceeded, ...). */
  get category(): ErrorCategory {
    return isTransient(this) ? "transient" : "permanent";
  }
}

/** Reason, column and message of each rejected row (the column only survives in the raw response). */
function describeRowErrors(errors: unknown[], rawInsertErrors: unknown): string {
  const source = Array.isArray(rawInsertErrors) ? rawInsertErrors : errors;
  return source
    .flatMap((e) => ((e as { errors?: RowError[] }).errors ?? []))
    .filter((e) => e.reason !== "stopped")
    .map((e) => `${e.reason ?? "?"}${e.location ? ` (${e.location})` : ""}: ${e.message ?? ""}`)
    .join("; ");
}

/**
 * BigQuery runs a couple of mutating DML statements per table at once and queues about 20 more;
 * beyond that a statement fails with 400 resourcesExceeded "Too many DML statements outstanding
 * against table ...". The queue drains within seconds, so it is worth a retry with backoff, though a
 * 400 is otherwise final.
 */
export function isDmlQueueFull(err: unknown): boolean {
  const message = err instanceof Error ? err.message : "";
  return /too many DML statements outstanding against table/i.test(message);
}

/** What a DML statement retries: the transient errors, and a full DML queue. */
export function isRetryableDmlError(err: unknown): boolean {
  return isTransient(err) || isDmlQueueFull(err);
}

function isPartialFailure(err: unknown): err is Error & { errors: unknown[]; response?: { insertErrors?: unknown } } {
  return err instanceof Error && err.name === "PartialFailureError" && Array.isArray((err as { errors?: unknown }).errors);
}

// ---- store ----

export type BigQueryOperationKind = "insertAll" | "dml" | "query" | "metadata";

/** One API call the store made (every attempt counts: each is a billed/quota-counted operation). */
export interface BigQueryOperation {
  kind: BigQueryOperationKind;
  table: string;
  attempt: number;
  rows?: number;
}

export interface BigQueryMetrics {
  onOperation(op: BigQueryOperation): void;
}

export interface BigQueryStoreOptions {
  bigquery: BigQuery;
  projectId: string;
  datasetId: string;
  logger?: Logger;
  metrics?: BigQueryMetrics;
  /** Retry presets (defaults: the event plan's, retry.ts EVENT_RETRY_PLAN); tests shrink the delays. */
  retry?: {
    insert?: RetryPreset;
    merge?: RetryPreset;
    read?: RetryPreset;
    /** Passed to every withRetry call (e.g. an injected runtime in tests). */
    options?: WithRetryOptions;
  };
}

export interface CompletionQuery {
  transitionId?: string;
  /** YYYY-MM-DD, inclusive */
  fromDate: string;
  /** YYYY-MM-DD, inclusive */
  toDate: string;
}

export interface BigQueryStore {
  /** insertAll of one completion row with its deterministic insertId; returns that id. */
  insertCompletion(record: CompletionRecord): Promise<{ insertId: string }>;
  /** MERGE of the aggregate (keyed by phase, game_date, mode; never overwritten by an older updated_at). */
  upsertStatus(aggregate: StatusAggregate): Promise<void>;
  /** insertAll of one execution-log row, de-duplicated by trigger_id. */
  insertExecutionLog(record: ExecutionLogRecord): Promise<{ insertId: string }>;
  /** The reconciler's read: completion rows of a game-date range, optionally of one transition. */
  listCompletions(query: CompletionQuery): Promise<PhaseCompletionRow[]>;
  /** The dataset exists and is readable (datasets.get, retried as an insert). Throws otherwise. */
  checkDataset(): Promise<void>;
}

/** The reconciler's check of the execution log (not on an orchestrator's path). */
export interface ExecutionLogReader {
  /** Trigger ids that have a phase_execution_log row, in a game-date range (inclusive). */
  listExecutionLogTriggerIds(range: { fromDate: string; toDate: string }): Promise<Set<string>>;
}

/** The reconciler's check of the aggregate (not on an orchestrator's path). */
export interface StatusReader {
  /** Trigger ids that have a phase_completion_status row, in a game-date range (inclusive). */
  listStatusTriggerIds(range: { fromDate: string; toDate: string }): Promise<Set<string>>;
}

export function createBigQueryStore(options: BigQueryStoreOptions): BigQueryStore & ExecutionLogReader & StatusReader {
  const { bigquery, projectId, datasetId, logger, metrics } = options;
  const location: TableLocation = { projectId, datasetId };
  // Built once: validates the identifiers at construction, so a bad dataset name fails at start-up.
  const mergeStatement = statusMergeStatement(location);
  const insertPreset = options.retry?.insert ?? EVENT_RETRY_PLAN.insertCompletion.preset;
  const mergePreset = options.retry?.merge ?? EVENT_RETRY_PLAN.upsertStatus.preset;
  // Reads are the scheduled jobs' (not on an orchestrator event's path): the DML preset's bounds.
  const readPreset = options.retry?.read ?? EVENT_RETRY_PLAN.upsertStatus.preset;
  const retryOptions: WithRetryOptions = { ...(logger ? { logger } : {}), ...options.retry?.options };
  const dataset = bigquery.dataset(datasetId);

  const count = (op: BigQueryOperation) => metrics?.onOperation(op);

  async function insertRow(op: string, table: TableDefinition, insertId: string, json: Record<string, unknown>): Promise<void> {
    await withRetry(
      op,
      async (attempt) => {
        count({ kind: "insertAll", table: table.name, attempt, rows: 1 });
        try {
          // raw: our insertId, not a random one; partialRetries 0: withRetry is the only retry policy.
          await dataset.table(table.name).insert([{ insertId, json }], { raw: true, partialRetries: 0 });
        } catch (err) {
          if (isPartialFailure(err)) {
            throw new BigQueryInsertError(`${datasetId}.${table.name}`, err.errors, err.response?.insertErrors, err);
          }
          throw err;
        }
      },
      insertPreset,
      retryOptions,
    );
  }

  async function runQuery(op: string, kind: "dml" | "query", table: string, statement: SqlStatement, params: Record<string, unknown>, preset: RetryPreset) {
    const options: WithRetryOptions = kind === "dml" ? { ...retryOptions, retryable: isRetryableDmlError } : retryOptions;
    return withRetry(
      op,
      async (attempt) => {
        count({ kind, table, attempt });
        const [rows] = await bigquery.query({ query: statement.sql, params, types: statement.types });
        return rows as Record<string, unknown>[];
      },
      preset,
      options,
    );
  }

  return {
    async insertCompletion(record) {
      const row = buildCompletionRow(record);
      await insertRow("bigquery.insertCompletion", PHASE_COMPLETIONS, row.insert_id, row);
      logger?.debug("completion row inserted", { table: PHASE_COMPLETIONS.name, insert_id: row.insert_id });
      return { insertId: row.insert_id };
    },

    async upsertStatus(aggregate) {
      await runQuery("bigquery.upsertStatus", "dml", "phase_completion_status", mergeStatement, buildStatusParams(aggregate), mergePreset);
    },

    async insertExecutionLog(record) {
      const insertId = executionLogInsertId(record.trigger_id);
      await insertRow("bigquery.insertExecutionLog", PHASE_EXECUTION_LOG, insertId, { ...record });
      return { insertId };
    },

    async listCompletions(query) {
      const statement = completionsSelectStatement(location, { withTransition: query.transitionId !== undefined });
      const values: Record<string, unknown> = { from_date: query.fromDate, to_date: query.toDate };
      if (query.transitionId !== undefined) values["transition_id"] = query.transitionId;
      const rows = await runQuery("bigquery.listCompletions", "query", PHASE_COMPLETIONS.name, statement, toClientParams(values, statement.types), readPreset);
      return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plainValue(v)])) as PhaseCompletionRow);
    },

    async listExecutionLogTriggerIds(range) {
      const statement = executionLogTriggerIdsStatement(location);
      const params = toClientParams({ from_date: range.fromDate, to_date: range.toDate }, statement.types);
      const rows = await runQuery("bigquery.listExecutionLogTriggerIds", "query", PHASE_EXECUTION_LOG.name, statement, params, readPreset);
      return new Set(rows.map((row) => String(row["trigger_id"])));
    },

    async listStatusTriggerIds(range) {
      const statement = statusTriggerIdsStatement(location);
      const params = toClientParams({ from_date: range.fromDate, to_date: range.toDate }, statement.types);
      const rows = await runQuery("bigquery.listStatusTriggerIds", "query", PHASE_COMPLETION_STATUS.name, statement, params, readPreset);
      // A row of a latch that has not triggered names no trigger.
      return new Set(rows.flatMap((row) => (row["trigger_id"] === null || row["trigger_id"] === undefined ? [] : [String(row["trigger_id"])])));
    },

    async checkDataset() {
      // Retried like an insert: the tracker asks this in an insert's place when Firestore failed, and a
      // blip must not read as BigQuery being out too (a CRITICAL).
      await withRetry(
        "bigquery.checkDataset",
        async (attempt) => {
          count({ kind: "metadata", table: "", attempt });
          await dataset.getMetadata();
        },
        insertPreset,
        retryOptions,
      );
    },
  };
}
