// The composition root hands the stack's phase-state retention to the tracker: an orchestrator built
// from an environment with FIRESTORE_RETENTION_DAYS writes phase state that expires that many days
// after its game date (in process, through the functions framework's test server, against the
// Firestore emulator and the BigQuery fake). 40 days is a value no default produces.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Firestore, Timestamp } from "@google-cloud/firestore";
import { http } from "@google-cloud/functions-framework";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { createOrchestratorFromEnv } from "../../functions/lib/orchestrator-runtime.ts";
import { captureLogs } from "../../functions/lib/logger.ts";
import { EXPIRE_AT_FIELD, RETENTION_DEFAULTS, RETENTION_ENV_KEY } from "../../functions/core/retention.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import { collectionPrefix, orchestratorEnv, phase2Message, postJson, pushEnvelope, TEST_DATASET } from "./support.ts";

const DAY = 86_400_000;
const DAYS = 40;
const phase2 = transitionById(loadPipeline(), "phase2-to-phase3");

describe("phase-state retention from the orchestrator's environment", function () {
  this.timeout(120_000);
  let bq: BigQueryFake;
  let db: Firestore;
  let server: Server | undefined;

  before(async () => {
    const { projectId } = sharedEmulators();
    assert.notEqual(DAYS, RETENTION_DEFAULTS.phaseState, "a value the default cannot produce");
    bq = await startBigQueryFake({ projectId });
    await provisionOrchestrationTables(createBigQueryClient({ projectId, apiEndpoint: bq.url }), TEST_DATASET);
    db = new Firestore({ projectId });
  });
  after(async () => {
    if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
    await db.terminate();
    await bq.stop();
  });

  it("FIRESTORE_RETENTION_DAYS phaseState 40: the phase-state document expires 40 days after its game date", async () => {
    const { projectId, firestore, pubsub } = sharedEmulators();
    const prefix = collectionPrefix("ret_orch");
    const gameDate = "2026-02-04";
    const env = orchestratorEnv({
      transitionId: phase2.id,
      projectId,
      firestoreHost: firestore.host,
      pubsubHost: pubsub.host,
      bigqueryUrl: bq.url,
      firestorePrefix: prefix,
      extra: { [RETENTION_ENV_KEY]: JSON.stringify({ phaseState: DAYS }) },
    });
    const name = `retention-orchestrator-${process.pid}`;
    http(name, createOrchestratorFromEnv(phase2.id, env, captureLogs().logger));
    server = getTestServer(name);
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const r = await postJson(url, pushEnvelope(phase2Message("OddsGameLinesProcessor", gameDate)));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const snap = await db.collection(`${prefix}phase_state`).doc(`${phase2.id}__${gameDate}__daily`).get();
    assert.ok(snap.exists);
    const expireAt = snap.get(EXPIRE_AT_FIELD) as unknown;
    assert.ok(expireAt instanceof Timestamp, "expire_at is a Firestore timestamp");
    assert.deepEqual(expireAt.toDate(), new Date(Date.parse(`${gameDate}T00:00:00Z`) + DAYS * DAY));
  });
});
