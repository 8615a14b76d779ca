// The reconciler against the Firestore and Pub/Sub emulators and the BigQuery fake, wired from its
// environment as deployed. Divergence is produced by real faults in the real tracker's dual write
// (BigQuery answering 503) or by a row only BigQuery got; time is injected.
import assert from "node:assert/strict";
import { Firestore } from "@google-cloud/firestore";
import { PubSub, type Subscription } from "@google-cloud/pubsub";
import { resolvePipeline } from "../../functions/core/pipeline.ts";
import type { Pipeline, PipelineConfig, Transition } from "../../functions/core/pipeline-types.ts";
import type { PhaseStateDoc, ResolvedCompletion } from "../../functions/core/phase-state.ts";
import { executionLogInsertId, type PhaseCompletionRow } from "../../functions/core/tables.ts";
import { buildScheduledJob } from "../../functions/scheduled/runtime.ts";
import type { ReconcileReport } from "../../functions/lib/reconciler.ts";
import type { Breaker } from "../../functions/lib/circuit-breaker.ts";
import { readGameDatesWrittenSince } from "../../functions/lib/phase-state-transactions.ts";
import { buildCompletionRow, createBigQueryClient, createBigQueryStore, type BigQueryStore } from "../../functions/lib/bigquery-store.ts";
import { captureLogs, type LogCapture } from "../../functions/lib/logger.ts";
import { setDefaultRetryRuntime } from "../../functions/lib/retry.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { uniqueName } from "../../tools/emulators/emulators.ts";
import { startSlackSink, TEST_DATASET, type SlackSink } from "../runtime/support.ts";
import { completion, isolatedPipelineConfig, MINUTE, realTracker, scheduledEnv, transitionOf, uniquePrefix } from "./support.ts";

const GAME_DATE = "2026-01-15";
const T0 = new Date("2026-01-16T08:00:00.000Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * MINUTE);

describe("reconciler (emulators, BigQuery fake, real tracker, injected clock)", function () {
  this.timeout(60_000);
  let bq: BigQueryFake;
  let slack: SlackSink;
  let pubsub: PubSub;
  let db: Firestore;
  let store: BigQueryStore;
  let config: PipelineConfig;
  let pipeline: Pipeline;
  let prefix: string;
  let logs: LogCapture;
  let restoreRetry: () => void;
  const jobs: { close(): Promise<void> }[] = [];

  before(async () => {
    const { projectId, pubsub: ps } = sharedEmulators();
    bq = await startBigQueryFake({ projectId });
    slack = await startSlackSink();
    pubsub = new PubSub({ projectId, apiEndpoint: ps.host });
    db = new Firestore({ projectId });
    store = createBigQueryStore({ bigquery: createBigQueryClient({ projectId, apiEndpoint: bq.url }), projectId, datasetId: TEST_DATASET, logger: captureLogs().logger });
  });
  beforeEach(async () => {
    bq.reset();
    await provisionOrchestrationTables(createBigQueryClient({ projectId: bq.projectId, apiEndpoint: bq.url }), TEST_DATASET);
    slack.received.length = 0;
    config = isolatedPipelineConfig();
    pipeline = resolvePipeline(config);
    prefix = uniquePrefix();
    logs = captureLogs();
    // Fault retries back off for real seconds otherwise; the faults themselves stay real.
    restoreRetry = setDefaultRetryRuntime({ sleep: async () => {} });
  });
  afterEach(async () => {
    restoreRetry();
    await Promise.all(jobs.splice(0).map((j) => j.close()));
  });
  after(async () => {
    await bq.stop();
    await slack.close();
    await pubsub.close();
    await db.terminate();
  });

  function reconcilerJob() {
    const job = buildScheduledJob(
      "reconciler",
      scheduledEnv({ functionName: "phase-reconciler", projectId: sharedEmulators().projectId, bigqueryUrl: bq.url, prefix, pipeline: config, slackUrl: slack.url }),
      logs.logger,
    );
    jobs.push(job);
    return { reconcile: (now: Date) => job.run(now, uniqueName("run")) as Promise<ReconcileReport> };
  }

  const tracker = (transition: Transition, now: Date) => realTracker({ db, pubsub, store, prefix, transition, logger: logs.logger, clock: () => now });

  /** A completion only BigQuery got (the orchestrator's Firestore write failed): the row the tracker inserts. */
  async function bigQueryOnly(transition: Transition, c: ResolvedCompletion, recordedAt: Date) {
    await store.insertCompletion({
      phase: transition.phaseWireName,
      transition_id: transition.id,
      game_date: c.gameDate,
      mode: "daily",
      processor_name: c.processor,
      reported_name: c.reportedName,
      status: c.status,
      execution_id: c.executionId,
      correlation_id: c.correlationId,
      completed_at: c.completedAt,
      recorded_at: recordedAt.toISOString(),
      record_count: 12,
      records_failed: 0,
      duration_seconds: 3,
      completion_pct: null,
      message_id: c.messageId,
      metadata: { is_incremental: false },
    });
  }

  /** A completion only Firestore got: the real tracker's dual write with BigQuery answering 503 on every attempt. */
  async function firestoreOnly(transition: Transition, c: ResolvedCompletion, now: Date) {
    bq.injectFault({ method: "insertAll", status: 503, times: 3 });
    const result = await tracker(transition, now).record(c);
    assert.equal(result.firestore.ok, true);
    assert.equal(result.bigquery.ok, false, "the fault must really have failed the BigQuery write");
  }

  async function stateDoc(transition: Transition): Promise<PhaseStateDoc | undefined> {
    const snap = await db.collection(`${prefix}phase_state`).doc(`${transition.id}__${GAME_DATE}__daily`).get();
    return snap.data() as PhaseStateDoc | undefined;
  }

  const rowsOf = (transitionId: string) => bq.rows("phase_completions").filter((r) => r.transition_id === transitionId);

  it("repairs a BigQuery-only completion into Firestore and a Firestore-only one into BigQuery; a second run repairs nothing", async () => {
    const phase2 = transitionOf(pipeline, "phase2-to-phase3");
    const [a, b, c] = phase2.processors.map((p) => p.name);
    const inBoth = completion(a!, GAME_DATE, T0);
    assert.equal((await tracker(phase2, T0).record(inBoth)).done, true);
    const onlyBq = completion(b!, GAME_DATE, at(1));
    await bigQueryOnly(phase2, onlyBq, at(2));
    const onlyFs = completion(c!, GAME_DATE, at(3));
    await firestoreOnly(phase2, onlyFs, at(3));
    assert.equal(rowsOf(phase2.id).length, 2);

    const reconciler = reconcilerJob();
    const first = await reconciler.reconcile(at(30));
    assert.equal(first.ok, true, JSON.stringify(first));
    assert.deepEqual(first.repairedFirestore, [`phase2-to-phase3__${GAME_DATE}__daily/${b}`]);
    assert.deepEqual(first.latched, []);

    const doc = (await stateDoc(phase2))!;
    assert.deepEqual(Object.keys(doc.entries).sort(), [a, b, c].sort());
    assert.equal(doc.entries[b!]!.executionId, onlyBq.executionId);
    assert.equal(doc.entries[b!]!.recordedAt, at(2).toISOString(), "keeps the time the orchestrator recorded it");
    assert.equal(doc.firstCompletionAt, T0.toISOString(), "the first-completion clock is not restarted");
    const repairedRow = rowsOf(phase2.id).find((r) => r.processor_name === c);
    assert.equal(repairedRow?.execution_id, onlyFs.executionId);
    // The id the tracker would have written for this completion, so a late tracker retry collapses into it.
    const { insert_id: insertId, ...fields } = repairedRow as PhaseCompletionRow;
    assert.equal(insertId, buildCompletionRow(fields).insert_id);
    assert.deepEqual(first.repairedBigQuery, [insertId]);

    const summaries = slack.received.map((m) => String(m.text)).filter((t) => t.includes("Reconciler"));
    assert.equal(summaries.length, 1);
    assert.match(summaries[0]!, /repaired 2 record/);
    const line = logs.entries.find((e) => e.event === "reconcile_completed");
    assert.equal(line?.repaired_firestore, 1);
    assert.equal(line?.repaired_bigquery, 1);

    const second = await reconciler.reconcile(at(45));
    assert.equal(second.ok, true);
    assert.deepEqual([second.repairedFirestore, second.repairedBigQuery], [[], []]);
    assert.equal(rowsOf(phase2.id).length, 3);
    assert.equal(slack.received.filter((m) => String(m.text).includes("Reconciler")).length, 1, "nothing repaired: no Slack summary");
  });

  it("a completion whose row is in BigQuery only (an earlier tracker wrote it while Firestore failed), copied into Firestore by the reconciler: its redelivery minutes later writes no second row", async () => {
    const phase2 = transitionOf(pipeline, "phase2-to-phase3");
    const [name] = phase2.processors.map((p) => p.name);
    const c = completion(name!, GAME_DATE, at(1));
    // The first delivery, as a tracker that wrote the row when Firestore failed left it (answered 500);
    // today's tracker writes none then, but rows like it remain, and an expired entry looks the same.
    await bigQueryOnly(phase2, c, at(1));
    const report = await reconcilerJob().reconcile(at(30));
    assert.deepEqual(report.repairedFirestore, [`phase2-to-phase3__${GAME_DATE}__daily/${name}`]);

    // Its redelivery, past BigQuery's insert-id de-duplication: the entry it finds stands for its own
    // message, copied from the row; writing the row again would be a second one.
    bq.advanceClock(5 * MINUTE);
    const redelivered = await tracker(phase2, at(32)).record(c);
    assert.equal(redelivered.firestore.ok, true);
    assert.equal(redelivered.firestore.duplicate, true);
    assert.equal(redelivered.bigquery.ok, true);
    assert.equal(rowsOf(phase2.id).filter((r) => r.processor_name === name && r.game_date === GAME_DATE).length, 1);
  });

  it("a date older than the look-back that was written to lately (a backfill) is reconciled too; an old date nobody touched is not read", async () => {
    const phase2 = transitionOf(pipeline, "phase2-to-phase3");
    const [a, b] = phase2.processors.map((p) => p.name);
    const OLD = "2026-01-02"; // 14 days before T0; the look-back is 3
    const onlyFs = completion(a!, OLD, at(1));
    await firestoreOnly(phase2, onlyFs, at(1));
    const onlyBq = completion(b!, OLD, at(2));
    await bigQueryOnly(phase2, onlyBq, at(2));

    const reconciler = reconcilerJob();
    const first = await reconciler.reconcile(at(30));
    assert.equal(first.ok, true, JSON.stringify(first.failures));
    assert.deepEqual(first.olderDates, [OLD]);
    assert.deepEqual(first.repairedFirestore, [`phase2-to-phase3__${OLD}__daily/${b}`]);
    assert.equal(first.repairedBigQuery.length, 1);
    assert.deepEqual(rowsOf(phase2.id).filter((r) => r.game_date === OLD).map((r) => r.processor_name).sort(), [a, b].sort());
    // Four days on, nothing was written to that date since: it is not read any more.
    const later = await reconciler.reconcile(new Date(T0.getTime() + 4 * 24 * 60 * MINUTE));
    assert.deepEqual(later.olderDates, []);
  });

  it("the older-dates scan takes the newest dates first and says when it was cut (by its date cap or its document scan limit)", async () => {
    const stateCollection = `${prefix}phase_state`;
    const written = at(1).toISOString();
    const docs = ["2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"].map((gameDate, i) => ({ gameDate, updatedAt: written, id: `d${i}` }));
    await Promise.all(docs.map((d) => db.collection(stateCollection).doc(d.id).set({ gameDate: d.gameDate, updatedAt: d.updatedAt })));
    await db.collection(stateCollection).doc("stale").set({ gameDate: "2026-01-01", updatedAt: at(-10_000).toISOString() });
    const breaker = { fire: <T>(fn: () => Promise<T>) => fn() } as unknown as Breaker;
    const reader = { db, stateCollection, breaker, logger: logs.logger };

    const whole = await readGameDatesWrittenSince(reader, at(0).toISOString(), "2026-01-05");
    assert.deepEqual(whole, { dates: ["2026-01-04", "2026-01-03", "2026-01-02"], truncated: false });
    const capped = await readGameDatesWrittenSince(reader, at(0).toISOString(), "2026-01-05", { dateLimit: 2 });
    assert.deepEqual(capped, { dates: ["2026-01-04", "2026-01-03"], truncated: true });
    const cut = await readGameDatesWrittenSince(reader, at(0).toISOString(), "2026-01-05", { scanLimit: 4 });
    assert.equal(cut.truncated, true, "a scan that reached its limit may have missed dates");
    const roomy = await readGameDatesWrittenSince(reader, at(0).toISOString(), "2026-01-05", { scanLimit: 5 });
    assert.equal(roomy.truncated, false);
  });

  it("a repaired completion that completes the phase latches the trigger and publishes it once, through the outbox", async () => {
    const phase2 = transitionOf(pipeline, "phase2-to-phase3");
    const [topic] = await pubsub.topic(phase2.outputTopicName).get({ autoCreate: true });
    const [sub] = await topic.createSubscription(uniqueName("rec"));
    const names = phase2.processors.map((p) => p.name);
    for (const name of names.slice(0, 4)) assert.equal((await tracker(phase2, T0).record(completion(name, GAME_DATE, T0))).done, true);
    await bigQueryOnly(phase2, completion(names[4]!, GAME_DATE, at(5), { correlationId: "corr-last" }), at(5));

    const reconciler = reconcilerJob();
    const report = await reconciler.reconcile(at(20));
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.deepEqual(report.latched, [`phase2-to-phase3:${GAME_DATE}:daily`]);
    assert.deepEqual(report.published, report.latched);
    const again = await reconciler.reconcile(at(40));
    assert.deepEqual([again.latched, again.published, again.repairedFirestore], [[], [], []]);

    const got = await drain(sub);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.trigger_reason, "all_complete");
    assert.equal(got[0]!.correlation_id, "corr-last");
    const logged = bq.rows("phase_execution_log");
    assert.deepEqual(logged.map((r) => [r.trigger_id, r.function_name, r.degraded]), [[`phase2-to-phase3:${GAME_DATE}:daily`, "phase-reconciler", false]]);
    const doc = (await stateDoc(phase2))!;
    assert.equal(doc.trigger?.state, "published");
    // The aggregate follows the reconciler's latch (one MERGE, by the latcher).
    const aggregates = bq.rows("phase_completion_status").filter((r) => r.transition_id === phase2.id);
    assert.equal(aggregates.length, 1, JSON.stringify(aggregates));
    assert.deepEqual(
      [aggregates[0]!.triggered, aggregates[0]!.trigger_id, aggregates[0]!.complete_count, aggregates[0]!.trigger_reason],
      [true, `phase2-to-phase3:${GAME_DATE}:daily`, 5, "all_complete"],
    );
  });

  it("a published trigger whose execution-log row is missing gets it (deterministic insert id) once settled; a second run adds nothing", async () => {
    const phase2 = transitionOf(pipeline, "phase2-to-phase3");
    await pubsub.topic(phase2.outputTopicName).get({ autoCreate: true });
    for (const p of phase2.processors) assert.equal((await tracker(phase2, T0).record(completion(p.name, GAME_DATE, T0))).done, true);
    const triggerId = `phase2-to-phase3:${GAME_DATE}:daily`;
    assert.equal(bq.rows("phase_execution_log").length, 1, "the tracker wrote it");
    // BigQuery lost every row (say a table was recreated): Firestore still says the trigger went out.
    bq.reset();
    await provisionOrchestrationTables(createBigQueryClient({ projectId: bq.projectId, apiEndpoint: bq.url }), TEST_DATASET);
    const reconciler = reconcilerJob();

    const young = await reconciler.reconcile(at(5));
    assert.deepEqual(young.repairedExecutionLog, [], "published 5 min ago: its publisher may still write the row");

    const settled = await reconciler.reconcile(at(30));
    assert.equal(settled.ok, true, JSON.stringify(settled.failures));
    assert.deepEqual(settled.repairedExecutionLog, [triggerId]);
    const logged = bq.rows("phase_execution_log");
    assert.deepEqual(logged.map((r) => [r.trigger_id, r.function_name, r.trigger_reason]), [[triggerId, "phase-reconciler", "all_complete"]]);
    const insert = bq.requests.find((r) => r.api === "tabledata.insertAll" && r.path.endsWith("/phase_execution_log/insertAll"));
    assert.equal((insert?.body as { rows: { insertId: string }[] }).rows[0]!.insertId, executionLogInsertId(triggerId));
    assert.ok(logs.entries.some((e) => e.direction === "execution_log" && e.trigger_id === triggerId), "the repair is logged");

    const again = await reconciler.reconcile(at(45));
    assert.deepEqual(again.repairedExecutionLog, []);
    assert.equal(bq.rows("phase_execution_log").length, 1);
  });

  it("a published trigger whose latching call died before its aggregate MERGE gets its phase_completion_status row once settled: one MERGE, as of the latch", async () => {
    const phase2 = transitionOf(pipeline, "phase2-to-phase3");
    await pubsub.topic(phase2.outputTopicName).get({ autoCreate: true });
    const latcher = tracker(phase2, T0);
    // The latching call: records, latches, publishes and marks, then dies before its BigQuery writes.
    let latched;
    for (const p of phase2.processors) latched = await latcher.recordInFirestore(completion(p.name, GAME_DATE, T0), T0);
    assert.equal(latched!.latchedNow, true);
    const published = await latcher.publishPending(latched!.doc, latched!.ref);
    assert.equal(published?.state, "published");
    const triggerId = `phase2-to-phase3:${GAME_DATE}:daily`;
    assert.equal(bq.rows("phase_completion_status").length, 0, "nobody wrote the aggregate");
    const reconciler = reconcilerJob();
    const merges = () => bq.requests.filter((r) => r.api === "jobs.query" && /MERGE/.test(String((r.body as { query?: unknown }).query))).length;

    const young = await reconciler.reconcile(at(5));
    assert.deepEqual(young.repairedStatus, [], "published 5 min ago: its latching call may still write the row");
    assert.equal(merges(), 0);

    const settled = await reconciler.reconcile(at(30));
    assert.equal(settled.ok, true, JSON.stringify(settled.failures));
    assert.deepEqual(settled.repairedStatus, [triggerId]);
    assert.equal(merges(), 1, "one MERGE per repair");
    const rows = bq.rows("phase_completion_status");
    assert.equal(rows.length, 1);
    const expected = phase2.processors.map((p) => p.name);
    assert.deepEqual(
      [rows[0]!.transition_id, rows[0]!.game_date, rows[0]!.mode, rows[0]!.triggered, rows[0]!.trigger_id, rows[0]!.trigger_reason, rows[0]!.expected_count, rows[0]!.complete_count],
      [phase2.id, GAME_DATE, "daily", true, triggerId, "all_complete", expected.length, expected.length],
    );
    assert.ok(logs.entries.some((e) => e.direction === "aggregate" && e.trigger_id === triggerId), "the repair is logged");

    const again = await reconciler.reconcile(at(45));
    assert.deepEqual(again.repairedStatus, []);
    assert.equal(merges(), 1, "a second run merges nothing");
  });

  it("a BigQuery that keeps failing (503) leaves the repair undone and says so; the next run finishes it", async () => {
    const phase4 = transitionOf(pipeline, "phase4-to-phase5");
    const onlyFs = completion(phase4.processors[0]!.name, GAME_DATE, T0);
    await firestoreOnly(phase4, onlyFs, T0);
    const reconciler = reconcilerJob();

    bq.injectFault({ method: "insertAll", status: 503, times: 3 });
    const failed = await reconciler.reconcile(at(15));
    assert.equal(failed.ok, false);
    assert.equal(failed.failures.length, 1);
    assert.equal(failed.failures[0]!.direction, "to_bigquery");
    assert.ok(logs.find("ERROR").some((e) => e.event === "reconcile_completed"));
    assert.ok(slack.received.some((m) => String(m.text).includes("Reconciler could not repair 1 item(s)")));
    assert.equal(rowsOf(phase4.id).length, 0);

    const healed = await reconciler.reconcile(at(25));
    assert.equal(healed.ok, true);
    assert.equal(healed.repairedBigQuery.length, 1);
    assert.equal(rowsOf(phase4.id).length, 1);
  });

  /**
   * The messages on sub: waits until `expected` have arrived (however slow the machine; bounded only
   * to catch a hang), then a quiet period in which a duplicate would show up, then closes.
   */
  async function drain(sub: Subscription, expected = 1, quietMs = 1500) {
    const got: Record<string, unknown>[] = [];
    sub.on("message", (m) => {
      got.push(JSON.parse(m.data.toString("utf8")) as Record<string, unknown>);
      m.ack();
    });
    const started = Date.now();
    while (got.length < expected && Date.now() - started < 45_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, quietMs));
    await sub.close();
    return got;
  }
});
