// Messages shaped exactly like today's processors' drive each transition to its trigger, through the
// real functions framework, the Firestore emulator, the Pub/Sub emulator and the BigQuery fake.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PubSub, type Subscription } from "@google-cloud/pubsub";
import { Firestore } from "@google-cloud/firestore";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import { parseTriggerMessage } from "../../functions/core/trigger-message.ts";
import {
  orchestratorEnv,
  orchestratorSource,
  postJson,
  pushEnvelope,
  pythonTimestamp,
  startFunctionProcess,
  startSlackSink,
  TEST_DATASET,
  waitFor,
  type FunctionProcess,
  type SlackSink,
} from "./support.ts";
import { uniqueName } from "../../tools/emulators/emulators.ts";

interface FixtureCase {
  expected: string | null;
  message: Record<string, unknown>;
}
const fixture = (file: string): FixtureCase[] =>
  JSON.parse(readFileSync(new URL(`../../tools/messages/fixtures/${file}`, import.meta.url), "utf8")) as FixtureCase[];

/**
 * One published message per expected processor, as today's publishers send it, for one game date. A
 * processor whose fixtures hold no success (phase 4's player_daily_cache only has no_data) gets its
 * first fixture with status success: same shape, counting status.
 */
function onePerProcessor(cases: FixtureCase[], gameDate: string): Record<string, unknown>[] {
  const byProcessor = new Map<string, Record<string, unknown>>();
  for (const c of cases) {
    if (c.expected === null) continue;
    const chosen = byProcessor.get(c.expected);
    if (chosen === undefined || (chosen.status !== "success" && c.message.status === "success")) byProcessor.set(c.expected, c.message);
  }
  return [...byProcessor.values()].map((m) => ({ ...m, status: "success", game_date: gameDate, timestamp: pythonTimestamp() }));
}

describe("orchestrators end to end (today's message shapes)", function () {
  this.timeout(120_000);
  const pipeline = loadPipeline();
  let bq: BigQueryFake;
  let slack: SlackSink;
  let pubsub: PubSub;
  let db: Firestore;
  const running: FunctionProcess[] = [];

  before(async () => {
    const { projectId, pubsub: ps } = sharedEmulators();
    bq = await startBigQueryFake({ projectId });
    slack = await startSlackSink();
    pubsub = new PubSub({ projectId, apiEndpoint: ps.host });
    db = new Firestore({ projectId });
  });
  beforeEach(async () => {
    bq.reset();
    await provisionOrchestrationTables(createBigQueryClient({ projectId: bq.projectId, apiEndpoint: bq.url }), TEST_DATASET);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((f) => f.stop()));
  });
  after(async () => {
    await bq.stop();
    await slack.close();
    await pubsub.close();
    await db.terminate();
  });

  async function startOrchestrator(transitionId: string, prefix: string): Promise<FunctionProcess> {
    const { projectId, firestore, pubsub: ps } = sharedEmulators();
    const fn = await startFunctionProcess({
      source: orchestratorSource(transitionId),
      target: "orchestrate",
      env: orchestratorEnv({
        transitionId,
        projectId,
        firestoreHost: firestore.host,
        pubsubHost: ps.host,
        bigqueryUrl: bq.url,
        slackUrl: slack.url,
        firestorePrefix: prefix,
      }),
    });
    running.push(fn);
    return fn;
  }

  /** Creates the transition's output topic with a pull subscription to read triggers from. */
  async function triggerSubscription(topicName: string) {
    const [topic] = await pubsub.topic(topicName).get({ autoCreate: true });
    const [sub] = await topic.createSubscription(uniqueName("trig"));
    return sub;
  }

  /**
   * The triggers on sub: waits until `expected` have arrived (however slow the machine; bounded only to
   * catch a hang), then a quiet period in which a duplicate would show up, then closes.
   */
  async function pullAll(sub: Subscription, expected = 1, quietMs = 1500) {
    const got: { data: Record<string, unknown>; attributes: Record<string, string> }[] = [];
    sub.on("message", (m) => {
      got.push({ data: JSON.parse(m.data.toString("utf8")) as Record<string, unknown>, attributes: m.attributes });
      m.ack();
    });
    try {
      await waitFor(`${expected} trigger(s) on ${sub.name}`, () => got.length >= expected);
      await new Promise((r) => setTimeout(r, quietMs));
    } finally {
      await sub.close();
    }
    return got;
  }

  const cases: [string, string][] = [
    ["phase2-to-phase3", "phase2-raw.json"],
    ["phase3-to-phase4", "phase3-analytics.json"],
    ["phase4-to-phase5", "phase4-precompute.json"],
    ["phase5-to-phase6", "phase5-predictions.json"],
  ];
  for (const [transitionId, file] of cases) {
    it(`${transitionId}: every expected processor, each delivered twice, gives one trigger and one count each`, async () => {
      const transition = pipeline.transitions.find((t) => t.id === transitionId)!;
      const prefix = `${uniqueName("t").replace(/[^A-Za-z0-9]/g, "_")}_`;
      const fn = await startOrchestrator(transitionId, prefix);
      const sub = await triggerSubscription(transition.outputTopicName);
      const gameDate = "2026-01-15"; // in the past: overnight mode for phase 3
      const messages = onePerProcessor(fixture(file), gameDate);
      assert.equal(messages.length, transition.processors.length, "a message for every expected processor");

      for (const m of messages) {
        const envelope = pushEnvelope(m);
        const first = await postJson(fn.url, envelope);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        const again = await postJson(fn.url, envelope); // Pub/Sub redelivery of the same message
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.equal(again.body.firestore, "duplicate");
      }

      const triggers = await pullAll(sub);
      assert.equal(triggers.length, 1, `exactly one trigger, got ${JSON.stringify(triggers)}`);
      const trigger = triggers[0]!;
      assert.equal(trigger.attributes.trigger_id, trigger.data.trigger_id);
      assert.equal(trigger.data.game_date, gameDate);
      const parsed = parseTriggerMessage(transition, trigger.data);
      assert.ok(parsed.ok, JSON.stringify(parsed));

      // Firestore: one entry per processor, the trigger published.
      const states = await db.collection(`${prefix}phase_state`).get();
      assert.equal(states.size, 1);
      const state = states.docs[0]!.data();
      assert.equal(Object.keys(state.entries as object).length, messages.length);
      assert.equal((state.trigger as { state: string }).state, "published");

      // BigQuery: one completion row per processor (redeliveries de-duplicated), one execution-log row.
      const rows = bq.rows("phase_completions").filter((r) => r.transition_id === transitionId);
      assert.equal(rows.length, messages.length);
      assert.equal(bq.rows("phase_execution_log").length, 1);
      assert.equal(bq.rows("phase_completion_status").length, 1);
      assert.equal(fn.logsAt("ERROR").length, 0, JSON.stringify(fn.logsAt("ERROR")));
    });
  }

  it("phase5-to-phase6: the coordinator re-reports its batch (\"70\" then \"95\" as text, same execution) -> one export trigger; a non-numeric percentage is quarantined and alerted", async () => {
    const transition = pipeline.transitions.find((t) => t.id === "phase5-to-phase6")!;
    const prefix = `${uniqueName("t").replace(/[^A-Za-z0-9]/g, "_")}_`;
    const fn = await startOrchestrator(transition.id, prefix);
    const sub = await triggerSubscription(transition.outputTopicName);
    const gameDate = "2026-01-15";
    const [coordinator] = onePerProcessor(fixture("phase5-predictions.json"), gameDate);
    const report = (pct: unknown, at: Date) => ({
      ...coordinator!,
      execution_id: "batch-2026-01-15",
      timestamp: pythonTimestamp(at),
      metadata: { ...((coordinator!.metadata as object | undefined) ?? {}), completion_pct: pct },
    });
    const start = Date.now() - 60_000;
    const seventy = await postJson(fn.url, pushEnvelope(report("70", new Date(start))));
    assert.equal(seventy.status, 200, JSON.stringify(seventy.body));
    assert.deepEqual([seventy.body.firestore, seventy.body.trigger], ["ok", null]);
    const ninetyFive = await postJson(fn.url, pushEnvelope(report("95", new Date(start + 30_000))));
    assert.equal(ninetyFive.status, 200, JSON.stringify(ninetyFive.body));
    assert.equal(ninetyFive.body.firestore, "ok", "new progress of the same batch is not a duplicate");
    assert.equal((ninetyFive.body.trigger as { state?: string } | null)?.state, "published");

    slack.received.length = 0;
    const bad = await postJson(fn.url, pushEnvelope(report("ninety", new Date(start + 40_000))));
    assert.equal(bad.status, 200);
    assert.equal(bad.body.status, "quarantined");
    assert.deepEqual((bad.body.errors as { path: string }[]).map((e) => e.path), ["metadata.completion_pct"]);
    await waitFor("the quarantine alert", () => slack.received.some((a) => String(a.text).includes("quarantined")));

    const triggers = await pullAll(sub);
    assert.equal(triggers.length, 1, JSON.stringify(triggers));
    assert.equal(triggers[0]!.data.upstream_completion_pct, 95);
    const completions = bq.rows("phase_completions").filter((r) => r.transition_id === transition.id);
    assert.deepEqual(completions.map((r) => r.completion_pct).sort(), [70, 95]);
  });
});
