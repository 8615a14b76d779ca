// GET /health through the real functions framework: 200 with every dependency up, 503 with Firestore
// unreachable, cached for 30 s (the cached answer touches no dependency), and a broken environment
// that answers instead of crashing at import.
import assert from "node:assert/strict";
import { PubSub } from "@google-cloud/pubsub";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import { LOCAL_KNOBS } from "../../functions/lib/orchestrator-runtime.ts";
import {
  collectionPrefix,
  orchestratorEnv,
  orchestratorSource,
  phase2Message,
  postJson,
  pushEnvelope,
  startFunctionProcess,
  TEST_CODE_HASH,
  TEST_DATASET,
  type FunctionProcess,
} from "./support.ts";

const transition = transitionById(loadPipeline(), "phase2-to-phase3");

describe("/health and a broken environment (end to end)", function () {
  // A hang guard: each test starts function processes, slow to load on a busy machine.
  this.timeout(180_000);
  let fsProxy: TcpProxy;
  let bq: BigQueryFake;
  const running: FunctionProcess[] = [];

  before(async () => {
    const { projectId, firestore } = sharedEmulators();
    fsProxy = await startTcpProxy(firestore.host);
    bq = await startBigQueryFake({ projectId });
    await provisionOrchestrationTables(createBigQueryClient({ projectId, apiEndpoint: bq.url }), TEST_DATASET);
    const pubsub = new PubSub({ projectId });
    await pubsub.topic(transition.outputTopicName).get({ autoCreate: true });
    await pubsub.close();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((f) => f.stop()));
    fsProxy.setMode("pass");
  });
  after(async () => {
    await fsProxy.close();
    await bq.stop();
  });

  async function start(extra: Record<string, string> = {}): Promise<FunctionProcess> {
    const { projectId, pubsub } = sharedEmulators();
    const fn = await startFunctionProcess({
      source: orchestratorSource(transition.id),
      target: "orchestrate",
      env: orchestratorEnv({
        transitionId: transition.id,
        projectId,
        firestoreHost: fsProxy.host,
        pubsubHost: pubsub.host,
        bigqueryUrl: bq.url,
        firestorePrefix: collectionPrefix("health"),
        extra,
      }),
    });
    running.push(fn);
    return fn;
  }

  const getHealth = async (fn: FunctionProcess) => {
    const res = await fetch(`${fn.url}/health`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const bigqueryCalls = () => bq.requests.filter((r) => r.api === "datasets.get").length;

  it("200 with every dependency up; a second call within 30 s is cached and checks nothing", async () => {
    const fn = await start();
    const callsAtStart = bigqueryCalls();
    const first = await getHealth(fn);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.status, "healthy");
    assert.equal(first.body.version, TEST_CODE_HASH);
    assert.equal(first.body.cached, false);
    const deps = first.body.dependencies as Record<string, { healthy: boolean }>;
    assert.deepEqual(Object.keys(deps).sort(), ["bigquery", "firestore", "pubsub"]);
    assert.ok(Object.values(deps).every((d) => d.healthy));
    const checksBefore = bigqueryCalls();
    const connectionsBefore = fsProxy.acceptedConnections;
    assert.equal(checksBefore - callsAtStart, 1, "the first call checked the dataset");

    // Firestore goes away: the cached answer does not notice (and does not try).
    fsProxy.setMode("refuse");
    const second = await getHealth(fn);
    assert.equal(second.status, 200);
    assert.equal(second.body.cached, true);
    assert.equal(second.body.checked_at, first.body.checked_at);
    assert.equal(bigqueryCalls(), checksBefore, "no BigQuery call for a cached answer");
    assert.equal(fsProxy.acceptedConnections, connectionsBefore, "no Firestore connection for a cached answer");
  });

  it("503 with Firestore unreachable (refused), naming it; the other dependencies healthy", async () => {
    fsProxy.setMode("refuse");
    const fn = await start();
    const health = await getHealth(fn);
    assert.equal(health.status, 503, JSON.stringify(health.body));
    assert.equal(health.body.status, "degraded");
    const deps = health.body.dependencies as Record<string, { healthy: boolean; error?: string }>;
    assert.equal(deps.firestore?.healthy, false);
    assert.match(String(deps.firestore?.error), /timed out/);
    assert.equal(deps.bigquery?.healthy, true);
    assert.equal(deps.pubsub?.healthy, true);
    assert.ok(fn.logsAt("WARNING").some((l) => String(l.message).startsWith("health degraded: firestore")));
  });

  it("a broken environment (a local knob set in prod) does not crash the module: every POST 500, /health 503, CRITICAL each time", async () => {
    const fn = await start({ DEPLOY_ENV: "prod", [LOCAL_KNOBS.noRetryBackoff]: "1" });
    const criticalAtStart = fn.logsAt("CRITICAL");
    assert.match(String(criticalAtStart[0]?.message), /cannot start/);
    const health = await getHealth(fn);
    assert.equal(health.status, 503);
    assert.equal(health.body.status, "misconfigured");
    assert.match(String(health.body.error), /must not be set when DEPLOY_ENV is prod/);
    const post = await postJson(fn.url, pushEnvelope(phase2Message("OddsGameLinesProcessor", "2026-01-15")));
    assert.equal(post.status, 500);
    const critical = fn.logsAt("CRITICAL").slice(criticalAtStart.length);
    assert.equal(critical.length, 2, "one per request");
    assert.ok(critical.every((l) => String(l.message).includes("misconfigured and did no work")));
    assert.equal(fn.child.exitCode, null, "still serving");
  });
});
