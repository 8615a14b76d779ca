// The stack's phase-state retention (FIRESTORE_RETENTION_DAYS, functions/core/retention.ts) reaches the
// writers that create phase-state documents: the tracker (orchestrators) and the scheduled jobs'
// transactions (the reconciler records a completion Firestore lacks). The orchestrator built from its
// environment: phase-state-retention-env.test.ts. Against the Firestore emulator and the BigQuery fake;
// 40 days is a value no default produces.
import assert from "node:assert/strict";
import { Firestore, Timestamp } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { createBigQueryClient, createBigQueryStore } from "../../functions/lib/bigquery-store.ts";
import { createCompletionTracker } from "../../functions/lib/completion-tracker.ts";
import { createPhaseStateTransactions } from "../../functions/lib/phase-state-transactions.ts";
import { createPubSubPublisher } from "../../functions/lib/trigger-publisher.ts";
import { createBreaker, type Breaker } from "../../functions/lib/circuit-breaker.ts";
import { captureLogs } from "../../functions/lib/logger.ts";
import { EXPIRE_AT_FIELD, RETENTION_DEFAULTS } from "../../functions/core/retention.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import type { ResolvedCompletion } from "../../functions/core/phase-state.ts";
import { collectionPrefix, TEST_DATASET } from "./support.ts";

const DAY = 86_400_000;
const DAYS = 40;
const pipeline = loadPipeline();
const phase2 = transitionById(pipeline, "phase2-to-phase3");

/** expire_at of a phase-state document kept `days` after its game date (00:00 UTC). */
const expectedExpiry = (gameDate: string, days: number) => new Date(Date.parse(`${gameDate}T00:00:00Z`) + days * DAY);

describe("phase-state retention follows the stack setting (tracker, scheduled jobs)", function () {
  this.timeout(120_000);
  let bq: BigQueryFake;
  let db: Firestore;
  let pubsub: PubSub;
  const breakers: Breaker[] = [];

  before(async () => {
    const { projectId } = sharedEmulators();
    assert.notEqual(DAYS, RETENTION_DEFAULTS.phaseState, "a value the default cannot produce");
    bq = await startBigQueryFake({ projectId });
    await provisionOrchestrationTables(createBigQueryClient({ projectId, apiEndpoint: bq.url }), TEST_DATASET);
    db = new Firestore({ projectId });
    pubsub = new PubSub({ projectId });
  });
  after(async () => {
    for (const b of breakers) b.shutdown();
    await db.terminate();
    await pubsub.close();
    await bq.stop();
  });

  const breaker = (name: string) => {
    const b = createBreaker(`${name}-${breakers.length}`, { logger: captureLogs().logger });
    breakers.push(b);
    return b;
  };
  async function expiryOf(collection: string, docId: string): Promise<Date> {
    const snap = await db.collection(collection).doc(docId).get();
    assert.ok(snap.exists, `${collection}/${docId} written`);
    const value = snap.get(EXPIRE_AT_FIELD) as unknown;
    assert.ok(value instanceof Timestamp, "expire_at is a Firestore timestamp");
    return value.toDate();
  }
  const completion = (gameDate: string, tag: string): ResolvedCompletion => ({
    processor: phase2.processors[0]!.name,
    reportedName: phase2.processors[0]!.name,
    status: "success",
    gameDate,
    executionId: `ex-${tag}`,
    correlationId: `corr-${tag}`,
    completedAt: new Date().toISOString(),
    messageId: `msg-${tag}`,
  });

  it("a tracker configured with 40 days writes expire_at = game date + 40 days", async () => {
    const prefix = collectionPrefix("ret_tracker");
    const gameDate = "2026-02-03";
    const logger = captureLogs().logger;
    const tracker = createCompletionTracker({
      db,
      stateCollection: `${prefix}phase_state`,
      sink: createBigQueryStore({ bigquery: createBigQueryClient({ projectId: bq.projectId, apiEndpoint: bq.url }), projectId: bq.projectId, datasetId: TEST_DATASET, logger }),
      publisher: createPubSubPublisher(pubsub),
      firestoreBreaker: breaker("ret-tracker"),
      logger,
      transition: phase2,
      timeZone: pipeline.timeZone,
      functionName: "retention-test",
      codeHash: "c".repeat(64),
      transactionTimeoutMs: 15_000,
      phaseStateRetentionDays: DAYS,
    });
    const result = await tracker.record(completion(gameDate, "tracker"));
    assert.equal(result.firestore.ok, true, JSON.stringify(result));
    assert.deepEqual(await expiryOf(`${prefix}phase_state`, `${phase2.id}__${gameDate}__daily`), expectedExpiry(gameDate, DAYS));
  });

  it("the scheduled jobs' transactions (a completion the reconciler records) keep phase state 40 days", async () => {
    const prefix = collectionPrefix("ret_sched");
    const gameDate = "2026-02-05";
    const transactions = createPhaseStateTransactions({
      db,
      stateCollection: `${prefix}phase_state`,
      breaker: breaker("ret-sched"),
      logger: captureLogs().logger,
      timeZone: pipeline.timeZone,
      transactionTimeoutMs: 15_000,
      phaseStateRetentionDays: DAYS,
    });
    const now = new Date();
    const out = await transactions.recordCompletion(phase2, "daily", completion(gameDate, "sched"), now, now);
    assert.equal(out.changed, true);
    assert.deepEqual(await expiryOf(`${prefix}phase_state`, `${phase2.id}__${gameDate}__daily`), expectedExpiry(gameDate, DAYS));
  });
});
