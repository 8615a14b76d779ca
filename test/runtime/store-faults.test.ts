// The dual-write outcomes A-D (docs/ARCHITECTURE.md) and the alerting path through the real functions framework: the phase 2 orchestrator in
// a child process whose Firestore is behind a TCP fault proxy, whose BigQuery is the fake (503, 429,
// concurrent-update 400, down) and whose Slack webhook is a local sink behind another proxy. Asserts
// response codes, log severities, the alerts the sink received and the data in both stores.
import assert from "node:assert/strict";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { LOG_EVENTS } from "../../functions/core/log-events.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import { LOCAL_KNOBS } from "../../functions/lib/orchestrator-runtime.ts";
import {
  collectionPrefix,
  loggedEvents,
  orchestratorEnv,
  PHASE2_CLASS_NAMES,
  orchestratorSource,
  phase2Message,
  postJson,
  REDELIVERY_WAIT_MS,
  pushEnvelope,
  startFunctionProcess,
  startSlackSink,
  TEST_CODE_HASH,
  TEST_DATASET,
  waitFor,
  type FunctionProcess,
  type SlackSink,
} from "./support.ts";

// A date per test: a Firestore attempt given up while the network was down may still commit once it
// heals (after the next test's clean-up), so tests never share a phase-state document.
let day = 0;
const nextGameDate = () => `2026-01-${String(++day).padStart(2, "0")}`;

/**
 * Bounds of one Firestore attempt. A call that must succeed gets a patient one, so a slow answer on a
 * loaded machine is not given up; a call on a refused network gets a short one: it fails whatever the
 * machine's speed (the client waits, it never errors, while the network is down).
 */
const PATIENT_ATTEMPT_MS = 15_000;
const REFUSED_ATTEMPT_MS = 700;

describe("orchestrator store and alert faults (A-D, Slack down/429, quarantine write) end to end", function () {
  this.timeout(240_000);
  let fsProxy: TcpProxy;
  let slackProxy: TcpProxy;
  let bq: BigQueryFake;
  let slack: SlackSink;
  /** The orchestrator with patient Firestore bounds: every call expected to succeed goes here. */
  let fn: FunctionProcess;
  /** A second instance of it with short bounds, for calls made while Firestore is refused. */
  let refusedFn: FunctionProcess;
  let db: Firestore;
  const prefix = collectionPrefix("faults");

  before(async () => {
    const { projectId, firestore, pubsub } = sharedEmulators();
    fsProxy = await startTcpProxy(firestore.host);
    slack = await startSlackSink();
    slackProxy = await startTcpProxy(new URL(slack.url).host);
    bq = await startBigQueryFake({ projectId });
    db = new Firestore({ projectId });
    // The trigger's topic exists, as infra declares it (the suite must not depend on another having made it).
    const client = new PubSub({ projectId });
    await client.topic(transitionById(loadPipeline(), "phase2-to-phase3").outputTopicName).get({ autoCreate: true });
    await client.close();
    const instance = (attemptMs: number) =>
      startFunctionProcess({
        source: orchestratorSource("phase2-to-phase3"),
        target: "orchestrate",
        env: orchestratorEnv({
          transitionId: "phase2-to-phase3",
          projectId,
          firestoreHost: fsProxy.host,
          pubsubHost: pubsub.host,
          bigqueryUrl: bq.url,
          slackUrl: `http://${slackProxy.host}/hooks/test`,
          firestorePrefix: prefix,
          extra: { [LOCAL_KNOBS.firestoreAttemptTimeoutMs]: String(attemptMs), [LOCAL_KNOBS.noRetryBackoff]: "1" },
        }),
      });
    fn = await instance(PATIENT_ATTEMPT_MS);
    refusedFn = await instance(REFUSED_ATTEMPT_MS);
  });
  beforeEach(async () => {
    fsProxy.setMode("pass");
    slackProxy.setMode("pass");
    slack.respondWith(200);
    slack.received.length = 0;
    await bq.setDown(false);
    bq.reset();
    await provisionOrchestrationTables(createBigQueryClient({ projectId: bq.projectId, apiEndpoint: bq.url }), TEST_DATASET);
    fn.logs.length = 0;
    refusedFn.logs.length = 0;
  });
  after(async () => {
    await Promise.all([fn.stop(), refusedFn.stop()]);
    await db.terminate();
    await bq.stop();
    await Promise.all([fsProxy.close(), slackProxy.close()]);
    await slack.close();
  });

  const rows = () => bq.rows("phase_completions");
  const stateDocs = async (gameDate: string) =>
    (await db.collection(`${prefix}phase_state`).where("gameDate", "==", gameDate).get()).docs.map((d) => d.data());
  const quarantineDocs = async (tag: string) =>
    (await db.collection(`${prefix}quarantine`).get()).docs
      .map((d) => d.data())
      .filter((d) => {
        const body = JSON.parse(String(d.raw_body)) as { message?: { data?: string } };
        return Buffer.from(body.message?.data ?? "", "base64").toString("utf8").includes(tag);
      });
  const atLeast = (severity: string, instance: FunctionProcess = fn) => instance.logsAt(severity);

  /** Pub/Sub's redelivery: the same envelope again until it is acknowledged (2xx). */
  async function redeliverUntilAcked(envelope: Record<string, unknown>) {
    return waitFor("a 2xx on redelivery", async () => {
      const r = await postJson(fn.url, envelope);
      if (r.status === 200) return r;
      await new Promise((resolve) => setTimeout(resolve, 1000)); // Pub/Sub's minimum backoff is longer
      return undefined;
    }, 50_000);
  }

  it("A: Firestore refused, BigQuery up -> 500, WARNING dual_write_failed store=firestore, no alert, nothing written; the delivery that records it writes the row once", async () => {
    const gameDate = nextGameDate();
    const envelope = pushEnvelope(phase2Message("OddsGameLinesProcessor", gameDate));
    fsProxy.setMode("refuse");
    const r = await postJson(refusedFn.url, envelope);
    assert.equal(r.status, 500);
    assert.deepEqual([r.body.firestore, r.body.bigquery, r.body.status], ["failed", "deferred", "incomplete"]);
    const [warning, ...others] = loggedEvents(refusedFn, LOG_EVENTS.dualWriteFailed);
    assert.equal(others.length, 0);
    assert.deepEqual([warning?.severity, warning?.store], ["WARNING", "firestore"]);
    assert.equal(atLeast("ERROR", refusedFn).length, 0, JSON.stringify(atLeast("ERROR", refusedFn)));
    assert.equal(slack.received.length, 0);
    assert.equal(rows().length, 0, "no row until Firestore says which delivery owns it");
    assert.equal((await stateDocs(gameDate)).length, 0);

    fsProxy.setMode("pass");
    // Pub/Sub's backoff can outlast BigQuery's insert-id de-duplication (about a minute).
    bq.advanceClock(5 * 60_000);
    // Pub/Sub redelivers to any instance; the redelivery must succeed, so it gets patient bounds.
    const again = await redeliverUntilAcked(envelope);
    assert.equal(again.body.bigquery, "ok");
    assert.deepEqual(rows().map((row) => row.processor_name), ["p2_odds_game_lines"]);
    const [doc] = await stateDocs(gameDate);
    assert.deepEqual(Object.keys(doc?.entries as object), ["p2_odds_game_lines"]);
  });

  it("A: a processor's copy of a recorded completion, delivered while Firestore is refused, writes no second row (chaos finding O)", async () => {
    const gameDate = nextGameDate();
    const message = phase2Message("OddsGameLinesProcessor", gameDate);
    assert.equal((await postJson(fn.url, pushEnvelope(message))).status, 200);
    assert.equal(rows().length, 1);
    // The same completion published again (another message id), minutes later.
    const copy = pushEnvelope(message);
    bq.advanceClock(5 * 60_000);
    fsProxy.setMode("refuse");
    const refused = await postJson(refusedFn.url, copy);
    fsProxy.setMode("pass");
    assert.equal(refused.status, 500);
    assert.equal(rows().length, 1, "the copy wrote nothing while it could not tell it is a copy");
    bq.advanceClock(5 * 60_000);
    const again = await redeliverUntilAcked(copy);
    assert.equal(again.body.firestore, "duplicate");
    assert.equal(rows().length, 1, "the copy owes no row: its original wrote it");
  });

  for (const [label, inject] of [
    ["503", (f: BigQueryFake) => f.injectFault({ method: "insertAll", status: 503, times: 3 })],
    ["429", (f: BigQueryFake) => f.injectFault({ method: "insertAll", status: 429, times: 3 })],
  ] as const) {
    it(`B: BigQuery answering ${label} on every attempt, Firestore up -> 500, WARNING store=bigquery, no alert; redelivery fills BigQuery`, async () => {
      const gameDate = nextGameDate();
      inject(bq);
      const envelope = pushEnvelope(phase2Message("NbacGamebookProcessor", gameDate));
      const r = await postJson(fn.url, envelope);
      assert.equal(r.status, 500);
      assert.deepEqual([r.body.firestore, r.body.bigquery], ["ok", "failed"]);
      const warnings = loggedEvents(fn, LOG_EVENTS.dualWriteFailed);
      assert.deepEqual(warnings.map((w) => [w.severity, w.store]), [["WARNING", "bigquery"]]);
      assert.equal(fn.logs.filter((l) => String(l.message).startsWith("retrying bigquery.")).length, 2, "three attempts, all refused");
      assert.equal(slack.received.length, 0);
      assert.equal(bq.pendingFaults().length, 0);

      const again = await postJson(fn.url, envelope);
      assert.equal(again.status, 200);
      assert.deepEqual([again.body.firestore, again.body.bigquery], ["duplicate", "ok"]);
      assert.deepEqual(rows().map((row) => row.processor_name), ["p2_nbacom_gamebook_pdf"]);
      // No latch yet: the aggregate is written when a latch changes, not per completion.
      assert.equal(bq.rows("phase_completion_status").length, 0);
      assert.equal(Object.keys((await stateDocs(gameDate))[0]?.entries as object).length, 1);
    });
  }

  it("B: the latching completion's aggregate MERGE hits concurrent-update 400 on every attempt -> 500 (trigger published once); its redelivery writes the aggregate, one row", async () => {
    const gameDate = nextGameDate();
    const envelopes = PHASE2_CLASS_NAMES.map((name) => pushEnvelope(phase2Message(name, gameDate)));
    for (const e of envelopes.slice(0, -1)) assert.equal((await postJson(fn.url, e)).status, 200);
    assert.equal(bq.rows("phase_completion_status").length, 0);
    bq.injectConcurrentUpdate({ datasetId: TEST_DATASET, table: "phase_completion_status", times: 3 });
    const last = envelopes.at(-1)!;
    const r = await postJson(fn.url, last);
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.deepEqual([r.body.firestore, r.body.bigquery, (r.body.trigger as { state?: string }).state], ["ok", "failed", "published"], JSON.stringify([r.body, fn.logsAt("ERROR")]).slice(0, 3000));
    assert.deepEqual(loggedEvents(fn, LOG_EVENTS.dualWriteFailed).map((w) => w.store), ["bigquery"]);
    assert.equal(bq.pendingFaults().length, 0);

    const again = await postJson(fn.url, last);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual([again.body.firestore, again.body.bigquery], ["duplicate", "ok"]);
    const [status] = bq.rows("phase_completion_status");
    assert.deepEqual([status?.triggered, status?.complete_count], [true, PHASE2_CLASS_NAMES.length]);
    assert.equal(bq.rows("phase_completion_status").length, 1);
    assert.equal(bq.rows("phase_execution_log").length, 1);
    assert.equal(loggedEvents(fn, LOG_EVENTS.triggerPublished).length, 1, "published by the first call only");
  });

  it("B: BigQuery down (connection refused) -> 500 naming bigquery; a single transient 503 is retried away (200)", async () => {
    const gameDate = nextGameDate();
    await bq.setDown(true);
    const down = await postJson(fn.url, pushEnvelope(phase2Message("NbacPlayerBoxscoreProcessor", gameDate)));
    await bq.setDown(false);
    assert.equal(down.status, 500);
    assert.equal(loggedEvents(fn, LOG_EVENTS.dualWriteFailed)[0]?.store, "bigquery");

    bq.injectFault({ method: "insertAll", status: 503, times: 1 });
    const blip = await postJson(fn.url, pushEnvelope(phase2Message("OddsApiPropsProcessor", gameDate)));
    assert.equal(blip.status, 200, JSON.stringify(blip.body));
    assert.equal(loggedEvents(fn, LOG_EVENTS.dualWriteFailed).length, 1, "only the refused one");
  });

  it("C: both stores down (Firestore refused, BigQuery not answering its dataset check) -> 500, CRITICAL both_stores_failed, one critical Slack alert, nothing stored", async () => {
    const gameDate = nextGameDate();
    fsProxy.setMode("refuse");
    await bq.setDown(true);
    // The push request's trace, as Cloud Run's front end passes it on.
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const res = await fetch(refusedFn.url, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      body: JSON.stringify(pushEnvelope(phase2Message("BigDataBallPbpProcessor", gameDate, { correlation_id: "corr-traced-c" }))),
    });
    const r = { status: res.status, body: (await res.json()) as Record<string, unknown> };
    await bq.setDown(false);
    fsProxy.setMode("pass");
    assert.equal(r.status, 500);
    assert.deepEqual([r.body.firestore, r.body.bigquery], ["failed", "failed"]);
    const critical = loggedEvents(refusedFn, LOG_EVENTS.bothStoresFailed);
    assert.deepEqual(critical.map((c) => c.severity), ["CRITICAL"]);
    // Traceable: the request's trace, the game date and correlation id, and the build (code hash).
    const line = critical[0]!;
    const labels = line["logging.googleapis.com/labels"] as Record<string, string>;
    assert.equal(line["logging.googleapis.com/trace"], `projects/${sharedEmulators().projectId}/traces/${traceId}`);
    assert.deepEqual([labels.game_date, labels.correlation_id, labels.code_hash], [gameDate, "corr-traced-c", TEST_CODE_HASH]);
    assert.equal(line.code_hash, TEST_CODE_HASH);
    assert.equal(loggedEvents(refusedFn, LOG_EVENTS.dualWriteFailed).length, 0);
    assert.equal(slack.received.length, 1);
    assert.match(String(slack.received[0]?.text), /CRITICAL\] Both Firestore and BigQuery failed in .*: completion not recorded/);
    assert.ok(String(slack.received[0]?.text).includes(gameDate));
    assert.equal(rows().length, 0);
    assert.equal((await stateDocs(gameDate)).length, 0);
  });

  it("D: Firestore stalls on the first attempt then passes -> 200 (ok, ok), no WARNING store event, no alert", async () => {
    const gameDate = nextGameDate();
    fsProxy.setMode("stall");
    const pending = postJson(fn.url, pushEnvelope(phase2Message("OddsGameLinesProcessor", gameDate)));
    await waitFor("the first Firestore attempt to be given up", () =>
      fn.logs.some((l) => String(l.message).startsWith("retrying firestore.recordCompletion")),
    );
    fsProxy.setMode("pass");
    const r = await pending;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.firestore, r.body.bigquery], ["ok", "ok"]);
    assert.equal(loggedEvents(fn, LOG_EVENTS.dualWriteFailed).length + loggedEvents(fn, LOG_EVENTS.bothStoresFailed).length, 0);
    assert.equal(loggedEvents(fn, LOG_EVENTS.dualWriteSucceeded).length, 1);
    assert.equal(atLeast("ERROR").length, 0);
    assert.equal(slack.received.length, 0);
    assert.equal(rows().length, 1);
    assert.equal((await stateDocs(gameDate)).length, 1);
  });

  describe("Slack failing does not change the handling", () => {
    /** Bad JSON (quarantined + alerted) and a good message: their responses and data. */
    async function handleTwo(tag: string) {
      const gameDate = nextGameDate();
      const bad = await postJson(fn.url, pushEnvelope(Buffer.from(`{"processor_name": "${tag}"`).toString("base64"), { raw: true }));
      const good = await postJson(fn.url, pushEnvelope(phase2Message("OddsGameLinesProcessor", gameDate)));
      return { bad, good, quarantined: (await quarantineDocs(tag)).length, rows: rows().length };
    }
    const expected = { badStatus: 200, goodStatus: 200, quarantined: 1, rows: 1 };
    const summary = (o: Awaited<ReturnType<typeof handleTwo>>) => ({ badStatus: o.bad.status, goodStatus: o.good.status, quarantined: o.quarantined, rows: o.rows });

    it("Slack 429 with Retry-After: same responses and data; retried after the asked delay, then logged at ERROR", async () => {
      slack.respondWith(429, { "Retry-After": "1" });
      const started = Date.now();
      const got = await handleTwo("x429");
      assert.deepEqual(summary(got), expected);
      assert.equal(got.bad.body.status, "quarantined");
      assert.ok(Date.now() - started >= 2000, "two Retry-After delays of 1 s");
      const retries = fn.logs.filter((l) => String(l.message).startsWith("retrying slack.webhook"));
      assert.deepEqual(retries.map((l) => l.delay_ms), [1000, 1000]);
      const failed = fn.logsAt("ERROR").filter((l) => String(l.message).startsWith("alert not delivered: slack webhook failed"));
      assert.equal(failed.length, 1);
      assert.equal(slack.received.length, 0);
    });

    it("Slack refused (down): same responses and data; the failed delivery logged at ERROR with the alert", async () => {
      slackProxy.setMode("refuse");
      const got = await handleTwo("xdown");
      assert.deepEqual(summary(got), expected);
      const failed = fn.logsAt("ERROR").filter((l) => String(l.message).startsWith("alert not delivered"));
      assert.equal(failed.length, 1);
      assert.match(String(failed[0]?.alert_title), /Message quarantined/);
    });

    it("Slack up: the same two messages give the same responses and data, and the alert arrives", async () => {
      const got = await handleTwo("xup");
      assert.deepEqual(summary(got), expected);
      assert.equal(slack.received.length, 1);
      assert.match(String(slack.received[0]?.text), /Message quarantined by phase2-to-phase3-orchestrator/);
    });

  });

  it("an unknown processor while Firestore is refused -> 500 naming the first sighting, no 'unhandled' alert; once Firestore is back it is alerted and quarantined", async () => {
    const envelope = pushEnvelope(phase2Message("SomeNewScraperProcessor", "2026-01-20"));
    fsProxy.setMode("refuse");
    const refused = await postJson(refusedFn.url, envelope);
    fsProxy.setMode("pass");
    assert.equal(refused.status, 500);
    assert.equal(refused.body.reason, "unknown_processor_sighting_failed");
    assert.equal(refusedFn.logsAt("ERROR").filter((l) => String(l.message).startsWith("unhandled error")).length, 0);
    assert.equal(refusedFn.logsAt("ERROR").filter((l) => String(l.message).startsWith("could not record the first sighting")).length, 1);
    // Redelivered as Pub/Sub would, until the client has reconnected (its backoff grows through the outage).
    const redelivered = await waitFor("the redelivery to be acknowledged", async () => {
      const r = await postJson(refusedFn.url, envelope);
      if (r.status !== 200) assert.equal(r.body.reason, "unknown_processor_sighting_failed", JSON.stringify(r.body));
      return r.status === 200 ? r : undefined;
    }, REDELIVERY_WAIT_MS);
    assert.equal(redelivered.status, 200, JSON.stringify(redelivered.body));
    assert.ok(slack.received.some((m) => String(m.text).includes("SomeNewScraperProcessor")), "the first sighting is alerted on redelivery");
  });

  it("quarantine write failing (Firestore refused) -> 500, so Pub/Sub keeps the bad message, and alerted as not quarantined; the redelivery quarantines it", async () => {
    const envelope = pushEnvelope("not base64 at all!", { raw: true });
    fsProxy.setMode("refuse");
    const r = await postJson(refusedFn.url, envelope);
    fsProxy.setMode("pass");
    assert.equal(r.status, 500);
    assert.equal(r.body.reason, "quarantine_write_failed");
    assert.equal(refusedFn.logsAt("ERROR").filter((l) => String(l.message).startsWith("quarantine write failed")).length, 1);
    // A write that timed out may have landed, and then no redelivery is sure to alert it: a person hears
    // of the message now, and no alert claims a quarantine that may not have happened.
    const texts = () => slack.received.map((m) => JSON.stringify(m));
    assert.equal(texts().filter((t) => t.includes("could not be quarantined")).length, 1, texts().join("\n"));
    assert.ok(texts().some((t) => t.includes("phase2-to-phase3__")), "the alert names the quarantine id");
    assert.equal(texts().filter((t) => t.includes("Message quarantined by")).length, 0);

    const redelivered = await waitFor("the redelivery to be quarantined", async () => {
      const again = await postJson(refusedFn.url, envelope);
      return again.status === 200 ? again : undefined;
    }, REDELIVERY_WAIT_MS);
    assert.equal(redelivered.body.status, "quarantined");
    assert.equal(texts().filter((t) => t.includes("Message quarantined by")).length, 1);
  });
});
