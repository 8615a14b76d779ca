// The BigQuery fake is as strict as BigQuery where the runtime depends on it (real client, wire level):
// insertId de-duplication holds for a window only, mutating DML runs two at a time per table with a
// queue of 20 and fails beyond it, overlapping DML on one partition conflicts, and DML cannot change
// rows still in the streaming buffer.
import assert from "node:assert/strict";
import { PHASE_COMPLETION_STATUS, PHASE_COMPLETIONS } from "../../functions/core/tables.ts";
import { buildCompletionRow, buildStatusParams, createBigQueryStore } from "../../functions/lib/bigquery-store.ts";
import { captureLogs } from "../../functions/lib/logger.ts";
import { statusMergeStatement } from "../../functions/lib/bigquery-sql.ts";
import { isTransient } from "../../functions/lib/errors.ts";
import { DEFAULT_BEHAVIOUR } from "../../tools/bigquery-fake/server.ts";
import { DATASET_ID, FAST_RETRY, type FakeContext, PROJECT_ID, reprovision, sampleAggregate, sampleCompletion, startProvisionedFake } from "./helpers.ts";

type ApiErrorLike = Error & { code?: number; errors?: { reason?: string; message?: string }[] };

async function settle(promise: Promise<unknown>): Promise<ApiErrorLike | null> {
  try {
    await promise;
    return null;
  } catch (err) {
    return err as ApiErrorLike;
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("BigQuery fake: BigQuery's limits (real client, wire level)", function () {
  this.timeout(60_000);
  let ctx: FakeContext;
  const merge = statusMergeStatement({ projectId: PROJECT_ID, datasetId: DATASET_ID });
  const statusTable = `${DATASET_ID}.${PHASE_COMPLETION_STATUS.name}`;
  const upsert = (gameDate: string, complete = 1, updatedAt = "2026-01-16T09:00:00Z") =>
    ctx.bigquery.query({
      query: merge.sql,
      params: buildStatusParams(sampleAggregate({ game_date: gameDate, complete_count: complete, updated_at: updatedAt })),
      types: merge.types,
    });

  before(async () => {
    ctx = await startProvisionedFake();
  });
  after(async () => {
    await ctx.fake.stop();
  });
  beforeEach(async () => {
    await reprovision(ctx);
  });

  it("defaults are BigQuery's: 60 s insertId window, 30 min streaming buffer, 2 running + 20 queued DML per table", () => {
    assert.equal(DEFAULT_BEHAVIOUR.insertIdWindowMs, 60_000);
    assert.equal(DEFAULT_BEHAVIOUR.streamingBufferMs, 30 * 60_000);
    assert.equal(DEFAULT_BEHAVIOUR.dml.maxRunning, 2);
    assert.equal(DEFAULT_BEHAVIOUR.dml.maxQueued, 20);
    assert.equal(DEFAULT_BEHAVIOUR.dml.conflictRetries, 3);
    assert.ok(DEFAULT_BEHAVIOUR.dml.durationMs >= 1000, "a DML statement takes time, so concurrent ones overlap");
  });

  it("the runtime's writes obey the streaming-buffer rule: its only DML (the aggregate MERGE) targets a table nothing streams into", async () => {
    const store = createBigQueryStore({ bigquery: ctx.bigquery, projectId: PROJECT_ID, datasetId: DATASET_ID, logger: captureLogs().logger, retry: FAST_RETRY });
    await store.insertCompletion(sampleCompletion());
    await store.upsertStatus(sampleAggregate({ complete_count: 1, updated_at: "2026-01-16T09:00:00Z" }));
    // The second MERGE changes the row the first one wrote: DML-written rows are not in the buffer.
    await store.upsertStatus(sampleAggregate({ complete_count: 2, updated_at: "2026-01-16T09:01:00Z" }));
    assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name)[0]?.["complete_count"], 2);
  });

  describe("insertId de-duplication is best effort, for a window", () => {
    const table = () => ctx.bigquery.dataset(DATASET_ID).table(PHASE_COMPLETIONS.name);
    const row = buildCompletionRow(sampleCompletion());

    it("a retry inside the window is dropped; a late retry (after the window) is a second row", async () => {
      await table().insert([{ insertId: row.insert_id, json: row }], { raw: true });
      ctx.fake.advanceClock(59_000);
      await table().insert([{ insertId: row.insert_id, json: row }], { raw: true });
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 1);
      ctx.fake.advanceClock(2_000);
      await table().insert([{ insertId: row.insert_id, json: row }], { raw: true });
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 2, "the late retry duplicated the row");
    });

    it("the window is configurable (a short one shows the duplicate in real time)", async () => {
      ctx.fake.configure({ insertIdWindowMs: 1 });
      await table().insert([{ insertId: row.insert_id, json: row }], { raw: true });
      await new Promise((resolve) => setTimeout(resolve, 20));
      await table().insert([{ insertId: row.insert_id, json: row }], { raw: true });
      assert.equal(ctx.fake.rows(PHASE_COMPLETIONS.name).length, 2);
    });
  });

  describe("mutating DML concurrency per table", () => {
    it("2 run, the queue holds the configured number, the next one fails at once with 400 resourcesExceeded; the admitted ones all commit", async () => {
      ctx.fake.configure({ dml: { maxQueued: 3, durationMs: 10 } });
      const release = ctx.fake.holdDml();
      // Different game dates: different partitions, so no conflicts, only the queue.
      const admitted = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"].map((d) => settle(upsert(d)));
      await until("2 running and 3 queued", () => {
        const load = ctx.fake.dmlLoad(statusTable);
        return load.running === 2 && load.queued === 3;
      });
      const overflow = await settle(upsert("2026-01-06"));
      assert.ok(overflow, "the statement beyond the queue must fail");
      assert.equal(overflow.code, 400);
      assert.equal(overflow.errors?.[0]?.reason, "resourcesExceeded");
      assert.match(overflow.message, /Too many DML statements outstanding against table demo-test:nba_orchestration\.phase_completion_status, limit is 3/);
      release();
      assert.deepEqual(await Promise.all(admitted), [null, null, null, null, null]);
      assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name).length, 5);
    });

    it("two statements overlapping on one partition conflict: one commits, the other fails with BigQuery's concurrent-update 400 (no re-runs left)", async () => {
      ctx.fake.configure({ dml: { durationMs: 10, conflictRetries: 0 } });
      const release = ctx.fake.holdDml();
      const both = [settle(upsert("2026-01-15", 1, "2026-01-16T09:00:00Z")), settle(upsert("2026-01-15", 2, "2026-01-16T09:00:01Z"))];
      await until("both running", () => ctx.fake.dmlLoad(statusTable).running === 2);
      release();
      const errors = (await Promise.all(both)).filter((e) => e !== null);
      assert.equal(errors.length, 1);
      assert.equal(errors[0]?.code, 400);
      assert.match(errors[0]?.message ?? "", /Could not serialize access to table demo-test:nba_orchestration\.phase_completion_status due to concurrent update/);
      assert.ok(isTransient(errors[0]), "the runtime retries it");
      assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name).length, 1);
    });

    it("with re-runs left (BigQuery re-runs up to 3 times) the conflicting statement re-runs and commits; other partitions never conflict", async () => {
      ctx.fake.configure({ dml: { durationMs: 10, conflictRetries: 1 } });
      const release = ctx.fake.holdDml();
      const calls = [upsert("2026-01-15", 1, "2026-01-16T09:00:00Z"), upsert("2026-01-15", 2, "2026-01-16T09:00:01Z")].map(settle);
      await until("both running", () => ctx.fake.dmlLoad(statusTable).running === 2);
      release();
      assert.deepEqual(await Promise.all(calls), [null, null]);
      assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name)[0]?.["complete_count"], 2);

      ctx.fake.configure({ dml: { conflictRetries: 0 } });
      const hold = ctx.fake.holdDml();
      const apart = [upsert("2026-02-01"), upsert("2026-02-02")].map(settle);
      await until("both running", () => ctx.fake.dmlLoad(statusTable).running === 2);
      hold();
      assert.deepEqual(await Promise.all(apart), [null, null]);
    });
  });

  describe("streaming buffer", () => {
    const streamStatusRow = async (gameDate: string) => {
      const row = sampleAggregate({ game_date: gameDate, updated_at: "2026-01-16T08:00:00Z" });
      await ctx.bigquery.dataset(DATASET_ID).table(PHASE_COMPLETION_STATUS.name).insert([{ insertId: `s-${gameDate}`, json: row }], { raw: true });
    };

    it("DML that would change a row streamed by insertAll fails (400) for 30 min; afterwards it succeeds", async () => {
      await streamStatusRow("2026-01-15");
      const refused = await settle(upsert("2026-01-15", 3));
      assert.ok(refused);
      assert.equal(refused.code, 400);
      assert.match(refused.message, /would affect rows in the streaming buffer, which is not supported/);
      assert.equal(isTransient(refused), false, "waiting seconds does not help: not a transient error");
      ctx.fake.advanceClock(29 * 60_000);
      assert.ok(await settle(upsert("2026-01-15", 3)), "still in the buffer after 29 min");
      ctx.fake.advanceClock(2 * 60_000);
      assert.equal(await settle(upsert("2026-01-15", 3)), null);
      assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name)[0]?.["complete_count"], 3);
    });

    it("DML that only inserts, or changes rows DML wrote, is unaffected by streamed rows of other keys", async () => {
      await streamStatusRow("2026-01-14");
      assert.equal(await settle(upsert("2026-01-15", 1)), null);
      assert.equal(await settle(upsert("2026-01-15", 2, "2026-01-16T10:00:00Z")), null);
      assert.equal(ctx.fake.rows(PHASE_COMPLETION_STATUS.name).length, 2);
    });
  });
});

