// The BigQuery fake's DML counts, which the bench reads as "DML executed" (bench/instrument.ts): a
// statement counts when it committed, not when a request carried DML; a statement refused by a full
// queue or failed on a conflict is counted apart, and a conflict re-run is not a second statement.
import assert from "node:assert/strict";
import { PHASE_COMPLETION_STATUS } from "../../functions/core/tables.ts";
import { buildStatusParams } from "../../functions/lib/bigquery-store.ts";
import { statusMergeStatement } from "../../functions/lib/bigquery-sql.ts";
import { DATASET_ID, type FakeContext, PROJECT_ID, reprovision, sampleAggregate, startProvisionedFake } from "../bigquery/helpers.ts";

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("BigQuery fake: DML counts for the bench", function () {
  this.timeout(60_000);
  let ctx: FakeContext;
  const merge = statusMergeStatement({ projectId: PROJECT_ID, datasetId: DATASET_ID });
  const statusTable = `${DATASET_ID}.${PHASE_COMPLETION_STATUS.name}`;
  const upsert = (gameDate: string, complete = 1) =>
    ctx.bigquery
      .query({ query: merge.sql, params: buildStatusParams(sampleAggregate({ game_date: gameDate, complete_count: complete })), types: merge.types })
      .then(
        () => null,
        (e: unknown) => e,
      );

  before(async () => {
    ctx = await startProvisionedFake();
  });
  after(async () => {
    await ctx.fake.stop();
  });
  beforeEach(async () => {
    await reprovision(ctx);
  });

  it("counts committed statements, conflict re-runs, conflicts and a full queue; reset clears them", async () => {
    ctx.fake.configure({ dml: { durationMs: 10, conflictRetries: 1, maxQueued: 0 } });
    assert.deepEqual(ctx.fake.dmlStats(), { committed: 0, conflictReruns: 0, conflicted: 0, queueFull: 0 });
    const release = ctx.fake.holdDml();
    // Same partition, overlapping: one commits, the other re-runs once and commits.
    const both = [upsert("2026-01-15", 1), upsert("2026-01-15", 2)];
    await until("both running", () => ctx.fake.dmlLoad(statusTable).running === 2);
    const refused = await upsert("2026-01-16"); // no queue: refused at once
    assert.ok(refused, "a statement beyond the queue fails");
    release();
    assert.deepEqual(await Promise.all(both), [null, null]);
    assert.deepEqual(ctx.fake.dmlStats(), { committed: 2, conflictReruns: 1, conflicted: 0, queueFull: 1 });

    ctx.fake.configure({ dml: { conflictRetries: 0, maxQueued: 20 } });
    const hold = ctx.fake.holdDml();
    const again = [upsert("2026-01-20", 1), upsert("2026-01-20", 2)];
    await until("both running", () => ctx.fake.dmlLoad(statusTable).running === 2);
    hold();
    assert.equal((await Promise.all(again)).filter((e) => e !== null).length, 1);
    assert.deepEqual(ctx.fake.dmlStats(), { committed: 3, conflictReruns: 1, conflicted: 1, queueFull: 1 });
    const dmlRequests = ctx.fake.requests.filter((r) => r.api === "jobs.query").length;
    assert.equal(dmlRequests, 5, "five requests carried a MERGE; three statements committed");
    assert.ok(ctx.fake.requests.every((r) => r.answeredAt >= r.at), "every request's answer time is recorded");

    ctx.fake.reset();
    assert.deepEqual(ctx.fake.dmlStats(), { committed: 0, conflictReruns: 0, conflicted: 0, queueFull: 0 });
  });
});
