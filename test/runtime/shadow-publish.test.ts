// Shadow mode end to end (TRIGGER_MODE=shadow): an orchestrator publishes its trigger to the shadow
// topic and never to the live one, also when the publish path fails and recovers (the pending trigger
// is republished on the redelivery: to the shadow topic again). Pub/Sub refused through the TCP proxy.
import assert from "node:assert/strict";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import { shadowTopicName } from "../../functions/core/trigger-routing.ts";
import { LOCAL_KNOBS } from "../../functions/lib/orchestrator-runtime.ts";
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
const LIVE = transition.outputTopicName;
const SHADOW = shadowTopicName(LIVE);

describe("shadow mode: triggers go to the shadow topic only, also through a publish failure", function () {
  this.timeout(240_000);
  let pubProxy: TcpProxy;
  let bq: BigQueryFake;
  let slack: SlackSink;
  let db: Firestore;
  let pubsub: PubSub;
  let fn: FunctionProcess | undefined;

  before(async () => {
    const { projectId, pubsub: ps } = sharedEmulators();
    pubProxy = await startTcpProxy(ps.host);
    bq = await startBigQueryFake({ projectId });
    await provisionOrchestrationTables(createBigQueryClient({ projectId, apiEndpoint: bq.url }), TEST_DATASET);
    slack = await startSlackSink();
    db = new Firestore({ projectId });
    pubsub = new PubSub({ projectId });
    for (const t of [LIVE, SHADOW]) await pubsub.topic(t).get({ autoCreate: true });
  });
  after(async () => {
    await fn?.stop();
    await pubProxy.close();
    await bq.stop();
    await slack.close();
    await pubsub.close();
    await db.terminate();
  });

  it("publish refused -> 500, pending; recovered -> the redelivery publishes to <topic>-shadow; the live topic receives nothing", async () => {
    const { projectId, firestore } = sharedEmulators();
    const prefix = collectionPrefix("shadow_refuse");
    fn = await startFunctionProcess({
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
        extra: { [LOCAL_KNOBS.noRetryBackoff]: "1", TRIGGER_MODE: "shadow" },
      }),
    });
    const live = await startTriggerConsumer(pubsub, db, LIVE, `${prefix}live_`);
    const shadow = await startTriggerConsumer(pubsub, db, SHADOW, `${prefix}shadow_`);
    const gameDate = "2026-02-10";
    const triggerId = `${transition.id}:${gameDate}:daily`;
    const envelopes = PHASE2_CLASS_NAMES.map((name) => pushEnvelope(phase2Message(name, gameDate)));
    for (const e of envelopes.slice(0, -1)) assert.equal((await postJson(fn.url, e)).status, 200);

    pubProxy.setMode("refuse");
    const last = envelopes.at(-1)!;
    const failed = await postJson(fn.url, last);
    assert.equal(failed.status, 500, JSON.stringify(failed.body));
    assert.deepEqual(failed.body.trigger, { trigger_id: triggerId, state: "pending" });

    pubProxy.setMode("pass");
    const redelivered = await waitFor("the redelivery to be acknowledged", async () => {
      const r = await postJson(fn!.url, last);
      return r.status === 200 ? r : undefined;
    }, REDELIVERY_WAIT_MS);
    assert.deepEqual(redelivered.body.trigger, { trigger_id: triggerId, state: "published" });

    await waitFor("the trigger on the shadow topic", () => shadow.effective.length === 1, 30_000);
    await shadow.settle(1500);
    await live.settle(0);
    await Promise.all([live.close(), shadow.close()]);
    assert.equal(shadow.effective[0]?.trigger_id, triggerId);
    assert.deepEqual(live.raw, [], "nothing reached the live trigger topic");
    // Recorded like a live trigger: the comparison reads our side from here.
    assert.equal(bq.rows("phase_execution_log").filter((r) => r.trigger_id === triggerId).length, 1);
    assert.ok(fn.logsAt("INFO").some((l) => String(l.message).includes(`published to ${SHADOW}`)));
  });
});
