// Delivery as Pub/Sub really does it: a push subscription from the emulator to the function URL with
// the retry and dead-letter policy infra declares (every message published twice, one of them
// answered 500 and redelivered by Pub/Sub), and 20 completions of one date arriving at once.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { parse as parseYaml } from "yaml";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { uniqueName } from "../../tools/emulators/emulators.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import { DEFAULT_PIPELINE } from "../../functions/core/pipeline-defaults.ts";
import type { PipelineConfig } from "../../functions/core/pipeline-types.ts";
import { ackDeadlineFor } from "../../infra/components/push-subscription.ts";
import {
  collectionPrefix,
  orchestratorEnv,
  orchestratorSource,
  PHASE2_CLASS_NAMES,
  phase2Message,
  postJson,
  pushEnvelope,
  startFunctionProcess,
  startTriggerConsumer,
  TEST_DATASET,
  waitFor,
  type FunctionProcess,
} from "./support.ts";

const transition = transitionById(loadPipeline(), "phase2-to-phase3");

/** The defaults of Pulumi.yaml's config schema: what infra declares on every push subscription. */
function declaredPushSettings() {
  const doc = parseYaml(readFileSync(new URL("../../Pulumi.yaml", import.meta.url), "utf8")) as { config: Record<string, { default: number }> };
  const get = (key: string): number => {
    const entry = Object.entries(doc.config).find(([k]) => k === key || k.endsWith(`:${key}`));
    if (entry === undefined) throw new Error(`Pulumi.yaml declares no ${key}`);
    return entry[1].default;
  };
  return {
    ackDeadlineSeconds: ackDeadlineFor(get("functionTimeoutSeconds")),
    minimumBackoffSeconds: get("pushMinimumBackoffSeconds"),
    maximumBackoffSeconds: get("pushMaximumBackoffSeconds"),
    maxDeliveryAttempts: get("pushMaxDeliveryAttempts"),
  };
}

describe("delivery: a real push subscription, and 20 completions at once (end to end)", function () {
  this.timeout(90_000);
  let bq: BigQueryFake;
  let pubsub: PubSub;
  let db: Firestore;
  const running: FunctionProcess[] = [];

  before(async () => {
    const { projectId } = sharedEmulators();
    bq = await startBigQueryFake({ projectId });
    pubsub = new PubSub({ projectId });
    db = new Firestore({ projectId });
    await pubsub.topic(transition.outputTopicName).get({ autoCreate: true });
  });
  beforeEach(async () => {
    bq.reset();
    await provisionOrchestrationTables(createBigQueryClient({ projectId: bq.projectId, apiEndpoint: bq.url }), TEST_DATASET);
  });
  /** Subscriptions and topics of a test, removed even when it fails (an open subscription keeps mocha alive). */
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await Promise.all(running.splice(0).map((f) => f.stop()));
  });
  after(async () => {
    await bq.stop();
    await pubsub.close();
    await db.terminate();
  });

  async function start(prefix: string, pipeline?: PipelineConfig): Promise<FunctionProcess> {
    const { projectId, firestore, pubsub: ps } = sharedEmulators();
    const fn = await startFunctionProcess({
      source: orchestratorSource(transition.id),
      target: "orchestrate",
      env: orchestratorEnv({
        transitionId: transition.id,
        projectId,
        firestoreHost: firestore.host,
        pubsubHost: ps.host,
        bigqueryUrl: bq.url,
        firestorePrefix: prefix,
        ...(pipeline ? { pipeline } : {}),
      }),
    });
    running.push(fn);
    return fn;
  }

  async function triggerWatcher(prefix: string) {
    const consumer = await startTriggerConsumer(pubsub, db, transition.outputTopicName, prefix);
    cleanups.push(() => consumer.close());
    return consumer;
  }

  it("push subscription with infra's retry and dead-letter policy: publisher duplicates, and a 500 redelivered by Pub/Sub -> one count each, one trigger", async () => {
    const settings = declaredPushSettings();
    const prefix = collectionPrefix("push");
    const fn = await start(prefix);
    const triggers = await triggerWatcher(prefix);
    const [input] = await pubsub.createTopic(uniqueName("phase2-raw-complete"));
    const [deadLetter] = await pubsub.createTopic(uniqueName("phase2-raw-complete-dlq"));
    cleanups.push(() => input.delete(), () => deadLetter.delete());
    const [push] = await input.createSubscription(uniqueName("push"), {
      pushConfig: { pushEndpoint: fn.url },
      ackDeadlineSeconds: settings.ackDeadlineSeconds,
      retryPolicy: {
        minimumBackoff: { seconds: settings.minimumBackoffSeconds },
        maximumBackoff: { seconds: settings.maximumBackoffSeconds },
      },
      deadLetterPolicy: { deadLetterTopic: deadLetter.name, maxDeliveryAttempts: settings.maxDeliveryAttempts },
    });
    cleanups.push(() => push.delete());

    const gameDate = "2026-01-15";
    const messages = PHASE2_CLASS_NAMES.map((name) => phase2Message(name, gameDate));
    // Today's publishers: JSON data, no attributes.
    const publish = (m: Record<string, unknown>) => input.publishMessage({ data: Buffer.from(JSON.stringify(m)) });
    // The first push finds BigQuery failing on every attempt: answered 500, so Pub/Sub must redeliver it.
    bq.injectFault({ method: "insertAll", status: 503, times: 3 });
    const firstId = await publish(messages[0]!);
    await waitFor("the first push to be answered 500", () => fn.logs.some((l) => String(l.message).startsWith("answering 500")));
    // Every other message twice, as a publisher retry would send it.
    for (const m of messages.slice(1)) {
      await publish(m);
      await publish(m);
    }

    const state = await waitFor(
      "the trigger to be published (after Pub/Sub redelivered the first message)",
      async () => {
        const snap = await db.collection(`${prefix}phase_state`).get();
        const doc = snap.docs[0]?.data() as { entries: object; trigger: { state: string } | null } | undefined;
        return doc?.trigger?.state === "published" && bq.rows("phase_completions").length === messages.length ? doc : undefined;
      },
      settings.minimumBackoffSeconds * 1000 + 30_000,
    );
    const copies = 1 + (messages.length - 1) * 2;
    await waitFor("every copy to be pushed and recorded", () => fn.logs.filter((l) => l.event === "dual_write_succeeded").length >= copies);
    await waitFor("the trigger to reach the consumer", () => triggers.effective.length >= 1);
    await triggers.settle(1500); // a quiet period: any late duplicate (delivery or trigger) would show here
    // The same Pub/Sub message id was answered 500 and then recorded: a real redelivery by the emulator.
    const failedFirst = fn.logs.filter((l) => l.event === "dual_write_failed" && l.message_id === firstId);
    const recordedFirst = fn.logs.filter((l) => l.event === "dual_write_succeeded" && l.message_id === firstId);
    assert.deepEqual([failedFirst.length, recordedFirst.length], [1, 1]);
    const recorded = fn.logs.filter((l) => l.event === "dual_write_succeeded");
    assert.equal(recorded.length, copies, "every copy was pushed and answered 2xx, none twice");
    assert.equal(Object.keys(state.entries).length, messages.length);
    assert.equal(bq.rows("phase_completions").length, messages.length, "one row per completion");
    // A publisher-retry copy of the completing message may arrive while the trigger is still pending:
    // only the call that latched it publishes (a copy republishes only after the grace period, under
    // the publish claim), so with no crash exactly one trigger leaves.
    const published = fn.logs.filter((l) => l.event === "trigger_published");
    assert.equal(published.length, 1, JSON.stringify(published));
    assert.equal(triggers.raw.length, 1, JSON.stringify(fn.logs.filter((l) => String(l.message).includes("pubsub.publishTrigger"))));
    assert.deepEqual([...new Set(triggers.raw.map((t) => t.trigger_id))], [`${transition.id}:${gameDate}:daily`]);
    assert.equal(triggers.effective.length, 1);
    assert.equal(triggers.effective[0]?.game_date, gameDate);
    assert.equal(bq.rows("phase_execution_log").length, 1);
  });

  it("20 completions of one date POSTed at once -> all recorded, exactly one trigger", async () => {
    const names = Array.from({ length: 20 }, (_, i) => `p2_load_${String(i + 1).padStart(2, "0")}`);
    const base = DEFAULT_PIPELINE.transitions[0]!;
    assert.equal(base.id, transition.id);
    const pipeline: PipelineConfig = {
      ...DEFAULT_PIPELINE,
      transitions: [
        {
          ...base,
          processors: names.map((name) => ({ name, aliases: [], outputTables: [] })),
          rule: { kind: "all_complete", deadline: { enabled: false, afterFirstCompletionMinutes: 30, critical: names.slice(0, 3) } },
        },
        ...DEFAULT_PIPELINE.transitions.slice(1),
      ],
    };
    const prefix = collectionPrefix("twenty");
    const fn = await start(prefix, pipeline);
    const triggers = await triggerWatcher(prefix);
    const gameDate = "2026-01-17";
    const responses = await Promise.all(names.map((name) => postJson(fn.url, pushEnvelope(phase2Message(name, gameDate)))));
    assert.deepEqual(
      responses.map((r) => r.status),
      names.map(() => 200),
      JSON.stringify(fn.logs.filter((l) => l.event === "dual_write_failed").map((l) => (l.error as { message?: string }).message)).slice(0, 3000),
    );
    // Messages committed after the latch report it (pending or published) but do not publish it:
    // only the latching call does, so exactly one trigger leaves.
    const triggerIds = new Set(responses.flatMap((r) => (r.body.trigger ? [(r.body.trigger as { trigger_id: string }).trigger_id] : [])));
    assert.deepEqual([...triggerIds], [`${transition.id}:${gameDate}:daily`]);
    await waitFor("the trigger to reach the consumer", () => triggers.effective.length >= 1);
    await triggers.settle(1500); // a quiet period: any duplicate would arrive here
    assert.equal(triggers.raw.length, 1);
    const doc = (await db.collection(`${prefix}phase_state`).get()).docs[0]?.data() as { entries: object; trigger: { state: string } };
    assert.equal(Object.keys(doc.entries).length, 20);
    assert.equal(doc.trigger.state, "published");
    assert.equal(bq.rows("phase_completions").length, 20);
    assert.equal(bq.rows("phase_completion_status").length, 1);
  });
});
