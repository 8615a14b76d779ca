// The wire-level BigQuery fake, driven by the REAL @google-cloud/bigquery client: what it accepts,
// what it refuses like BigQuery does, and its fault injection.
import assert from "node:assert/strict";
import { BigQuery } from "@google-cloud/bigquery";
import { PHASE_COMPLETIONS, PHASE_COMPLETION_STATUS } from "../../functions/core/tables.ts";
import { buildCompletionRow, createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { statusMergeStatement, statusSelectStatement } from "../../functions/lib/bigquery-sql.ts";
import { isTransient } from "../../functions/lib/errors.ts";
import { DATASET_ID, type FakeContext, PROJECT_ID, reprovision, sampleCompletion, startProvisionedFake } from "./helpers.ts";

type ApiErrorLike = Error & { code?: number; errors?: { reason?: string; message?: string; location?: string; errors?: { reason?: string; location?: string }[] }[] };

async function rejection(promise: Promise<unknown>): Promise<ApiErrorLike> {
  try {
    await promise;
  } catch (err) {
    return err as ApiErrorLike;
  }
  assert.fail("expected the call to fail");
}

describe("BigQuery fake (real client, wire level)", () => {
  let ctx: FakeContext;
  const table = () => ctx.bigquery.dataset(DATASET_ID).table(PHASE_COMPLETIONS.name);
  const row = (overrides = {}) => buildCompletionRow(sampleCompletion(overrides));

  before(async () => {
    ctx = await startProvisionedFake();
  });
  after(async () => {
    await ctx.fake.stop();
  });
  beforeEach(async () => {
    await reprovision(ctx);
  });

  describe("datasets and tables", () => {
    it("stores schema, partitioning and clustering from tables.insert and returns them from tables.get", async () => {
      const [metadata] = await table().getMetadata();
      assert.deepEqual(metadata.clustering, { fields: ["phase", "processor_name"] });
      assert.deepEqual(metadata.timePartitioning, { type: "DAY", field: "game_date" });
      assert.equal(metadata.schema.fields.length, PHASE_COMPLETIONS.fields.length);
      assert.deepEqual(metadata.schema.fields[0], { ...PHASE_COMPLETIONS.fields[0] });
    });

    it("answers 404 for a missing dataset and 409 for a duplicate, as the API does", async () => {
      const missing = await rejection(ctx.bigquery.dataset("nope").getMetadata());
      assert.equal(missing.code, 404);
      const duplicate = await rejection(ctx.bigquery.createDataset(DATASET_ID));
      assert.equal(duplicate.code, 409);
    });
  });

  describe("tabledata.insertAll", () => {
    it("keeps one row for two inserts with the same insertId, two for different ids", async () => {
      const first = row();
      await table().insert([{ insertId: first.insert_id, json: first }], { raw: true });
      await table().insert([{ insertId: first.insert_id, json: first }], { raw: true });
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 1);
      const other = row({ execution_id: "zz999999" });
      await table().insert([{ insertId: other.insert_id, json: other }], { raw: true });
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 2);
    });

    it("stores typed values: timestamps to the microsecond, integers, floats, JSON text", async () => {
      const r = row();
      await table().insert([{ insertId: r.insert_id, json: r }], { raw: true });
      const [stored] = ctx.fake.rows(PHASE_COMPLETIONS.name);
      assert.equal(stored?.["completed_at"], "2026-01-16T09:12:33.123456Z");
      assert.equal(stored?.["record_count"], 412);
      assert.equal(stored?.["duration_seconds"], 12.5);
      assert.deepEqual(JSON.parse(String(stored?.["metadata"])), { is_incremental: false, entities_changed: null });
    });

    it("rejects an unknown field, a wrong type and a missing required field with insertErrors; nothing is stored", async () => {
      const good = row({ execution_id: "good0001" });
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ ...row(), surprise: 1 }, "surprise", /no such field/],
        [{ ...row(), record_count: "many" }, "record_count", /Cannot convert value to integer/],
        [{ ...row(), metadata: { a: 1 } }, "metadata", /not a record/],
        [{ ...row(), game_date: "2026-02-30" }, "game_date", /DATE/],
        [(({ status: _s, ...rest }) => rest)(row()), "status", /Missing required field/],
      ];
      for (const [json, location, message] of cases) {
        const err = await rejection(
          table().insert([{ insertId: "bad", json }, { insertId: good.insert_id, json: good }], { raw: true, partialRetries: 0 }),
        );
        assert.equal(err.name, "PartialFailureError", location);
        const [badRow, goodRow] = err.errors ?? [];
        assert.equal(badRow?.errors?.[0]?.reason, "invalid");
        // The client keeps reason/message per row; the column is in the raw response.
        const raw = (err as unknown as { response: { insertErrors: { index: number; errors: { location: string }[] }[] } }).response;
        assert.equal(raw.insertErrors.find((e) => e.index === 0)?.errors[0]?.location, location);
        assert.match(String((badRow?.errors?.[0] as { message?: string }).message), message);
        assert.equal(goodRow?.errors?.[0]?.reason, "stopped", "the valid row of a failed request is not written");
        assert.equal(isTransient(err), false, "a schema error is not retried");
      }
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 0);
    });
  });

  describe("queries", () => {
    const merge = statusMergeStatement({ projectId: PROJECT_ID, datasetId: DATASET_ID });
    const select = statusSelectStatement({ projectId: PROJECT_ID, datasetId: DATASET_ID }, { withPhase: true });
    const mergeParams = (complete: number, updatedAt: string) => ({
      phase: "phase_3_analytics",
      transition_id: "phase3-to-phase4",
      game_date: BigQuery.date("2026-01-15"),
      mode: "overnight",
      expected_count: 5,
      complete_count: complete,
      complete_processors: ["player_game_summary", "team_defense_game_summary"].slice(0, complete),
      triggered: false,
      trigger_id: null,
      trigger_reason: "waiting",
      updated_at: BigQuery.timestamp(updatedAt),
    });
    const selectParams = { from_date: BigQuery.date("2026-01-01"), to_date: BigQuery.date("2026-01-31"), phase: "phase_3_analytics" };

    it("MERGE inserts, then updates the same key row; an older state does not overwrite a newer one", async () => {
      await ctx.bigquery.query({ query: merge.sql, params: mergeParams(1, "2026-01-16T09:00:00Z"), types: merge.types });
      await ctx.bigquery.query({ query: merge.sql, params: mergeParams(2, "2026-01-16T10:00:00Z"), types: merge.types });
      await ctx.bigquery.query({ query: merge.sql, params: mergeParams(1, "2026-01-16T09:30:00Z"), types: merge.types });
      const rows = ctx.fake.rows(PHASE_COMPLETION_STATUS.name);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.["complete_count"], 2);
      assert.deepEqual(rows[0]?.["complete_processors"], ["player_game_summary", "team_defense_game_summary"]);
      assert.equal(rows[0]?.["updated_at"], "2026-01-16T10:00:00.000000Z");
    });

    it("SELECT with BETWEEN and = over parameters, through jobs.query and through jobs.insert + getQueryResults", async () => {
      await ctx.bigquery.query({ query: merge.sql, params: mergeParams(1, "2026-01-16T09:00:00Z"), types: merge.types });
      await ctx.bigquery.query({ query: merge.sql, params: { ...mergeParams(1, "2026-01-16T09:00:00Z"), phase: "phase_4_precompute" }, types: merge.types });
      const [fast] = await ctx.bigquery.query({ query: select.sql, params: selectParams, types: select.types });
      assert.equal(fast.length, 1);
      assert.equal(fast[0].phase, "phase_3_analytics");
      assert.equal(fast[0].game_date.value, "2026-01-15");
      const [job] = await ctx.bigquery.createQueryJob({ query: select.sql, params: selectParams, types: select.types });
      const [slow] = await job.getQueryResults();
      assert.deepEqual(slow, fast);
      const apis = ctx.fake.requests.map((r) => r.api);
      assert.ok(apis.includes("jobs.query") && apis.includes("jobs.insert") && apis.includes("jobs.getQueryResults"));
    });

    it("answers 400 invalidQuery for unparsable SQL, like BigQuery", async () => {
      const err = await rejection(ctx.bigquery.query("SELEC phase FROM nba_orchestration.phase_completions"));
      assert.equal(err.code, 400);
      assert.equal(err.errors?.[0]?.reason, "invalidQuery");
      assert.match(err.message, /Syntax error/);
    });

    it("answers 400 (never a fake success) for SQL it does not implement", async () => {
      for (const sql of [
        "SELECT phase, COUNT(*) AS n FROM nba_orchestration.phase_completions GROUP BY phase",
        "SELECT a.phase FROM nba_orchestration.phase_completions a JOIN nba_orchestration.phase_completion_status b ON a.phase = b.phase",
        "UPDATE `demo-test.nba_orchestration.phase_completion_status` SET triggered = TRUE WHERE phase = 'x'",
        "SELECT UPPER(phase) FROM nba_orchestration.phase_completions",
      ]) {
        const err = await rejection(ctx.bigquery.query(sql));
        assert.equal(err.code, 400, sql);
        assert.match(err.message, /Unsupported by the BigQuery fake/, sql);
      }
    });

    it("a failing query job is created DONE with errorResult and the client reports it", async () => {
      const err = await rejection(ctx.bigquery.createQueryJob("SELECT nope FROM nba_orchestration.phase_completions"));
      assert.match(err.message, /Unrecognized name: nope/);
    });

    it("refuses a parameter of the wrong type and a missing parameter", async () => {
      const wrong = await rejection(
        ctx.bigquery.query({ query: merge.sql, params: { ...mergeParams(1, "2026-01-16T09:00:00Z"), expected_count: "five" }, types: { ...merge.types, expected_count: "STRING" } }),
      );
      assert.equal(wrong.code, 400);
      assert.match(wrong.message, /cannot be assigned to expected_count/);
      const missing = await rejection(ctx.bigquery.query({ query: select.sql, params: { from_date: BigQuery.date("2026-01-01"), to_date: BigQuery.date("2026-01-31") }, types: { from_date: "DATE", to_date: "DATE" } }));
      assert.match(missing.message, /Query parameter 'phase' not found/);
    });
  });

  describe("fault injection", () => {
    it("injectFault fails the next N matching calls with the given status and reason, then heals", async () => {
      ctx.fake.injectFault({ method: "insertAll", status: 503, times: 2 });
      const r = row();
      for (let i = 0; i < 2; i++) {
        const err = await rejection(table().insert([{ insertId: r.insert_id, json: r }], { raw: true }));
        assert.equal(err.code, 503);
        assert.equal(err.errors?.[0]?.reason, "backendError");
        assert.equal(isTransient(err), true);
      }
      await ctx.bigquery.query("SELECT phase FROM nba_orchestration.phase_completions"); // not an insertAll: unaffected
      await table().insert([{ insertId: r.insert_id, json: r }], { raw: true });
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 1);
      assert.deepEqual(ctx.fake.pendingFaults(), []);
    });

    it("the concurrent-update error has BigQuery's shape (400, message naming the table) and is transient", async () => {
      ctx.fake.injectConcurrentUpdate({ datasetId: DATASET_ID, table: PHASE_COMPLETION_STATUS.name });
      const err = await rejection(ctx.bigquery.query("SELECT phase FROM nba_orchestration.phase_completion_status"));
      assert.equal(err.code, 400);
      assert.equal(err.message, `Could not serialize access to table ${PROJECT_ID}:${DATASET_ID}.phase_completion_status due to concurrent update`);
      assert.equal(isTransient(err), true);
    });

    it("setDown(true) refuses connections; setDown(false) listens again on the same port", async () => {
      await ctx.fake.setDown(true);
      // A pooled keep-alive socket may see the reset first; a fresh connect is refused.
      const first = await rejection(ctx.bigquery.dataset(DATASET_ID).getMetadata());
      assert.ok(["ECONNREFUSED", "ECONNRESET"].includes(String((first as { code?: unknown }).code)), String(first));
      const err = await rejection(ctx.bigquery.dataset(DATASET_ID).getMetadata());
      assert.equal((err as { code?: unknown }).code, "ECONNREFUSED");
      assert.equal(isTransient(err), true);
      await ctx.fake.setDown(false);
      const [metadata] = await ctx.bigquery.dataset(DATASET_ID).getMetadata();
      assert.equal(metadata.datasetReference.datasetId, DATASET_ID);
      assert.ok(ctx.fake.url.endsWith(`:${ctx.fake.port}`));
    });

    it("logs every request with the API method it recognised", async () => {
      await ctx.bigquery.dataset(DATASET_ID).getMetadata();
      const unknown = await rejection(ctx.bigquery.getDatasets());
      assert.equal(unknown.code, 400);
      assert.match(unknown.message, /Not implemented by the BigQuery fake/);
      assert.deepEqual(ctx.fake.requests.map((r) => [r.api, r.status]), [["datasets.get", 200], ["unknown", 400]]);
    });
  });

  it("createBigQueryClient sends no credentials to a local endpoint", async () => {
    const client = createBigQueryClient({ projectId: PROJECT_ID, apiEndpoint: ctx.fake.url });
    await client.dataset(DATASET_ID).getMetadata();
    const request = ctx.fake.requests.at(-1);
    assert.equal(request?.api, "datasets.get");
    assert.equal(request?.headers["authorization"], undefined);
  });
});
