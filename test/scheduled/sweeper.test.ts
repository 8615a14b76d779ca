// The stall sweeper against the Firestore and Pub/Sub emulators and the BigQuery fake, wired from its
// environment exactly as deployed (buildScheduledJob), with phase state written by the real
// completion tracker. Time is injected: each sweep is given its `now`.
import assert from "node:assert/strict";
import { Firestore } from "@google-cloud/firestore";
import { PubSub, type Subscription } from "@google-cloud/pubsub";
import { resolvePipeline } from "../../functions/core/pipeline.ts";
import type { Pipeline, PipelineConfig, Transition } from "../../functions/core/pipeline-types.ts";
import type { PhaseStateDoc } from "../../functions/core/phase-state.ts";
import { buildScheduledJob } from "../../functions/scheduled/runtime.ts";
import type { SweepReport } from "../../functions/lib/sweeper.ts";
import { createBigQueryClient, createBigQueryStore, type BigQueryStore } from "../../functions/lib/bigquery-store.ts";
import { captureLogs, type LogCapture } from "../../functions/lib/logger.ts";
import { setDefaultRetryRuntime } from "../../functions/lib/retry.ts";
import { DEFAULT_TRANSACTION_TIMEOUT_MS, publishGraceMsFor } from "../../functions/lib/completion-tracker.ts";
import { SCHEDULED_ENV_KEYS } from "../../functions/core/scheduled-config.ts";
import { createTriggerDeduper } from "../../functions/lib/trigger-dedupe.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { uniqueName } from "../../tools/emulators/emulators.ts";
import { startSlackSink, TEST_DATASET, type SlackSink } from "../runtime/support.ts";
import { completion, isolatedPipelineConfig, MINUTE, realTracker, scheduledEnv, transitionOf, uniquePrefix } from "./support.ts";

const GAME_DATE = "2026-01-15";
// 03:00 in New York on the 16th: the 15th is a past date, within the default 3-day look-back.
const T0 = new Date("2026-01-16T08:00:00.000Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * MINUTE);

describe("stall sweeper (emulators, real tracker, injected clock)", function () {
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
    slack.respondWith(200);
    config = isolatedPipelineConfig();
    pipeline = resolvePipeline(config);
    prefix = uniquePrefix();
    logs = captureLogs();
  });
  afterEach(async () => {
    await Promise.all(jobs.splice(0).map((j) => j.close()));
  });
  after(async () => {
    await bq.stop();
    await slack.close();
    await pubsub.close();
    await db.terminate();
  });

  function sweeperJob(extra: Record<string, string> = {}) {
    const job = buildScheduledJob(
      "sweeper",
      scheduledEnv({ functionName: "phase-sweeper", projectId: sharedEmulators().projectId, bigqueryUrl: bq.url, prefix, pipeline: config, slackUrl: slack.url, extra }),
      logs.logger,
    );
    jobs.push(job);
    return { sweep: (now: Date) => job.run(now, uniqueName("run")) as Promise<SweepReport> };
  }

  function trackerAt(transition: Transition, now: Date) {
    return realTracker({ db, pubsub, store, prefix, transition, logger: logs.logger, clock: () => now });
  }

  async function subscribe(topicName: string): Promise<Subscription> {
    const [topic] = await pubsub.topic(topicName).get({ autoCreate: true });
    const [sub] = await topic.createSubscription(uniqueName("sweep"));
    return sub;
  }

  /**
   * The messages on sub: waits until `expected` have arrived (however slow the machine; bounded only
   * to catch a hang), then a quiet period in which a duplicate would show up, then closes.
   */
  async function drain(sub: Subscription, expected = 1, quietMs = 1500) {
    const got: { data: Record<string, unknown>; attributes: Record<string, string> }[] = [];
    sub.on("message", (m) => {
      got.push({ data: JSON.parse(m.data.toString("utf8")) as Record<string, unknown>, attributes: m.attributes });
      m.ack();
    });
    const started = Date.now();
    while (got.length < expected && Date.now() - started < 45_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, quietMs));
    await sub.close();
    return got;
  }

  async function stateDoc(transition: Transition): Promise<PhaseStateDoc> {
    const snap = await db.collection(`${prefix}phase_state`).doc(`${transition.id}__${GAME_DATE}__daily`).get();
    assert.ok(snap.exists);
    return snap.data() as PhaseStateDoc;
  }

  const slackTexts = () => slack.received.map((m) => String(m.text));

  it("phase 4 with 4 of 5 and no further message: nothing at 59 min, the tier-1 trigger at 1 h, published once, alerted", async () => {
    const phase4 = transitionOf(pipeline, "phase4-to-phase5");
    const names = phase4.processors.map((p) => p.name);
    const sub = await subscribe(phase4.outputTopicName);
    const tracker = trackerAt(phase4, T0);
    for (const name of names.slice(0, 4)) {
      const result = await tracker.record(completion(name, GAME_DATE, T0));
      assert.equal(result.done, true, JSON.stringify(result));
      assert.equal(result.trigger, null);
    }
    const sweeper = sweeperJob();

    const early = await sweeper.sweep(at(59));
    assert.equal(early.ok, true, JSON.stringify(early.failures));
    assert.deepEqual(early.latched, []);
    assert.deepEqual(early.nextDeadlines, [{ docId: `phase4-to-phase5__${GAME_DATE}__daily`, at: at(60).toISOString() }]);

    const due = await sweeper.sweep(at(60));
    assert.equal(due.ok, true, JSON.stringify(due.failures));
    assert.equal(due.latched.length, 1);
    assert.equal(due.latched[0]!.reason, "tier_1_60min_4of5");
    assert.equal(due.published.length, 1);

    const again = await sweeper.sweep(at(75));
    assert.deepEqual([again.latched, again.published], [[], []]);

    const triggers = await drain(sub);
    assert.equal(triggers.length, 1, JSON.stringify(triggers));
    const trigger = triggers[0]!;
    assert.equal(trigger.data.trigger_reason, "tier_1_60min_4of5");
    assert.deepEqual(trigger.data.missing_processors, [names[4]]);
    assert.equal(trigger.attributes.trigger_id, `phase4-to-phase5:${GAME_DATE}:daily`);
    assert.equal(trigger.data.correlation_id, `corr-${GAME_DATE}`);
    const doc = await stateDoc(phase4);
    assert.equal(doc.trigger?.state, "published");
    assert.equal(doc.trigger?.decidedAt, at(60).toISOString());
    assert.equal(slackTexts().filter((t) => t.includes("triggered without every processor (tier_1_60min_4of5)")).length, 1);
    // One execution-log row for the trigger, saying who published it and what was missing.
    const logged = bq.rows("phase_execution_log");
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.trigger_id, `phase4-to-phase5:${GAME_DATE}:daily`);
    assert.equal(logged[0]!.function_name, "phase-sweeper");
    assert.equal(logged[0]!.degraded, true);
    assert.deepEqual(logged[0]!.missing_processors, [names[4]]);
    // The aggregate follows the sweeper's latch: one MERGE, by the sweeper (the orchestrator never latched).
    const aggregates = bq.rows("phase_completion_status").filter((r) => r.transition_id === phase4.id);
    assert.equal(aggregates.length, 1, JSON.stringify(aggregates));
    assert.equal(aggregates[0]!.triggered, true);
    assert.equal(aggregates[0]!.trigger_id, `phase4-to-phase5:${GAME_DATE}:daily`);
    assert.equal(aggregates[0]!.trigger_reason, "tier_1_60min_4of5");
    assert.equal(aggregates[0]!.complete_count, 4);
    const merges = bq.requests.filter((r) => r.api === "jobs.query" && /MERGE/.test(String((r.body as { query?: unknown }).query)));
    assert.equal(merges.length, 1, "one MERGE per latch change, none for the runs that changed nothing");
  });

  it("the aggregate MERGE failing (BigQuery 503 on every attempt) fails the run loudly; the trigger still goes out", async () => {
    const phase4 = transitionOf(pipeline, "phase4-to-phase5");
    const names = phase4.processors.map((p) => p.name);
    const sub = await subscribe(phase4.outputTopicName);
    const tracker = trackerAt(phase4, T0);
    for (const name of names.slice(0, 4)) assert.equal((await tracker.record(completion(name, GAME_DATE, T0))).done, true);
    bq.injectFault({ method: "query", status: 503, times: 3 });
    const due = await sweeperJob().sweep(at(60));
    assert.equal(due.published.length, 1);
    assert.equal(due.ok, false);
    assert.deepEqual(due.failures.map((f) => f.step), ["aggregate"]);
    assert.equal(bq.rows("phase_completion_status").filter((r) => r.transition_id === phase4.id).length, 0);
    assert.equal((await drain(sub)).length, 1);
  });

  it("a trigger whose latching call recorded a refused publish is published at once (within the grace), exactly once by two racing sweeper instances", async () => {
    const phase4 = transitionOf(pipeline, "phase4-to-phase5");
    // A real fault: the output topic does not exist yet, so the orchestrator's publish fails (NOT_FOUND).
    const tracker = trackerAt(phase4, T0);
    let last;
    for (const p of phase4.processors) last = await tracker.record(completion(p.name, GAME_DATE, T0));
    assert.equal(last!.trigger?.state, "pending");
    assert.equal(last!.done, false);
    assert.ok((await stateDoc(phase4)).trigger?.publishFailedAt, "the latching call recorded that Pub/Sub refused its publish");
    const sub = await subscribe(phase4.outputTopicName);

    const first = sweeperJob();
    const second = sweeperJob();
    // 1 min after the latch, well within the 2-min grace: nobody is publishing any more, so no waiting.
    const reports = await Promise.all([first.sweep(at(1)), second.sweep(at(1))]);
    assert.ok(reports.every((r) => r.ok), JSON.stringify(reports.map((r) => r.failures)));
    assert.equal(reports.flatMap((r) => r.published).length, 1, JSON.stringify(reports));
    assert.equal(reports.flatMap((r) => r.skipped).length, 1, "the other run saw it claimed or already published");

    // Long after the claim expired: already published, nothing sent.
    const later = await second.sweep(at(30));
    assert.deepEqual(later.published, []);

    const triggers = await drain(sub);
    assert.equal(triggers.length, 1, JSON.stringify(triggers));
    assert.equal(triggers[0]!.data.trigger_reason, "all_complete");
    assert.equal(bq.rows("phase_execution_log").length, 1, "one execution-log row per trigger");
    const doc = await stateDoc(phase4);
    assert.equal(doc.trigger?.state, "published");
    // Consumers de-duplicate by trigger_id anyway: the first delivery is the only one acted on.
    const dedupe = createTriggerDeduper(db, `${prefix}consumed_triggers`);
    assert.equal(await dedupe.firstDelivery(String(triggers[0]!.data.trigger_id)), true);
    assert.equal(await dedupe.firstDelivery(String(triggers[0]!.data.trigger_id)), false);
  });

  it("a republish refused by Pub/Sub gives its claim back: the next run, a minute later and well within the lease, publishes once", async () => {
    const phase4 = transitionOf(pipeline, "phase4-to-phase5");
    // A real fault: the output topic does not exist yet, so every publish is refused (NOT_FOUND).
    const tracker = trackerAt(phase4, T0);
    let last;
    for (const p of phase4.processors) last = await tracker.record(completion(p.name, GAME_DATE, T0));
    assert.equal(last!.trigger?.state, "pending");
    const sweeper = sweeperJob();
    const refused = await sweeper.sweep(at(1));
    assert.deepEqual(refused.failures.map((f) => f.step), ["publish"], JSON.stringify(refused.failures));
    const claims = await db.collection(`${prefix}sweeper_publish_claims`).get();
    assert.equal(claims.size, 0, "the claim of a publish that certainly did not go out was given back");

    const sub = await subscribe(phase4.outputTopicName);
    const next = await sweeper.sweep(at(2));
    assert.deepEqual(next.published, [`phase4-to-phase5:${GAME_DATE}:daily`], JSON.stringify(next));
    assert.equal((await drain(sub)).length, 1);
  });

  it("configured with a 1-min grace, the sweeper still leaves a pending trigger to its latching call for the whole publish grace", async () => {
    const phase4 = transitionOf(pipeline, "phase4-to-phase5");
    const sub = await subscribe(phase4.outputTopicName);
    const tracker = trackerAt(phase4, T0);
    for (const p of phase4.processors.slice(0, 4)) assert.equal((await tracker.record(completion(p.name, GAME_DATE, T0))).done, true);
    // The latching call commits the latch and dies before publishing (nothing recorded as failed).
    const latched = await tracker.recordInFirestore(completion(phase4.processors[4]!.name, GAME_DATE, T0), T0);
    assert.equal(latched.latchedNow, true);
    assert.equal(latched.doc.trigger?.publishFailedAt, null);

    const sweeper = sweeperJob({ [SCHEDULED_ENV_KEYS.pendingGraceMinutes]: "1" });
    assert.equal(logs.find("WARNING").filter((e) => e.message.includes("shorter than the latching call's publish grace")).length, 1, "the raised grace is said at start");
    const graceMs = publishGraceMsFor(DEFAULT_TRANSACTION_TIMEOUT_MS);
    assert.ok(graceMs > MINUTE, `publish grace ${graceMs} ms is longer than the configured minute`);
    const afterOneMinute = await sweeper.sweep(at(1));
    assert.equal(afterOneMinute.ok, true, JSON.stringify(afterOneMinute.failures));
    assert.deepEqual([afterOneMinute.published, afterOneMinute.skipped], [[], []], "the latching call may still be publishing");
    const justBefore = await sweeper.sweep(new Date(T0.getTime() + graceMs - 1000));
    assert.deepEqual(justBefore.published, []);
    assert.equal((await stateDoc(phase4)).trigger?.state, "pending");

    const due = await sweeper.sweep(new Date(T0.getTime() + graceMs));
    assert.deepEqual(due.published, [`phase4-to-phase5:${GAME_DATE}:daily`], JSON.stringify(due));
    const triggers = await drain(sub);
    assert.equal(triggers.length, 1, JSON.stringify(triggers));
    assert.equal((await stateDoc(phase4)).trigger?.state, "published");
    // The latching call died before its aggregate MERGE: the sweeper that published wrote the row.
    assert.deepEqual(bq.rows("phase_completion_status").map((row) => [row.trigger_id, row.triggered]), [[`phase4-to-phase5:${GAME_DATE}:daily`, true]]);
  });

  it("a trigger left pending on a date older than the look-back (a backfill's) is still published once after the grace; published ones of old dates are not read", async () => {
    const phase4 = transitionOf(pipeline, "phase4-to-phase5");
    const sub = await subscribe(phase4.outputTopicName);
    const tracker = trackerAt(phase4, T0);
    const OLD_DATE = "2026-01-02"; // 14 days before T0, the look-back is 3
    const PUBLISHED_OLD_DATE = "2026-01-03";
    for (const p of phase4.processors) assert.equal((await tracker.record(completion(p.name, PUBLISHED_OLD_DATE, T0))).done, true);
    for (const p of phase4.processors.slice(0, 4)) assert.equal((await tracker.record(completion(p.name, OLD_DATE, T0))).done, true);
    // The latching call commits the latch and dies before publishing.
    const latched = await tracker.recordInFirestore(completion(phase4.processors[4]!.name, OLD_DATE, T0), T0);
    assert.equal(latched.latchedNow, true);

    const sweeper = sweeperJob();
    // Past the sweeper's pending grace (its 2-min default, longer than the latching call's publish grace).
    const dueAt = new Date(T0.getTime() + Math.max(2 * MINUTE, publishGraceMsFor(DEFAULT_TRANSACTION_TIMEOUT_MS)));
    const early = await sweeper.sweep(at(1));
    assert.equal(early.ok, true, JSON.stringify(early.failures));
    assert.equal(early.pendingBeyondLookback, 1, "read although older than the look-back");
    assert.equal(early.docsChecked, 1, "the published document of an old date is not read");
    assert.deepEqual(early.published, [], "within the grace: still the latching call's");

    const due = await sweeper.sweep(dueAt);
    assert.deepEqual(due.published, [`phase4-to-phase5:${OLD_DATE}:daily`], JSON.stringify(due));
    const triggers = (await drain(sub, 2)).filter((t) => t.attributes.game_date === OLD_DATE);
    assert.equal(triggers.length, 1, JSON.stringify(triggers));
    const doc = (await db.collection(`${prefix}phase_state`).doc(`${phase4.id}__${OLD_DATE}__daily`).get()).data() as PhaseStateDoc;
    assert.equal(doc.trigger?.state, "published");
    const after = await sweeper.sweep(new Date(dueAt.getTime() + MINUTE));
    assert.equal(after.pendingBeyondLookback, 0);
  });

  it("a silent phase alerts once per latch (across runs and instances), naming the missing processors, without writing phase state", async () => {
    const phase2 = transitionOf(pipeline, "phase2-to-phase3");
    const names = phase2.processors.map((p) => p.name);
    const tracker = trackerAt(phase2, T0);
    for (const name of names.slice(0, 3)) await tracker.record(completion(name, GAME_DATE, T0));
    const before = await stateDoc(phase2);
    const missing = names.slice(3).sort();

    const a = sweeperJob();
    const b = sweeperJob();
    const quiet = await a.sweep(at(phase2.stallAfterMinutes - 1));
    assert.deepEqual(quiet.stalled, []);
    assert.equal(slack.received.length, 0);

    const stalled = await a.sweep(at(phase2.stallAfterMinutes));
    assert.deepEqual(stalled.stalled, [
      { docId: `phase2-to-phase3__${GAME_DATE}__daily`, missing, minutesSinceFirstCompletion: phase2.stallAfterMinutes, alerted: true },
    ]);
    const [again, other] = await Promise.all([a.sweep(at(phase2.stallAfterMinutes + 10)), b.sweep(at(phase2.stallAfterMinutes + 10))]);
    assert.equal(again.stalled[0]!.alerted, false);
    assert.equal(other.stalled[0]!.alerted, false);

    const alerts = slackTexts().filter((t) => t.includes("stalled"));
    assert.equal(alerts.length, 1, JSON.stringify(slackTexts()));
    for (const name of missing) assert.ok(alerts[0]!.includes(name), `${name} named in ${alerts[0]}`);
    assert.equal(logs.find("WARNING").filter((e) => e.event === "phase_stalled").length, 3, "every run still logs the stall");
    assert.deepEqual(await stateDoc(phase2), before, "the sweeper never wrote the phase-state document");
  });

  it("a stall alert Slack refused (503) is retried by the next run, and then sent once", async () => {
    const restore = setDefaultRetryRuntime({ sleep: async () => {} });
    try {
      const phase2 = transitionOf(pipeline, "phase2-to-phase3");
      await trackerAt(phase2, T0).record(completion(phase2.processors[0]!.name, GAME_DATE, T0));
      const sweeper = sweeperJob();
      slack.respondWith(503);
      const refused = await sweeper.sweep(at(phase2.stallAfterMinutes));
      assert.equal(refused.stalled[0]!.alerted, false);
      assert.equal(refused.ok, true, "an undelivered alert is logged, not a failed sweep");
      assert.ok(logs.find("ERROR").some((e) => e.message.includes("alert not delivered")));
      slack.respondWith(200);
      const retried = await sweeper.sweep(at(phase2.stallAfterMinutes + 10));
      assert.equal(retried.stalled[0]!.alerted, true);
      assert.equal(slackTexts().filter((t) => t.includes("stalled")).length, 1);
    } finally {
      restore();
    }
  });
});
