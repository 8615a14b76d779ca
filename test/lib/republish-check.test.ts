// A republisher asks the execution log before it publishes a pending trigger (outbox-republisher.ts,
// checkExecutionLog). Real parts: Firestore (an emulator of this file's own) behind the TCP fault proxy, the Pub/Sub
// emulator, the BigQuery fake. The faults are real: Firestore refused right after a publish (so the
// mark-published transaction fails), BigQuery answering 503 to every query.
import assert from "node:assert/strict";
import type { DocumentReference, Firestore } from "@google-cloud/firestore";
import { PubSub, type Subscription } from "@google-cloud/pubsub";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";
import { startFirestoreEmulator, uniqueName, type EmulatorHandle } from "../../tools/emulators/emulators.ts";
import { firestoreVia } from "./firestore-via.ts";
import { DATASET_ID, FAST_RETRY, reprovision, startProvisionedFake, type FakeContext } from "../bigquery/helpers.ts";
import { createBigQueryStore } from "../../functions/lib/bigquery-store.ts";
import { createCompletionTracker, type TriggerPublisher } from "../../functions/lib/completion-tracker.ts";
import { createOutboxRepublisher } from "../../functions/lib/outbox-republisher.ts";
import { createPubSubPublisher } from "../../functions/lib/trigger-publisher.ts";
import { createBreaker, type Breaker } from "../../functions/lib/circuit-breaker.ts";
import { captureLogs, type LogCapture } from "../../functions/lib/logger.ts";
import { setDefaultRetryRuntime } from "../../functions/lib/retry.ts";
import type { Alert, Alerter } from "../../functions/lib/slack.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import type { PhaseStateDoc, ResolvedCompletion } from "../../functions/core/phase-state.ts";
import { UNCHECKED_PUBLISH_AFTER_GRACES } from "../../functions/core/republish-check.ts";

const pipeline = loadPipeline();
const phase2 = transitionById(pipeline, "phase2-to-phase3");
const GAME_DATE = "2026-01-15";
const T0 = new Date("2026-01-16T08:00:00.000Z");
const GRACE_MS = 60_000;
const LEASE_MS = 5 * 60_000;
const atMs = (ms: number) => new Date(T0.getTime() + ms);

describe("republisher asks the execution log before it publishes (Firestore behind a fault proxy, Pub/Sub emulator, BigQuery fake)", function () {
  this.timeout(120_000);
  let proxy: TcpProxy;
  let viaProxy: Firestore;
  let direct: Firestore;
  let pubsub: PubSub;
  let bq: FakeContext;
  let restoreRetry: () => void;
  const breakers: Breaker[] = [];

  // This file's faults abandon transactions inside the emulator (a commit refused after its reads), and the
  // emulator holds such a transaction's locks for about a minute: the file runs its own Firestore emulator
  // so that no other suite waits on them, and each test gets a fresh proxy and client, so that one test's
  // refused connections (and the client's reconnect backoff) never reach the next.
  let firestore: EmulatorHandle;
  let projectId: string;

  before(async () => {
    projectId = sharedEmulators().projectId;
    firestore = await startFirestoreEmulator();
    direct = firestoreVia(firestore.port, projectId);
    pubsub = new PubSub({ projectId });
    bq = await startProvisionedFake();
    restoreRetry = setDefaultRetryRuntime({ random: () => 0 });
    await pubsub.topic(phase2.outputTopicName).get({ autoCreate: true });
  });
  beforeEach(async () => {
    proxy = await startTcpProxy(firestore.host);
    viaProxy = firestoreVia(proxy.port, projectId);
    await reprovision(bq);
  });
  afterEach(async () => {
    proxy.setMode("pass");
    await viaProxy.terminate();
    await proxy.close();
  });
  after(async () => {
    restoreRetry();
    for (const b of breakers) b.shutdown();
    await direct.terminate();
    await pubsub.close();
    await bq.fake.stop();
    await firestore.stop();
  });

  function breaker(logs: LogCapture): Breaker {
    const b = createBreaker(uniqueName("fs"), { logger: logs.logger });
    breakers.push(b);
    return b;
  }

  function setup(publisher: TriggerPublisher) {
    const logs = captureLogs();
    const alerts: Alert[] = [];
    const alerter: Alerter = {
      alert: async (a) => {
        alerts.push(a);
        return { delivered: true, suppressed: false };
      },
    };
    const prefix = `${uniqueName("rc").replace(/[^A-Za-z0-9]/g, "_")}_`;
    const stateCollection = `${prefix}phase_state`;
    const store = createBigQueryStore({ bigquery: bq.bigquery, projectId: bq.fake.projectId, datasetId: DATASET_ID, logger: logs.logger, retry: FAST_RETRY });
    const trackerOn = (db: Firestore, transactionTimeoutMs: number, pub: TriggerPublisher) =>
      createCompletionTracker({
        db,
        stateCollection,
        sink: store,
        publisher: pub,
        firestoreBreaker: breaker(logs),
        logger: logs.logger,
        transition: phase2,
        timeZone: pipeline.timeZone,
        functionName: "orchestrator-test",
        codeHash: "c".repeat(64),
        transactionTimeoutMs,
        clock: () => T0,
      });
    // The latching call (direct, patient): it commits the latch and dies before publishing.
    const latcher = trackerOn(direct, 15_000, createPubSubPublisher(pubsub));
    // A republisher through the proxy: a refused network ends its tracker's attempts after 1.5 s. The
    // other one talks to Firestore directly (another instance, whose network is fine).
    const republisherOn = (db: Firestore) => createOutboxRepublisher({
      db,
      claimsCollection: `${prefix}sweeper_publish_claims`,
      breaker: breaker(logs),
      logger: logs.logger,
      trackerFor: () => trackerOn(db, 1_500, publisher),
      transitionFor: () => phase2,
      executionLog: store,
      publishGraceMs: GRACE_MS,
      alerter,
      identity: { functionName: "phase-sweeper", codeHash: "d".repeat(64) },
      claimLeaseMs: LEASE_MS,
    });
    const republisher = republisherOn(viaProxy);
    const other = republisherOn(direct);
    const ref = direct.collection(stateCollection).doc(`${phase2.id}__${GAME_DATE}__daily`);
    const viaProxyRef = viaProxy.collection(stateCollection).doc(ref.id);
    return { logs, alerts, latcher, republisher, other, ref, viaProxyRef };
  }

  let n = 0;
  function completion(processor: string): ResolvedCompletion {
    n++;
    return {
      processor,
      reportedName: processor,
      status: "success",
      gameDate: GAME_DATE,
      executionId: `ex${n}`,
      correlationId: "corr-republish",
      completedAt: T0.toISOString(),
      messageId: `msg-${n}`,
    };
  }

  async function latch(latcher: ReturnType<typeof setup>["latcher"]): Promise<string> {
    let last;
    for (const p of phase2.processors) last = await latcher.recordInFirestore(completion(p.name), T0);
    assert.equal(last!.latchedNow, true);
    return last!.doc.trigger!.triggerId;
  }

  async function subscribe(): Promise<Subscription> {
    const [sub] = await pubsub.topic(phase2.outputTopicName).createSubscription(uniqueName("rc"));
    return sub;
  }

  /** Every message of `triggerId` on sub: waits for `expected`, then a quiet period in which a duplicate would show. */
  async function drain(sub: Subscription, triggerId: string, expected: number, quietMs = 2_000): Promise<number> {
    let got = 0;
    sub.on("message", (m) => {
      if (m.attributes.trigger_id === triggerId) got++;
      m.ack();
    });
    const started = Date.now();
    while (got < expected && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, quietMs));
    await sub.close();
    return got;
  }

  const stateOf = async (ref: DocumentReference) => (await ref.get()).data() as PhaseStateDoc;

  it("published, then Firestore refused so the mark fails: its execution-log row is written, and the next republisher marks it published instead of publishing again", async () => {
    const inner = createPubSubPublisher(pubsub);
    // The fault: Firestore is refused from the moment Pub/Sub accepted the trigger.
    const publisher: TriggerPublisher = {
      publish: async (...args) => {
        const id = await inner.publish(...args);
        proxy.setMode("refuse");
        return id;
      },
    };
    const { latcher, republisher, other, ref, viaProxyRef } = setup(publisher);
    const triggerId = await latch(latcher);
    const sub = await subscribe();

    const first = await republisher.republish(phase2.id, viaProxyRef, "run-1", atMs(GRACE_MS + 1_000));
    assert.equal(first.outcome, "failed", JSON.stringify(first));
    assert.equal((first as { error?: { message?: string } }).error !== undefined, true);
    // The first instance stays cut off (its client would otherwise still commit the abandoned mark on
    // reconnecting): as when that instance died.
    assert.equal((await stateOf(ref)).trigger?.state, "pending", "the mark did not land");
    const logged = bq.fake.rows("phase_execution_log");
    assert.deepEqual(logged.map((r) => r.trigger_id), [triggerId], "the publisher wrote the row although its mark failed");
    assert.equal(logged[0]!.function_name, "phase-sweeper");

    // Another run, after the first run's claim expired.
    const second = await other.republish(phase2.id, ref, "run-2", atMs(GRACE_MS + LEASE_MS + 2_000));
    assert.deepEqual(second, { outcome: "already_published", triggerId, foundInExecutionLog: true });
    const doc = await stateOf(ref);
    assert.equal(doc.trigger?.state, "published");
    assert.equal(doc.trigger?.publishedBy, "run-2");
    assert.equal(doc.trigger?.publishedMessageId, null, "the log row carries no message id");

    assert.equal(await drain(sub, triggerId, 1), 1, "one publication");
    assert.equal(bq.fake.rows("phase_execution_log").length, 1);
  });

  it("an orchestrator's latching call: published, then Firestore refused so its mark fails; it writes the execution-log row, and its redelivery after the grace marks the trigger published instead of publishing again", async () => {
    const inner = createPubSubPublisher(pubsub);
    const publisher: TriggerPublisher = {
      publish: async (...args) => {
        const id = await inner.publish(...args);
        proxy.setMode("refuse");
        return id;
      },
    };
    const logs = captureLogs();
    const stateCollection = `${uniqueName("rt").replace(/[^A-Za-z0-9]/g, "_")}_phase_state`;
    const store = createBigQueryStore({ bigquery: bq.bigquery, projectId: bq.fake.projectId, datasetId: DATASET_ID, logger: logs.logger, retry: FAST_RETRY });
    const orchestratorOn = (db: Firestore, pub: TriggerPublisher, now: Date, transactionTimeoutMs: number) =>
      createCompletionTracker({
        db,
        stateCollection,
        sink: store,
        executionLog: store,
        publisher: pub,
        firestoreBreaker: breaker(logs),
        logger: logs.logger,
        transition: phase2,
        timeZone: pipeline.timeZone,
        functionName: "orchestrator-test",
        codeHash: "c".repeat(64),
        transactionTimeoutMs,
        publishGraceMs: GRACE_MS,
        clock: () => now,
      });
    const sub = await subscribe();
    // The latching instance reaches Firestore through the proxy (cut right after its publish).
    const latching = orchestratorOn(viaProxy, publisher, T0, 5_000);
    const completions = phase2.processors.map((p) => completion(p.name));
    let last;
    for (const c of completions) last = await latching.record(c);
    assert.equal(last!.trigger?.state, "pending", JSON.stringify(last));
    assert.equal(last!.trigger?.failedStep, "mark");
    assert.equal(last!.done, false, "answered non-2xx: Pub/Sub redelivers");
    const triggerId = last!.trigger!.triggerId;
    assert.deepEqual(bq.fake.rows("phase_execution_log").map((r) => r.trigger_id), [triggerId], "the latching call wrote the row although its mark failed");

    // The redelivery of the latching message reaches another instance after the grace period.
    const redelivered = await orchestratorOn(direct, createPubSubPublisher(pubsub), atMs(GRACE_MS + 1_000), 15_000).record(completions.at(-1)!);
    assert.equal(redelivered.trigger?.state, "published", JSON.stringify(redelivered));
    assert.equal(redelivered.trigger?.publishedNow, false);
    assert.equal(redelivered.done, true);
    const doc = (await direct.collection(stateCollection).doc(`${phase2.id}__${GAME_DATE}__daily`).get()).data() as PhaseStateDoc;
    assert.equal(doc.trigger?.state, "published");
    assert.equal(await drain(sub, triggerId, 1), 1, "one publication");
    assert.equal(bq.fake.rows("phase_execution_log").length, 1);
  });

  it("BigQuery unreadable: a young pending trigger is left pending; past the bound it is published anyway, once, and alerted", async () => {
    const { latcher, republisher, ref, viaProxyRef, alerts, logs } = setup(createPubSubPublisher(pubsub));
    const triggerId = await latch(latcher);
    const sub = await subscribe();
    bq.fake.injectFault({ method: "query", status: 503, times: 1_000 });

    const early = await republisher.republish(phase2.id, viaProxyRef, "run-1", atMs(GRACE_MS + 1_000));
    assert.equal(early.outcome, "failed", JSON.stringify(early));
    assert.equal((await stateOf(ref)).trigger?.state, "pending");
    assert.equal(alerts.length, 0);
    assert.ok(logs.find("WARNING").some((e) => e.message.includes("not republished yet")));

    // Past UNCHECKED_PUBLISH_AFTER_GRACES grace periods (and the first run's claim): published without the answer.
    const lateAt = Math.max(UNCHECKED_PUBLISH_AFTER_GRACES * GRACE_MS, GRACE_MS + 1_000 + LEASE_MS) + 1_000;
    const late = await republisher.republish(phase2.id, viaProxyRef, "run-2", atMs(lateAt));
    assert.equal(late.outcome, "published");
    assert.equal(late.triggerId, triggerId);
    // The aggregate MERGE of the dead latcher's latch is a query too: it fails, and the caller is told.
    assert.match(String((late as { statusError?: unknown }).statusError), /upsertStatus/);
    assert.equal((await stateOf(ref)).trigger?.state, "published");
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.subject.kind, "republished_unchecked");
    assert.equal(alerts[0]!.subject.item, triggerId);
    assert.ok(logs.find("ERROR").some((e) => e.message.includes("republishing without its answer")));
    assert.equal(await drain(sub, triggerId, 1), 1, "one publication");
  });
});
