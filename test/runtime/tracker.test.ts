// The completion tracker in-process, with real clients: Firestore (shared emulator) behind a TCP fault
// proxy, the BigQuery fake, the Pub/Sub emulator. The seed's scenarios A-D as the tracker's returned
// values, its log lines and the data in both stores; the latches of a date's same-day and overnight runs.
import assert from "node:assert/strict";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../harness/tcp-proxy.ts";
import { uniqueName } from "../harness/emulators.ts";
import { firestoreVia } from "../lib/firestore-via.ts";
import { DATASET_ID, FAST_RETRY, reprovision, startProvisionedFake, type FakeContext } from "../bigquery/helpers.ts";
import { createBigQueryStore } from "../../functions/lib/bigquery-store.ts";
import { createCompletionTracker, type CompletionTracker } from "../../functions/lib/completion-tracker.ts";
import { createPubSubPublisher } from "../../functions/lib/trigger-publisher.ts";
import { createBreaker, type Breaker } from "../../functions/lib/circuit-breaker.ts";
import { captureLogs, type LogCapture } from "../../functions/lib/logger.ts";
import { setDefaultRetryRuntime } from "../../functions/lib/retry.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import type { ResolvedCompletion } from "../../functions/core/phase-state.ts";
import { LOG_EVENTS } from "../../functions/core/log-events.ts";
import { addDays, todayIn } from "../../functions/core/run-mode.ts";

const pipeline = loadPipeline();
const phase2 = transitionById(pipeline, "phase2-to-phase3");
const phase3 = transitionById(pipeline, "phase3-to-phase4");

describe("completion tracker in-process (scenarios A-D, latches)", function () {
  this.timeout(60_000);
  let proxy: TcpProxy;
  let viaProxy: Firestore;
  let direct: Firestore;
  let pubsub: PubSub;
  let bq: FakeContext;
  let restoreRetry: () => void;
  const breakers: Breaker[] = [];

  before(async () => {
    const { firestore, projectId } = sharedEmulators();
    proxy = await startTcpProxy(firestore.host);
    viaProxy = firestoreVia(proxy.port, projectId);
    direct = new Firestore({ projectId });
    pubsub = new PubSub({ projectId });
    bq = await startProvisionedFake();
    // Full jitter's lower bound: retries follow at once (the attempt counts and bounds stay as in production).
    restoreRetry = setDefaultRetryRuntime({ random: () => 0 });
    for (const t of [phase2, phase3]) await pubsub.topic(t.outputTopicName).get({ autoCreate: true });
  });
  beforeEach(async () => {
    proxy.setMode("pass");
    await reprovision(bq);
  });
  after(async () => {
    restoreRetry();
    for (const b of breakers) b.shutdown();
    proxy.setMode("pass");
    await viaProxy.terminate();
    await direct.terminate();
    await pubsub.close();
    await proxy.close();
    await bq.fake.stop();
  });

  function tracker(opts: { transitionId?: string; clock?: () => Date; transactionTimeoutMs?: number } = {}): {
    t: CompletionTracker;
    logs: LogCapture;
    collection: string;
  } {
    const logs = captureLogs();
    const collection = `${uniqueName("ps").replace(/[^A-Za-z0-9]/g, "_")}_phase_state`;
    const breaker = createBreaker(uniqueName("fs"), { logger: logs.logger });
    breakers.push(breaker);
    const t = createCompletionTracker({
      db: viaProxy,
      stateCollection: collection,
      sink: createBigQueryStore({ bigquery: bq.bigquery, projectId: bq.fake.projectId, datasetId: DATASET_ID, logger: logs.logger, retry: FAST_RETRY }),
      publisher: createPubSubPublisher(pubsub),
      firestoreBreaker: breaker,
      logger: logs.logger,
      transition: transitionById(pipeline, opts.transitionId ?? phase2.id),
      timeZone: pipeline.timeZone,
      functionName: "tracker-test",
      codeHash: "b".repeat(64),
      transactionTimeoutMs: opts.transactionTimeoutMs ?? 600,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    return { t, logs, collection };
  }

  let n = 0;
  function completion(processor: string, over: Partial<ResolvedCompletion> = {}): ResolvedCompletion {
    n++;
    return {
      processor,
      reportedName: processor,
      status: "success",
      gameDate: "2026-01-15",
      executionId: `ex${n}`,
      correlationId: "corr-tracker",
      completedAt: new Date().toISOString(),
      messageId: `msg-${n}`,
      ...over,
    };
  }

  const events = (logs: LogCapture, event: string) => logs.entries.filter((e) => (e as Record<string, unknown>).event === event);
  const completionRows = () => bq.fake.rows("phase_completions");
  async function stateDocs(collection: string) {
    return (await direct.collection(collection).get()).docs.map((d) => d.data());
  }

  it("A: Firestore down (refused), BigQuery up -> (failed, ok), WARNING naming firestore, row kept; redelivery records", async () => {
    const { t, logs, collection } = tracker();
    const c = completion("p2_odds_game_lines");
    proxy.setMode("refuse");
    const r = await t.record(c, { recordCount: 10 });
    assert.equal(r.firestore.ok, false);
    assert.equal(r.bigquery.ok, true);
    assert.equal(r.decision, null);
    assert.equal(r.trigger, null);
    assert.equal(r.done, false);
    const [warning, ...more] = events(logs, LOG_EVENTS.dualWriteFailed);
    assert.equal(more.length, 0);
    assert.equal(warning?.severity, "WARNING");
    assert.equal((warning as Record<string, unknown>).store, "firestore");
    assert.equal(events(logs, LOG_EVENTS.bothStoresFailed).length, 0);
    assert.equal(logs.find("WARNING", "retrying firestore.recordCompletion").length, 2, "three attempts");
    assert.equal(completionRows().length, 1);
    assert.equal(completionRows()[0]?.processor_name, "p2_odds_game_lines");
    assert.equal(completionRows()[0]?.record_count, 10);

    proxy.setMode("pass");
    // Pub/Sub redelivers after its backoff; by then the client's channel has reconnected.
    await viaProxy.doc("_probe/reconnected").get();
    const again = await t.record(c, { recordCount: 10 });
    assert.equal(again.firestore.ok, true, String((again.firestore as { error?: unknown }).error));
    assert.equal(again.bigquery.ok, true);
    assert.equal(again.done, true);
    assert.equal(again.decision?.reason, "waiting");
    assert.equal(completionRows().length, 1, "same insertId: BigQuery de-duplicates the redelivered row");
    const [doc] = await stateDocs(collection);
    assert.deepEqual(Object.keys(doc?.entries as object), ["p2_odds_game_lines"]);
  });

  it("B: BigQuery down (fake 503, then refused), Firestore up -> (ok, failed), WARNING naming bigquery; redelivery fills BigQuery", async () => {
    const { t, logs, collection } = tracker();
    const c = completion("p2_nbacom_boxscores");
    bq.fake.injectFault({ method: "insertAll", status: 503, times: 3 });
    const r = await t.record(c);
    assert.equal(r.firestore.ok, true);
    assert.equal(r.firestore.duplicate, false);
    assert.equal(r.bigquery.ok, false);
    assert.equal(r.done, false);
    assert.equal((r.bigquery as { error: { code?: number } }).error.code, 503);
    const warnings = events(logs, LOG_EVENTS.dualWriteFailed);
    assert.deepEqual(warnings.map((w) => [w.severity, (w as Record<string, unknown>).store]), [["WARNING", "bigquery"]]);
    assert.equal(completionRows().length, 0);
    assert.equal((await stateDocs(collection)).length, 1);

    await bq.fake.setDown(true);
    const down = await t.record(c);
    await bq.fake.setDown(false);
    assert.deepEqual([down.firestore.ok, down.firestore.duplicate, down.bigquery.ok], [true, true, false]);

    const healed = await t.record(c);
    assert.deepEqual([healed.firestore.ok, healed.firestore.duplicate, healed.bigquery.ok, healed.done], [true, true, true, true]);
    assert.equal(completionRows().length, 1);
    assert.equal(bq.fake.rows("phase_completion_status").length, 1);
  });

  it("C: both down -> (failed, failed), CRITICAL both_stores_failed, nothing stored", async () => {
    const { t, logs, collection } = tracker();
    proxy.setMode("refuse");
    await bq.fake.setDown(true);
    const r = await t.record(completion("p2_odds_player_props"));
    await bq.fake.setDown(false);
    proxy.setMode("pass");
    assert.deepEqual([r.firestore.ok, r.bigquery.ok, r.done], [false, false, false]);
    const critical = events(logs, LOG_EVENTS.bothStoresFailed);
    assert.equal(critical.length, 1);
    assert.equal(critical[0]?.severity, "CRITICAL");
    assert.match(String((critical[0] as Record<string, unknown>).firestore_error), /Timeout|attempt exceeded/);
    assert.match(String((critical[0] as Record<string, unknown>).bigquery_error), /ECONNREFUSED|connect/i);
    assert.equal(events(logs, LOG_EVENTS.dualWriteFailed).length, 0);
    assert.equal(completionRows().length, 0);
    assert.equal((await stateDocs(collection)).length, 0);
  });

  it("D: a transient Firestore failure (refused for the first attempt, then passing) -> (ok, ok), no store failure logged", async () => {
    const { t, logs, collection } = tracker({ transactionTimeoutMs: 2500 });
    proxy.setMode("refuse");
    const pending = t.record(completion("p2_nbacom_gamebook_pdf"));
    // Heal the network as soon as the first attempt has been given up.
    const started = Date.now();
    while (logs.find("WARNING", "retrying firestore.recordCompletion").length === 0) {
      assert.ok(Date.now() - started < 10_000, "first attempt never gave up");
      await new Promise((r) => setTimeout(r, 20));
    }
    proxy.setMode("pass");
    const r = await pending;
    assert.equal(r.firestore.ok, true, String((r.firestore as { error?: unknown }).error));
    assert.deepEqual([r.bigquery.ok, r.done], [true, true]);
    assert.equal(events(logs, LOG_EVENTS.dualWriteFailed).length + events(logs, LOG_EVENTS.bothStoresFailed).length, 0);
    assert.equal(events(logs, LOG_EVENTS.dualWriteSucceeded).length, 1);
    assert.equal(logs.entries.filter((e) => e.severity === "ERROR" || e.severity === "CRITICAL").length, 0);
    assert.equal(completionRows().length, 1);
    assert.equal((await stateDocs(collection)).length, 1);
  });

  it("the completing message latches, publishes and marks the trigger; a redelivery of it publishes nothing more", async () => {
    const { t, collection } = tracker();
    const msgs = phase2.processors.map((p) => completion(p.name));
    const results = [];
    for (const m of msgs) results.push(await t.record(m));
    const last = results.at(-1)!;
    assert.equal(last.trigger?.state, "published");
    assert.equal(last.trigger?.publishedNow, true);
    assert.ok(results.slice(0, -1).every((r) => r.trigger === null && r.done));
    const again = await t.record(msgs.at(-1)!);
    assert.deepEqual([again.firestore.duplicate, again.trigger?.state, again.trigger?.publishedNow], [true, "published", false]);
    const [doc] = await stateDocs(collection);
    assert.equal((doc?.trigger as { state: string }).state, "published");
    assert.equal(bq.fake.rows("phase_execution_log").length, 1);
  });

  it("a same-day run and an overnight run of one date latch two triggers (clock moved past midnight)", async () => {
    // Today in New York, at noon there; then 03:00 there the next day.
    const today = todayIn(pipeline.timeZone, new Date());
    const noon = new Date(`${today}T17:00:00.000Z`);
    const nextNight = new Date(`${addDays(today, 1)}T08:00:00.000Z`);
    let now = noon;
    const { t, collection } = tracker({ transitionId: phase3.id, clock: () => now });
    const rule = phase3.rule;
    assert.equal(rule.kind, "mode_aware");
    if (rule.kind !== "mode_aware") return;

    let sameDayTrigger: string | undefined;
    for (const p of rule.modes.same_day.expected) {
      const r = await t.record(completion(p, { gameDate: today }));
      sameDayTrigger ??= r.trigger?.triggerId;
    }
    assert.equal(sameDayTrigger, `${phase3.id}:${today}:same_day`);

    now = nextNight;
    const results = [];
    for (const p of rule.modes.overnight.expected) results.push(await t.record(completion(p, { gameDate: today })));
    const overnight = results.find((r) => r.trigger !== null);
    assert.equal(overnight?.trigger?.triggerId, `${phase3.id}:${today}:overnight`);
    assert.equal(overnight?.decision?.mode, "overnight");

    const docs = await stateDocs(collection);
    assert.deepEqual(docs.map((d) => d.latchMode).sort(), ["overnight", "same_day"]);
    assert.ok(docs.every((d) => (d.trigger as { state: string }).state === "published"));
    const logRows = bq.fake.rows("phase_execution_log").map((r) => r.trigger_id).sort();
    assert.deepEqual(logRows, [`${phase3.id}:${today}:overnight`, `${phase3.id}:${today}:same_day`]);
  });
});
