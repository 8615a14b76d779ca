// The completion tracker in-process, with real clients: Firestore (shared emulator) behind a TCP fault
// proxy, the BigQuery fake, the Pub/Sub emulator. The dual-write outcomes A-D (docs/ARCHITECTURE.md) as the tracker's returned
// values, its log lines and the data in both stores; the latches of a date's same-day and overnight runs.
import assert from "node:assert/strict";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";
import { uniqueName } from "../../tools/emulators/emulators.ts";
import { firestoreVia } from "../lib/firestore-via.ts";
import { DATASET_ID, FAST_RETRY, reprovision, startProvisionedFake, type FakeContext } from "../bigquery/helpers.ts";
import { createBigQueryStore } from "../../functions/lib/bigquery-store.ts";
import {
  claimsCollectionFor,
  createCompletionTracker,
  publishGraceMsFor,
  type CompletionTracker,
  type TriggerPublisher,
} from "../../functions/lib/completion-tracker.ts";
import { createPubSubPublisher } from "../../functions/lib/trigger-publisher.ts";
import { claimTriggerPublish } from "../../functions/lib/publish-claim.ts";
import { createBreaker, type Breaker } from "../../functions/lib/circuit-breaker.ts";
import { captureLogs, type LogCapture } from "../../functions/lib/logger.ts";
import { RETRY_PRESETS, RetryGaveUpError, setDefaultRetryRuntime } from "../../functions/lib/retry.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import type { ResolvedCompletion } from "../../functions/core/phase-state.ts";
import { LOG_EVENTS } from "../../functions/core/log-events.ts";
import { addDays, todayIn } from "../../functions/core/run-mode.ts";

const pipeline = loadPipeline();
const phase2 = transitionById(pipeline, "phase2-to-phase3");
const phase3 = transitionById(pipeline, "phase3-to-phase4");

/**
 * Firestore attempt bounds. A call that must succeed gets a patient bound, so a slow transaction on a
 * loaded machine is not given up (production's is 20 s); a call on a refused network gets a short one:
 * it fails whatever the machine's speed (the client waits, it never errors, while the network is down).
 */
const PATIENT_ATTEMPT_MS = 15_000;
const REFUSED_ATTEMPT_MS = 600;

describe("completion tracker in-process (dual-write outcomes A-D, latches)", function () {
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

  function tracker(
    opts: {
      transitionId?: string;
      clock?: () => Date;
      transactionTimeoutMs?: number;
      publisher?: TriggerPublisher;
      collection?: string;
      publishGraceMs?: number;
    } = {},
  ): {
    t: CompletionTracker;
    logs: LogCapture;
    collection: string;
  } {
    const logs = captureLogs({ code_hash: "b".repeat(64) });
    const collection = opts.collection ?? `${uniqueName("ps").replace(/[^A-Za-z0-9]/g, "_")}_phase_state`;
    const breaker = createBreaker(uniqueName("fs"), { logger: logs.logger });
    breakers.push(breaker);
    const t = createCompletionTracker({
      db: viaProxy,
      stateCollection: collection,
      sink: createBigQueryStore({ bigquery: bq.bigquery, projectId: bq.fake.projectId, datasetId: DATASET_ID, logger: logs.logger, retry: FAST_RETRY }),
      publisher: opts.publisher ?? createPubSubPublisher(pubsub),
      firestoreBreaker: breaker,
      logger: logs.logger,
      transition: transitionById(pipeline, opts.transitionId ?? phase2.id),
      timeZone: pipeline.timeZone,
      functionName: "tracker-test",
      codeHash: "b".repeat(64),
      transactionTimeoutMs: opts.transactionTimeoutMs ?? PATIENT_ATTEMPT_MS,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.publishGraceMs === undefined ? {} : { publishGraceMs: opts.publishGraceMs }),
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

  it("A: Firestore down (refused), BigQuery up -> (failed, deferred), WARNING naming firestore, nothing written; the redelivery records and writes the row once", async () => {
    const { t, logs, collection } = tracker({ transactionTimeoutMs: REFUSED_ATTEMPT_MS });
    const c = completion("p2_odds_game_lines");
    proxy.setMode("refuse");
    const r = await t.record(c, { recordCount: 10 });
    assert.equal(r.firestore.ok, false);
    assert.deepEqual(r.bigquery, { ok: true, deferred: true });
    assert.equal(r.decision, null);
    assert.equal(r.trigger, null);
    assert.equal(r.done, false);
    const [warning, ...more] = events(logs, LOG_EVENTS.dualWriteFailed);
    assert.equal(more.length, 0);
    assert.equal(warning?.severity, "WARNING");
    assert.equal((warning as Record<string, unknown>).store, "firestore");
    assert.equal(events(logs, LOG_EVENTS.bothStoresFailed).length, 0);
    assert.equal(logs.find("WARNING", "retrying firestore.recordCompletion").length, 2, "three attempts");
    assert.equal(completionRows().length, 0, "whose row it is is known only once Firestore answers");

    proxy.setMode("pass");
    // The redelivery may come after BigQuery's insert-id de-duplication (about a minute) has lapsed.
    bq.fake.advanceClock(5 * 60_000);
    // Pub/Sub redelivers after its backoff; by then the client's channel has reconnected.
    await viaProxy.doc("_probe/reconnected").get();
    // The redelivery, as another instance would take it: patient attempts on the healed network.
    const again = await tracker({ collection }).t.record(c, { recordCount: 10 });
    assert.equal(again.firestore.ok, true, String((again.firestore as { error?: unknown }).error));
    assert.equal(again.bigquery.ok, true);
    assert.equal(again.done, true);
    assert.equal(again.decision?.reason, "waiting");
    assert.equal(completionRows().length, 1);
    assert.equal(completionRows()[0]?.processor_name, "p2_odds_game_lines");
    assert.equal(completionRows()[0]?.record_count, 10);
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
    // The retry's bookkeeping wraps the store's error; the 503 the fake answered is its cause.
    const failure = (r.bigquery as { error: unknown }).error;
    assert.ok(failure instanceof RetryGaveUpError, String(failure));
    assert.equal((failure.cause as { code?: number }).code, 503);
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
    // The aggregate is written when a latch changes, not per completion: no trigger yet, no row.
    assert.equal(bq.fake.rows("phase_completion_status").length, 0);
  });

  it("C: both down -> (failed, failed), CRITICAL both_stores_failed, nothing stored", async () => {
    const { t, logs, collection } = tracker({ transactionTimeoutMs: REFUSED_ATTEMPT_MS });
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

  it("D: a transient Firestore failure (refused for the first attempt, then passing) -> (ok, ok), no store failure logged", async function () {
    // The first (refused) attempt is given up only at the patient bound, so the healed ones get it too.
    this.timeout(180_000);
    const { t, logs, collection } = tracker();
    proxy.setMode("refuse");
    const pending = t.record(completion("p2_nbacom_gamebook_pdf"));
    // Heal the network as soon as the first attempt has been given up.
    const started = Date.now();
    while (logs.find("WARNING", "retrying firestore.recordCompletion").length === 0) {
      assert.ok(Date.now() - started < 4 * PATIENT_ATTEMPT_MS, "first attempt never gave up");
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
      const r = await t.record(completion(p, { gameDate: today, completedAt: now.toISOString() }));
      sameDayTrigger ??= r.trigger?.triggerId;
    }
    assert.equal(sameDayTrigger, `${phase3.id}:${today}:same_day`);

    now = nextNight;
    const results = [];
    for (const p of rule.modes.overnight.expected) results.push(await t.record(completion(p, { gameDate: today, completedAt: now.toISOString() })));
    const overnight = results.find((r) => r.trigger !== null);
    assert.equal(overnight?.trigger?.triggerId, `${phase3.id}:${today}:overnight`);
    assert.equal(overnight?.decision?.mode, "overnight");

    const docs = await stateDocs(collection);
    assert.deepEqual(docs.map((d) => d.latchMode).sort(), ["overnight", "same_day"]);
    assert.ok(docs.every((d) => (d.trigger as { state: string }).state === "published"));
    const logRows = bq.fake.rows("phase_execution_log").map((r) => r.trigger_id).sort();
    assert.deepEqual(logRows, [`${phase3.id}:${today}:overnight`, `${phase3.id}:${today}:same_day`]);
  });

  // ---- who publishes, and which BigQuery rows each call writes ----

  /** A publisher in front of the emulator that counts what reached Pub/Sub, and can hold or fail publishes. */
  function countingPublisher() {
    const real = createPubSubPublisher(pubsub);
    let gate: Promise<void> | null = null;
    const state = { attempts: 0, failing: false, slowMs: 0, published: [] as string[] };
    const publisher: TriggerPublisher = {
      async publish(topic, payload, attributes) {
        state.attempts++;
        if (gate) await gate;
        if (state.slowMs > 0) await new Promise((r) => setTimeout(r, state.slowMs));
        if (state.failing) throw Object.assign(new Error("14 UNAVAILABLE: injected publish failure"), { code: 14 });
        const id = await real.publish(topic, payload, attributes);
        state.published.push(attributes.trigger_id ?? "");
        return id;
      },
    };
    return {
      state,
      publisher,
      /** Holds every publish until the returned function is called. */
      hold(): () => void {
        let release!: () => void;
        gate = new Promise((r) => (release = r));
        return () => {
          gate = null;
          release();
        };
      },
    };
  }

  /** Waits for a condition; the bound only catches one that never comes (ample for a loaded machine). */
  async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
    const started = Date.now();
    while (!check()) {
      assert.ok(Date.now() - started < timeoutMs, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const queryText = (body: unknown): string => {
    const b = body as { query?: string; configuration?: { query?: { query?: string } } } | null;
    return b?.query ?? b?.configuration?.query?.query ?? "";
  };
  /** DML statements the fake received (jobs.query and jobs.insert), whatever their outcome. */
  const dmlStatements = () =>
    bq.fake.requests.filter((r) => (r.api === "jobs.query" || r.api === "jobs.insert") && /^\s*(MERGE|INSERT|UPDATE|DELETE)\b/i.test(queryText(r.body)));
  const executionLogInserts = () => bq.fake.requests.filter((r) => r.api === "tabledata.insertAll" && r.path.includes("phase_execution_log"));

  async function stateDoc(collection: string, id: string) {
    return (await direct.collection(collection).doc(id).get()).data() as
      | {
          trigger: { state: string; triggerId: string; publishFailedAt?: string | null; rowsOwedBy?: string | null } | null;
          entries: Record<string, unknown>;
          latchMode: string;
        }
      | undefined;
  }

  it("a publisher-retry copy of the completing message while its trigger is pending answers 2xx and publishes nothing; late copies neither", async () => {
    const pub = countingPublisher();
    const { t } = tracker({ publisher: pub.publisher });
    const gameDate = "2026-02-01";
    const msgs = phase2.processors.map((p) => completion(p.name, { gameDate }));
    const last = msgs.at(-1)!;
    for (const m of msgs.slice(0, -1)) await t.record(m);
    const release = pub.hold();
    const latching = t.record(last);
    await until("the latching call to publish", () => pub.state.attempts === 1);
    // Same content, another Pub/Sub message id: what a publisher retry sends.
    let copyDone = false;
    const copy = t.record({ ...last, messageId: `${last.messageId}-copy` }).then((r) => {
      copyDone = true;
      return r;
    });
    await until("the copy to finish or to publish as well", () => copyDone || pub.state.attempts > 1);
    release();
    const [first, second] = await Promise.all([latching, copy]);
    assert.deepEqual([first.trigger?.state, first.trigger?.publishedNow, first.done], ["published", true, true]);
    assert.deepEqual([second.firestore.duplicate, second.trigger?.state, second.trigger?.owner, second.done], [true, "pending", false, true]);
    const late = await t.record({ ...last, messageId: `${last.messageId}-late` });
    const redelivered = await t.record(last);
    assert.deepEqual([late.trigger?.state, late.trigger?.publishedNow, redelivered.trigger?.publishedNow], ["published", false, false]);
    assert.equal(pub.state.attempts, 1, "only the latching call published");
    assert.deepEqual(pub.state.published, [`${phase2.id}:${gameDate}:daily`]);
    assert.equal(executionLogInserts().length, 1, "the execution-log row is inserted by the call that published only");
  });

  it("a publish slower than its attempt bound (2 s) is waited for, not sent a second time", async () => {
    const pub = countingPublisher();
    const { t, logs } = tracker({ publisher: pub.publisher });
    const gameDate = "2026-02-09";
    const msgs = phase2.processors.map((p) => completion(p.name, { gameDate }));
    for (const m of msgs.slice(0, -1)) await t.record(m);
    pub.state.slowMs = RETRY_PRESETS.pubsubPublish.attemptTimeoutMs + 1500;
    const r = await t.record(msgs.at(-1)!);
    assert.ok(logs.find("WARNING", "retrying pubsub.publishTrigger").length >= 1, "the first attempt was given up");
    assert.deepEqual([r.trigger?.state, r.trigger?.publishedNow, r.done], ["published", true, true]);
    assert.equal(pub.state.attempts, 1, "one publish call");
    assert.deepEqual(pub.state.published, [`${phase2.id}:${gameDate}:daily`]);
  });

  it("a publish still in flight when the retries run out is not sent again nor recorded as failed; when it lands it is marked published and the redelivery writes the execution log", async () => {
    const pub = countingPublisher();
    const { t, collection } = tracker({ publisher: pub.publisher });
    const gameDate = "2026-02-10";
    const msgs = phase2.processors.map((p) => completion(p.name, { gameDate }));
    const last = msgs.at(-1)!;
    for (const m of msgs.slice(0, -1)) await t.record(m);
    // Longer than the three 2 s attempts: the outcome is unknown when the call gives up.
    pub.state.slowMs = RETRY_PRESETS.pubsubPublish.attempts * RETRY_PRESETS.pubsubPublish.attemptTimeoutMs + 2000;
    const r = await t.record(last);
    assert.deepEqual([r.trigger?.state, r.trigger?.failedStep, r.trigger?.outcomeUnknown, r.done], ["pending", "publish", true, false]);
    const docId = `${phase2.id}__${gameDate}__daily`;
    assert.equal((await stateDoc(collection, docId))?.trigger?.publishFailedAt ?? null, null, "not recorded as failed: it may still land");
    await until("the late publish to be marked", () => pub.state.published.length === 1);
    const marked = await (async () => {
      for (;;) {
        const d = await stateDoc(collection, docId);
        if (d?.trigger?.state === "published") return d;
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    assert.equal(marked.trigger?.rowsOwedBy, last.messageId);
    const again = await t.record(last);
    assert.deepEqual([again.trigger?.state, again.trigger?.publishedNow, again.done], ["published", false, true]);
    assert.equal(pub.state.attempts, 1, "one publish call");
    assert.equal(bq.fake.rows("phase_execution_log").length, 1);
  });

  it("the latching call's publish fails -> 500 and the failure is recorded; a redelivery publishes at once (no grace wait), once; a refused republish gives its claim back", async () => {
    const pub = countingPublisher();
    const { t, collection } = tracker({ publisher: pub.publisher });
    const gameDate = "2026-02-02";
    const msgs = phase2.processors.map((p) => completion(p.name, { gameDate }));
    const last = msgs.at(-1)!;
    for (const m of msgs.slice(0, -1)) await t.record(m);
    pub.state.failing = true;
    const failed = await t.record(last);
    assert.deepEqual([failed.trigger?.state, failed.trigger?.failedStep, failed.done], ["pending", "publish", false]);
    const docId = `${phase2.id}__${gameDate}__daily`;
    assert.ok((await stateDoc(collection, docId))?.trigger?.publishFailedAt, "the failed publish is recorded on the pending trigger");
    // Another message's claimed republish is refused too: it gives its claim back (nothing went out).
    const copy = await t.record({ ...last, messageId: `${last.messageId}-copy` });
    assert.deepEqual([copy.trigger?.state, copy.trigger?.failedStep], ["pending", "publish"]);
    pub.state.failing = false;
    // So a third message, within the claim's lease, may publish it at once.
    const third = await t.record({ ...last, messageId: `${last.messageId}-third` });
    assert.deepEqual([third.trigger?.state, third.trigger?.publishedNow, third.done], ["published", true, true]);
    assert.deepEqual(pub.state.published, [`${phase2.id}:${gameDate}:daily`]);
    const attemptsBefore = pub.state.attempts;
    const again = await t.record(last);
    assert.deepEqual([again.trigger?.state, again.trigger?.publishedNow, again.done], ["published", false, true]);
    assert.equal(pub.state.attempts, attemptsBefore, "the latching message's redelivery publishes nothing more");
    assert.deepEqual(pub.state.published, [`${phase2.id}:${gameDate}:daily`]);
    assert.equal(bq.fake.rows("phase_execution_log").length, 1);
  });

  it("latched then the instance died: within the grace period nobody else publishes (the latching message waits with 500); after it exactly one of two racing instances does", async () => {
    const pub = countingPublisher();
    let now = new Date("2026-02-03T20:00:00.000Z");
    const clock = () => now;
    // Two instances contend for one document here: patient attempts (a contended transaction took up to
    // 9 s on a loaded 2-core machine). The clock is injected, so the longer grace costs no waiting.
    const transactionTimeoutMs = PATIENT_ATTEMPT_MS;
    const { t: a, collection } = tracker({ publisher: pub.publisher, clock, transactionTimeoutMs });
    const { t: b } = tracker({ publisher: pub.publisher, clock, collection, transactionTimeoutMs });
    const gameDate = "2026-02-03";
    const msgs = phase2.processors.map((p) => completion(p.name, { gameDate, completedAt: now.toISOString() }));
    const last = msgs.at(-1)!;
    for (const m of msgs.slice(0, -1)) await a.record(m);
    // The transaction commits the pending trigger, then the instance dies before publishing.
    const latched = await a.recordInFirestore(last, now);
    assert.equal(latched.latchedNow, true);

    const grace = publishGraceMsFor(transactionTimeoutMs);
    now = new Date(now.getTime() + 1_000);
    const completionInserts = () => bq.fake.requests.filter((r) => r.api === "tabledata.insertAll" && r.path.includes("phase_completions")).length;
    const insertsBefore = completionInserts();
    const early = await b.record(last);
    assert.deepEqual([early.firestore.duplicate, early.trigger?.state, early.trigger?.owner, early.done], [true, "pending", undefined, false]);
    // Answered 500 only to come back later: its BigQuery row is left to the delivery that is acknowledged
    // (a row re-inserted by every redelivery, minutes apart, would outlive insert-id de-duplication).
    assert.deepEqual([early.bigquery.ok, early.bigquery.deferred, completionInserts()], [true, true, insertsBefore]);
    const copy = await b.record({ ...last, messageId: `${last.messageId}-copy` });
    assert.deepEqual([copy.trigger?.state, copy.trigger?.owner, copy.done], ["pending", false, true]);
    assert.equal(pub.state.attempts, 0, "nobody but the latching call publishes within the grace period");

    now = new Date(now.getTime() + grace);
    const [x, y] = await Promise.all([a.record(last), b.record({ ...last, messageId: `${last.messageId}-copy2` })]);
    assert.equal(pub.state.published.length, 1, JSON.stringify([x.trigger, y.trigger]));
    assert.equal([x, y].filter((r) => r.trigger?.publishedNow).length, 1);
    assert.equal((await stateDoc(collection, `${phase2.id}__${gameDate}__daily`))?.trigger?.state, "published");
    assert.equal(completionRows().filter((row) => row.game_date === gameDate).length, msgs.length);
    // The dead latching call never wrote the latch's aggregate row: the call that republished did.
    const statusRows = bq.fake.rows("phase_completion_status").filter((row) => row.game_date === gameDate);
    assert.deepEqual(statusRows.map((row) => [row.triggered, row.trigger_id, row.complete_count]), [[true, `${phase2.id}:${gameDate}:daily`, msgs.length]]);
  });

  it("the latching message back after the grace while another holder's claim is live (its holder died mid-publish): acknowledged with its row, the trigger left to the holder or, after the lease, the sweeper", async () => {
    const pub = countingPublisher();
    let now = new Date("2026-02-04T20:00:00.000Z");
    const { t: a, collection, logs } = tracker({ publisher: pub.publisher, clock: () => now });
    const gameDate = "2026-02-04";
    const msgs = phase2.processors.map((p) => completion(p.name, { gameDate, completedAt: now.toISOString() }));
    const last = msgs.at(-1)!;
    for (const m of msgs.slice(0, -1)) await a.record(m);
    const latched = await a.recordInFirestore(last, now);
    assert.equal(latched.latchedNow, true);

    // After the grace, someone else (a sweeper run, a copy's delivery) claimed the republish and died in it.
    now = new Date(now.getTime() + publishGraceMsFor(PATIENT_ATTEMPT_MS) + 1_000);
    const claimDeps = { db: direct, claimsCollection: claimsCollectionFor(collection), breaker: createBreaker(uniqueName("claim"), { logger: logs.logger }), logger: logs.logger };
    breakers.push(claimDeps.breaker);
    assert.equal((await claimTriggerPublish(claimDeps, direct.collection(collection).doc(latched.ref.id), "sweeper:dead-run", now)).kind, "claimed");

    // Answered 500 here, the message would only spend its delivery attempts until the lease ends, and
    // end in the dead-letter topic (a chaos run saw it). Its own work is done: 2xx, with its row.
    const back = await a.record(last);
    assert.deepEqual([back.firestore.duplicate, back.trigger?.state, back.trigger?.owner, back.done], [true, "pending", false, true]);
    assert.deepEqual([back.bigquery.ok, back.bigquery.deferred], [true, undefined]);
    assert.equal(completionRows().filter((row) => row.game_date === gameDate && row.message_id === last.messageId).length, 1);
    assert.equal(pub.state.attempts, 0, "nobody publishes while the claim is held");
  });

  it("no DML per completion: a date with every message delivered twice and a publisher copy runs one MERGE (at the latch) and one execution-log insert", async () => {
    const { t } = tracker();
    const gameDate = "2026-02-04";
    const msgs = phase2.processors.map((p) => completion(p.name, { gameDate }));
    for (const m of msgs) {
      await t.record(m);
      await t.record(m);
    }
    const completionInserts = () => bq.fake.requests.filter((r) => r.api === "tabledata.insertAll" && r.path.includes("phase_completions")).length;
    const insertsBefore = completionInserts();
    // The same completion in another message (a processor that published twice): the message that
    // recorded it owns its row, so a copy arriving past insert-id de-duplication adds none.
    const copy = await t.record({ ...msgs.at(-1)!, messageId: "publisher-copy" });
    assert.equal(copy.done, true);
    assert.equal(completionInserts(), insertsBefore, "the copy inserted no row");
    assert.equal(completionRows().length, msgs.length);
    assert.deepEqual(dmlStatements().map((r) => queryText(r.body).trim().split(/\s+/)[0]?.toUpperCase()), ["MERGE"]);
    assert.equal(executionLogInserts().length, 1);
    const [status] = bq.fake.rows("phase_completion_status");
    assert.deepEqual([status?.triggered, status?.trigger_id, status?.complete_count], [true, `${phase2.id}:${gameDate}:daily`, msgs.length]);
  });

  it("BigQuery fails on the latching call -> the rows are owed by its message; its redelivery writes them, nobody else", async () => {
    const { t, collection } = tracker();
    const gameDate = "2026-02-05";
    const msgs = phase2.processors.map((p) => completion(p.name, { gameDate }));
    const last = msgs.at(-1)!;
    for (const m of msgs.slice(0, -1)) await t.record(m);
    bq.fake.injectFault({ method: "insertAll", status: 503, times: 3 });
    const r = await t.record(last);
    assert.deepEqual([r.firestore.ok, r.bigquery.ok, r.trigger?.state, r.done], [true, false, "published", false]);
    assert.equal((await stateDoc(collection, `${phase2.id}__${gameDate}__daily`))?.trigger?.rowsOwedBy, last.messageId);
    // The latch rows go first: the MERGE ran, the execution-log insert failed, so the completion row
    // was not inserted (its redelivery inserts it once, not a second time minutes later).
    assert.equal(dmlStatements().length, 1);
    const rowsOfLast = () => completionRows().filter((row) => row.game_date === gameDate && row.execution_id === last.executionId).length;
    assert.equal(rowsOfLast(), 0);
    await t.record({ ...last, messageId: "someone-else" });
    assert.equal(dmlStatements().length, 1, "another message does not write the latch's rows");
    const again = await t.record(last);
    assert.equal(again.done, true);
    assert.equal(dmlStatements().length, 2, "the redelivery writes the rows it owes (the MERGE is idempotent)");
    assert.equal(bq.fake.rows("phase_completion_status").length, 1);
    assert.equal(bq.fake.rows("phase_execution_log").length, 1);
    assert.equal(rowsOfLast(), 1);
  });

  it("the latch rows written but the completion row refused -> the redelivery writes the completion row only, not the latch rows again", async () => {
    const { t, collection } = tracker();
    const gameDate = "2026-02-06";
    const msgs = phase2.processors.map((p) => completion(p.name, { gameDate }));
    const last = msgs.at(-1)!;
    for (const m of msgs.slice(0, -1)) await t.record(m);
    const insertAlls = () => bq.fake.requests.filter((r) => r.api === "tabledata.insertAll").length;
    const before = insertAlls();
    // The execution-log insert passes, the completion insert is refused (every attempt).
    bq.fake.injectFault({ method: "insertAll", status: 503, times: 3, table: "phase_completions" });
    const r = await t.record(last);
    assert.deepEqual([r.bigquery.ok, r.trigger?.state, r.done], [false, "published", false]);
    assert.ok(insertAlls() > before);
    assert.equal((await stateDoc(collection, `${phase2.id}__${gameDate}__daily`))?.trigger?.rowsOwedBy ?? null, null, "no latch rows owed");
    const dmlBefore = dmlStatements().length;
    const execLogBefore = executionLogInserts().length;
    const again = await t.record(last);
    assert.equal(again.done, true);
    assert.equal(dmlStatements().length, dmlBefore, "no second MERGE");
    assert.equal(executionLogInserts().length, execLogBefore, "no second execution-log insert");
    assert.equal(completionRows().filter((row) => row.game_date === gameDate).length, msgs.length);
  });

  it("run mode from the completion's own timestamp: a same-day completion redelivered after New York midnight (DST day) stays in the same-day latch", async () => {
    const rule = phase3.rule;
    if (rule.kind !== "mode_aware") throw new Error("phase 3 is mode-aware");
    // 2026-03-07 is the eve of the spring-forward change: midnight in New York is 05:00Z (EST).
    const gameDate = "2026-03-07";
    let now = new Date("2026-03-08T03:00:00.000Z"); // 22:00 EST on the 7th
    const { t, collection } = tracker({ transitionId: phase3.id, clock: () => now });
    const names = rule.modes.same_day.expected;
    for (const p of names.slice(0, -1)) await t.record(completion(p, { gameDate, completedAt: now.toISOString() }));
    const last = completion(names.at(-1)!, { gameDate, completedAt: "2026-03-08T04:59:30.000Z" }); // 23:59:30 EST
    now = new Date("2026-03-08T04:59:40.000Z");
    proxy.setMode("refuse");
    const refused = await tracker({ transitionId: phase3.id, clock: () => now, collection, transactionTimeoutMs: REFUSED_ATTEMPT_MS }).t.record(last);
    proxy.setMode("pass");
    await viaProxy.doc("_probe/reconnected").get();
    assert.equal(refused.firestore.ok, false);
    now = new Date("2026-03-08T05:20:00.000Z"); // 00:20 EST on the 8th: arrival says overnight
    const redelivered = await t.record(last);
    assert.equal(redelivered.firestore.ok, true, String((redelivered.firestore as { error?: unknown }).error));
    assert.equal(redelivered.trigger?.triggerId, `${phase3.id}:${gameDate}:same_day`);
    assert.equal(redelivered.trigger?.state, "published");
    assert.equal((await stateDocs(collection)).length, 1, "no overnight document was opened");
    assert.deepEqual([...new Set(completionRows().map((row) => row.mode))], ["same_day"]);
  });

  it("phase 5 coordinator re-reports one batch: 70% then 95% (same execution) triggers the export; exactly 100% passes too", async () => {
    const phase5 = transitionById(pipeline, "phase5-to-phase6");
    await pubsub.topic(phase5.outputTopicName).get({ autoCreate: true });
    const { t } = tracker({ transitionId: phase5.id });
    const report = (pct: number, minute: number, gameDate = "2026-02-06") =>
      completion("prediction_coordinator", {
        gameDate,
        executionId: "batch-2026-02-06",
        batchId: "batch-2026-02-06",
        completionPct: pct,
        completedAt: new Date(Date.UTC(2026, 1, 6, 20, minute)).toISOString(),
      });
    const seventy = await t.record(report(70, 0));
    assert.deepEqual([seventy.decision?.reason, seventy.trigger], ["completion_pct_below_min", null]);
    const ninetyFive = await t.record(report(95, 10));
    assert.equal(ninetyFive.firestore.duplicate, false, "new progress is not a duplicate");
    assert.equal(ninetyFive.decision?.trigger, true);
    assert.deepEqual([ninetyFive.trigger?.state, ninetyFive.trigger?.publishedNow], ["published", true]);
    const stale = await t.record(report(70, 0));
    assert.equal(stale.firestore.duplicate, true, "the 70% report redelivered changes nothing");
    const full = await t.record(report(100, 5, "2026-02-07"));
    assert.deepEqual([full.decision?.reason, full.trigger?.state], ["completion_pct_100", "published"]);
  });

  it("every tracker line carries the request's trace, game date and correlation id; CRITICAL carries the code hash", async () => {
    const { t, logs } = tracker();
    const gameDate = "2026-02-08";
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const requestLog = logs.logger.withTrace({ traceId, spanId: "00f067aa0ba902b7", sampled: true }, "demo-test");
    const msgs = phase2.processors.map((p) => completion(p.name, { gameDate, correlationId: "corr-traced" }));
    for (const m of msgs) await t.record(m, {}, { logger: requestLog });
    proxy.setMode("refuse");
    await bq.fake.setDown(true);
    const refusedTracker = tracker({ transactionTimeoutMs: REFUSED_ATTEMPT_MS }).t;
    await refusedTracker.record(completion("p2_odds_game_lines", { gameDate, correlationId: "corr-traced" }), {}, { logger: requestLog });
    await bq.fake.setDown(false);
    proxy.setMode("pass");
    const lines = [LOG_EVENTS.dualWriteSucceeded, LOG_EVENTS.triggerPublished, LOG_EVENTS.bothStoresFailed].flatMap((e) => events(logs, e));
    assert.deepEqual(new Set(lines.map((l) => (l as Record<string, unknown>).event)).size, 3);
    for (const line of lines) {
      const l = line as Record<string, unknown>;
      const labels = l["logging.googleapis.com/labels"] as Record<string, string>;
      assert.equal(l["logging.googleapis.com/trace"], `projects/demo-test/traces/${traceId}`, JSON.stringify(l));
      assert.equal(labels.game_date, gameDate);
      assert.equal(labels.correlation_id, "corr-traced");
    }
    const [critical] = events(logs, LOG_EVENTS.bothStoresFailed);
    assert.equal((critical as Record<string, unknown>).code_hash, "b".repeat(64));
  });
});
