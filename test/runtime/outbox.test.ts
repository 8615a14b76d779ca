// The trigger outbox end to end (docs/ARCHITECTURE.md FM3): the latch is written pending in the completion's
// transaction, published after commit, then marked published. A publish that fails leaves it pending
// and answers 500 (recording the failure), so the redelivery publishes it at once; after a crash between
// the pending mark and the publish, nobody else publishes before the grace period is over, then the
// redelivery does. The consumer de-duplicates by trigger_id, so downstream acts exactly once.
import assert from "node:assert/strict";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import { LOCAL_KNOBS } from "../../functions/lib/orchestrator-runtime.ts";
import { publishGraceMsFor } from "../../functions/lib/completion-tracker.ts";
import {
  collectionPrefix,
  orchestratorEnv,
  orchestratorSource,
  PHASE2_CLASS_NAMES,
  phase2Message,
  postJson,
  REDELIVERY_WAIT_MS,
  pushEnvelope,
  startFunctionProcess,
  startSlackSink,
  startTriggerConsumer,
  TEST_DATASET,
  waitFor,
  type FunctionProcess,
  type SlackSink,
} from "./support.ts";

const transition = transitionById(loadPipeline(), "phase2-to-phase3");

describe("trigger outbox: publish failure and a crash before the publish (end to end)", function () {
  this.timeout(240_000);
  let pubProxy: TcpProxy;
  let bq: BigQueryFake;
  let slack: SlackSink;
  let db: Firestore;
  let pubsub: PubSub;
  const running: FunctionProcess[] = [];

  before(async () => {
    const { projectId, pubsub: ps } = sharedEmulators();
    pubProxy = await startTcpProxy(ps.host);
    bq = await startBigQueryFake({ projectId });
    await provisionOrchestrationTables(createBigQueryClient({ projectId, apiEndpoint: bq.url }), TEST_DATASET);
    slack = await startSlackSink();
    db = new Firestore({ projectId });
    pubsub = new PubSub({ projectId });
    await pubsub.topic(transition.outputTopicName).get({ autoCreate: true });
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.close()));
    await Promise.all(running.splice(0).map((f) => f.stop()));
    pubProxy.setMode("pass");
  });
  after(async () => {
    await pubProxy.close();
    await bq.stop();
    await slack.close();
    await pubsub.close();
    await db.terminate();
  });

  async function start(prefix: string, extra: Record<string, string> = {}): Promise<FunctionProcess> {
    const { projectId, firestore } = sharedEmulators();
    const fn = await startFunctionProcess({
      source: orchestratorSource(transition.id),
      target: "orchestrate",
      env: orchestratorEnv({
        transitionId: transition.id,
        projectId,
        firestoreHost: firestore.host,
        pubsubHost: pubProxy.host,
        bigqueryUrl: bq.url,
        slackUrl: slack.url,
        firestorePrefix: prefix,
        extra: { [LOCAL_KNOBS.noRetryBackoff]: "1", ...extra },
      }),
    });
    running.push(fn);
    return fn;
  }

  // Closed after each test, also a failed one (a subscriber left open reconnects for the rest of the run).
  const consumers: { close(): Promise<void> }[] = [];
  const consumer = async (prefix: string) => {
    const c = await startTriggerConsumer(pubsub, db, transition.outputTopicName, prefix);
    consumers.push(c);
    return c;
  };

  const stateOf = async (prefix: string) => {
    const snap = await db.collection(`${prefix}phase_state`).get();
    return snap.docs[0]?.data() as { trigger: { state: string; triggerId: string } | null } | undefined;
  };

  it("publish refused -> 500 with the trigger left pending (and an alert); the redelivery publishes it; one effective trigger", async () => {
    const prefix = collectionPrefix("outbox_refuse");
    const fn = await start(prefix);
    const downstream = await consumer(prefix);
    const envelopes = PHASE2_CLASS_NAMES.map((name) => pushEnvelope(phase2Message(name, "2026-01-15")));
    for (const e of envelopes.slice(0, -1)) assert.equal((await postJson(fn.url, e)).status, 200);

    pubProxy.setMode("refuse");
    const last = envelopes.at(-1)!;
    const failed = await postJson(fn.url, last);
    assert.equal(failed.status, 500, JSON.stringify(failed.body));
    assert.deepEqual(failed.body.trigger, { trigger_id: `${transition.id}:2026-01-15:daily`, state: "pending" });
    assert.equal((await stateOf(prefix))?.trigger?.state, "pending");
    assert.equal(fn.logsAt("ERROR").filter((l) => String(l.message).includes("left pending")).length, 1);
    assert.ok(slack.received.some((a) => String(a.text).includes("could not be published")));

    pubProxy.setMode("pass");
    const redelivered = await waitFor("the redelivery to be acknowledged", async () => {
      const r = await postJson(fn.url, last);
      return r.status === 200 ? r : undefined;
    }, REDELIVERY_WAIT_MS);
    assert.deepEqual(redelivered.body.trigger, { trigger_id: `${transition.id}:2026-01-15:daily`, state: "published" });
    assert.equal(redelivered.body.firestore, "duplicate");
    assert.equal((await stateOf(prefix))?.trigger?.state, "published");

    // The trigger reaches the consumer however slow the machine; then a quiet period for any duplicate.
    await waitFor("the trigger to reach the consumer", () => downstream.effective.length >= 1);
    await downstream.settle(1500);
    await downstream.close();
    // Raw deliveries: 1, or more if a publish attempt given up during the outage still reached the
    // server once the network healed. The consumer acts once either way.
    assert.ok(downstream.raw.length >= 1);
    assert.equal(downstream.effective.length, 1);
    assert.equal(downstream.effective[0]?.trigger_id, `${transition.id}:2026-01-15:daily`);
    assert.equal(bq.rows("phase_execution_log").filter((r) => r.trigger_id === `${transition.id}:2026-01-15:daily`).length, 1);
  });

  it("crash (SIGKILL) after the pending mark, before the publish: the redelivery waits out the grace period (500), then a restarted instance publishes it; one delivery", async function () {
    this.timeout(300_000);
    const prefix = collectionPrefix("outbox_crash");
    const gameDate = "2026-01-16";
    const triggerId = `${transition.id}:${gameDate}:daily`;
    // 15 s Firestore attempts, patient enough that no call that must succeed is given up on a loaded
    // machine: the grace period (a publish plus its mark with every retry) is then ~67 s, not ~82 s.
    const attemptMs = 15_000;
    const knobs = { [LOCAL_KNOBS.firestoreAttemptTimeoutMs]: String(attemptMs) };
    const fn = await start(prefix, knobs);
    const downstream = await consumer(prefix);
    const envelopes = PHASE2_CLASS_NAMES.map((name) => pushEnvelope(phase2Message(name, gameDate)));
    for (const e of envelopes.slice(0, -1)) assert.equal((await postJson(fn.url, e)).status, 200);

    pubProxy.setMode("stall");
    const last = envelopes.at(-1)!;
    const hanging = postJson(fn.url, last).then(
      (r) => r.status,
      () => "connection lost" as const,
    );
    await waitFor("the trigger to be latched pending", async () => (await stateOf(prefix))?.trigger?.state === "pending");
    const latchedAt = Date.now();
    await fn.kill();
    assert.equal(await hanging, "connection lost", "the push never got an answer: Pub/Sub will redeliver");

    pubProxy.setMode("pass");
    const restarted = await start(prefix, knobs);
    const early = await postJson(restarted.url, last);
    const grace = publishGraceMsFor(attemptMs);
    if (Date.now() - latchedAt < grace - 2000) {
      // The latching call may still have been publishing: nobody else publishes yet, and the message is kept.
      assert.equal(early.status, 500, JSON.stringify(early.body));
      assert.deepEqual(early.body.trigger, { trigger_id: triggerId, state: "pending" });
      assert.equal(early.body.firestore, "duplicate", "the entry was committed before the crash");
    }
    const r = await waitFor("the redelivery after the grace period to be acknowledged", async () => {
      const again = await postJson(restarted.url, last);
      if (again.status === 200) return again;
      await new Promise((resolve) => setTimeout(resolve, 1000)); // Pub/Sub's backoff is longer
      return undefined;
    }, grace + 30_000);
    assert.deepEqual(r.body.trigger, { trigger_id: triggerId, state: "published" });
    assert.equal((await stateOf(prefix))?.trigger?.state, "published");

    // The trigger reaches the consumer however slow the machine; then a quiet period for any duplicate.
    await waitFor("the trigger to reach the consumer", () => downstream.effective.length >= 1);
    await downstream.settle(1500);
    await downstream.close();
    // The killed instance's publish was held by the stalled proxy and died with its socket, so the
    // server saw one publish. Had it got through before the crash, raw would be 2 and the consumer
    // would still act once: that is what de-duplication by trigger_id is for.
    assert.equal(downstream.raw.length, 1);
    assert.equal(downstream.effective.length, 1);
    assert.equal(downstream.effective[0]?.trigger_id, triggerId);
    assert.equal(bq.rows("phase_execution_log").filter((row) => row.trigger_id === triggerId).length, 1);
  });
});
