// The BigQuery store with the real client against the wire-level fake: de-duplication, the MERGE
// upsert, retries of transient faults (injected at the HTTP level), loud schema errors, the
// reconciler's read, health, operation counting, and the one-schema-definition rule.
import assert from "node:assert/strict";
import fc from "fast-check";
import { PHASE_COMPLETION_STATUS, PHASE_COMPLETIONS, PHASE_EXECUTION_LOG } from "../../functions/core/tables.ts";
import {
  BigQueryInsertError,
  type BigQueryOperation,
  type BigQueryStore,
  buildCompletionRow,
  buildStatusParams,
  type CompletionRecord,
  createBigQueryStore,
  type ExecutionLogRecord,
} from "../../functions/lib/bigquery-store.ts";
import { isTransient } from "../../functions/lib/errors.ts";
import { statusMergeStatement } from "../../functions/lib/bigquery-sql.ts";
import { dmlQueueFullMessage } from "../../tools/bigquery-fake/dml-scheduler.ts";
import { captureLogs, type LogCapture } from "../../functions/lib/logger.ts";
import { RetryGaveUpError, type RetryGaveUp } from "../../functions/lib/retry.ts";
import {
  DATASET_ID,
  FAST_RETRY,
  type FakeContext,
  PROJECT_ID,
  reprovision,
  sampleAggregate,
  sampleCompletion,
  startProvisionedFake,
} from "./helpers.ts";

/** A store call's rejection: what withRetry threw, the dependency's own error (its cause) and the retry's bookkeeping. */
interface Rejection {
  thrown: unknown;
  cause: Error & { code?: unknown };
  attempts: number | undefined;
  gaveUp: RetryGaveUp | undefined;
}

async function rejection(promise: Promise<unknown>): Promise<Rejection> {
  try {
    await promise;
  } catch (err) {
    const retried = err instanceof RetryGaveUpError ? err : undefined;
    return { thrown: err, cause: (retried?.cause ?? err) as Error & { code?: unknown }, attempts: retried?.attempts, gaveUp: retried?.gaveUp };
  }
  assert.fail("expected the call to fail");
}

function sampleExecutionLog(overrides: Partial<ExecutionLogRecord> = {}): ExecutionLogRecord {
  return {
    trigger_id: "phase3-to-phase4:2026-01-15:overnight",
    transition_id: "phase3-to-phase4",
    from_phase: 3,
    to_phase: 4,
    game_date: "2026-01-15",
    mode: "overnight",
    trigger_reason: "critical_plus_majority_60pct",
    degraded: true,
    correlation_id: "a1b2c3d4",
    expected_processors: ["player_game_summary", "team_defense_game_summary", "team_offense_game_summary"],
    complete_processors: ["player_game_summary", "team_defense_game_summary"],
    missing_processors: ["team_offense_game_summary"],
    function_name: "phase3-to-phase4-orchestrator",
    code_hash: "0".repeat(64),
    triggered_at: "2026-01-16T09:13:00.000000Z",
    ...overrides,
  };
}

describe("BigQuery store (real client -> wire-level fake)", () => {
  let ctx: FakeContext;
  let store: BigQueryStore;
  let operations: BigQueryOperation[];
  let logs: LogCapture;

  before(async () => {
    ctx = await startProvisionedFake();
  });
  after(async () => {
    await ctx.fake.stop();
  });
  beforeEach(async () => {
    await reprovision(ctx);
    operations = [];
    logs = captureLogs({ component: "bigquery-store-test" });
    store = createBigQueryStore({
      bigquery: ctx.bigquery,
      projectId: PROJECT_ID,
      datasetId: DATASET_ID,
      logger: logs.logger,
      metrics: { onOperation: (op) => operations.push(op) },
      retry: FAST_RETRY,
    });
  });

  const requestsOf = (api: string) => ctx.fake.requests.filter((r) => r.api === api);

  describe("insertCompletion", () => {
    it("inserting the same completion twice (a redelivery) leaves one row; both calls send the same insertId", async () => {
      const first = await store.insertCompletion(sampleCompletion());
      const second = await store.insertCompletion(sampleCompletion({ recorded_at: "2026-01-16T09:20:00Z", message_id: "redelivered" }));
      assert.equal(first.insertId, second.insertId);
      const rows = ctx.fake.rows(PHASE_COMPLETIONS.name);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.["insert_id"], first.insertId);
      const sentIds = requestsOf("tabledata.insertAll").map((r) => (r.body as { rows: { insertId: string }[] }).rows[0]?.insertId);
      assert.deepEqual(sentIds, [first.insertId, first.insertId]);
    });

    it("another execution of the same processor is another row", async () => {
      await store.insertCompletion(sampleCompletion());
      await store.insertCompletion(sampleCompletion({ execution_id: "e5f6a7b8" }));
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 2);
    });

    it("retries a 503 and succeeds; 503 three times -> throws a transient error after 3 attempts", async () => {
      ctx.fake.injectFault({ method: "insertAll", status: 503, times: 1 });
      await store.insertCompletion(sampleCompletion());
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 1);
      assert.equal(requestsOf("tabledata.insertAll").length, 2);

      ctx.fake.requests.length = 0;
      ctx.fake.injectFault({ method: "insertAll", status: 503, reason: "backendError", times: 3 });
      const err = await rejection(store.insertCompletion(sampleCompletion({ execution_id: "other001" })));
      assert.equal(err.cause.code, 503);
      assert.equal(isTransient(err.thrown), true);
      assert.equal(err.attempts, 3);
      assert.equal(err.gaveUp, "attempts_exhausted");
      assert.equal(requestsOf("tabledata.insertAll").length, 3, "exactly 3 HTTP attempts: the client's own auto-retry is off");
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 1);
      assert.equal(logs.find("WARNING", "retrying bigquery.insertCompletion").length, 3, "each retry logged at WARNING");
    });

    it("a row the schema rejects throws BigQueryInsertError naming the column, at once (not retried)", async () => {
      const broken = { ...sampleCompletion(), record_count: 1.5 } as CompletionRecord;
      const err = await rejection(store.insertCompletion(broken));
      assert.ok(err.cause instanceof BigQueryInsertError, String(err.cause));
      assert.match(err.cause.message, /record_count/);
      assert.match(err.cause.message, /integer/);
      assert.equal(isTransient(err.thrown), false);
      assert.equal(requestsOf("tabledata.insertAll").length, 1);
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 0);
    });

    it("a table that does not exist is a thrown 404, not retried", async () => {
      const other = createBigQueryStore({ bigquery: ctx.bigquery, projectId: PROJECT_ID, datasetId: "missing_dataset", retry: FAST_RETRY });
      const err = await rejection(other.insertCompletion(sampleCompletion()));
      assert.equal(err.cause.code, 404);
      assert.equal(err.attempts, 1);
    });

    it("a refused connection (fake down) is transient: retried, then thrown; works again after restore", async () => {
      await ctx.fake.setDown(true);
      const err = await rejection(store.insertCompletion(sampleCompletion()));
      assert.equal(isTransient(err.thrown), true);
      assert.equal(err.attempts, 3);
      await ctx.fake.setDown(false);
      await store.insertCompletion(sampleCompletion());
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 1);
    });
  });

  describe("upsertStatus (MERGE)", () => {
    it("MERGE twice -> one aggregate row, updated", async () => {
      await store.upsertStatus(sampleAggregate());
      await store.upsertStatus(
        sampleAggregate({
          complete_count: 5,
          complete_processors: ["a", "b", "c", "d", "e"],
          triggered: true,
          trigger_id: "t-1",
          trigger_reason: "all_complete",
          updated_at: "2026-01-16T09:30:00Z",
        }),
      );
      const rows = ctx.fake.rows(PHASE_COMPLETION_STATUS.name);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.["complete_count"], 5);
      assert.equal(rows[0]?.["triggered"], true);
      assert.equal(rows[0]?.["trigger_id"], "t-1");
      assert.equal(rows[0]?.["game_date"], "2026-01-15");
    });

    it("one row per phase + game_date + mode (same-day and overnight runs of a date are separate)", async () => {
      await store.upsertStatus(sampleAggregate({ mode: "overnight" }));
      await store.upsertStatus(sampleAggregate({ mode: "same_day" }));
      await store.upsertStatus(sampleAggregate({ game_date: "2026-01-16" }));
      await store.upsertStatus(sampleAggregate({ mode: "same_day", complete_count: 2, updated_at: "2026-01-16T11:00:00Z" }));
      const rows = ctx.fake.rows(PHASE_COMPLETION_STATUS.name);
      assert.equal(rows.length, 3);
      assert.equal(rows.find((r) => r["mode"] === "same_day")?.["complete_count"], 2);
    });

    it("a late, older aggregate does not overwrite a newer one", async () => {
      await store.upsertStatus(sampleAggregate({ complete_count: 4, updated_at: "2026-01-16T10:00:00Z" }));
      await store.upsertStatus(sampleAggregate({ complete_count: 3, updated_at: "2026-01-16T09:59:59.999999Z" }));
      assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name)[0]?.["complete_count"], 4);
    });

    it("concurrent-update 400 twice, then success -> retried, the row is there (3 DML attempts)", async () => {
      ctx.fake.injectConcurrentUpdate({ datasetId: DATASET_ID, table: PHASE_COMPLETION_STATUS.name, times: 2 });
      await store.upsertStatus(sampleAggregate());
      assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name).length, 1);
      assert.equal(requestsOf("jobs.query").length, 3);
      assert.deepEqual(
        requestsOf("jobs.query").map((r) => r.status),
        [400, 400, 200],
      );
      assert.equal(operations.filter((o) => o.kind === "dml").length, 3);
      const warnings = logs.find("WARNING", "retrying bigquery.upsertStatus");
      assert.equal(warnings.length, 2);
    });

    it("concurrent update on every attempt -> throws after 3 attempts, transient", async () => {
      ctx.fake.injectConcurrentUpdate({ datasetId: DATASET_ID, table: PHASE_COMPLETION_STATUS.name, times: 3 });
      const err = await rejection(store.upsertStatus(sampleAggregate()));
      assert.match(err.cause.message, /Could not serialize access to table .* due to concurrent update/);
      assert.equal(err.attempts, 3);
      assert.equal(isTransient(err.thrown), true);
      assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name).length, 0);
    });

    it("a full DML queue (400 resourcesExceeded, 'Too many DML statements outstanding') is retried with backoff, not thrown at once", async () => {
      ctx.fake.injectFault({
        method: "query",
        status: 400,
        reason: "resourcesExceeded",
        message: dmlQueueFullMessage(`${PROJECT_ID}:${DATASET_ID}.${PHASE_COMPLETION_STATUS.name}`, 20),
        times: 2,
      });
      await store.upsertStatus(sampleAggregate());
      assert.deepEqual(requestsOf("jobs.query").map((r) => r.status), [400, 400, 200]);
      assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name).length, 1);
      assert.equal(logs.find("WARNING", "retrying bigquery.upsertStatus").length, 2);
    });

    it("the fake's own queue overflow: the MERGE waits out other statements by retrying, then lands", async () => {
      ctx.fake.configure({ dml: { maxRunning: 1, maxQueued: 0, durationMs: 1 } });
      const release = ctx.fake.holdDml();
      const statement = statusMergeStatement({ projectId: PROJECT_ID, datasetId: DATASET_ID });
      // Another writer's statement occupies the table's only slot until released.
      const other = ctx.bigquery.query({ query: statement.sql, params: buildStatusParams(sampleAggregate({ game_date: "2026-01-14" })), types: statement.types });
      while (ctx.fake.dmlLoad(`${DATASET_ID}.${PHASE_COMPLETION_STATUS.name}`).running === 0) await new Promise((r) => setTimeout(r, 5));
      const releasing = createBigQueryStore({
        bigquery: ctx.bigquery,
        projectId: PROJECT_ID,
        datasetId: DATASET_ID,
        logger: logs.logger,
        retry: { ...FAST_RETRY, options: { onRetry: () => release() } },
      });
      await releasing.upsertStatus(sampleAggregate());
      await other;
      const statuses = requestsOf("jobs.query").map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 400).length, 1, `one refused attempt, then admitted: ${statuses.join(",")}`);
      assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name).length, 2);
    });

    it("a non-transient query error (400 invalidQuery) is thrown at once", async () => {
      ctx.fake.injectFault({ method: "query", status: 400, reason: "invalidQuery", message: "Syntax error: injected" });
      const err = await rejection(store.upsertStatus(sampleAggregate()));
      assert.equal(err.cause.code, 400);
      assert.equal(err.attempts, 1);
    });
  });

  describe("insertExecutionLog", () => {
    it("one row per trigger id, repeated arrays kept", async () => {
      const first = await store.insertExecutionLog(sampleExecutionLog());
      const again = await store.insertExecutionLog(sampleExecutionLog({ triggered_at: "2026-01-16T09:14:00Z" }));
      await store.insertExecutionLog(sampleExecutionLog({ trigger_id: "phase3-to-phase4:2026-01-15:same_day", mode: "same_day" }));
      assert.equal(first.insertId, again.insertId);
      const rows = ctx.fake.rows(PHASE_EXECUTION_LOG.name);
      assert.equal(rows.length, 2);
      assert.deepEqual(rows[0]?.["missing_processors"], ["team_offense_game_summary"]);
      assert.equal(rows[0]?.["degraded"], true);
    });
  });

  describe("listCompletions (the reconciler's read)", () => {
    it("returns the rows of a date range, optionally of one transition, as plain values", async () => {
      await store.insertCompletion(sampleCompletion({ game_date: "2026-01-14" }));
      await store.insertCompletion(sampleCompletion({ game_date: "2026-01-15" }));
      await store.insertCompletion(sampleCompletion({ game_date: "2026-01-16" }));
      await store.insertCompletion(
        sampleCompletion({ game_date: "2026-01-15", transition_id: "phase4-to-phase5", phase: "phase_4_precompute", processor_name: "player_daily_cache" }),
      );
      const all = await store.listCompletions({ fromDate: "2026-01-15", toDate: "2026-01-16" });
      assert.deepEqual(all.map((r) => [r.game_date, r.transition_id]), [
        ["2026-01-15", "phase3-to-phase4"],
        ["2026-01-15", "phase4-to-phase5"],
        ["2026-01-16", "phase3-to-phase4"],
      ]);
      const one = await store.listCompletions({ transitionId: "phase4-to-phase5", fromDate: "2026-01-01", toDate: "2026-01-31" });
      assert.equal(one.length, 1);
      const [row] = one;
      assert.equal(row?.processor_name, "player_daily_cache");
      assert.equal(typeof row?.completed_at, "string");
      assert.equal(new Date(String(row?.completed_at)).toISOString(), "2026-01-16T09:12:33.123Z");
      assert.equal(row?.record_count, 412);
      assert.deepEqual(JSON.parse(String(row?.metadata)), { is_incremental: false, entities_changed: null });
    });

    it("retries a transient read failure", async () => {
      ctx.fake.injectFault({ method: "query", status: 500, reason: "internalError" });
      const rows = await store.listCompletions({ fromDate: "2026-01-01", toDate: "2026-01-31" });
      assert.deepEqual(rows, []);
      assert.equal(requestsOf("jobs.query").length, 2);
    });
  });

  describe("checkDataset (health)", () => {
    it("passes when the dataset exists; throws 404 when it does not; throws when BigQuery is unreachable", async () => {
      await store.checkDataset();
      const missing = createBigQueryStore({ bigquery: ctx.bigquery, projectId: PROJECT_ID, datasetId: "missing_dataset" });
      assert.equal((await rejection(missing.checkDataset())).cause.code, 404);
      await ctx.fake.setDown(true);
      try {
        await rejection(store.checkDataset());
      } finally {
        await ctx.fake.setDown(false);
      }
    });
  });

  describe("metrics hook (billed operations)", () => {
    it("counts every insertAll and DML attempt with its table", async () => {
      ctx.fake.injectFault({ method: "insertAll", status: 503 });
      await store.insertCompletion(sampleCompletion());
      await store.upsertStatus(sampleAggregate());
      await store.insertExecutionLog(sampleExecutionLog());
      assert.deepEqual(
        operations.map((o) => [o.kind, o.table, o.attempt]),
        [
          ["insertAll", "phase_completions", 1],
          ["insertAll", "phase_completions", 2],
          ["dml", "phase_completion_status", 1],
          ["insertAll", "phase_execution_log", 1],
        ],
      );
    });
  });

  describe("one schema definition", () => {
    const timestamp = fc
      .date({ min: new Date("2020-01-01T00:00:00Z"), max: new Date("2035-12-31T23:59:59Z"), noInvalidDate: true })
      .map((d) => d.toISOString());
    const gameDate = fc
      .date({ min: new Date("2020-01-01T00:00:00Z"), max: new Date("2035-12-31T00:00:00Z"), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
    const text = fc.string({ minLength: 1, maxLength: 30 });
    const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const record: fc.Arbitrary<CompletionRecord> = fc.record({
      phase: fc.constantFrom("phase_2_raw", "phase_3_analytics", "phase_4_precompute", "phase_5_predictions"),
      transition_id: fc.constantFrom("phase2-to-phase3", "phase3-to-phase4", "phase4-to-phase5", "phase5-to-phase6"),
      game_date: gameDate,
      mode: fc.constantFrom("overnight", "same_day", "tomorrow", "daily"),
      processor_name: text,
      reported_name: text,
      status: fc.constantFrom("success", "partial", "no_data", "failed", "skipped"),
      execution_id: text,
      correlation_id: text,
      completed_at: timestamp,
      recorded_at: timestamp,
      record_count: optional(fc.nat()),
      records_failed: optional(fc.option(fc.nat(), { nil: null })),
      duration_seconds: optional(fc.double({ min: 0, max: 1e6, noNaN: true })),
      completion_pct: optional(fc.double({ min: 0, max: 100, noNaN: true })),
      message_id: optional(text),
      metadata: optional(fc.oneof(fc.constant(null), fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })))),
    }) as fc.Arbitrary<CompletionRecord>;

    it("every completion row the store builds is accepted by the table created from tables.ts", async () => {
      await fc.assert(
        fc.asyncProperty(record, async (rec) => {
          await store.insertCompletion(rec);
          const insertId = buildCompletionRow(rec).insert_id;
          assert.ok(ctx.fake.rows(PHASE_COMPLETIONS.name).some((r) => r["insert_id"] === insertId));
        }),
        { numRuns: 40 },
      );
    });

    it("aggregates and execution-log rows built from the row types are accepted too", async () => {
      await store.upsertStatus(sampleAggregate({ trigger_id: null, trigger_reason: null, complete_processors: [] }));
      await store.insertExecutionLog(sampleExecutionLog({ expected_processors: [], complete_processors: [], missing_processors: [] }));
      assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name).length, 1);
      assert.equal(ctx.fake.rows(PHASE_EXECUTION_LOG.name).length, 1);
    });
  });
});
